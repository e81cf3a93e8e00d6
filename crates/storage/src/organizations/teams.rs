//! Adapter of teams: [`SeaOrmTeams`] (also the organizations context's [`MemberDirectory`]).

use async_trait::async_trait;
use leadflow_kernel::{AuditEntry, OrganizationId, TenantScope, UserId};
use leadflow_organizations::teams::{
    MemberDirectory, Team, TeamId, TeamMember, TeamRepository, TeamStoreError,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::Storage;
use crate::db::Change;
use crate::db::{unexpected, unique_violation};
use crate::entities::{team, team_member, user};

/// [`TeamRepository`] and [`MemberDirectory`] on SeaORM.
#[derive(Clone)]
pub struct SeaOrmTeams {
    db: DatabaseConnection,
}

impl Storage {
    /// The teams adapter.
    #[must_use]
    pub fn teams(&self) -> SeaOrmTeams {
        SeaOrmTeams { db: self.db.clone() }
    }
}

fn to_row(t: &Team) -> team::ActiveModel {
    team::ActiveModel {
        id: Set(t.id.as_uuid()),
        organization_id: Set(t.organization_id.as_uuid()),
        name: Set(t.name.clone()),
        description: Set(t.description.clone()),
        leader_id: Set(t.leader_id.map(|u| u.as_uuid())),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
    }
}

fn to_domain(r: team::Model) -> Team {
    Team {
        id: TeamId::from_uuid(r.id),
        organization_id: OrganizationId::from_uuid(r.organization_id),
        name: r.name,
        description: r.description,
        leader_id: r.leader_id.map(UserId::from_uuid),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn store_error(e: DbErr, doing: &'static str) -> TeamStoreError {
    match unique_violation(&e) {
        Some(_) => TeamStoreError::NameTaken,
        None => unexpected(e, doing).into(),
    }
}

#[async_trait]
impl TeamRepository for SeaOrmTeams {
    async fn create(&self, _scope: TenantScope, t: &Team, audit: &AuditEntry) -> Result<(), TeamStoreError> {
        let txn = Change::begin(&self.db, "committing team").await?;
        team::Entity::insert(to_row(t))
            .exec_without_returning(&*txn)
            .await
            .map_err(|e| store_error(e, "inserting team"))?;
        txn.commit(audit).await?;
        Ok(())
    }

    async fn get(&self, scope: TenantScope, id: TeamId) -> Result<Option<Team>, TeamStoreError> {
        let row = team::Entity::find_by_id(id.as_uuid())
            .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading team"))?;
        Ok(row.map(to_domain))
    }

    async fn list(&self, scope: TenantScope) -> Result<Vec<Team>, TeamStoreError> {
        let rows = team::Entity::find()
            .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .order_by_asc(team::Column::Name)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing teams"))?;
        Ok(rows.into_iter().map(to_domain).collect())
    }

    async fn members(&self, scope: TenantScope, id: TeamId) -> Result<Vec<TeamMember>, TeamStoreError> {
        let rows = team_member::Entity::find()
            .filter(team_member::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(team_member::Column::TeamId.eq(id.as_uuid()))
            .find_also_related(user::Entity)
            .order_by_asc(team_member::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing team members"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(m, u)| {
                u.map(|u| TeamMember {
                    user_id: UserId::from_uuid(u.id),
                    email: u.email,
                    name: u.name,
                    added_at: m.created_at,
                })
            })
            .collect())
    }

    async fn update(
        &self,
        scope: TenantScope,
        t: &Team,
        read_at: chrono::DateTime<chrono::Utc>,
        audit: &AuditEntry,
    ) -> Result<(), TeamStoreError> {
        let mut row = to_row(t);
        row.id = sea_orm::ActiveValue::NotSet;
        row.organization_id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let txn = Change::begin(&self.db, "committing team").await?;
        // Only over the version that was read: a change made since is kept.
        let written = team::Entity::update_many()
            .set(row)
            .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(team::Column::Id.eq(t.id.as_uuid()))
            .filter(team::Column::UpdatedAt.eq(read_at))
            .exec(&*txn)
            .await
            .map_err(|e| store_error(e, "updating team"))?;
        if written.rows_affected != 1 {
            let exists = team::Entity::find_by_id(t.id.as_uuid())
                .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
                .one(&*txn)
                .await
                .map_err(|e| unexpected(e, "reading team"))?
                .is_some();
            return Err(if exists { TeamStoreError::Changed } else { TeamStoreError::NotFound });
        }
        txn.commit(audit).await?;
        Ok(())
    }

    async fn delete(&self, scope: TenantScope, id: TeamId, audit: &AuditEntry) -> Result<(), TeamStoreError> {
        let txn = Change::begin(&self.db, "committing team deletion").await?;
        let deleted = team::Entity::delete_many()
            .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(team::Column::Id.eq(id.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "deleting team"))?;
        if deleted.rows_affected == 0 {
            return Err(TeamStoreError::NotFound);
        }
        txn.commit(audit).await?;
        Ok(())
    }

    async fn add_member(
        &self,
        scope: TenantScope,
        id: TeamId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, TeamStoreError> {
        let txn = Change::begin(&self.db, "committing team member").await?;
        let inserted = team_member::Entity::insert(team_member::ActiveModel {
            organization_id: Set(scope.organization_id().as_uuid()),
            team_id: Set(id.as_uuid()),
            user_id: Set(user.as_uuid()),
            created_at: Set(audit.created_at),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&*txn)
        .await
        .map_err(|e| unexpected(e, "adding team member"))?;
        if !matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
            return Ok(false);
        }
        txn.commit(audit).await?;
        Ok(true)
    }

    async fn remove_member(
        &self,
        scope: TenantScope,
        id: TeamId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, TeamStoreError> {
        let txn = Change::begin(&self.db, "committing team member removal").await?;
        let deleted = team_member::Entity::delete_many()
            .filter(team_member::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(team_member::Column::TeamId.eq(id.as_uuid()))
            .filter(team_member::Column::UserId.eq(user.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "removing team member"))?;
        if deleted.rows_affected == 0 {
            return Ok(false);
        }
        txn.commit(audit).await?;
        Ok(true)
    }
}

#[async_trait]
impl MemberDirectory for SeaOrmTeams {
    async fn is_member(&self, scope: TenantScope, user: UserId) -> anyhow::Result<bool> {
        crate::auth::is_member(&self.db, scope, user).await
    }
}

#[cfg(feature = "leads")]
/// The members of every team `leader` leads in the scope's organization.
pub(crate) async fn led_by<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    leader: UserId,
) -> anyhow::Result<Vec<UserId>> {
    use sea_orm::QuerySelect as _;
    let teams: Vec<uuid::Uuid> = team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(team::Column::LeaderId.eq(leader.as_uuid()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading led teams"))?;
    members_of(conn, scope, teams).await
}

/// The leaders of the scope's organization's teams that `member` is in.
#[cfg(feature = "workflows")]
pub(crate) async fn leaders_of_teams_with<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    member: UserId,
) -> anyhow::Result<Vec<UserId>> {
    use sea_orm::QuerySelect as _;
    use sea_orm::sea_query::Query;
    let leaders: Vec<Option<uuid::Uuid>> = team::Entity::find()
        .select_only()
        .column(team::Column::LeaderId)
        .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(
            team::Column::Id.in_subquery(
                Query::select()
                    .column(team_member::Column::TeamId)
                    .from(team_member::Entity)
                    .and_where(team_member::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
                    .and_where(team_member::Column::UserId.eq(member.as_uuid()))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading team leaders"))?;
    Ok(leaders.into_iter().flatten().map(UserId::from_uuid).collect())
}

#[cfg(feature = "leads")]
/// The members of one team of the scope's organization (empty for an unknown team).
pub(crate) async fn team_members<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    team: leadflow_kernel::TeamId,
) -> anyhow::Result<Vec<UserId>> {
    members_of(conn, scope, vec![team.as_uuid()]).await
}

/// The distinct members of `teams` in the scope's organization.
#[cfg(feature = "leads")]
async fn members_of<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    teams: Vec<uuid::Uuid>,
) -> anyhow::Result<Vec<UserId>> {
    use sea_orm::QuerySelect as _;
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let users: Vec<uuid::Uuid> = team_member::Entity::find()
        .select_only()
        .column(team_member::Column::UserId)
        .distinct()
        .filter(team_member::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(team_member::Column::TeamId.is_in(teams))
        .into_tuple()
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading team members"))?;
    Ok(users.into_iter().map(UserId::from_uuid).collect())
}

#[cfg(feature = "auth")]
/// Clears `user` as the leader of the scope's teams (they are leaving the
/// organization; their team memberships go with the membership's foreign key).
pub(crate) async fn clear_team_leader<C: sea_orm::ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    user: UserId,
) -> Result<(), sea_orm::DbErr> {
    team::Entity::update_many()
        .col_expr(team::Column::LeaderId, sea_orm::sea_query::Expr::value(Option::<uuid::Uuid>::None))
        .filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(team::Column::LeaderId.eq(user.as_uuid()))
        .exec(conn)
        .await
        .map(|_| ())
}
