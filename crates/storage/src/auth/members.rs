//! Members: the `memberships` table, with the rule that an organization
//! always keeps an owner. A member who leaves takes their team leads, sessions
//! and lead assignments with them, each cleared by the table's owner.

use async_trait::async_trait;
use leadflow_auth::members::{Member, MemberChangeError, MemberRepository};
use leadflow_kernel::{AuditEntry, OrganizationId, Role, TenantScope, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::api_keys::revoke_created_by;
use super::sessions::revoke_sessions_in;
use super::{SeaOrmAuth, parse_role};
use crate::db::{Change, unexpected};
use crate::entities::{membership, user};
use crate::leads::unassign_all;
use crate::organizations::clear_team_leader;

fn member_of(m: membership::Model, u: user::Model) -> anyhow::Result<Member> {
    Ok(Member {
        user_id: UserId::from_uuid(u.id),
        email: u.email,
        name: u.name,
        role: parse_role(&m.role)?,
        joined_at: m.created_at,
    })
}

#[async_trait]
impl MemberRepository for SeaOrmAuth {
    async fn members(&self, scope: TenantScope) -> anyhow::Result<Vec<Member>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .find_also_related(user::Entity)
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing members"))?;
        rows.into_iter().filter_map(|(m, u)| u.map(|u| member_of(m, u))).collect()
    }

    async fn member(&self, scope: TenantScope, user: UserId) -> anyhow::Result<Option<Member>> {
        let row = membership::Entity::find_by_id((scope.organization_id().as_uuid(), user.as_uuid()))
            .find_also_related(user::Entity)
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading member"))?;
        row.and_then(|(m, u)| u.map(|u| member_of(m, u))).transpose()
    }

    async fn change_role(
        &self,
        scope: TenantScope,
        user: UserId,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError> {
        let org = scope.organization_id();
        let txn = Change::begin(&self.db, "committing role change").await?;
        let was_owner = owner_guard(&*txn, org, user).await?;
        let updated = membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(role.as_str()))
            .filter(membership::Column::OrganizationId.eq(org.as_uuid()))
            .filter(membership::Column::UserId.eq(user.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "changing role"))?;
        if updated.rows_affected == 0 {
            return Err(MemberChangeError::NotFound);
        }
        if was_owner && role != Role::Owner && owners(&*txn, org).await? == 0 {
            return Err(MemberChangeError::LastOwner);
        }
        txn.commit(audit).await?;
        self.cache.invalidate_organization(org);
        Ok(())
    }

    async fn remove(
        &self,
        scope: TenantScope,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError> {
        let org = scope.organization_id();
        let txn = Change::begin(&self.db, "committing member removal").await?;
        let was_owner = owner_guard(&*txn, org, user).await?;
        let deleted = membership::Entity::delete_by_id((org.as_uuid(), user.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "removing member"))?;
        if deleted.rows_affected == 0 {
            return Err(MemberChangeError::NotFound);
        }
        if was_owner && owners(&*txn, org).await? == 0 {
            return Err(MemberChangeError::LastOwner);
        }
        // Team memberships go with the membership (foreign key); team leads and
        // the member's sessions in this organization are cleared here.
        clear_team_leader(&*txn, scope, user).await.map_err(|e| unexpected(e, "clearing team leads"))?;
        revoke_sessions_in(&*txn, org, user, audit.created_at)
            .await
            .map_err(|e| unexpected(e, "revoking sessions"))?;
        unassign_all(&*txn, scope, user).await.map_err(|e| unexpected(e, "unassigning leads"))?;
        revoke_created_by(&*txn, org, user, audit.created_at)
            .await
            .map_err(|e| unexpected(e, "revoking the member's API keys"))?;
        txn.commit(audit).await?;
        self.cache.invalidate_organization(org);
        Ok(())
    }
}

/// Serialises changes to an organization's owners and says whether `user`
/// is one. On PostgreSQL the owner rows are locked (`FOR UPDATE`), so two
/// owners demoting each other cannot both succeed; on SQLite the `IMMEDIATE`
/// transaction already holds the database's write lock.
async fn owner_guard<C: ConnectionTrait>(
    txn: &C,
    org: OrganizationId,
    user: UserId,
) -> Result<bool, MemberChangeError> {
    let mut query = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.as_uuid()))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()));
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    let owner_rows = query.all(txn).await.map_err(|e| unexpected(e, "locking owners"))?;
    Ok(owner_rows.iter().any(|m| m.user_id == user.as_uuid()))
}

async fn owners<C: ConnectionTrait>(txn: &C, org: OrganizationId) -> Result<u64, MemberChangeError> {
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.as_uuid()))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()))
        .count(txn)
        .await
        .map_err(|e| unexpected(e, "counting owners").into())
}
