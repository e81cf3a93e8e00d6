//! The leads context's storage. This module owns the `leads`,
//! `idempotency_keys`, `lead_originals`, `lead_forms` and `routing_proposals` tables: it is the only one that writes them and the only
//! one that knows their encodings. Other contexts change a lead through the
//! `pub(crate)` functions here, in their own transaction.

#[cfg(feature = "leads")]
mod forms;
#[cfg(feature = "leads")]
mod proposals;
#[cfg(feature = "leads")]
mod repository;
#[cfg(feature = "workflows")]
mod review;
#[cfg(feature = "workflows")]
mod routing;
#[cfg(feature = "leads")]
mod rows;
#[cfg(feature = "leads")]
mod submission;
#[cfg(feature = "leads")]
mod workers;

#[cfg(feature = "workflows")]
pub(crate) use review::record_review;
#[cfg(feature = "workflows")]
pub(crate) use routing::apply_route;
#[cfg(feature = "leads")]
use rows::{to_domain, to_row};

#[cfg(feature = "auth")]
use leadflow_kernel::{TenantScope, UserId};
#[cfg(feature = "auth")]
use sea_orm::sea_query::Expr;
#[cfg(feature = "auth")]
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

#[cfg(feature = "auth")]
use crate::entities::lead;

/// The leads adapters, on one pool: the lead repository, the submission unit
/// of work and the directory of who may work leads.
#[cfg(feature = "leads")]
#[derive(Clone)]
pub struct SeaOrmLeads {
    db: sea_orm::DatabaseConnection,
}

#[cfg(feature = "leads")]
impl crate::Storage {
    /// The leads adapter.
    #[must_use]
    pub fn leads(&self) -> SeaOrmLeads {
        SeaOrmLeads { db: self.db.clone() }
    }
}

/// Unassigns every lead of the scope's organization assigned to `user` (who
/// is leaving it), on `conn`.
#[cfg(feature = "auth")]
pub(crate) async fn unassign_all<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    user: UserId,
) -> Result<(), DbErr> {
    lead::Entity::update_many()
        .col_expr(lead::Column::AssigneeId, Expr::value(Option::<uuid::Uuid>::None))
        .filter(lead::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(lead::Column::AssigneeId.eq(user.as_uuid()))
        .exec(conn)
        .await
        .map(|_| ())
}

/// How many of the scope's leads are in each status (for the organization's statistics).
pub(crate) async fn leads_by_status<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: leadflow_kernel::TenantScope,
) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    let query = crate::entities::lead::Entity::find()
        .filter(crate::entities::lead::Column::OrganizationId.eq(scope.organization_id().as_uuid()));
    crate::db::count_by(conn, query, crate::entities::lead::Column::Status, crate::entities::lead::Column::Id)
        .await
}

/// Forgets `lead` as the original of its email (it is deleted), on `conn`.
#[cfg(feature = "leads")]
pub(crate) async fn forget_original<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: leadflow_kernel::TenantScope,
    lead: leadflow_kernel::LeadId,
) -> anyhow::Result<()> {
    use crate::entities::lead_original;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    lead_original::Entity::delete_many()
        .filter(lead_original::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(lead_original::Column::LeadId.eq(lead.as_uuid()))
        .exec(conn)
        .await
        .map_err(|e| crate::db::unexpected(e, "forgetting the original of an email"))?;
    Ok(())
}
