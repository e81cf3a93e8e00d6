//! Failures of the delivery use cases.

use leadflow_kernel::{Forbidden, Permission, ValidationErrors};

/// Everything a delivery use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No such email, endpoint or delivery in the actor's organization.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The actor acts in no organization.
    #[error("act in an organization first (POST /auth/switch-organization)")]
    NoOrganization,
    /// Missing permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// Invalid input.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The state does not allow it (resending a sent email, retrying a succeeded delivery).
    #[error("{0}")]
    Conflict(&'static str),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Forbidden> for DeliveryError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}
