//! Ports of the auth context. Adapters live in `leadflow-storage`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, EmailAddress, OrganizationId, UserId, ValidationErrors};
use uuid::Uuid;

use crate::invitations::Invitation;
use crate::model::{AccessState, Membership, OrganizationDraft, PasswordHash, User};

/// A user with the hash of their password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// Their password hash.
    pub password_hash: PasswordHash,
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

    /// Whether any super admin exists.
    ///
    /// # Errors
    /// When the store fails.
    async fn super_admin_exists(&self) -> anyhow::Result<bool>;

    /// Creates `user` as a super admin with `hash`; when a user with the same
    /// email exists, makes that user a super admin instead (their password is kept).
    /// Returns the stored user.
    ///
    /// # Errors
    /// When the store fails.
    async fn upsert_super_admin(&self, user: &User, hash: &PasswordHash) -> anyhow::Result<User>;
}

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
    pub id: Uuid,
    /// The family: every token rotated from one login shares it.
    pub family_id: Uuid,
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
    async fn rotate(&self, used: Uuid, next: &RefreshTokenRecord, at: DateTime<Utc>) -> anyhow::Result<bool>;

    /// Revokes every token of a family.
    ///
    /// # Errors
    /// When the store fails.
    async fn revoke_family(&self, family_id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()>;
}

/// What a registration's unit of work can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// A user with this email exists.
    #[error("a user with this email already exists")]
    EmailTaken,
    /// A user with this username exists.
    #[error("this username is taken")]
    UsernameTaken,
    /// The organization draft is invalid.
    #[error("invalid organization: {0}")]
    InvalidOrganization(ValidationErrors),
    /// The organization's slug is taken.
    #[error("an organization named {0:?} already exists")]
    OrganizationNameTaken(String),
    /// The invitation was used or revoked meanwhile.
    #[error("this invitation is no longer pending")]
    InvitationNotPending,
    /// The organization's seats are all taken.
    #[error("the plan's {0} seats are all taken")]
    SeatLimit(u64),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Everything one registration changes, inside one transaction. Dropping the
/// unit without [`RegistrationUnit::commit`] rolls every change back.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RegistrationUnit: Send {
    /// Stores the new user.
    ///
    /// # Errors
    /// MUST return `EmailTaken` / `UsernameTaken` on those conflicts.
    async fn insert_user(&mut self, user: &User, hash: &PasswordHash) -> Result<(), RegistrationError>;

    /// Creates the organization the user asked for (validated by the
    /// organizations context, exactly as `POST /organizations` would) and makes
    /// `owner` its owner.
    ///
    /// # Errors
    /// MUST return `InvalidOrganization` / `OrganizationNameTaken`.
    async fn create_organization(
        &mut self,
        draft: &OrganizationDraft,
        owner: UserId,
        at: DateTime<Utc>,
    ) -> Result<OrganizationId, RegistrationError>;

    /// Marks a pending invitation accepted by `user` and makes them a member
    /// with the invited role.
    ///
    /// # Errors
    /// MUST return `InvitationNotPending` when it is no longer pending and
    /// `SeatLimit` when the plan's seats are exceeded.
    async fn accept_invitation(
        &mut self,
        invitation: &Invitation,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), RegistrationError>;

    /// Writes an audit entry.
    ///
    /// # Errors
    /// When the store fails.
    async fn record(&mut self, entry: &AuditEntry) -> anyhow::Result<()>;

    /// Makes every change above visible at once.
    ///
    /// # Errors
    /// When the store fails; then nothing changed.
    async fn commit(self: Box<Self>) -> anyhow::Result<()>;
}

/// Starts registration units.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RegistrationUnits: Send + Sync {
    /// Opens a transaction.
    ///
    /// # Errors
    /// When the store fails.
    async fn begin(&self) -> anyhow::Result<Box<dyn RegistrationUnit>>;
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
