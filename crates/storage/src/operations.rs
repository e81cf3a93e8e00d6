//! What an operator watches, read at scrape time: the connection pool's use
//! and the backlogs of workflows, emails and webhook deliveries. Every count
//! reads only rows that a partial "due" index covers, so a scrape stays cheap
//! however many finished rows the tables hold.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use crate::Storage;
use crate::db::unexpected;

/// The connection pool's use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUse {
    /// Open connections.
    pub open: u32,
    /// Open and idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// A queue: how many rows wait and since when the oldest is due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows not finished (queued, leased or waiting for a retry).
    pub open: u64,
    /// Of those, due now.
    pub due: u64,
    /// The due time of the oldest due row.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Everything read at one scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationalSnapshot {
    /// The pool.
    pub pool: PoolUse,
    /// Workflows `pending` or `running` (the workers' queue), by status.
    pub workflows: Vec<(String, Backlog)>,
    /// Emails `pending` or `sending`.
    pub emails: Backlog,
    /// Webhook deliveries `pending`.
    pub webhooks: Backlog,
}

impl Storage {
    /// The pool's use now.
    #[must_use]
    pub fn pool_use(&self) -> PoolUse {
        let (open, idle, max) = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
        };
        PoolUse { open, idle: u32::try_from(idle).unwrap_or(u32::MAX), max }
    }

    /// The pool and the backlogs, read now.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn operational_snapshot(&self, now: DateTime<Utc>) -> anyhow::Result<OperationalSnapshot> {
        let mut workflows = Vec::new();
        for status in ["pending", "running"] {
            let backlog = self
                .backlog("workflows", "next_run_at", &format!("status = '{status}'"), now)
                .await
                .map_err(|e| unexpected(e, "counting the workflow backlog"))?;
            workflows.push((status.to_owned(), backlog));
        }
        let emails = self
            .backlog("email_outbox", "next_attempt_at", "status IN ('pending', 'sending')", now)
            .await
            .map_err(|e| unexpected(e, "counting the email backlog"))?;
        let webhooks = self
            .backlog("webhook_deliveries", "next_attempt_at", "status = 'pending'", now)
            .await
            .map_err(|e| unexpected(e, "counting the webhook backlog"))?;
        Ok(OperationalSnapshot { pool: self.pool_use(), workflows, emails, webhooks })
    }

    /// Open rows of `table` (matching `open`, a fixed predicate of a partial
    /// index), those due at `now`, and the oldest due time.
    async fn backlog(
        &self,
        table: &str,
        due_at: &str,
        open: &str,
        now: DateTime<Utc>,
    ) -> Result<Backlog, DbErr> {
        let backend = self.db.get_database_backend();
        let param = if backend == DatabaseBackend::Postgres { "$1" } else { "?" };
        let sql = format!(
            "SELECT COUNT(*) AS open, \
                    COUNT(CASE WHEN {due_at} <= {param} THEN 1 END) AS due, \
                    MIN(CASE WHEN {due_at} <= {param} THEN {due_at} END) AS oldest \
             FROM {table} WHERE {open}"
        );
        let values: Vec<sea_orm::Value> = if backend == DatabaseBackend::Postgres {
            vec![now.into()]
        } else {
            vec![now.into(), now.into()]
        };
        let row = self.db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let Some(row) = row else { return Ok(Backlog::default()) };
        let count = |name: &str| row.try_get::<i64>("", name).map(|n| u64::try_from(n).unwrap_or(0));
        Ok(Backlog { open: count("open")?, due: count("due")?, oldest_due: row.try_get("", "oldest")? })
    }
}
