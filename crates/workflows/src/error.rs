//! Failures of workflows.

use leadflow_kernel::{Forbidden, Permission};

pub use crate::model::IllegalTransition;

/// Everything a workflow use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The actor's email address must be verified first (`LEADFLOW_REQUIRE_VERIFIED_EMAIL`).
    #[error(transparent)]
    EmailUnverified(#[from] leadflow_kernel::Unverified),
    /// No such workflow in the actor's organization.
    #[error("workflow not found")]
    NotFound,
    /// The actor acts in no organization.
    #[error("act in an organization first (POST /auth/switch-organization)")]
    NoOrganization,
    /// The subscription is canceled or past due beyond its grace: no outreach (402).
    #[error(
        "the subscription is not in force (canceled, or past due for more than 7 days): no outreach is sent"
    )]
    SubscriptionInactive,
    /// The plan's daily outreach cap is reached (402).
    #[error("the plan allows {limit} outreach emails a day; today's are approved")]
    OutreachCapReached {
        /// The cap.
        limit: u64,
    },
    /// Missing permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// Invalid input.
    #[error("invalid input: {0}")]
    Invalid(leadflow_kernel::ValidationErrors),
    /// The workflow's status does not allow this (or changed meanwhile).
    #[error(transparent)]
    Conflict(#[from] IllegalTransition),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Forbidden> for WorkflowError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}
