//! Configuration from the environment (and `.env`), validated at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use leadflow_auth::HashCost;
use rand::RngCore as _;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Where the JWT signing key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum JwtSecret {
    /// Given in `LEADFLOW_JWT_SECRET`.
    Given(Vec<u8>),
    /// Generated once and kept in this file beside the SQLite database.
    KeptIn(PathBuf),
    /// Generated for this process only (in-memory SQLite).
    Ephemeral,
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("Given(<redacted>)"),
            Self::KeptIn(p) => write!(f, "KeptIn({})", p.display()),
            Self::Ephemeral => f.write_str("Ephemeral"),
        }
    }
}

/// Everything Leadflow reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LEADFLOW_DATABASE_URL` (default `sqlite://leadflow.db?mode=rwc`).
    pub database_url: String,
    /// `LEADFLOW_DATABASE_MAX_CONNECTIONS` (default 4 on SQLite, 16 on PostgreSQL).
    pub database_max_connections: Option<u32>,
    /// `LEADFLOW_BIND` (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `LEADFLOW_JWT_SECRET` (at least 32 bytes; required with PostgreSQL).
    pub jwt_secret: JwtSecret,
    /// `LEADFLOW_JWT_ISSUER` (default `leadflow`).
    pub jwt_issuer: String,
    /// `LEADFLOW_JWT_AUDIENCE` (default `leadflow-api`).
    pub jwt_audience: String,
    /// `LEADFLOW_ACCESS_TOKEN_TTL_SECS` (default 3600).
    pub access_token_ttl_secs: i64,
    /// `LEADFLOW_REFRESH_TOKEN_TTL_SECS` (default 2592000, 30 days).
    pub refresh_token_ttl_secs: i64,
    /// `LEADFLOW_SELF_SERVICE_SIGNUP` (default true).
    pub self_service_signup: bool,
    /// `LEADFLOW_REQUIRE_VERIFIED_EMAIL` (default false): unverified users cannot
    /// create organizations, invite, create API keys or approve outreach.
    pub require_verified_email: bool,
    /// `LEADFLOW_LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `LEADFLOW_LOG` (default `info`): a tracing filter.
    pub log_filter: String,
    /// `LEADFLOW_PASSWORD_HASH_MEMORY_KIB` / `_ITERATIONS` / `_PARALLELISM` (default: OWASP argon2id).
    pub password_hash_cost: HashCost,
    /// `LEADFLOW_ACCESS_CACHE_TTL_SECS` (default 5): how long another process may
    /// take to see a deactivation or a role change.
    pub access_cache_ttl: Duration,
    /// `LEADFLOW_WORKERS` (default 2): workflow workers in `serve`; 0 for an API-only process.
    pub workers: usize,
    /// `LEADFLOW_WORKFLOW_MAX_ATTEMPTS` (5), `LEADFLOW_WORKFLOW_RETRY_BASE_MS` (1000),
    /// `LEADFLOW_WORKFLOW_LEASE_SECS` (30), `LEADFLOW_WORKER_POLL_MS` (200), `LEADFLOW_WORKER_BATCH` (32).
    pub engine: leadflow_workflows::EngineSettings,
    /// `LEADFLOW_SUPER_ADMIN_EMAIL`, for the first-start bootstrap.
    pub super_admin_email: Option<String>,
    /// `LEADFLOW_SUPER_ADMIN_PASSWORD`, for the first-start bootstrap.
    pub super_admin_password: Option<String>,
    /// `LEADFLOW_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of
    /// reverse proxies whose `X-Forwarded-For` names the client (default: none,
    /// the header is ignored and the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Who may read `GET /metrics` (SPEC §8): nobody unless one is set.
    pub metrics: MetricsAccess,
    /// `LEADFLOW_HEADER_READ_TIMEOUT_SECS` (10), `LEADFLOW_MAX_HEADER_BYTES` (16384),
    /// `LEADFLOW_IDLE_TIMEOUT_SECS` (60): the connection limits.
    pub server_limits: crate::serve::ServerLimits,
    /// Email, webhooks and the dispatcher (SPEC §5).
    pub delivery: DeliveryConfig,
    /// Billing through Stripe (SPEC §6): `None` unless `LEADFLOW_STRIPE_SECRET_KEY` is set.
    pub stripe: Option<leadflow_integrations::stripe::StripeSettings>,
    /// The workflow steps on a language model (SPEC §7): `None` unless
    /// `LEADFLOW_LLM_BASE_URL` is set.
    pub llm: Option<leadflow_integrations::llm::LlmSettings>,
    /// `LEADFLOW_WEBSITE_RESEARCH` (default false): research reads a business
    /// lead's home page (`LEADFLOW_WEBSITE_URL_TEMPLATE`, default `https://{domain}/`).
    pub website_research: Option<String>,
}

/// How email leaves (`LEADFLOW_EMAIL_TRANSPORT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransportConfig {
    /// `smtp`: to `LEADFLOW_SMTP_URL`.
    Smtp {
        /// `smtp://user:pass@host:587?tls=starttls`, `smtps://…:465`, or `smtp://host:25` (plain).
        url: String,
    },
    /// `file` (the default): one `.eml` file per message in `LEADFLOW_MAIL_DIR`
    /// (default `leadflow-mail/` beside the SQLite database, else `./leadflow-mail/`).
    File {
        /// The folder.
        dir: std::path::PathBuf,
    },
    /// `none`: messages stay in the outbox, unsent.
    None,
}

/// Email, webhooks and the dispatcher.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// `LEADFLOW_EMAIL_TRANSPORT`: `file` (default), `smtp` or `none`.
    pub transport: EmailTransportConfig,
    /// `LEADFLOW_EMAIL_FROM` (default `Leadflow <noreply@leadflow.local>`).
    pub from: String,
    /// `LEADFLOW_APP_URL`: the integrator's front end, where email links point (default `http://localhost:3000`).
    pub app_url: String,
    /// `LEADFLOW_WEBHOOK_ALLOW_PRIVATE` (default false): let webhooks reach
    /// private and loopback addresses and plain `http://` (tests, local development).
    pub webhook_allow_private: bool,
    /// `LEADFLOW_WEBHOOK_TIMEOUT_SECS` (default 15).
    pub webhook_timeout: Duration,
    /// `LEADFLOW_SMTP_TIMEOUT_SECS` (default 30).
    pub smtp_timeout: Duration,
    /// `LEADFLOW_DELIVERY_WORKERS` (default 1): dispatcher workers in `serve`; 0 sends nothing.
    pub workers: usize,
    /// `LEADFLOW_DELIVERY_LEASE_SECS` (default 60), `LEADFLOW_DELIVERY_CONCURRENCY`
    /// (default 64 sends in flight per worker), and the workflow engine's poll and batch.
    pub dispatcher: leadflow_delivery::DispatcherSettings,
}

fn delivery(
    lookup: &impl Fn(&str) -> Option<String>,
    database_url: &str,
    poll: Duration,
    batch: u64,
) -> Result<DeliveryConfig, ConfigError> {
    let mail_dir = || {
        lookup("LEADFLOW_MAIL_DIR").map_or_else(
            || {
                sqlite_path(database_url)
                    .and_then(|p| p.parent().map(|d| d.join("leadflow-mail")))
                    .unwrap_or_else(|| std::path::PathBuf::from("leadflow-mail"))
            },
            std::path::PathBuf::from,
        )
    };
    let transport = match lookup("LEADFLOW_EMAIL_TRANSPORT").as_deref().map(str::trim) {
        None | Some("file") => EmailTransportConfig::File { dir: mail_dir() },
        Some("none") => EmailTransportConfig::None,
        Some("smtp") => EmailTransportConfig::Smtp {
            url: lookup("LEADFLOW_SMTP_URL").ok_or_else(|| {
                ConfigError("LEADFLOW_EMAIL_TRANSPORT=smtp needs LEADFLOW_SMTP_URL (smtp://user:pass@host:587?tls=starttls)".into())
            })?,
        },
        Some(other) => {
            return Err(ConfigError(format!("LEADFLOW_EMAIL_TRANSPORT={other:?} must be smtp, file or none")));
        }
    };
    let app_url = lookup("LEADFLOW_APP_URL").unwrap_or_else(|| "http://localhost:3000".into());
    if !(app_url.starts_with("https://") || app_url.starts_with("http://")) {
        return Err(ConfigError(format!("LEADFLOW_APP_URL={app_url:?} must be an http(s):// URL")));
    }
    Ok(DeliveryConfig {
        transport,
        from: lookup("LEADFLOW_EMAIL_FROM").unwrap_or_else(|| "Leadflow <noreply@leadflow.local>".into()),
        app_url,
        webhook_allow_private: parse_bool(lookup, "LEADFLOW_WEBHOOK_ALLOW_PRIVATE", false)?,
        webhook_timeout: Duration::from_secs(parse(lookup, "LEADFLOW_WEBHOOK_TIMEOUT_SECS", 15_u64)?.max(1)),
        smtp_timeout: Duration::from_secs(parse(lookup, "LEADFLOW_SMTP_TIMEOUT_SECS", 30_u64)?.max(1)),
        workers: parse(lookup, "LEADFLOW_DELIVERY_WORKERS", 1_usize)?,
        dispatcher: leadflow_delivery::DispatcherSettings {
            batch,
            lease: Duration::from_secs(parse(lookup, "LEADFLOW_DELIVERY_LEASE_SECS", 60_u64)?.max(1)),
            poll_interval: poll,
            concurrency: parse(lookup, "LEADFLOW_DELIVERY_CONCURRENCY", 64_usize)?.max(1),
        },
    })
}

/// `LEADFLOW_STRIPE_*`: billing through Stripe, when a secret key is given
/// (the webhook secret and at least one price are then required).
fn stripe(
    lookup: &impl Fn(&str) -> Option<String>,
    app_url: &str,
) -> Result<Option<leadflow_integrations::stripe::StripeSettings>, ConfigError> {
    let Some(secret_key) = lookup("LEADFLOW_STRIPE_SECRET_KEY") else {
        return Ok(None);
    };
    let webhook_secret = lookup("LEADFLOW_STRIPE_WEBHOOK_SECRET").ok_or_else(|| {
        ConfigError("LEADFLOW_STRIPE_SECRET_KEY needs LEADFLOW_STRIPE_WEBHOOK_SECRET (the endpoint's whsec_… signing secret)".into())
    })?;
    let price_starter = lookup("LEADFLOW_STRIPE_PRICE_STARTER");
    let price_pro = lookup("LEADFLOW_STRIPE_PRICE_PRO");
    if price_starter.is_none() && price_pro.is_none() {
        return Err(ConfigError(
            "LEADFLOW_STRIPE_SECRET_KEY needs LEADFLOW_STRIPE_PRICE_STARTER or LEADFLOW_STRIPE_PRICE_PRO (price_… ids)".into(),
        ));
    }
    let api_base = lookup("LEADFLOW_STRIPE_API_BASE")
        .unwrap_or_else(|| leadflow_integrations::stripe::DEFAULT_API_BASE.into());
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(ConfigError(format!("LEADFLOW_STRIPE_API_BASE={api_base:?} must be an http(s):// URL")));
    }
    Ok(Some(leadflow_integrations::stripe::StripeSettings {
        secret_key,
        webhook_secret,
        price_starter,
        price_pro,
        api_base,
        app_url: app_url.to_owned(),
        timeout: Duration::from_secs(parse(lookup, "LEADFLOW_STRIPE_TIMEOUT_SECS", 20_u64)?.max(1)),
    }))
}

/// `LEADFLOW_LLM_*`: an OpenAI-compatible chat-completions API for the
/// workflow steps, when a base URL is given (the model is then required).
fn llm(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<leadflow_integrations::llm::LlmSettings>, ConfigError> {
    let Some(base_url) = lookup("LEADFLOW_LLM_BASE_URL") else {
        return Ok(None);
    };
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(ConfigError(format!(
            "LEADFLOW_LLM_BASE_URL={base_url:?} must be an http(s):// URL up to /v1 (http://localhost:11434/v1 for Ollama)"
        )));
    }
    let model = lookup("LEADFLOW_LLM_MODEL").ok_or_else(|| {
        ConfigError("LEADFLOW_LLM_BASE_URL needs LEADFLOW_LLM_MODEL (gpt-4o-mini, llama3.1, …)".into())
    })?;
    Ok(Some(leadflow_integrations::llm::LlmSettings {
        base_url,
        api_key: lookup("LEADFLOW_LLM_API_KEY"),
        model,
        timeout: Duration::from_secs(parse(lookup, "LEADFLOW_LLM_TIMEOUT_SECS", 30_u64)?.max(1)),
    }))
}

/// A configuration value is wrong; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Who may read the Prometheus metrics.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    /// `LEADFLOW_METRICS_TOKEN` (at least 16 characters): `GET /metrics` on the
    /// API's address answers with `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// `LEADFLOW_METRICS_BIND` (e.g. `127.0.0.1:9464`): a separate listener
    /// serving `GET /metrics` without a token, for a private network.
    pub bind: Option<SocketAddr>,
}

/// `LEADFLOW_TRUSTED_PROXIES`: addresses (`10.0.0.5`) or ranges (`10.0.0.0/8`), comma-separated.
fn trusted_proxies(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(raw) = lookup("LEADFLOW_TRUSTED_PROXIES") else { return Ok(Vec::new()) };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError(format!(
                        "LEADFLOW_TRUSTED_PROXIES: {s:?} is neither an address nor a CIDR range"
                    ))
                })
        })
        .collect()
}

fn parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(key) {
        None => Ok(default),
        Some(raw) => {
            raw.trim().parse().map_err(|_| ConfigError(format!("{key}={raw:?} is not a valid value")))
        }
    }
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(ConfigError(format!("{key}={v:?} must be true or false"))),
    }
}

impl Config {
    /// Reads `.env` (if present) and the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the configuration from any key lookup (tests pass a map).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url =
            lookup("LEADFLOW_DATABASE_URL").unwrap_or_else(|| "sqlite://leadflow.db?mode=rwc".into());
        let is_sqlite = database_url.starts_with("sqlite:");
        if !is_sqlite
            && !database_url.starts_with("postgres://")
            && !database_url.starts_with("postgresql://")
        {
            return Err(ConfigError(
                "LEADFLOW_DATABASE_URL must start with sqlite: or postgres:// (for example sqlite://leadflow.db?mode=rwc)"
                    .into(),
            ));
        }
        let jwt_secret = match lookup("LEADFLOW_JWT_SECRET") {
            Some(s) if s.len() >= 32 => JwtSecret::Given(s.into_bytes()),
            Some(_) => return Err(ConfigError("LEADFLOW_JWT_SECRET must be at least 32 bytes long".into())),
            None if !is_sqlite => {
                return Err(ConfigError(
                    "LEADFLOW_JWT_SECRET is required with PostgreSQL (at least 32 bytes)".into(),
                ));
            }
            None => match sqlite_path(&database_url) {
                Some(path) => {
                    let mut file = path.into_os_string();
                    file.push(".jwt-secret");
                    JwtSecret::KeptIn(file.into())
                }
                None => JwtSecret::Ephemeral,
            },
        };
        let log_format = match lookup("LEADFLOW_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError(format!("LEADFLOW_LOG_FORMAT={other:?} must be pretty or json")));
            }
        };
        let defaults = HashCost::default();
        let access_token_ttl_secs = parse(&lookup, "LEADFLOW_ACCESS_TOKEN_TTL_SECS", 3600_i64)?;
        let refresh_token_ttl_secs = parse(&lookup, "LEADFLOW_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600_i64)?;
        if access_token_ttl_secs < 60 || refresh_token_ttl_secs < access_token_ttl_secs {
            return Err(ConfigError(
                "LEADFLOW_ACCESS_TOKEN_TTL_SECS must be at least 60 and at most LEADFLOW_REFRESH_TOKEN_TTL_SECS".into(),
            ));
        }
        let poll = Duration::from_millis(parse(&lookup, "LEADFLOW_WORKER_POLL_MS", 200_u64)?.max(1));
        let batch = parse(&lookup, "LEADFLOW_WORKER_BATCH", 32_u64)?.max(1);
        let delivery = delivery(&lookup, &database_url, poll, batch)?;
        let stripe = stripe(&lookup, &delivery.app_url)?;
        let website_research = parse_bool(&lookup, "LEADFLOW_WEBSITE_RESEARCH", false)?
            .then(|| lookup("LEADFLOW_WEBSITE_URL_TEMPLATE").unwrap_or_else(|| "https://{domain}/".into()));
        Ok(Self {
            delivery,
            stripe,
            llm: llm(&lookup)?,
            website_research,
            database_url,
            database_max_connections: lookup("LEADFLOW_DATABASE_MAX_CONNECTIONS")
                .map(|v| {
                    v.parse().map_err(|_| {
                        ConfigError(format!("LEADFLOW_DATABASE_MAX_CONNECTIONS={v:?} is not a number"))
                    })
                })
                .transpose()?,
            bind: parse(&lookup, "LEADFLOW_BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            jwt_secret,
            jwt_issuer: lookup("LEADFLOW_JWT_ISSUER").unwrap_or_else(|| "leadflow".into()),
            jwt_audience: lookup("LEADFLOW_JWT_AUDIENCE").unwrap_or_else(|| "leadflow-api".into()),
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            self_service_signup: parse_bool(&lookup, "LEADFLOW_SELF_SERVICE_SIGNUP", true)?,
            require_verified_email: parse_bool(&lookup, "LEADFLOW_REQUIRE_VERIFIED_EMAIL", false)?,
            log_format,
            log_filter: lookup("LEADFLOW_LOG").unwrap_or_else(|| "info".into()),
            password_hash_cost: HashCost {
                memory_kib: parse(&lookup, "LEADFLOW_PASSWORD_HASH_MEMORY_KIB", defaults.memory_kib)?,
                iterations: parse(&lookup, "LEADFLOW_PASSWORD_HASH_ITERATIONS", defaults.iterations)?,
                parallelism: parse(&lookup, "LEADFLOW_PASSWORD_HASH_PARALLELISM", defaults.parallelism)?,
            },
            access_cache_ttl: Duration::from_secs(parse(&lookup, "LEADFLOW_ACCESS_CACHE_TTL_SECS", 5_u64)?),
            workers: parse(&lookup, "LEADFLOW_WORKERS", 2_usize)?,
            engine: leadflow_workflows::EngineSettings {
                batch: parse(&lookup, "LEADFLOW_WORKER_BATCH", 32_u64)?.max(1),
                lease: Duration::from_secs(parse(&lookup, "LEADFLOW_WORKFLOW_LEASE_SECS", 30_u64)?.max(1)),
                poll_interval: Duration::from_millis(
                    parse(&lookup, "LEADFLOW_WORKER_POLL_MS", 200_u64)?.max(1),
                ),
                retry: leadflow_workflows::RetryPolicy {
                    max_attempts: parse(&lookup, "LEADFLOW_WORKFLOW_MAX_ATTEMPTS", 5_u32)?.max(1),
                    base_delay: Duration::from_millis(parse(
                        &lookup,
                        "LEADFLOW_WORKFLOW_RETRY_BASE_MS",
                        1000_u64,
                    )?),
                    max_delay: Duration::from_secs(300),
                },
            },
            super_admin_email: lookup("LEADFLOW_SUPER_ADMIN_EMAIL"),
            super_admin_password: lookup("LEADFLOW_SUPER_ADMIN_PASSWORD"),
            trusted_proxies: trusted_proxies(&lookup)?,
            metrics: MetricsAccess {
                token: match lookup("LEADFLOW_METRICS_TOKEN") {
                    Some(t) if t.len() < 16 => {
                        return Err(ConfigError(
                            "LEADFLOW_METRICS_TOKEN must be at least 16 characters".into(),
                        ));
                    }
                    token => token,
                },
                bind: lookup("LEADFLOW_METRICS_BIND")
                    .map(|raw| {
                        raw.parse::<SocketAddr>().map_err(|_| {
                            ConfigError(format!(
                                "LEADFLOW_METRICS_BIND: {raw:?} is not an address such as 127.0.0.1:9464"
                            ))
                        })
                    })
                    .transpose()?,
            },
            server_limits: crate::serve::ServerLimits {
                header_read_timeout: Duration::from_secs(
                    parse(&lookup, "LEADFLOW_HEADER_READ_TIMEOUT_SECS", 10_u64)?.max(1),
                ),
                max_header_bytes: parse(&lookup, "LEADFLOW_MAX_HEADER_BYTES", 16_384_usize)?.max(8192),
                idle_timeout: Duration::from_secs(
                    parse(&lookup, "LEADFLOW_IDLE_TIMEOUT_SECS", 60_u64)?.max(1),
                ),
            },
        })
    }

    /// The signing key: given, read from its file, or generated (and, for a
    /// SQLite file database, written beside it with owner-only permissions).
    ///
    /// # Errors
    /// When the key file cannot be read or written.
    pub fn load_jwt_secret(&self) -> anyhow::Result<Vec<u8>> {
        match &self.jwt_secret {
            JwtSecret::Given(bytes) => Ok(bytes.clone()),
            JwtSecret::Ephemeral => Ok(generate_secret().into_bytes()),
            JwtSecret::KeptIn(path) => {
                if let Ok(existing) = std::fs::read_to_string(path) {
                    let existing = existing.trim().to_owned();
                    anyhow::ensure!(
                        existing.len() >= 32,
                        "{} holds a key shorter than 32 bytes",
                        path.display()
                    );
                    return Ok(existing.into_bytes());
                }
                let secret = generate_secret();
                write_private(path, &secret)?;
                Ok(secret.into_bytes())
            }
        }
    }
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create the JWT key file {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// The file of a SQLite URL, or `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost_with_a_key_beside_the_database() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://leadflow.db?mode=rwc");
        assert_eq!(c.jwt_secret, JwtSecret::KeptIn(PathBuf::from("leadflow.db.jwt-secret")));
        assert_eq!(c.access_token_ttl_secs, 3600);
        assert!(c.self_service_signup);
    }

    #[test]
    fn email_goes_to_files_beside_the_database_unless_told_otherwise() {
        let c = config(&[]).unwrap();
        assert_eq!(c.delivery.transport, EmailTransportConfig::File { dir: PathBuf::from("leadflow-mail") });
        assert_eq!(c.delivery.workers, 1);
        assert!(!c.delivery.webhook_allow_private);
        let c = config(&[("LEADFLOW_DATABASE_URL", "sqlite:///var/lib/lf/data.db?mode=rwc")]).unwrap();
        assert_eq!(
            c.delivery.transport,
            EmailTransportConfig::File { dir: PathBuf::from("/var/lib/lf/leadflow-mail") }
        );
        let c = config(&[
            ("LEADFLOW_EMAIL_TRANSPORT", "smtp"),
            ("LEADFLOW_SMTP_URL", "smtp://u:p@mx:587?tls=starttls"),
        ])
        .unwrap();
        assert_eq!(
            c.delivery.transport,
            EmailTransportConfig::Smtp { url: "smtp://u:p@mx:587?tls=starttls".into() }
        );
        let missing = config(&[("LEADFLOW_EMAIL_TRANSPORT", "smtp")]).unwrap_err();
        assert!(missing.0.contains("LEADFLOW_SMTP_URL"));
        assert!(config(&[("LEADFLOW_EMAIL_TRANSPORT", "pigeon")]).is_err());
        assert!(config(&[("LEADFLOW_APP_URL", "app.example.com")]).is_err());
    }

    #[test]
    fn postgres_requires_a_long_enough_secret() {
        let err = config(&[("LEADFLOW_DATABASE_URL", "postgres://localhost/lf")]).unwrap_err();
        assert!(err.to_string().contains("LEADFLOW_JWT_SECRET is required"));
        let err = config(&[("LEADFLOW_JWT_SECRET", "short")]).unwrap_err();
        assert!(err.to_string().contains("at least 32 bytes"));
        assert!(
            config(&[
                ("LEADFLOW_DATABASE_URL", "postgres://localhost/lf"),
                ("LEADFLOW_JWT_SECRET", &"k".repeat(32))
            ])
            .is_ok()
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (key, value) in [
            ("LEADFLOW_BIND", "nowhere"),
            ("LEADFLOW_LOG_FORMAT", "xml"),
            ("LEADFLOW_SELF_SERVICE_SIGNUP", "maybe"),
            ("LEADFLOW_ACCESS_TOKEN_TTL_SECS", "soon"),
            ("LEADFLOW_DATABASE_URL", "mysql://x"),
            ("LEADFLOW_TRUSTED_PROXIES", "10.0.0.1, the proxy"),
        ] {
            let err = config(&[(key, value)]).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
            assert_eq!(err.lines().count(), 1);
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = config(&[("LEADFLOW_TRUSTED_PROXIES", "10.0.0.5, 172.16.0.0/12,::1")]).unwrap();
        let proxies: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.5/32", "172.16.0.0/12", "::1/128"]);
        assert!(config(&[]).unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn in_memory_sqlite_uses_an_ephemeral_key() {
        assert_eq!(
            config(&[("LEADFLOW_DATABASE_URL", "sqlite::memory:")]).unwrap().jwt_secret,
            JwtSecret::Ephemeral
        );
    }
}
