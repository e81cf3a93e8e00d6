//! SeaORM adapters for every Leadflow repository port, on SQLite and PostgreSQL.
//!
//! [`Storage`] owns the connection pool and hands out one adapter per port.
//! Each domain's adapters sit behind a cargo feature of the same name, so an
//! embedder takes only what it uses. Driver errors are translated into port
//! errors here and nowhere else.

// Without any domain feature only the connection, migrations and entities are used.
#![cfg_attr(not(feature = "organizations"), allow(dead_code, unused_imports))]

pub mod auth;
pub(crate) mod db;
pub mod entities;
pub mod leads;
pub mod operations;
pub mod organizations;
#[cfg(feature = "delivery")]
pub mod outbox;
pub mod subscriptions;
pub mod testing;
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};

pub use auth::AccessCache;
pub use db::is_unavailable;

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Largest number of open connections (SQLite defaults to 4, PostgreSQL to 16).
    pub max_connections: Option<u32>,
    /// How long a cached "may act in this organization" answer lives.
    pub access_cache_ttl: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: None, access_cache_ttl: Duration::from_secs(5) }
    }
}

/// The database and the adapters built on it.
#[derive(Clone)]
pub struct Storage {
    db: DatabaseConnection,
    cache: Arc<AccessCache>,
}

impl Storage {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`). SQLite
    /// runs in WAL mode with `synchronous=NORMAL`, foreign keys on, a 5 s busy timeout
    /// and room for a whole page of rows between its thread and the caller.
    ///
    /// # Errors
    /// When the database cannot be reached or the URL is not understood.
    pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Self> {
        let sqlite = url.starts_with("sqlite:");
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(settings.max_connections.unwrap_or(if sqlite { 4 } else { 16 }))
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    // A page of 100 rows (and its one extra row) crosses from
                    // the connection's thread without waiting on the channel (default 50).
                    .row_buffer_size(128)
            });
        let db =
            Database::connect(options).await.with_context(|| format!("connecting to {}", redact(url)))?;
        Ok(Self { db, cache: Arc::new(AccessCache::new(settings.access_cache_ttl)) })
    }

    /// Applies every pending migration.
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.db, None).await.context("applying migrations")
    }

    /// The underlying connection pool.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Which engine this is.
    #[must_use]
    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Whether the database answers.
    pub async fn is_reachable(&self) -> bool {
        self.db.execute_unprepared("SELECT 1").await.is_ok()
    }

    /// The access cache shared by the adapters.
    #[must_use]
    pub fn access_cache(&self) -> Arc<AccessCache> {
        self.cache.clone()
    }
}

/// A URL without its password, for messages.
#[must_use]
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/lf"), "postgres://app:***@db:5432/lf");
        assert_eq!(redact("sqlite://leadflow.db?mode=rwc"), "sqlite://leadflow.db?mode=rwc");
    }
}
