//! Ports of recovery: the store of account tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, UserId};

use crate::account::model::PasswordHash;
use crate::invitations::model::OutboxEmail;
use crate::recovery::model::{IssuedToken, StoredToken};

/// Durable store of account tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserTokenRepository: Send + Sync {
    /// Stores `token` (the user's unused tokens of the same purpose stop
    /// working) and queues `email`, in one transaction.
    ///
    /// # Errors
    /// When the store fails; then nothing changed.
    async fn issue(&self, token: &IssuedToken, email: &OutboxEmail) -> anyhow::Result<()>;

    /// The token with this hash.
    ///
    /// # Errors
    /// When the store fails.
    async fn find(&self, token_hash: &str) -> anyhow::Result<Option<StoredToken>>;

    /// Spends the token, stores `hash` as `user`'s password, revokes every
    /// session of theirs and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and change nothing)
    /// when the token was spent meanwhile or has expired.
    async fn reset_password(
        &self,
        token_hash: &str,
        user: UserId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Spends the token, marks `user`'s address verified and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` when the token was spent meanwhile or has expired.
    async fn verify_email(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;
}
