//! Failures of the organization use cases.

use leadflow_kernel::{Forbidden, Permission, ValidationErrors};

use crate::ports::RepositoryError;

/// Everything an organization use case can fail with. Each method of
/// [`crate::OrganizationService`] documents which variants it returns.
#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    /// The actor's email address must be verified first (`LEADFLOW_REQUIRE_VERIFIED_EMAIL`).
    #[error(transparent)]
    EmailUnverified(#[from] leadflow_kernel::Unverified),
    /// The input is invalid; nothing was changed.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No such organization, or not one the actor may see.
    #[error("organization not found")]
    NotFound,
    /// The actor may see the organization but lacks this permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// Only the platform super admin may do this.
    #[error("only a super admin may do this")]
    SuperAdminOnly,
    /// Self-service sign-up is turned off: only a super admin creates organizations.
    #[error("self-service sign-up is disabled; ask the platform administrator")]
    SignupDisabled,
    /// Another organization already has this slug.
    #[error("an organization named {0:?} already exists")]
    NameTaken(String),
    /// The organization changed since the version the client named (`If-Match`).
    #[error("the organization changed since you read it; read it again")]
    PreconditionFailed,
    /// It kept changing under this write; nothing was written.
    #[error("the organization is being changed by someone else; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for OrganizationError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::NameTaken(name) => Self::NameTaken(name),
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Changed => Self::Busy,
            RepositoryError::Invalid(errors) => Self::Invalid(errors),
            RepositoryError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<Forbidden> for OrganizationError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}

impl From<ValidationErrors> for OrganizationError {
    fn from(e: ValidationErrors) -> Self {
        Self::Invalid(e)
    }
}
