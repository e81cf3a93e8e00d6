//! The storage core every context module builds on: write transactions that
//! end with their audit entry, newest-first keyset pages, case-insensitive
//! search, grouped counts and the translation of driver errors.
//!
//! Nothing here knows a context's tables except the audit log, whose one
//! writer is [`audit::insert_audit`].

pub(crate) mod audit;
pub(crate) mod events;

use std::collections::BTreeMap;

use leadflow_kernel::{AuditEntry, Cursor, KeysetPage};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Select, SqlErr, TransactionTrait as _,
};

/// Opens a transaction that will write. On SQLite it starts `IMMEDIATE`, taking
/// the write lock up front (waiting up to the busy timeout), so a transaction
/// that reads before it writes never fails with a stale-snapshot `SQLITE_BUSY`;
/// PostgreSQL ignores the option.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> anyhow::Result<DatabaseTransaction> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
    .map_err(|e| unexpected(e, "beginning a write transaction"))
}

/// One change and its audit entry: [`Change::begin`] opens the write
/// transaction, the adapter writes on it (it derefs to the transaction), and
/// [`Change::commit`] appends the audit entry and commits. Dropping it rolls
/// everything back, so an early `return Err(…)` changes nothing.
pub(crate) struct Change {
    txn: DatabaseTransaction,
    doing: &'static str,
}

impl Change {
    /// Opens the transaction of the change called `doing` (used in error context).
    pub(crate) async fn begin(db: &DatabaseConnection, doing: &'static str) -> anyhow::Result<Self> {
        Ok(Self { txn: begin_write(db).await?, doing })
    }

    /// Writes `audit` and commits the change.
    pub(crate) async fn commit(self, audit: &AuditEntry) -> anyhow::Result<()> {
        audit::insert_audit(&self.txn, audit).await.map_err(|e| unexpected(e, "writing the audit entry"))?;
        self.txn.commit().await.map_err(|e| unexpected(e, self.doing))
    }
}

impl std::ops::Deref for Change {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
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
    query: Select<E>,
    columns: (C1, C2),
    page: KeysetPage,
    cursor_of: impl Fn(&E::Model) -> Cursor,
) -> Result<(Vec<E::Model>, Option<Cursor>), DbErr>
where
    E: EntityTrait,
    C1: ColumnTrait,
    C2: ColumnTrait,
{
    keyset_page_as::<E, E::Model, C1, C2>(db, query, columns, page, cursor_of).await
}

/// [`keyset_page`] with the rows decoded as `M` (a faster decoding of `E`'s rows).
pub(crate) async fn keyset_page_as<E, M, C1, C2>(
    db: &DatabaseConnection,
    mut query: Select<E>,
    (created_at, id): (C1, C2),
    page: KeysetPage,
    cursor_of: impl Fn(&M) -> Cursor,
) -> Result<(Vec<M>, Option<Cursor>), DbErr>
where
    E: EntityTrait,
    M: sea_orm::FromQueryResult + Send,
    C1: ColumnTrait,
    C2: ColumnTrait,
{
    if let Some(after) = page.after {
        query = query.filter(
            Expr::tuple([Expr::col(created_at), Expr::col(id)])
                .lt(Expr::tuple([Expr::value(after.at), Expr::value(after.id)])),
        );
    }
    let mut rows = query
        .order_by_desc(created_at)
        .order_by_desc(id)
        .limit(page.limit + 1)
        .into_model::<M>()
        .all(db)
        .await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
    let next = if more { rows.last().map(cursor_of) } else { None };
    Ok((rows, next))
}

/// A condition matching rows where any of `columns` contains `search`,
/// case-insensitively, with `%`, `_` and `\` in the search taken literally.
#[cfg_attr(not(feature = "leads"), allow(dead_code))]
pub(crate) fn contains_any<C: ColumnTrait>(columns: &[C], search: &str) -> Condition {
    let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    columns.iter().fold(Condition::any(), |any, col| {
        any.add(Expr::expr(Func::lower(Expr::col(*col))).like(LikeExpr::new(pattern.clone()).escape('\\')))
    })
}

/// `SELECT key, COUNT(counted) … GROUP BY key` over `query`, as a map (a NULL
/// key counts under `"none"`).
pub(crate) async fn count_by<E, K, C>(
    conn: &impl ConnectionTrait,
    query: Select<E>,
    key: K,
    counted: C,
) -> anyhow::Result<BTreeMap<String, u64>>
where
    E: EntityTrait,
    K: ColumnTrait,
    C: ColumnTrait,
{
    let rows: Vec<(Option<String>, i64)> = query
        .select_only()
        .column(key)
        .column_as(counted.count(), "count")
        .group_by(key)
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "counting rows by group"))?;
    Ok(rows
        .into_iter()
        .map(|(k, n)| (k.unwrap_or_else(|| "none".into()), u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Whether a driver error is a unique-constraint violation (with the driver's message).
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

/// Whether `error` says the database cannot be reached right now (connection
/// refused or reset, pool timed out or closed, the server shutting down),
/// rather than that a statement failed. Callers answer "try again later".
#[must_use]
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    use sea_orm::RuntimeErr;
    error.chain().any(|cause| match cause.downcast_ref::<DbErr>() {
        Some(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => true,
        Some(DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) => {
            sqlx_unavailable(e)
        }
        _ => cause.downcast_ref::<std::io::Error>().is_some(),
    })
}

fn sqlx_unavailable(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P0x (shutdown, cannot connect now).
        Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
        _ => false,
    }
}
