//! Failures of the auth use cases.

use leadflow_kernel::ValidationErrors;

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
    /// Email, username or organization name already in use.
    #[error("{0}")]
    Conflict(String),
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
            other => Self::Conflict(other.to_string()),
        }
    }
}
