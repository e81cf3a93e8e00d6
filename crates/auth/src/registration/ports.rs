//! Ports of registration: its unit of work.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, OrganizationId, UserId, ValidationErrors};

use crate::account::model::{PasswordHash, User};
use crate::invitations::model::{Invitation, OutboxEmail};
use crate::recovery::model::IssuedToken;
use crate::registration::model::OrganizationDraft;

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

    /// Stores the new account's verification token and queues its email.
    ///
    /// # Errors
    /// When the store fails.
    async fn issue_token(&mut self, token: &IssuedToken, email: &OutboxEmail) -> anyhow::Result<()>;

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
