//! The services a running server holds, wired to their adapters.

use std::sync::Arc;

use leadflow_auth::service::AuthPorts;
use leadflow_auth::{Argon2Hasher, AuthService, SessionConfig, TokenIssuer, TokenSettings};
use leadflow_kernel::{Clock, SystemClock};
use leadflow_organizations::{OrganizationPolicy, OrganizationService};
use leadflow_storage::{PoolSettings, Storage};

use crate::config::Config;

/// Everything the handlers need, shared by all requests.
pub struct AppState {
    /// Auth use cases.
    pub auth: AuthService,
    /// Organization use cases.
    pub organizations: OrganizationService,
    /// The database (for readiness).
    pub storage: Storage,
}

impl AppState {
    /// Connects to the database, applies migrations and wires every service.
    ///
    /// # Errors
    /// When the database, the migrations or the key file fail.
    pub async fn build(config: &Config) -> anyhow::Result<Arc<Self>> {
        let storage = Storage::connect(
            &config.database_url,
            &PoolSettings {
                max_connections: config.database_max_connections,
                access_cache_ttl: config.access_cache_ttl,
            },
        )
        .await?;
        storage.migrate().await?;
        Self::wire(config, storage)
    }

    /// Wires the services on an already migrated store.
    ///
    /// # Errors
    /// When the key file or the hash parameters are unusable.
    pub fn wire(config: &Config, storage: Storage) -> anyhow::Result<Arc<Self>> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let tokens = Arc::new(TokenIssuer::new(TokenSettings {
            secret: config.load_jwt_secret()?,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            access_ttl_secs: config.access_token_ttl_secs,
            refresh_ttl_secs: config.refresh_token_ttl_secs,
        }));
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let auth_adapter = Arc::new(storage.auth());
        let ports = AuthPorts {
            users: auth_adapter.clone(),
            memberships: auth_adapter.clone(),
            access: auth_adapter.clone(),
            refresh_tokens: auth_adapter.clone(),
            registrations: auth_adapter,
            hasher: Arc::new(Argon2Hasher::new(config.password_hash_cost, cores)?),
            clock: clock.clone(),
        };
        let auth = AuthService::new(
            ports,
            tokens,
            SessionConfig { self_service_signup: config.self_service_signup },
        );
        let organizations = OrganizationService::new(
            Arc::new(storage.organizations()),
            clock,
            OrganizationPolicy { self_service_signup: config.self_service_signup },
        );
        Ok(Arc::new(Self { auth, organizations, storage }))
    }
}
