//! Failures of the auth use cases.

use leadflow_kernel::{Forbidden, ValidationErrors};

use crate::ports::RegistrationError;

/// Everything an auth use case can fail with. Each method of
/// [`crate::AuthService`] documents which variants it returns.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The input is invalid; nothing was changed.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// Wrong email or password (which one is not said).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Missing, invalid, expired, revoked or reused token.
    #[error("invalid or expired credentials")]
    Unauthorized,
    /// The organization of the token has been deactivated.
    #[error("the organization is deactivated")]
    OrganizationInactive,
    /// No such organization among the user's (another tenant's is "not found").
    #[error("organization not found")]
    OrganizationNotFound,
    /// Self-service sign-up is off.
    #[error("self-service sign-up is disabled; ask for an invitation")]
    SignupDisabled,
    /// Only a signed-in user (not an API key) may do this.
    #[error("only a signed-in user may do this")]
    UsersOnly,
    /// Email, username or organization name already in use; an invitation
    /// already used, revoked or expired; the last owner would be lost.
    #[error("{0}")]
    Conflict(String),
    /// No such resource in the actor's organization (or one they may not know about).
    #[error("{0}")]
    NotFound(&'static str),
    /// The actor may see the resource but not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The actor acts in no organization.
    #[error("act in an organization first (POST /auth/switch-organization)")]
    NoOrganization,
    /// The plan's limit is reached (seats).
    #[error("{0}")]
    PlanLimit(String),
    /// Too many failed logins; try again after this many seconds.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// The store or a hasher failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<ValidationErrors> for AuthError {
    fn from(e: ValidationErrors) -> Self {
        Self::Invalid(e)
    }
}

impl From<RegistrationError> for AuthError {
    fn from(e: RegistrationError) -> Self {
        match e {
            RegistrationError::InvalidOrganization(errors) => {
                let mut prefixed = ValidationErrors::new();
                prefixed.extend_prefixed("organization", errors);
                Self::Invalid(prefixed)
            }
            RegistrationError::Unexpected(e) => Self::Unexpected(e),
            RegistrationError::SeatLimit(limit) => Self::PlanLimit(format!(
                "The organization's {limit} seats are all taken; ask its admins to upgrade the plan."
            )),
            other => Self::Conflict(other.to_string()),
        }
    }
}

impl From<Forbidden> for AuthError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(format!("This needs the permission {}.", e.0))
    }
}
