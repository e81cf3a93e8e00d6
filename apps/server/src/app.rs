//! Building and running the HTTP application. `main` and the black-box tests
//! both go through [`Application`], so the tests serve exactly what ships.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, Route};
use rand::RngCore as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::state::{AppState, StepOverrides};
use crate::{api, cors, edge};

/// The application: its configuration and wired services.
pub struct Application {
    config: Config,
    state: Arc<AppState>,
}

/// The email used for the generated super admin when none is configured.
pub const DEFAULT_SUPER_ADMIN_EMAIL: &str = "admin@leadflow.local";

impl Application {
    /// Connects, migrates and wires everything.
    ///
    /// # Errors
    /// When the database, the migrations or the key file fail.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, StepOverrides::default()).await
    }

    /// Like [`Application::build`], with other workflow step adapters.
    ///
    /// # Errors
    /// When the database, the migrations or the key file fail.
    pub async fn build_with(config: Config, steps: StepOverrides) -> anyhow::Result<Self> {
        let state = AppState::build_with(&config, steps).await?;
        if config.metrics.token.is_some() || config.metrics.bind.is_some() {
            // Recording starts with the process, so the first scrape sees everything.
            crate::metrics::install();
        }
        Ok(Self { config, state })
    }

    /// Starts the configured number of workflow workers and delivery workers;
    /// they stop when `shutdown` turns true, finishing the step or send at
    /// hand and releasing their leases.
    #[must_use]
    pub fn start_workers(&self, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let process = format!("{}-{}", std::process::id(), &uuid::Uuid::now_v7().simple().to_string()[24..]);
        let mut handles: Vec<JoinHandle<()>> = (0..self.config.workers)
            .map(|n| tokio::spawn(self.state.engine.clone().work(format!("{process}-{n}"), shutdown.clone())))
            .collect();
        handles.extend((0..self.config.delivery.workers).map(|n| {
            tokio::spawn(self.state.dispatcher.clone().work(format!("{process}-d{n}"), shutdown.clone()))
        }));
        if self.config.workers > 0 {
            handles.push(tokio::spawn(housekeeping(self.state.clone(), shutdown.clone())));
        }
        handles
    }

    /// The wired services.
    #[must_use]
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Every route: the API under `/api/v1`, `/openapi.json`, Swagger UI at
    /// `/docs`, `/health` and `/ready`, behind the [`edge`] middleware.
    #[must_use]
    pub fn endpoint(&self) -> impl Endpoint + 'static {
        let service = api::service();
        // Swagger UI and /openapi.json show the published document (api::document).
        let published = api::document::published();
        let swagger = service.swagger_ui_html().replacen(&service.spec(), published, 1);
        let swagger_slash = swagger.clone();
        Route::new()
            .at("/docs", poem::endpoint::make_sync(move |_| poem::web::Html(swagger.clone())))
            .at("/docs/", poem::endpoint::make_sync(move |_| poem::web::Html(swagger_slash.clone())))
            .at(
                "/openapi.json",
                poem::endpoint::make_sync(move |_| {
                    poem::Response::builder().content_type("application/json; charset=utf-8").body(published)
                }),
            )
            .at("/metrics", poem::get(crate::metrics::scrape_with_token))
            .nest("/", service)
            .around(cors::forms_cors)
            .with(CatchPanic::new())
            .data(self.state.clone())
            .around(edge::edge)
    }

    /// On a database without a super admin, creates one from
    /// `LEADFLOW_SUPER_ADMIN_EMAIL`/`LEADFLOW_SUPER_ADMIN_PASSWORD`; without a
    /// password, generates one and prints it once on stdout (never in the logs).
    ///
    /// # Errors
    /// When the configured credentials are invalid or the store fails.
    pub async fn bootstrap_super_admin(&self) -> anyhow::Result<()> {
        if self.state.auth.super_admin_exists().await? {
            return Ok(());
        }
        let email = self.config.super_admin_email.clone().unwrap_or_else(|| DEFAULT_SUPER_ADMIN_EMAIL.into());
        let (password, generated) = match &self.config.super_admin_password {
            Some(p) => (p.clone(), false),
            None => (generate_password(), true),
        };
        let user = self
            .state
            .auth
            .create_super_admin(&email, &password, "Super Admin", false)
            .await
            .map_err(|e| anyhow::anyhow!("creating the super admin {email}: {e}"))?;
        tracing::info!(email = %user.email, "super admin created");
        if generated {
            println!("Created the super admin {email} with the generated password: {password}");
            println!("(shown once; change it with POST /api/v1/auth/change-password)");
        }
        Ok(())
    }

    /// Serves on the configured address until Ctrl-C or SIGTERM, then drains
    /// in-flight requests for up to 10 seconds.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn serve(self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.config.bind))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "listening");
        println!("Leadflow is serving on http://{addr} — Swagger UI: http://{addr}/docs");
        match &self.config.delivery.transport {
            crate::config::EmailTransportConfig::File { dir } => {
                println!(
                    "Email is written as .eml files into {} (set LEADFLOW_EMAIL_TRANSPORT=smtp to send it)",
                    dir.display()
                );
            }
            crate::config::EmailTransportConfig::Smtp { url } => {
                println!("Email is sent through {}", leadflow_storage::redact(url));
            }
            crate::config::EmailTransportConfig::None => {
                println!("Email is kept in the outbox, unsent (LEADFLOW_EMAIL_TRANSPORT=none)")
            }
        }
        if let Some(bind) = self.config.metrics.bind {
            let metrics = crate::metrics::listen(self.state.clone(), bind).await?;
            println!("Prometheus metrics: http://{metrics}/metrics");
        }
        let (stop, stopped) = watch::channel(false);
        let workers = self.start_workers(&stopped);
        crate::serve::serve(
            listener,
            self.endpoint(),
            self.config.server_limits,
            shutdown_signal(),
            Duration::from_secs(10),
        )
        .await?;
        // No new claims; each worker finishes its step, releases its leases and exits.
        let _ = stop.send(true);
        for worker in workers {
            let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
        }
        Ok(())
    }

    /// Serves on an ephemeral port of 127.0.0.1 in the background (for tests).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn spawn(self) -> anyhow::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let endpoint = self.endpoint();
        let limits = self.config.server_limits;
        // The workers stop with the runtime (the end of the test).
        let (stop, stopped) = watch::channel(false);
        let workers = self.start_workers(&stopped);
        tokio::spawn(async move {
            let _ =
                crate::serve::serve(listener, endpoint, limits, std::future::pending(), Duration::ZERO).await;
            let _ = stop.send(true);
            drop(workers);
        });
        Ok(addr)
    }
}

/// A random 24-character password.
#[must_use]
pub fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// How often a process with workers does the housekeeping.
const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The workers' housekeeping, hourly from start-up until `shutdown`: expired
/// idempotency keys are purged and expired login failures forgotten. Several processes may do it at once; a purge is idempotent.
async fn housekeeping(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let Some(platform) = leadflow_kernel::Actor::system().platform() else { return };
    loop {
        match state.leads.expire_idempotency_keys(platform).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "purging idempotency keys failed"),
        }
        let forgotten = state.auth.forget_expired_login_failures().await;
        if forgotten > 0 {
            tracing::info!(forgotten, "expired login failures forgotten");
        }
        tokio::select! {
            () = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}
