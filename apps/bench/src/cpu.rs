//! CPU time, read from `/proc` (steadier than requests per second on a shared
//! machine): the server process's, and the database's — the sum over the
//! PostgreSQL backends serving the bench database, which persist with the
//! pools, so a before/after difference is the work the scenario made them do.

use std::time::Duration;

use sea_orm::{ConnectionTrait as _, DatabaseBackend, DatabaseConnection, Statement};

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of process `pid`, if it can be read.
#[must_use]
pub fn process(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields that follow start after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// The backends of the bench database (PostgreSQL; none on SQLite).
pub async fn backends(db: &DatabaseConnection) -> Vec<u32> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Vec::new();
    }
    let sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()";
    let rows =
        db.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap_or_default();
    rows.iter()
        .filter_map(|r| r.try_get::<i32>("", "pid").ok())
        .filter_map(|p| u32::try_from(p).ok())
        .collect()
}

/// The CPU figures of one row: per request, and the pgbench reference rate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    /// The server's CPU microseconds per request.
    pub server_us: Option<f64>,
    /// The database's CPU microseconds per request.
    pub database_us: Option<f64>,
    /// pgbench's rate for the same statement (reference rows only).
    pub pgbench: Option<f64>,
}

/// CPU of the server and of the database at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    server: Option<Duration>,
    database: Vec<(u32, Duration)>,
}

/// Reads the server's (when `server` is given) and the database backends' CPU now.
pub async fn snapshot(server: Option<u32>, db: &DatabaseConnection) -> Snapshot {
    let database = backends(db).await.into_iter().filter_map(|pid| Some((pid, process(pid)?))).collect();
    Snapshot { server: server.and_then(process), database }
}

/// CPU microseconds per request between two snapshots: the server's and the
/// database's (backends present in both), for `requests` requests.
#[must_use]
#[allow(clippy::cast_precision_loss)] // microseconds and request counts far below 2^52
pub fn per_request(before: &Snapshot, after: &Snapshot, requests: u64) -> (Option<f64>, Option<f64>) {
    if requests == 0 {
        return (None, None);
    }
    let per = |d: Duration| d.as_micros() as f64 / requests as f64;
    let server = match (before.server, after.server) {
        (Some(b), Some(a)) => Some(per(a.saturating_sub(b))),
        _ => None,
    };
    let database = (!after.database.is_empty()).then(|| {
        per(after
            .database
            .iter()
            .map(|(pid, a)| {
                let b = before.database.iter().find(|(p, _)| p == pid).map_or(Duration::ZERO, |(_, b)| *b);
                a.saturating_sub(b)
            })
            .sum())
    });
    (server, database)
}

/// The rate of `script` run by pgbench (`-M prepared`, `clients` clients,
/// `seconds` seconds) against `url`, when pgbench is installed.
pub async fn pgbench(url: &str, script: &str, clients: usize, seconds: u64) -> Option<f64> {
    let path = std::env::temp_dir().join(format!("leadflow-bench-{}.sql", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, script).ok()?;
    let mut command = tokio::process::Command::new("pgbench");
    command
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&path)
        .arg(url);
    let output = command.output().await.ok();
    let _ = std::fs::remove_file(&path);
    let output = output?;
    if !output.status.success() {
        eprintln!("pgbench failed: {}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_spent_some_cpu() {
        let spent = super::process(std::process::id()).unwrap();
        // Read twice: never less the second time.
        assert!(super::process(std::process::id()).unwrap() >= spent);
    }
}
