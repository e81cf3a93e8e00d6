//! The audit log's one writer: the insert every change makes inside its own
//! transaction (see [`crate::db::Change`]).

use leadflow_kernel::AuditEntry;
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryTrait as _, Set, Statement};
use uuid::Uuid;

use crate::entities::audit_log;

/// Appends `entry` on `conn` (a pool or, normally, the transaction of the
/// change), with the webhook events it causes ([`super::events`]).
pub(crate) async fn insert_audit<C: ConnectionTrait>(conn: &C, entry: &AuditEntry) -> Result<(), DbErr> {
    let insert = audit_log::Entity::insert(row(entry));
    let events = super::events::events_of(entry);
    if conn.get_database_backend() == DatabaseBackend::Postgres
        && let Some(organization) = entry.organization_id
        && !events.is_empty()
    {
        // One round trip for the entry and the endpoints its events go to: the
        // insert runs as a data-modifying CTE beside the endpoints' read.
        let (sql, mut values) = insert.into_query().build(PostgresQueryBuilder);
        values.0.push(organization.as_uuid().into());
        let sql = format!(
            "WITH audit AS ({sql}) SELECT id, events FROM webhook_endpoints WHERE organization_id = ${} AND enabled",
            values.0.len()
        );
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values))
            .await?;
        let endpoints = rows
            .iter()
            .map(|r| Ok((r.try_get_by_index::<Uuid>(0)?, r.try_get_by_index::<serde_json::Value>(1)?)))
            .collect::<Result<Vec<_>, DbErr>>()?;
        return super::events::publish_events(conn, entry, events, Some(&endpoints)).await;
    }
    insert.exec_without_returning(conn).await?;
    super::events::publish_events(conn, entry, events, None).await
}

/// The row of `entry`.
fn row(entry: &AuditEntry) -> audit_log::ActiveModel {
    audit_log::ActiveModel {
        id: Set(entry.id),
        organization_id: Set(entry.organization_id.map(|o| o.as_uuid())),
        actor_type: Set(entry.actor_kind.as_str().to_owned()),
        actor_id: Set(entry.actor_id),
        actor_email: Set(entry.actor_email.clone()),
        action: Set(entry.action.clone()),
        resource_type: Set(entry.resource_type.clone()),
        resource_id: Set(entry.resource_id.clone()),
        details: Set(entry.details.clone()),
        ip: Set(entry.ip.clone()),
        created_at: Set(entry.created_at),
    }
}

/// How many entries of `organization` with `action` were written since `since`.
#[cfg_attr(not(feature = "workflows"), allow(dead_code))]
pub(crate) async fn count_actions_since<C: ConnectionTrait>(
    conn: &C,
    organization: leadflow_kernel::OrganizationId,
    action: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait as _, PaginatorTrait as _, QueryFilter as _};
    audit_log::Entity::find()
        .filter(audit_log::Column::OrganizationId.eq(organization.as_uuid()))
        .filter(audit_log::Column::CreatedAt.gte(since))
        .filter(audit_log::Column::Action.eq(action))
        .count(conn)
        .await
}
