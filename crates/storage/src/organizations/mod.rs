//! The organizations context's storage. This module owns the `organizations`,
//! `teams` and `team_members` tables, and reads the audit log for the
//! organizations context's audit log reader.

#[cfg(feature = "organizations")]
mod audit_log;
#[cfg(feature = "organizations")]
mod repository;
#[cfg(feature = "organizations")]
mod teams;

#[cfg(feature = "organizations")]
pub(crate) use repository::insert_organization;
#[cfg(feature = "organizations")]
pub use repository::SeaOrmOrganizations;
#[cfg(feature = "organizations")]
pub use teams::SeaOrmTeams;

#[cfg(feature = "organizations")]
pub use audit_log::SeaOrmAuditLog;

use leadflow_kernel::{TeamId, TenantScope, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::db::unexpected;
use crate::entities::{team, team_member};

/// The members of every team `leader` leads in the scope's organization.
pub(crate) async fn led_by<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    leader: UserId,
) -> anyhow::Result<Vec<UserId>> {
    let org = scope.organization_id().as_uuid();
    let teams: Vec<Uuid> = team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .filter(team::Column::OrganizationId.eq(org))
        .filter(team::Column::LeaderId.eq(leader.as_uuid()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading led teams"))?;
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let users: Vec<Uuid> = team_member::Entity::find()
        .select_only()
        .column(team_member::Column::UserId)
        .distinct()
        .filter(team_member::Column::OrganizationId.eq(org))
        .filter(team_member::Column::TeamId.is_in(teams))
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading team members"))?;
    Ok(users.into_iter().map(UserId::from_uuid).collect())
}

/// The members of one team of the scope's organization (empty for an unknown team).
pub(crate) async fn team_members<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    team: TeamId,
) -> anyhow::Result<Vec<UserId>> {
    let users: Vec<Uuid> = team_member::Entity::find()
        .select_only()
        .column(team_member::Column::UserId)
        .filter(team_member::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(team_member::Column::TeamId.eq(team.as_uuid()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading team members"))?;
    Ok(users.into_iter().map(UserId::from_uuid).collect())
}

/// Clears `user` as the leader of the scope's teams (they are leaving the
/// organization; their team memberships go with the membership's foreign key).
pub(crate) async fn clear_team_leader<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    user: UserId,
) -> Result<(), DbErr> {
    team::Entity::update_many()
        .col_expr(team::Column::LeaderId, Expr::value(Option::<Uuid>::None))
        .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(team::Column::LeaderId.eq(user.as_uuid()))
        .exec(conn)
        .await
        .map(|_| ())
}
