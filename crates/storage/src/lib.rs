//! SeaORM adapters for every Leadflow repository port, on SQLite and PostgreSQL.
//!
//! [`Storage`] owns the connection pool and hands out one adapter per port.
//! Each domain's adapters sit behind a cargo feature of the same name, so an
//! embedder takes only what it uses. Driver errors are translated into port
//! errors here and nowhere else.

// Without any domain feature only the connection, migrations and entities are used.
#![cfg_attr(not(feature = "organizations"), allow(dead_code, unused_imports))]

#[cfg(feature = "auth")]
pub mod access;
pub mod access_cache;
pub mod audit;
#[cfg(feature = "auth")]
pub mod auth;
pub mod entities;
#[cfg(feature = "leads")]
pub mod leads;
#[cfg(feature = "organizations")]
pub mod organizations;
#[cfg(feature = "subscriptions")]
pub mod subscriptions;
#[cfg(feature = "organizations")]
pub mod teams;
pub mod testing;
#[cfg(feature = "workflows")]
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr, SqlErr,
    TransactionTrait as _,
};

pub use access_cache::AccessCache;

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
    /// runs in WAL mode with `synchronous=NORMAL`, foreign keys on and a 5 s busy timeout.
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

/// Opens a transaction that will write. On SQLite it starts `IMMEDIATE`, taking
/// the write lock up front (waiting up to the busy timeout), so a transaction
/// that reads before it writes never fails with a stale-snapshot `SQLITE_BUSY`;
/// PostgreSQL ignores the option.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// One newest-first keyset page of `query`: the rows strictly after
/// `page.after` by `(created_at, id)`, and the cursor of the next page when
/// one follows (one extra row is read to know).
///
/// The cursor is a row-value comparison `(created_at, id) < (at, id)` (both
/// engines support it), so the `(organization_id, created_at, id)` index seeks
/// straight to the page, where the equivalent `OR` would scan from the newest
/// row each time.
pub(crate) async fn keyset_page<E, C1, C2>(
    db: &DatabaseConnection,
    mut query: sea_orm::Select<E>,
    (created_at, id): (C1, C2),
    page: leadflow_kernel::KeysetPage,
    cursor_of: impl Fn(&E::Model) -> leadflow_kernel::Cursor,
) -> Result<(Vec<E::Model>, Option<leadflow_kernel::Cursor>), DbErr>
where
    E: sea_orm::EntityTrait,
    C1: sea_orm::ColumnTrait,
    C2: sea_orm::ColumnTrait,
{
    use sea_orm::sea_query::{Expr, ExprTrait as _};
    use sea_orm::{QueryFilter as _, QueryOrder as _, QuerySelect as _};
    if let Some(after) = page.after {
        query = query.filter(
            Expr::tuple([Expr::col(created_at), Expr::col(id)])
                .lt(Expr::tuple([Expr::value(after.at), Expr::value(after.id)])),
        );
    }
    let mut rows = query.order_by_desc(created_at).order_by_desc(id).limit(page.limit + 1).all(db).await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
    let next = if more { rows.last().map(cursor_of) } else { None };
    Ok((rows, next))
}

/// Whether a driver error is a unique-constraint violation.
pub(crate) fn unique_violation(e: &DbErr) -> Option<String> {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => Some(message),
        _ => None,
    }
}

/// Wraps a driver error with what was being done.
pub(crate) fn unexpected(e: DbErr, doing: &'static str) -> anyhow::Error {
    anyhow::Error::new(e).context(doing)
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
