//! Invitations: the `invitations` table. Creating one queues its email
//! through the outbox; accepting one adds the member, both within the plan's seats.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::invitations::{
    Invitation, InvitationRepository, InvitationStatus, InvitationStoreError, OutboxEmail,
};
use leadflow_kernel::{AuditEntry, EmailAddress, InvitationId, OrganizationId, TenantScope, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{SeaOrmAuth, add_member, parse_role, seats_in_use};
use crate::db::{Change, unexpected, unique_violation};
use crate::entities::invitation;
use crate::outbox::{InvitationMessages, QueuedEmail, forget_invitation_secrets, queue_email};
use crate::subscriptions::lock_plan;

fn invitation_to_domain(row: invitation::Model) -> anyhow::Result<Invitation> {
    Ok(Invitation {
        id: InvitationId::from_uuid(row.id),
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

/// Accepts `invitation` for `user` on `conn`: the conditional status change
/// picks one winner among concurrent acceptances, then the membership is added.
pub(crate) async fn accept_invitation_in<C: ConnectionTrait>(
    conn: &C,
    invitation: &Invitation,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), InvitationStoreError> {
    // The subscription row is locked first, as in every seat check, so that
    // seat checks of one organization run one at a time.
    let plan = lock_plan(conn, invitation.organization_id).await?;
    let updated = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(InvitationStatus::Accepted.as_str()))
        .col_expr(invitation::Column::AcceptedAt, Expr::value(at))
        .col_expr(invitation::Column::AcceptedBy, Expr::value(user.as_uuid()))
        .filter(invitation::Column::Id.eq(invitation.id.as_uuid()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .filter(invitation::Column::ExpiresAt.gt(at))
        .exec(conn)
        .await
        .map_err(|e| unexpected(e, "accepting invitation"))?;
    if updated.rows_affected == 0 {
        return Err(InvitationStoreError::NotPending);
    }
    // The token did its work: the outbox forgets it.
    forget_invitation_secrets(
        conn,
        invitation.organization_id,
        InvitationMessages::Of(invitation.id.as_uuid()),
    )
    .await
    .map_err(|e| unexpected(e, "forgetting the invitation's token"))?;
    // The invitation no longer counts as pending; the new member does.
    if !plan.seats_allow(seats_in_use(conn, invitation.organization_id, at, None).await? + 1) {
        return Err(InvitationStoreError::SeatLimit { limit: plan.seat_limit.unwrap_or(0) });
    }
    add_member(conn, invitation.organization_id, user, invitation.role, at).await.map_err(|e| {
        match unique_violation(&e) {
            Some(_) => InvitationStoreError::AlreadyMember,
            None => unexpected(e, "adding member").into(),
        }
    })?;
    Ok(())
}

#[async_trait]
impl InvitationRepository for SeaOrmAuth {
    async fn create(
        &self,
        scope: TenantScope,
        inv: &Invitation,
        token_hash: &str,
        email: &OutboxEmail,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError> {
        let txn = Change::begin(&self.db, "committing invitation").await?;
        let plan = lock_plan(&*txn, scope.organization_id()).await?;
        // Seats: members plus pending invitations, the replaced one excluded, the new one included.
        let people =
            seats_in_use(&*txn, scope.organization_id(), inv.created_at, Some(inv.email.as_ref())).await? + 1;
        if !plan.seats_allow(people) {
            return Err(InvitationStoreError::SeatLimit { limit: plan.seat_limit.unwrap_or(0) });
        }
        // A new invitation replaces a pending one for the same address.
        invitation::Entity::update_many()
            .col_expr(invitation::Column::Status, Expr::value(InvitationStatus::Revoked.as_str()))
            .col_expr(invitation::Column::RevokedAt, Expr::value(inv.created_at))
            .filter(invitation::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(invitation::Column::Email.eq(inv.email.as_ref()))
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "replacing pending invitation"))?;
        forget_invitation_secrets(&*txn, scope.organization_id(), InvitationMessages::To(inv.email.as_ref()))
            .await
            .map_err(|e| unexpected(e, "forgetting the replaced invitation's token"))?;
        invitation::Entity::insert(invitation::ActiveModel {
            id: Set(inv.id.as_uuid()),
            organization_id: Set(scope.organization_id().as_uuid()),
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
        .exec_without_returning(&*txn)
        .await
        .map_err(|e| unexpected(e, "inserting invitation"))?;
        queue_email(
            &*txn,
            QueuedEmail {
                id: email.id,
                organization: email.organization_id,
                kind: leadflow_delivery::EmailKind::parse(&email.kind)
                    .ok_or_else(|| anyhow::anyhow!("unknown email kind {:?}", email.kind))?,
                recipient: &email.recipient,
                data: email.data.clone(),
                at: email.created_at,
                workflow: None,
                secrets: Some(serde_json::json!(email.secrets)),
                invitation: Some(inv.id.as_uuid()),
            },
        )
        .await
        .map_err(|e| unexpected(e, "queueing invitation email"))?;
        txn.commit(audit).await?;
        Ok(())
    }

    async fn list(&self, scope: TenantScope) -> anyhow::Result<Vec<Invitation>> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .order_by_desc(invitation::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing invitations"))?;
        rows.into_iter().map(invitation_to_domain).collect()
    }

    async fn get(&self, scope: TenantScope, id: InvitationId) -> anyhow::Result<Option<Invitation>> {
        let row = invitation::Entity::find_by_id(id.as_uuid())
            .filter(invitation::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
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
        scope: TenantScope,
        id: InvitationId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError> {
        let txn = Change::begin(&self.db, "committing revocation").await?;
        let updated = invitation::Entity::update_many()
            .col_expr(invitation::Column::Status, Expr::value(InvitationStatus::Revoked.as_str()))
            .col_expr(invitation::Column::RevokedAt, Expr::value(at))
            .filter(invitation::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(invitation::Column::Id.eq(id.as_uuid()))
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "revoking invitation"))?;
        if updated.rows_affected == 0 {
            return Err(InvitationStoreError::NotPending);
        }
        forget_invitation_secrets(&*txn, scope.organization_id(), InvitationMessages::Of(id.as_uuid()))
            .await
            .map_err(|e| unexpected(e, "forgetting the revoked invitation's token"))?;
        txn.commit(audit).await?;
        Ok(())
    }

    async fn accept(
        &self,
        inv: &Invitation,
        user: UserId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError> {
        let txn = Change::begin(&self.db, "committing acceptance").await?;
        accept_invitation_in(&*txn, inv, user, at).await?;
        txn.commit(audit).await?;
        self.cache.invalidate_user(user);
        Ok(())
    }
}
