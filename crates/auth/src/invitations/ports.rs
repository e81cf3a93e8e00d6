//! The port of the invitations store.

use super::model::{Invitation, InvitationStoreError, OutboxEmail};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, UserId};
use leadflow_kernel::{InvitationId, TenantScope};

/// Durable store of invitations.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InvitationRepository: Send + Sync {
    /// Revokes any pending invitation of the same organization and email,
    /// stores `invitation` with its token hash, queues `email` and writes
    /// `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `SeatLimit` (and change nothing) when the plan's seats —
    /// members plus pending invitations, the new one included — would be
    /// exceeded, checked atomically with the insert.
    async fn create(
        &self,
        scope: TenantScope,
        invitation: &Invitation,
        token_hash: &str,
        email: &OutboxEmail,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError>;

    /// The invitations of `organization`, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn list(&self, scope: TenantScope) -> anyhow::Result<Vec<Invitation>>;

    /// One invitation of `organization`.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, scope: TenantScope, id: InvitationId) -> anyhow::Result<Option<Invitation>>;

    /// The invitation with this token hash (any organization: the token is the credential).
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_token(&self, token_hash: &str) -> anyhow::Result<Option<Invitation>>;

    /// Revokes a pending invitation and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `NotPending` (and write nothing) when it is not pending.
    async fn revoke(
        &self,
        scope: TenantScope,
        id: InvitationId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError>;

    /// Marks a pending invitation accepted by `user`, makes them a member with
    /// its role and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `NotPending` when another request used or revoked it first,
    /// `AlreadyMember` when the user is a member already, `SeatLimit` when the
    /// plan's seats are exceeded (after a downgrade); then nothing changed.
    async fn accept(
        &self,
        invitation: &Invitation,
        user: UserId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError>;
}
