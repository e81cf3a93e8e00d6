//! Problem responses (`application/problem+json`, RFC 9457) and the one place
//! where domain errors become HTTP statuses.

use leadflow_auth::AuthError;
use leadflow_kernel::ValidationErrors;
use leadflow_leads::LeadError;
use leadflow_organizations::OrganizationError;
use leadflow_organizations::teams::TeamError;
use leadflow_subscriptions::billing::EventRejected;
use leadflow_subscriptions::{BillingError, SubscriptionError};
use leadflow_workflows::WorkflowError;
use poem::http::StatusCode;
use poem::http::header::CONTENT_TYPE;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Clone, Debug, Object)]
pub struct FieldProblem {
    /// The field, as named in the request (`organization.name`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error, described for people and for programs.
#[derive(Clone, Debug, Object)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// A stable, machine-readable code: `validation_failed`, `unauthorized`,
    /// `forbidden`, `org_inactive`, `not_found`, `conflict`, `payload_too_large`,
    /// `plan_limit_reached`, `rate_limited`, `unavailable`, `internal`, …
    pub code: String,
    /// A short summary of the code.
    pub title: String,
    /// What happened in this case.
    #[oai(nullable)]
    pub detail: Option<String>,
    /// Field-level errors (for `validation_failed`).
    pub errors: Vec<FieldProblem>,
    /// Seconds to wait, sent as the `Retry-After` header (for `rate_limited`).
    #[oai(nullable, skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem with the standard code and title of `status`.
    #[must_use]
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let (code, title) = code_and_title(status);
        Self {
            status: status.as_u16(),
            code: code.into(),
            title: title.into(),
            detail: Some(detail.into()),
            errors: vec![],
            retry_after: None,
        }
    }

    /// Overrides the code (e.g. `org_inactive` on a 403).
    #[must_use]
    pub fn with_code(mut self, code: &str, title: &str) -> Self {
        self.code = code.into();
        self.title = title.into();
        self
    }

    /// The HTTP status as a typed value.
    #[must_use]
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The standard code and title of a status.
#[must_use]
pub fn code_and_title(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("validation_failed", "The request is invalid"),
        401 => ("unauthorized", "Authentication is required"),
        402 => ("plan_limit_reached", "The plan's limit is reached"),
        403 => ("forbidden", "Not allowed"),
        404 => ("not_found", "Not found"),
        405 => ("method_not_allowed", "Method not allowed"),
        406 => ("not_acceptable", "Not acceptable"),
        409 => ("conflict", "Conflict"),
        411 => ("length_required", "Length required"),
        412 => ("precondition_failed", "The resource changed"),
        413 => ("payload_too_large", "The request body is too large"),
        415 => ("unsupported_media_type", "Unsupported media type"),
        429 => ("rate_limited", "Too many requests"),
        503 => ("unavailable", "Service unavailable"),
        s if s >= 500 => ("internal", "Internal error"),
        _ => ("bad_request", "Bad request"),
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = self.to_json_string();
        let mut builder = Response::builder().status(status).header(CONTENT_TYPE, PROBLEM_JSON);
        if let Some(secs) = self.retry_after {
            builder = builder.header(poem::http::header::RETRY_AFTER, secs.to_string());
        }
        builder.body(body)
    }
}

/// An error answer of any operation: a [`Problem`] with its status.
///
/// Every operation documents the same set of error statuses, each as
/// `application/problem+json`, so generated clients get one error type.
#[derive(Debug)]
pub struct ApiError(pub Problem);

/// The result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with `status` and a detail.
    #[must_use]
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self(Problem::new(status, detail))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl From<ApiError> for poem::Error {
    fn from(e: ApiError) -> Self {
        let message = format!("{}: {}", e.0.code, e.0.detail.clone().unwrap_or_default());
        let mut err = poem::Error::from_response(e.into_response());
        err.set_error_message(message);
        err
    }
}

const DOCUMENTED: [(u16, &str); 12] = [
    (400, "The request is invalid (`validation_failed`); nothing was changed."),
    (401, "Missing, invalid or expired credentials (`unauthorized`)."),
    (
        403,
        "Not allowed (`forbidden`), the organization is deactivated (`org_inactive`), or the email address must be verified first (`email_unverified`).",
    ),
    (404, "No such resource, or one of another organization (`not_found`)."),
    (
        402,
        "The plan's limit is reached (`plan_limit_reached`), or the subscription is canceled or past due beyond its 7-day grace (`subscription_inactive`).",
    ),
    (409, "Conflicts with the current state (`conflict`)."),
    (
        412,
        "The resource changed since the version named in `If-Match` (`precondition_failed`); nothing was changed.",
    ),
    (413, "The body is over 1 MiB (`payload_too_large`)."),
    (415, "The body is not JSON (`unsupported_media_type`)."),
    (429, "Too many requests (`rate_limited`); see `Retry-After`."),
    (500, "An internal error (`internal`); details are logged, never returned."),
    (
        503,
        "A dependency is unavailable (`unavailable`), or the billing provider failed (`billing_unavailable`).",
    ),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// The schema reference of [`Problem`], for hand-written responses.
#[must_use]
pub fn problem_schema() -> MetaSchemaRef {
    Problem::schema_ref()
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        let mut problem = Problem::new(StatusCode::BAD_REQUEST, errors.to_string());
        problem.errors = errors
            .errors()
            .iter()
            .map(|e| FieldProblem { field: e.field.clone(), message: e.message.clone() })
            .collect();
        Self(problem)
    }
}

/// Logs an unexpected error with its chain and answers 500 without details.
/// Seconds a client is asked to wait while the database cannot be reached.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// An unexpected failure: 503 `unavailable` with `Retry-After` while the
/// database cannot be reached, else 500 `internal`. The chain goes to the log
/// (with the request id, from the span), never to the client.
fn internal(e: &anyhow::Error) -> ApiError {
    if e.chain().any(|c| c.downcast_ref::<leadflow_auth::password::HashingBusy>().is_some()) {
        tracing::warn!("no password hashing slot came free in time");
        let mut problem =
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "The server is busy; try again shortly.");
        problem.retry_after = Some(1);
        return ApiError(problem);
    }
    if leadflow_storage::is_unavailable(e) {
        tracing::warn!(error = format!("{e:#}"), "database unavailable");
        let mut problem = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database cannot be reached; try again shortly.",
        );
        problem.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECS);
        return ApiError(problem);
    }
    tracing::error!(error = format!("{e:#}"), "internal error");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "An internal error occurred; it has been logged.")
}

/// The answer when `If-Match` names a version that is not the current one.
#[must_use]
pub fn precondition_failed() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "The resource changed since the version in If-Match; read it again (its ETag) and retry.",
    )
}

fn forbidden(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, detail)
}

/// The answer for an action that needs a verified email address.
#[must_use]
pub fn email_unverified(e: &leadflow_kernel::Unverified) -> ApiError {
    ApiError(
        Problem::new(StatusCode::FORBIDDEN, e.to_string())
            .with_code("email_unverified", "The email address is not verified"),
    )
}

/// The answer when the subscription is canceled or past due beyond its grace.
fn subscription_inactive(detail: String) -> ApiError {
    ApiError(
        Problem::new(StatusCode::PAYMENT_REQUIRED, detail)
            .with_code("subscription_inactive", "The subscription is not in force"),
    )
}

/// The answer for a deactivated organization.
#[must_use]
pub fn org_inactive() -> ApiError {
    ApiError(
        Problem::new(
            StatusCode::FORBIDDEN,
            "This organization is deactivated; ask the platform administrator.",
        )
        .with_code("org_inactive", "The organization is deactivated"),
    )
}

impl From<OrganizationError> for ApiError {
    fn from(e: OrganizationError) -> Self {
        match e {
            OrganizationError::Invalid(errors) => errors.into(),
            OrganizationError::EmailUnverified(e) => email_unverified(&e),
            OrganizationError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "No such organization."),
            OrganizationError::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            OrganizationError::SuperAdminOnly => forbidden("Only a platform super admin may do this."),
            e @ OrganizationError::SignupDisabled => forbidden(e.to_string()),
            e @ (OrganizationError::NameTaken(_) | OrganizationError::Busy) => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
            }
            OrganizationError::PreconditionFailed => precondition_failed(),
            OrganizationError::Unexpected(e) => internal(&e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid(errors) => errors.into(),
            AuthError::EmailUnverified(e) => email_unverified(&e),
            e @ (AuthError::InvalidCredentials | AuthError::Unauthorized) => {
                ApiError::new(StatusCode::UNAUTHORIZED, e.to_string())
            }
            AuthError::OrganizationInactive => org_inactive(),
            AuthError::OrganizationNotFound => ApiError::new(StatusCode::NOT_FOUND, "No such organization."),
            e @ (AuthError::SignupDisabled
            | AuthError::UsersOnly
            | AuthError::NoOrganization
            | AuthError::AccountDisabled) => forbidden(e.to_string()),
            AuthError::Forbidden(denied) => forbidden(denied.to_string()),
            AuthError::NotFound(resource) => ApiError::new(StatusCode::NOT_FOUND, resource.to_string()),
            AuthError::Conflict(conflict) => ApiError::new(StatusCode::CONFLICT, conflict.to_string()),
            AuthError::SeatLimit(limit) => ApiError::new(StatusCode::PAYMENT_REQUIRED, limit.to_string()),
            e @ AuthError::Throttled { retry_after_secs } => {
                let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, e.to_string());
                problem.retry_after = Some(retry_after_secs);
                ApiError(problem)
            }
            AuthError::Unexpected(e) => internal(&e),
        }
    }
}

impl From<SubscriptionError> for ApiError {
    fn from(e: SubscriptionError) -> Self {
        match e {
            SubscriptionError::Invalid(errors) => errors.into(),
            e @ SubscriptionError::NotFound => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            SubscriptionError::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            SubscriptionError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, detail),
            e @ (SubscriptionError::ChangedByAdministrator | SubscriptionError::SuperAdminOnly) => {
                forbidden(e.to_string())
            }
            SubscriptionError::Unexpected(e) => internal(&e),
        }
    }
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Invalid(errors) => errors.into(),
            e @ BillingError::NotFound => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            BillingError::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            e @ BillingError::NotConfigured => ApiError(
                Problem::new(StatusCode::FORBIDDEN, e.to_string())
                    .with_code("billing_not_configured", "No billing provider is configured"),
            ),
            BillingError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, detail),
            BillingError::Rejected(e @ EventRejected::Signature(_)) => ApiError(
                Problem::new(StatusCode::BAD_REQUEST, e.to_string())
                    .with_code("invalid_signature", "The event is not signed by the billing provider"),
            ),
            BillingError::Rejected(e @ EventRejected::Malformed(_)) => {
                ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
            }
            BillingError::Provider(e) => {
                tracing::warn!(error = format!("{e:#}"), "billing provider failed");
                let mut problem = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The billing provider failed or could not be reached; try again shortly.",
                )
                .with_code("billing_unavailable", "The billing provider is unavailable");
                problem.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECS);
                ApiError(problem)
            }
            BillingError::Unexpected(e) => internal(&e),
        }
    }
}

impl From<LeadError> for ApiError {
    fn from(e: LeadError) -> Self {
        match e {
            LeadError::Invalid(errors) => errors.into(),
            e @ (LeadError::NotFound | LeadError::FormNotFound) => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            e @ LeadError::OriginNotAllowed => ApiError(
                Problem::new(StatusCode::FORBIDDEN, e.to_string())
                    .with_code("origin_not_allowed", "The origin may not post to this form"),
            ),
            e @ LeadError::Throttled { retry_after_secs } => {
                let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, e.to_string());
                problem.retry_after = Some(retry_after_secs);
                ApiError(problem)
            }
            e @ LeadError::NoOrganization => forbidden(e.to_string()),
            LeadError::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            e @ LeadError::QuotaSpent { .. } => ApiError::new(StatusCode::PAYMENT_REQUIRED, e.to_string()),
            e @ LeadError::SubscriptionClosed => subscription_inactive(e.to_string()),
            LeadError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, detail),
            e @ (LeadError::IdempotencyMismatch | LeadError::Busy) => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
            }
            LeadError::PreconditionFailed => precondition_failed(),
            LeadError::Unexpected(e) => internal(&e),
        }
    }
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Invalid(errors) => errors.into(),
            WorkflowError::EmailUnverified(e) => email_unverified(&e),
            e @ WorkflowError::OutreachCapReached { .. } => {
                ApiError::new(StatusCode::PAYMENT_REQUIRED, e.to_string())
            }
            e @ WorkflowError::SubscriptionInactive => subscription_inactive(e.to_string()),
            e @ WorkflowError::NotFound => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            e @ WorkflowError::NoOrganization => forbidden(e.to_string()),
            WorkflowError::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            WorkflowError::Conflict(e) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            WorkflowError::Unexpected(e) => internal(&e),
        }
    }
}

impl From<leadflow_delivery::DeliveryError> for ApiError {
    fn from(e: leadflow_delivery::DeliveryError) -> Self {
        use leadflow_delivery::DeliveryError as E;
        match e {
            E::Invalid(errors) => errors.into(),
            e @ E::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            e @ E::NoOrganization => forbidden(e.to_string()),
            E::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            E::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message),
            E::Unexpected(e) => internal(&e),
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> Self {
        match e {
            TeamError::Invalid(errors) => errors.into(),
            e @ (TeamError::NotFound | TeamError::MemberNotFound) => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            e @ TeamError::NoOrganization => forbidden(e.to_string()),
            TeamError::Forbidden(p) => forbidden(format!("This needs the permission {p}.")),
            e @ (TeamError::NameTaken | TeamError::Busy) => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
            }
            TeamError::PreconditionFailed => precondition_failed(),
            TeamError::Unexpected(e) => internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_become_a_400_with_fields() {
        let mut errors = ValidationErrors::single("name", "too short");
        errors.push("email", "invalid");
        let ApiError(problem) = errors.into();
        assert_eq!((problem.status, problem.code.as_str()), (400, "validation_failed"));
        assert_eq!(problem.errors.len(), 2);
        assert_eq!(problem.errors[0].field, "name");
    }

    #[test]
    fn unexpected_errors_do_not_leak() {
        let ApiError(problem) =
            OrganizationError::Unexpected(anyhow::anyhow!("password=hunter2 at db")).into();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.unwrap_or_default().contains("hunter2"));
    }

    #[test]
    fn a_deactivated_organization_has_its_own_code() {
        let ApiError(problem) = AuthError::OrganizationInactive.into();
        assert_eq!((problem.status, problem.code.as_str()), (403, "org_inactive"));
    }
}
