//! Failures of the lead use cases.

use chrono::{DateTime, Utc};
use leadflow_kernel::{Forbidden, Permission, ValidationErrors};

/// Everything a lead use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    /// Invalid input; nothing changed.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No such lead, or not one the actor may see.
    #[error("lead not found")]
    NotFound,
    /// No form has this id or publishable key (in the actor's organization).
    #[error("form not found")]
    FormNotFound,
    /// The request's `Origin` is not among the form's allowed origins.
    #[error("this origin may not post to the form; add it to the form's allowedOrigins")]
    OriginNotAllowed,
    /// Too many submissions from this client address; try again later.
    #[error("too many submissions from this address; retry in {retry_after_secs} s")]
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The actor acts in no organization.
    #[error("act in an organization first (POST /auth/switch-organization)")]
    NoOrganization,
    /// Missing permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// The plan's monthly lead quota is spent.
    #[error("the plan's limit of {limit} leads this period is reached; it resets at {}", resets_at.to_rfc3339())]
    QuotaSpent {
        /// The plan's limit.
        limit: u64,
        /// When the next period starts.
        resets_at: DateTime<Utc>,
    },
    /// The subscription takes no new leads.
    #[error(
        "the organization's subscription is canceled, or past due for more than 7 days; it accepts no leads until it is in force again"
    )]
    SubscriptionClosed,
    /// The `Idempotency-Key` was used with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    /// The lead changed since the version the client named (`If-Match`).
    #[error("the lead changed since you read it; read it again")]
    PreconditionFailed,
    /// The request conflicts with the resource's state.
    #[error("{0}")]
    Conflict(&'static str),
    /// It kept changing under this write; nothing was written.
    #[error("the lead is being changed by someone else; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Forbidden> for LeadError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}

impl From<ValidationErrors> for LeadError {
    fn from(e: ValidationErrors) -> Self {
        Self::Invalid(e)
    }
}
