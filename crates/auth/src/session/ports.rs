//! Ports of sessions: memberships, per-request access state, refresh tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{OrganizationId, UserId};
use leadflow_kernel::{RefreshTokenId, SessionFamilyId};

use crate::session::model::{AccessState, Membership};

/// Reads memberships.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MembershipRepository: Send + Sync {
    /// Every membership of `user`, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn memberships_of(&self, user: UserId) -> anyhow::Result<Vec<Membership>>;
}

/// The per-request truth behind a token. Adapters may cache it briefly; a
/// change made through this process's repositories MUST be visible at once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccessRepository: Send + Sync {
    /// The state of `user` acting in `organization`; `None` when the user no longer exists.
    ///
    /// # Errors
    /// When the store fails.
    async fn access(
        &self,
        user: UserId,
        organization: Option<OrganizationId>,
    ) -> anyhow::Result<Option<AccessState>>;
}

/// A stored refresh token (only its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Its id.
    pub id: RefreshTokenId,
    /// The family: every token rotated from one login shares it.
    pub family_id: SessionFamilyId,
    /// The user.
    pub user_id: UserId,
    /// The organization the session acts in.
    pub organization_id: Option<OrganizationId>,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a new one.
    pub used_at: Option<DateTime<Utc>>,
    /// When it (or its family) was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Durable store of refresh tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefreshTokenRepository: Send + Sync {
    /// Stores a new token.
    ///
    /// # Errors
    /// When the store fails.
    async fn insert(&self, token: &RefreshTokenRecord) -> anyhow::Result<()>;

    /// The token with this hash.
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<RefreshTokenRecord>>;

    /// Marks `used` as used and stores `next`, in one transaction, but only if
    /// `used` is still neither used nor revoked.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and store nothing) when
    /// another request used or revoked the token first.
    async fn rotate(
        &self,
        used: RefreshTokenId,
        next: &RefreshTokenRecord,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Revokes every token of a family.
    ///
    /// # Errors
    /// When the store fails.
    async fn revoke_family(&self, family_id: SessionFamilyId, at: DateTime<Utc>) -> anyhow::Result<()>;
}
