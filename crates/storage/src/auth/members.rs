//! Adapters of access management: members, invitations (with the email
//! outbox) and API keys, all on [`SeaOrmAuth`].

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::api_keys::{ApiKey, ApiKeyRepository, StoredApiKey};
use leadflow_auth::invitations::{
    Invitation, InvitationRepository, InvitationStatus, InvitationStoreError, OutboxEmail,
};
use leadflow_auth::members::{Member, MemberChangeError, MemberRepository};
use leadflow_kernel::{AuditEntry, EmailAddress, OrganizationId, Permission, PermissionSet, Role, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::db::audit::insert_audit;
use crate::auth::{SeaOrmAuth, parse_role};
use crate::entities::{
    api_key, email_outbox, invitation, lead, membership, organization, refresh_token, team, user,
};
use crate::subscriptions::{lock_subscription, plan_of, seats_in_use};
use crate::Storage;
use crate::db::{Change, begin_write, unexpected, unique_violation};

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
    async fn members(&self, org: OrganizationId) -> anyhow::Result<Vec<Member>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org.as_uuid()))
            .find_also_related(user::Entity)
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing members"))?;
        rows.into_iter().filter_map(|(m, u)| u.map(|u| member_of(m, u))).collect()
    }

    async fn member(&self, org: OrganizationId, user: UserId) -> anyhow::Result<Option<Member>> {
        let row = membership::Entity::find_by_id((org.as_uuid(), user.as_uuid()))
            .find_also_related(user::Entity)
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading member"))?;
        row.and_then(|(m, u)| u.map(|u| member_of(m, u))).transpose()
    }

    async fn change_role(
        &self,
        org: OrganizationId,
        user: UserId,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError> {
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
        org: OrganizationId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError> {
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
        team::Entity::update_many()
            .col_expr(team::Column::LeaderId, Expr::value(Option::<Uuid>::None))
            .filter(team::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team::Column::LeaderId.eq(user.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "clearing team leads"))?;
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(audit.created_at))
            .filter(refresh_token::Column::OrganizationId.eq(org.as_uuid()))
            .filter(refresh_token::Column::UserId.eq(user.as_uuid()))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "revoking sessions"))?;
        lead::Entity::update_many()
            .col_expr(lead::Column::AssigneeId, Expr::value(Option::<Uuid>::None))
            .filter(lead::Column::OrganizationId.eq(org.as_uuid()))
            .filter(lead::Column::AssigneeId.eq(user.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "unassigning leads"))?;
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

