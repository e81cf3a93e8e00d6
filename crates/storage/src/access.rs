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

use crate::audit::insert_audit;
use crate::auth::{SeaOrmAuth, accept_invitation_in, parse_role};
use crate::entities::{
    api_key, email_outbox, invitation, lead, membership, organization, refresh_token, team, user,
};
use crate::subscriptions::{lock_subscription, plan_of, seats_in_use};
use crate::{begin_write, unexpected};

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
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        let was_owner = owner_guard(&txn, org, user).await?;
        let updated = membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(role.as_str()))
            .filter(membership::Column::OrganizationId.eq(org.as_uuid()))
            .filter(membership::Column::UserId.eq(user.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "changing role"))?;
        if updated.rows_affected == 0 {
            return Err(MemberChangeError::NotFound);
        }
        if was_owner && role != Role::Owner && owners(&txn, org).await? == 0 {
            return Err(MemberChangeError::LastOwner);
        }
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing role change"))?;
        self.cache.invalidate_organization(org);
        Ok(())
    }

    async fn remove(
        &self,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        let was_owner = owner_guard(&txn, org, user).await?;
        let deleted = membership::Entity::delete_by_id((org.as_uuid(), user.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "removing member"))?;
        if deleted.rows_affected == 0 {
            return Err(MemberChangeError::NotFound);
        }
        if was_owner && owners(&txn, org).await? == 0 {
            return Err(MemberChangeError::LastOwner);
        }
        // Team memberships go with the membership (foreign key); team leads and
        // the member's sessions in this organization are cleared here.
        team::Entity::update_many()
            .col_expr(team::Column::LeaderId, Expr::value(Option::<Uuid>::None))
            .filter(team::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team::Column::LeaderId.eq(user.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "clearing team leads"))?;
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(audit.created_at))
            .filter(refresh_token::Column::OrganizationId.eq(org.as_uuid()))
            .filter(refresh_token::Column::UserId.eq(user.as_uuid()))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "revoking sessions"))?;
        lead::Entity::update_many()
            .col_expr(lead::Column::AssigneeId, Expr::value(Option::<Uuid>::None))
            .filter(lead::Column::OrganizationId.eq(org.as_uuid()))
            .filter(lead::Column::AssigneeId.eq(user.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "unassigning leads"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing member removal"))?;
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

fn invitation_to_domain(row: invitation::Model) -> anyhow::Result<Invitation> {
    Ok(Invitation {
        id: row.id,
        organization_id: OrganizationId::from_uuid(row.organization_id),
        email: EmailAddress::parse(&row.email).context("stored invitation email")?,
        role: parse_role(&row.role)?,
        stored_status: InvitationStatus::parse(&row.status).context("stored invitation status")?,
        invited_by: row.invited_by.map(UserId::from_uuid),
        expires_at: row.expires_at,
        accepted_at: row.accepted_at,
        created_at: row.created_at,
    })
}

#[async_trait]
impl InvitationRepository for SeaOrmAuth {
    async fn create(
        &self,
        inv: &Invitation,
        token_hash: &str,
        email: &OutboxEmail,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        let subscription = lock_subscription(&txn, inv.organization_id).await?;
        // Seats: members plus pending invitations, the replaced one excluded, the new one included.
        let people =
            seats_in_use(&txn, inv.organization_id, inv.created_at, Some(inv.email.as_ref())).await? + 1;
        let plan = plan_of(subscription.as_ref());
        if !plan.seats_allow(people) {
            return Err(InvitationStoreError::SeatLimit { limit: plan.seat_limit.unwrap_or(0) });
        }
        // A new invitation replaces a pending one for the same address.
        invitation::Entity::update_many()
            .col_expr(invitation::Column::Status, Expr::value(InvitationStatus::Revoked.as_str()))
            .col_expr(invitation::Column::RevokedAt, Expr::value(inv.created_at))
            .filter(invitation::Column::OrganizationId.eq(inv.organization_id.as_uuid()))
            .filter(invitation::Column::Email.eq(inv.email.as_ref()))
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "replacing pending invitation"))?;
        invitation::Entity::insert(invitation::ActiveModel {
            id: Set(inv.id),
            organization_id: Set(inv.organization_id.as_uuid()),
            email: Set(inv.email.as_ref().to_owned()),
            role: Set(inv.role.as_str().to_owned()),
            token_hash: Set(token_hash.to_owned()),
            status: Set(InvitationStatus::Pending.as_str().to_owned()),
            invited_by: Set(inv.invited_by.map(|u| u.as_uuid())),
            expires_at: Set(inv.expires_at),
            accepted_at: Set(None),
            accepted_by: Set(None),
            revoked_at: Set(None),
            created_at: Set(inv.created_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| unexpected(e, "inserting invitation"))?;
        email_outbox::Entity::insert(email_outbox::ActiveModel {
            id: Set(email.id),
            organization_id: Set(email.organization_id.map(|o| o.as_uuid())),
            kind: Set(email.kind.clone()),
            recipient: Set(email.recipient.clone()),
            subject: Set(email.subject.clone()),
            body: Set(email.body.clone()),
            status: Set("pending".into()),
            created_at: Set(email.created_at),
            sent_at: Set(None),
            workflow_id: Set(None),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| unexpected(e, "queueing invitation email"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing invitation"))?;
        Ok(())
    }

    async fn list(&self, org: OrganizationId) -> anyhow::Result<Vec<Invitation>> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(org.as_uuid()))
            .order_by_desc(invitation::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing invitations"))?;
        rows.into_iter().map(invitation_to_domain).collect()
    }

    async fn get(&self, org: OrganizationId, id: Uuid) -> anyhow::Result<Option<Invitation>> {
        let row = invitation::Entity::find_by_id(id)
            .filter(invitation::Column::OrganizationId.eq(org.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading invitation"))?;
        row.map(invitation_to_domain).transpose()
    }

    async fn find_by_token(&self, token_hash: &str) -> anyhow::Result<Option<Invitation>> {
        let row = invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading invitation"))?;
        row.map(invitation_to_domain).transpose()
    }

    async fn revoke(
        &self,
        org: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        let updated = invitation::Entity::update_many()
            .col_expr(invitation::Column::Status, Expr::value(InvitationStatus::Revoked.as_str()))
            .col_expr(invitation::Column::RevokedAt, Expr::value(at))
            .filter(invitation::Column::OrganizationId.eq(org.as_uuid()))
            .filter(invitation::Column::Id.eq(id))
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "revoking invitation"))?;
        if updated.rows_affected == 0 {
            return Err(InvitationStoreError::NotPending);
        }
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing revocation"))?;
        Ok(())
    }

    async fn accept(
        &self,
        inv: &Invitation,
        user: UserId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        accept_invitation_in(&txn, inv, user, at).await?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing acceptance"))?;
        self.cache.invalidate_user(user);
        Ok(())
    }
}

fn scopes_to_text(scopes: PermissionSet) -> String {
    scopes.iter().map(Permission::as_str).collect::<Vec<_>>().join(" ")
}

fn key_to_domain(row: api_key::Model) -> anyhow::Result<ApiKey> {
    let scopes = row
        .scopes
        .split_whitespace()
        .map(|s| s.parse::<Permission>().context("stored scope"))
        .collect::<anyhow::Result<PermissionSet>>()?;
    Ok(ApiKey {
        id: row.id,
        organization_id: OrganizationId::from_uuid(row.organization_id),
        name: row.name,
        prefix: row.prefix,
        scopes,
        created_by: row.created_by.map(UserId::from_uuid),
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
        created_at: row.created_at,
    })
}

#[async_trait]
impl ApiKeyRepository for SeaOrmAuth {
    async fn create(&self, key: &ApiKey, secret_hash: &str, audit: &AuditEntry) -> anyhow::Result<()> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        api_key::Entity::insert(api_key::ActiveModel {
            id: Set(key.id),
            organization_id: Set(key.organization_id.as_uuid()),
            name: Set(key.name.clone()),
            prefix: Set(key.prefix.clone()),
            secret_hash: Set(secret_hash.to_owned()),
            scopes: Set(scopes_to_text(key.scopes)),
            created_by: Set(key.created_by.map(|u| u.as_uuid())),
            expires_at: Set(key.expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(key.created_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| unexpected(e, "inserting API key"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing API key"))?;
        Ok(())
    }

    async fn list(&self, org: OrganizationId) -> anyhow::Result<Vec<ApiKey>> {
        let rows = api_key::Entity::find()
            .filter(api_key::Column::OrganizationId.eq(org.as_uuid()))
            .order_by_desc(api_key::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing API keys"))?;
        rows.into_iter().map(key_to_domain).collect()
    }

    async fn get(&self, org: OrganizationId, id: Uuid) -> anyhow::Result<Option<ApiKey>> {
        let row = api_key::Entity::find_by_id(id)
            .filter(api_key::Column::OrganizationId.eq(org.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading API key"))?;
        row.map(key_to_domain).transpose()
    }

    async fn revoke(
        &self,
        org: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(at))
            .filter(api_key::Column::OrganizationId.eq(org.as_uuid()))
            .filter(api_key::Column::Id.eq(id))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "revoking API key"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing API key revocation"))?;
        self.cache.invalidate_key(id);
        Ok(())
    }

    async fn rotate(
        &self,
        org: OrganizationId,
        id: Uuid,
        prefix: &str,
        secret_hash: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::Prefix, Expr::value(prefix))
            .col_expr(api_key::Column::SecretHash, Expr::value(secret_hash))
            .filter(api_key::Column::OrganizationId.eq(org.as_uuid()))
            .filter(api_key::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "rotating API key"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing API key rotation"))?;
        self.cache.invalidate_key(id);
        Ok(())
    }

    async fn find_by_prefix(&self, prefix: &str) -> anyhow::Result<Option<StoredApiKey>> {
        if let Some(hit) = self.cache.key(prefix) {
            return Ok(hit);
        }
        let row = api_key::Entity::find()
            .filter(api_key::Column::Prefix.eq(prefix))
            .find_also_related(organization::Entity)
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading API key"))?;
        let found = match row {
            Some((key, Some(org))) => {
                let secret_hash = key.secret_hash.clone();
                Some(StoredApiKey {
                    key: key_to_domain(key)?,
                    secret_hash,
                    organization_active: org.is_active,
                })
            }
            _ => None,
        };
        self.cache.put_key(prefix, found.clone());
        Ok(found)
    }

    async fn touch(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
            .filter(api_key::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "recording API key use"))?;
        self.cache.invalidate_key(id);
        Ok(())
    }
}
