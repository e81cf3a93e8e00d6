//! `/api/v1/workflows`: lead-processing workflows and the approval step.

use std::sync::Arc;

use leadflow_kernel::{KeysetPage, LeadId};
use leadflow_workflows::ports::WorkflowFilter;
use leadflow_workflows::service::EditedEmail;
use leadflow_workflows::{Workflow, WorkflowId, WorkflowStatus};
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

/// Operations of the Workflows tag.
pub struct WorkflowsApi;

/// A workflow's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WorkflowStatusDto {
    /// Created, not yet started.
    Pending,
    /// A step is running or due (perhaps retrying).
    Running,
    /// Waiting for a person's approval.
    AwaitingApproval,
    /// Done.
    Completed,
    /// A step failed for good.
    Failed,
    /// Stopped by a person.
    Cancelled,
}

impl From<WorkflowStatusDto> for WorkflowStatus {
    fn from(s: WorkflowStatusDto) -> Self {
        match s {
            WorkflowStatusDto::Pending => Self::Pending,
            WorkflowStatusDto::Running => Self::Running,
            WorkflowStatusDto::AwaitingApproval => Self::AwaitingApproval,
            WorkflowStatusDto::Completed => Self::Completed,
            WorkflowStatusDto::Failed => Self::Failed,
            WorkflowStatusDto::Cancelled => Self::Cancelled,
        }
    }
}

/// One step of a workflow.
#[derive(Object)]
#[oai(rename = "WorkflowStep", rename_all = "camelCase")]
pub struct StepDto {
    /// `research`, `qualify`, `draft_email`, `await_approval` or `send_email`.
    pub name: String,
    /// `running`, `waiting`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// First attempt's start.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it succeeded or failed for good.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The last error.
    pub error: Option<String>,
    /// The language model's tokens the step spent (model-backed steps only).
    pub usage: Option<TokenUsageDto>,
    /// Why the rule-based adapter ran instead of the model: `budget` (the
    /// organization's monthly token budget is spent).
    pub fallback: Option<String>,
}

/// Tokens a language model spent.
#[derive(Object)]
#[oai(rename = "TokenUsage", rename_all = "camelCase")]
pub struct TokenUsageDto {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
}

/// An outreach email.
#[derive(Object)]
pub struct EmailDto {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A person's decision.
#[derive(Object)]
#[oai(rename = "Decision", rename_all = "camelCase")]
pub struct DecisionDto {
    /// The user who decided.
    pub by: Option<Uuid>,
    /// Their email.
    pub by_email: Option<String>,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Their note.
    pub note: Option<String>,
    /// Approved or rejected.
    pub approved: bool,
}

/// A workflow.
#[derive(Object)]
#[oai(rename = "Workflow", rename_all = "camelCase")]
pub struct WorkflowDto {
    /// Id.
    pub id: Uuid,
    /// Its lead.
    pub lead_id: Uuid,
    /// Status.
    pub status: String,
    /// The step running, due or waiting.
    pub current_step: Option<String>,
    /// Every step so far.
    pub steps: Vec<StepDto>,
    /// What research found.
    pub research: Option<serde_json::Value>,
    /// The qualification (also written onto the lead).
    pub qualification: Option<serde_json::Value>,
    /// The outreach draft.
    pub email_draft: Option<EmailDto>,
    /// The approval decision.
    pub decision: Option<DecisionDto>,
    /// The last step error.
    pub last_error: Option<String>,
    /// Creation.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it completed, failed or was cancelled.
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl From<Workflow> for WorkflowDto {
    fn from(w: Workflow) -> Self {
        Self {
            id: w.id.as_uuid(),
            lead_id: w.lead_id.as_uuid(),
            status: w.status.as_str().to_owned(),
            current_step: w.current_step.map(|s| s.as_str().to_owned()),
            steps: w
                .steps
                .iter()
                .map(|s| StepDto {
                    name: s.name.as_str().to_owned(),
                    status: text(&s.status),
                    attempts: s.attempts,
                    started_at: s.started_at,
                    finished_at: s.finished_at,
                    error: s.error.clone(),
                    usage: s.usage.map(|u| TokenUsageDto {
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                    }),
                    fallback: s.fallback.clone(),
                })
                .collect(),
            research: w.research.as_ref().and_then(|r| serde_json::to_value(r).ok()),
            qualification: w.qualification.as_ref().and_then(|q| serde_json::to_value(q).ok()),
            email_draft: w.email_draft.map(|d| EmailDto { to: d.to, subject: d.subject, body: d.body }),
            decision: w.decision.map(|d| DecisionDto {
                by: d.by.map(|u| u.as_uuid()),
                by_email: d.by_email,
                at: d.at,
                note: d.note,
                approved: d.approved,
            }),
            last_error: w.last_error,
            created_at: w.created_at,
            completed_at: w.completed_at,
        }
    }
}

/// A page of workflows.
#[derive(Object)]
pub struct WorkflowPage {
    /// Newest first.
    pub data: Vec<WorkflowDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

/// An edited outreach email.
#[derive(Object)]
pub struct EditedEmailBody {
    /// Subject, 1–300 characters.
    #[oai(validator(max_length = 300))]
    pub subject: String,
    /// Body, 1–20,000 characters.
    #[oai(validator(max_length = 20000))]
    pub body: String,
}

/// An approval.
#[derive(Object)]
pub struct ApproveBody {
    /// A note for the record.
    #[oai(validator(max_length = 2000))]
    pub note: Option<String>,
    /// The email to send instead of the draft.
    pub email: Option<EditedEmailBody>,
}

/// A rejection.
#[derive(Object)]
pub struct RejectBody {
    /// A note for the record.
    #[oai(validator(max_length = 2000))]
    pub note: Option<String>,
}

#[OpenApi(prefix_path = "/api/v1/workflows", tag = "ApiTags::Workflows")]
impl WorkflowsApi {
    /// List workflows, newest first (`workflows:view_all`)
    ///
    /// `status=awaiting_approval` is the approvers' inbox.
    #[oai(path = "/", method = "get", operation_id = "listWorkflows")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        status: Query<Option<WorkflowStatusDto>>,
        #[oai(name = "leadId")] lead_id: Query<Option<Uuid>>,
        /// 1 to 100 (default 20).
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<WorkflowPage>> {
        let page = KeysetPage::new(limit.0, cursor.0.as_deref())?;
        let filter =
            WorkflowFilter { status: status.0.map(Into::into), lead_id: lead_id.0.map(LeadId::from_uuid) };
        let result = state.workflows.list(auth.actor(), filter, page).await?;
        Ok(Json(WorkflowPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }

    /// Get a workflow with its steps, research, qualification, draft and decision (`workflows:view_all`)
    #[oai(path = "/:id", method = "get", operation_id = "getWorkflow")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<WorkflowDto>> {
        Ok(Json(state.workflows.get(auth.actor(), WorkflowId::from_uuid(id.0)).await?.into()))
    }

    /// Approve the outreach (`leads:approve`)
    ///
    /// Optionally with an edited email. The email is sent next (once), the
    /// lead becomes `approved`. 409 unless the workflow awaits approval.
    #[oai(path = "/:id/approve", method = "post", operation_id = "approveWorkflow")]
    async fn approve(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: Json<ApproveBody>,
    ) -> ApiResult<Json<WorkflowDto>> {
        let body = body.0;
        let email = body.email.map(|e| EditedEmail { subject: e.subject, body: e.body });
        Ok(Json(
            state
                .workflows
                .approve(auth.actor(), WorkflowId::from_uuid(id.0), body.note, email)
                .await?
                .into(),
        ))
    }

    /// Reject the outreach (`leads:approve`)
    ///
    /// The workflow completes without email; the lead becomes `rejected`.
    /// 409 unless the workflow awaits approval.
    #[oai(path = "/:id/reject", method = "post", operation_id = "rejectWorkflow")]
    async fn reject(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: Json<RejectBody>,
    ) -> ApiResult<Json<WorkflowDto>> {
        Ok(Json(state.workflows.reject(auth.actor(), WorkflowId::from_uuid(id.0), body.0.note).await?.into()))
    }

    /// Cancel a workflow (`workflows:cancel`); 409 once it has ended
    #[oai(path = "/:id/cancel", method = "post", operation_id = "cancelWorkflow")]
    async fn cancel(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<WorkflowDto>> {
        Ok(Json(state.workflows.cancel(auth.actor(), WorkflowId::from_uuid(id.0)).await?.into()))
    }

    /// Retry a failed workflow from its failed step (`workflows:cancel`); 409 unless failed
    #[oai(path = "/:id/retry", method = "post", operation_id = "retryWorkflow")]
    async fn retry(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<WorkflowDto>> {
        Ok(Json(state.workflows.retry(auth.actor(), WorkflowId::from_uuid(id.0)).await?.into()))
    }
}
