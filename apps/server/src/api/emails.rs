//! `/api/v1/emails`: the organization's email outbox — what was sent, what
//! waits, what failed — and resending.

use crate::api::text::Cursor;
use std::sync::Arc;

use leadflow_delivery::email::EmailFilter;
use leadflow_delivery::{Email, EmailId, EmailKind, EmailStatus};
use leadflow_kernel::KeysetPage;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::KeysetPagination;
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// Operations of the Emails tag.
pub struct EmailsApi;

/// What an email is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename = "EmailKind", rename_all = "snake_case")]
pub enum EmailKindDto {
    /// An invitation to join the organization.
    Invitation,
    /// A password reset link.
    PasswordReset,
    /// An email-address verification link.
    EmailVerification,
    /// An approver is asked to review an outreach draft.
    ApprovalRequest,
    /// The approved email to a lead.
    Outreach,
    /// The admins learn that Leadflow disabled a webhook endpoint.
    WebhookDisabled,
}

impl From<EmailKindDto> for EmailKind {
    fn from(k: EmailKindDto) -> Self {
        match k {
            EmailKindDto::Invitation => Self::Invitation,
            EmailKindDto::PasswordReset => Self::PasswordReset,
            EmailKindDto::EmailVerification => Self::EmailVerification,
            EmailKindDto::ApprovalRequest => Self::ApprovalRequest,
            EmailKindDto::Outreach => Self::Outreach,
            EmailKindDto::WebhookDisabled => Self::WebhookDisabled,
        }
    }
}

impl From<EmailKind> for EmailKindDto {
    fn from(k: EmailKind) -> Self {
        match k {
            EmailKind::Invitation => Self::Invitation,
            EmailKind::PasswordReset => Self::PasswordReset,
            EmailKind::EmailVerification => Self::EmailVerification,
            EmailKind::ApprovalRequest => Self::ApprovalRequest,
            EmailKind::Outreach => Self::Outreach,
            EmailKind::WebhookDisabled => Self::WebhookDisabled,
        }
    }
}

/// Where an email is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename = "EmailStatus", rename_all = "snake_case")]
pub enum EmailStatusDto {
    /// Waiting for its first or next attempt.
    Pending,
    /// Being sent now.
    Sending,
    /// Accepted by the mail server.
    Sent,
    /// Given up (refused, or retries spent); may be resent.
    Failed,
    /// Outreach whose send was interrupted: it may or may not have left, and is never re-sent automatically; may be resent.
    Unknown,
}

impl From<EmailStatusDto> for EmailStatus {
    fn from(s: EmailStatusDto) -> Self {
        match s {
            EmailStatusDto::Pending => Self::Pending,
            EmailStatusDto::Sending => Self::Sending,
            EmailStatusDto::Sent => Self::Sent,
            EmailStatusDto::Failed => Self::Failed,
            EmailStatusDto::Unknown => Self::Unknown,
        }
    }
}

impl From<EmailStatus> for EmailStatusDto {
    fn from(s: EmailStatus) -> Self {
        match s {
            EmailStatus::Pending => Self::Pending,
            EmailStatus::Sending => Self::Sending,
            EmailStatus::Sent => Self::Sent,
            EmailStatus::Failed => Self::Failed,
            EmailStatus::Unknown => Self::Unknown,
        }
    }
}

/// An email of the outbox. Links that carry a secret (invitation tokens) are shown redacted.
#[derive(Object)]
#[oai(rename = "Email", rename_all = "camelCase")]
pub struct EmailDto {
    /// The email's id; its `Message-ID` is built from it.
    pub id: Uuid,
    /// What it is for.
    pub kind: EmailKindDto,
    /// The recipient's address.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body (as sent, once sent), secrets redacted.
    pub body: String,
    /// Where it is.
    pub status: EmailStatusDto,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending emails).
    #[oai(nullable)]
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the last attempt failed.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// The mail server's reply to the accepted message.
    #[oai(nullable)]
    pub reply: Option<String>,
    /// The `Message-ID` header it was sent with.
    #[oai(nullable)]
    pub message_id: Option<String>,
    /// The lead an outreach email was written to.
    #[oai(nullable)]
    pub lead_id: Option<Uuid>,
    /// When it was queued.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the mail server accepted it.
    #[oai(nullable)]
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Email> for EmailDto {
    fn from(e: Email) -> Self {
        Self {
            id: e.id.as_uuid(),
            kind: e.kind.into(),
            recipient: e.recipient,
            subject: e.subject,
            body: e.body,
            status: e.status.into(),
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            last_error: e.last_error,
            reply: e.reply,
            message_id: e.message_id,
            lead_id: e.lead_id,
            created_at: e.created_at,
            sent_at: e.sent_at,
        }
    }
}

/// A page of emails.
#[derive(Object)]
#[oai(rename = "EmailPage")]
pub struct EmailPage {
    /// The items of this page, newest first.
    pub data: Vec<EmailDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

#[OpenApi(prefix_path = "/api/v1/emails", tag = "ApiTags::Emails")]
impl EmailsApi {
    /// List the organization's emails, newest first (`settings:manage`; outreach only with `leads:view_all`)
    #[oai(path = "/", method = "get", operation_id = "listEmails")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        /// Only emails in this status.
        status: Query<Option<EmailStatusDto>>,
        /// Only emails of this kind.
        kind: Query<Option<EmailKindDto>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<EmailPage>> {
        let page = KeysetPage::new(limit.0, cursor.0.as_deref())?;
        let filter = EmailFilter {
            status: status.0.map(Into::into),
            kind: kind.0.map(Into::into),
            outreach_only: false,
        };
        let result = state.emails.list(auth.actor(), filter, page).await?;
        Ok(Json(EmailPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }

    /// Get one email (`settings:manage`; outreach also with `leads:view_all`)
    #[oai(path = "/:id", method = "get", operation_id = "getEmail")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<EmailDto>> {
        Ok(Json(state.emails.get(auth.actor(), EmailId::from_uuid(id.0)).await?.into()))
    }

    /// Send a failed or unknown email again (`settings:manage`); audited
    ///
    /// The email is due at once with a fresh retry schedule. 409 for an email
    /// that is pending, sending or sent.
    #[oai(path = "/:id/resend", method = "post", operation_id = "resendEmail")]
    async fn resend(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<EmailDto>> {
        Ok(Json(state.emails.resend(auth.actor(), EmailId::from_uuid(id.0)).await?.into()))
    }
}
