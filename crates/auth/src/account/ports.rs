//! Ports of the account: the users store and the audit recorder.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, EmailAddress, KeysetPage, KeysetPaged, PlatformScope, UserId};

use crate::account::model::{PasswordHash, PlatformUser, User};

/// A user with the hash of their password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// Their password hash.
    pub password_hash: PasswordHash,
    /// When the super admin disabled the account (`None`: enabled).
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Durable store of users.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user with this (normalised) email.
    ///
    /// # Errors
    /// When the store fails.
    async fn by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<Credentials>>;

    /// The user with this id.
    ///
    /// # Errors
    /// When the store fails.
    async fn by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>>;

    /// Sets `last_login_at`.
    ///
    /// # Errors
    /// When the store fails.
    async fn record_login(&self, id: UserId, at: DateTime<Utc>) -> anyhow::Result<()>;

    /// Stores a new password hash, revokes every refresh token of the user and
    /// writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails; then nothing changed.
    async fn change_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// A keyset page of every user of the platform, newest first, those whose
    /// email or name contains `search` (case-insensitively) when given.
    ///
    /// # Errors
    /// When the store fails.
    async fn page_across_organizations(
        &self,
        platform: PlatformScope,
        search: Option<String>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<PlatformUser>>;

    /// Disables the account `id` from `disabled_at` (or enables it with
    /// `None`) and writes `audit`, in one transaction; disabling also revokes
    /// every session of theirs. Returns whether the user exists.
    ///
    /// # Errors
    /// When the store fails.
    async fn set_disabled(
        &self,
        platform: PlatformScope,
        id: UserId,
        disabled_at: Option<DateTime<Utc>>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Whether any super admin exists.
    ///
    /// # Errors
    /// When the store fails.
    async fn super_admin_exists(&self) -> anyhow::Result<bool>;

    /// Stores `user`, a new super admin, with `hash`.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and write nothing) when
    /// a user with this email exists.
    async fn insert_super_admin(&self, user: &User, hash: &PasswordHash) -> anyhow::Result<bool>;

    /// Makes the existing user `id` a super admin with the new password `hash`,
    /// revokes every session (refresh token) of theirs and writes `audit`, in
    /// one transaction: whoever held the account before loses it.
    ///
    /// # Errors
    /// When the store fails.
    async fn promote_to_super_admin(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;
}

/// Writes audit entries for events that are themselves the change (a super
/// admin entering an organization). Changes to stored data write their entry
/// through their own port, in their own transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditRecorder: Send + Sync {
    /// Appends `entry`.
    ///
    /// # Errors
    /// When the store fails.
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()>;
}
