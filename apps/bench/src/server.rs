//! Starting a `leadflow serve` to measure, and reading its memory.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    child: Child,
    /// Its base URL.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JWT key of every benchmarked server.
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret-012345";

/// The `leadflow` binary next to this one (build it with `cargo build --release -p leadflow-server`).
#[must_use]
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("leadflow")))
        .unwrap_or_else(|| PathBuf::from("target/release/leadflow"))
}

/// The password of the super admin every bench server bootstraps (`admin@leadflow.local`).
pub const SUPER_ADMIN_PASSWORD: &str = "bench super admin password";

impl Server {
    /// Starts `binary serve` on a free port against `database_url`.
    ///
    /// # Errors
    /// When it does not start or become ready within a minute.
    pub async fn start(binary: &PathBuf, database_url: &str, env: &[(&str, String)]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("LEADFLOW_DATABASE_URL", database_url)
            .env("LEADFLOW_BIND", format!("127.0.0.1:{port}"))
            .env("LEADFLOW_JWT_SECRET", SECRET)
            .env("LEADFLOW_SUPER_ADMIN_PASSWORD", SUPER_ADMIN_PASSWORD)
            // `LEADFLOW_BENCH_LOG=info` shows the servers' logs (on stdout) when a scenario misbehaves.
            .env("LEADFLOW_LOG", std::env::var("LEADFLOW_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
            // No .eml files from the bench's registrations; the webhooks scenario turns delivery on.
            .env("LEADFLOW_EMAIL_TRANSPORT", "none")
            .env("LEADFLOW_DELIVERY_WORKERS", "0")
            .stdout(if std::env::var_os("LEADFLOW_BENCH_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().map_err(|e| anyhow::anyhow!("cannot start {}: {e}", binary.display()))?;
        let server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client
                .get(format!("{}/ready", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server did not become ready")
    }

    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak, in MB (Linux `/proc`).
    #[must_use]
    pub fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}
