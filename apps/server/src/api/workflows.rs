//! `/api/v1/workflows`: lead-processing workflows and the approval step.

use crate::api::text::Cursor;
use std::sync::Arc;

use leadflow_kernel::{KeysetPage, LeadId};
use leadflow_workflows::model::{Category, Research, Step, StepStatus};
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
use crate::api::leads::{QualificationCategoryDto, QualificationDto};
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

impl From<WorkflowStatus> for WorkflowStatusDto {
    fn from(s: WorkflowStatus) -> Self {
        match s {
            WorkflowStatus::Pending => Self::Pending,
            WorkflowStatus::Running => Self::Running,
            WorkflowStatus::AwaitingApproval => Self::AwaitingApproval,
            WorkflowStatus::Completed => Self::Completed,
            WorkflowStatus::Failed => Self::Failed,
            WorkflowStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A step of the lead-processing workflow, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename = "WorkflowStepName", rename_all = "snake_case")]
pub enum StepNameDto {
    /// Learn about the lead (email domain, company, intent, optionally its website).
    Research,
    /// Score and categorise it; writes the qualification onto the lead.
    Qualify,
    /// Pick who works it (when the organization routes leads automatically or by proposal).
    Route,
    /// Write the outreach email.
    DraftEmail,
    /// Wait for a person's approval of the draft.
    AwaitApproval,
    /// Send the approved email.
    SendEmail,
}

impl From<Step> for StepNameDto {
    fn from(s: Step) -> Self {
        match s {
            Step::Research => Self::Research,
            Step::Qualify => Self::Qualify,
            Step::Route => Self::Route,
            Step::DraftEmail => Self::DraftEmail,
            Step::AwaitApproval => Self::AwaitApproval,
            Step::SendEmail => Self::SendEmail,
        }
    }
}

/// Where one step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename = "WorkflowStepStatus", rename_all = "snake_case")]
pub enum StepStatusDto {
    /// Running, or due to run (again, after a failed attempt).
    Running,
    /// Waiting for a person.
    Waiting,
    /// Done.
    Succeeded,
    /// Failed for good (its attempts are spent).
    Failed,
}

impl From<StepStatus> for StepStatusDto {
    fn from(s: StepStatus) -> Self {
        match s {
            StepStatus::Running => Self::Running,
            StepStatus::Waiting => Self::Waiting,
            StepStatus::Succeeded => Self::Succeeded,
            StepStatus::Failed => Self::Failed,
        }
    }
}

/// What the `research` step found about a lead.
#[derive(Object)]
#[oai(rename = "Research", rename_all = "camelCase")]
pub struct ResearchDto {
    /// The domain of the lead's email address, e.g. `bigcorp.io`.
    pub domain: String,
    /// Whether the address is at a free mail provider (gmail.com, …).
    pub free_mail: bool,
    /// Whether the address is at a disposable mail provider (mailinator.com, …).
    pub disposable: bool,
    /// The company name, normalised (`null` when the lead gave none).
    #[oai(nullable)]
    pub company: Option<String>,
    /// What the message asks for: any of `demo`, `pricing`, `support`, `partnership`, `purchase`.
    pub intents: Vec<String>,
    /// What the company's home page says, when website research is on and the page could be read.
    #[oai(nullable)]
    pub website: Option<WebsiteFactsDto>,
    /// The language model's one-paragraph summary of the lead (model-backed research only).
    #[oai(nullable)]
    pub summary: Option<String>,
}

/// What a company's home page says.
#[derive(Object)]
#[oai(rename = "WebsiteFacts")]
pub struct WebsiteFactsDto {
    /// The page that was read.
    pub url: String,
    /// Its `<title>`, if it has one.
    #[oai(nullable)]
    pub title: Option<String>,
    /// Its meta description, if it has one.
    #[oai(nullable)]
    pub description: Option<String>,
    /// The start of its visible text.
    #[oai(nullable)]
    pub excerpt: Option<String>,
}

impl From<&Research> for ResearchDto {
    fn from(r: &Research) -> Self {
        Self {
            domain: r.domain.clone(),
            free_mail: r.free_mail,
            disposable: r.disposable,
            company: r.company.clone(),
            intents: r.intents.clone(),
            website: r.website.as_ref().map(|w| WebsiteFactsDto {
                url: w.url.clone(),
                title: w.title.clone(),
                description: w.description.clone(),
                excerpt: w.excerpt.clone(),
            }),
            summary: r.summary.clone(),
        }
    }
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
    /// Which step this is.
    pub name: StepNameDto,
    /// Where it is.
    pub status: StepStatusDto,
    /// Attempts so far.
    pub attempts: u32,
    /// First attempt's start.
    #[oai(nullable)]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it succeeded or failed for good.
    #[oai(nullable)]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The last error.
    #[oai(nullable)]
    pub error: Option<String>,
    /// The language model's tokens the step spent (model-backed steps only).
    #[oai(nullable)]
    pub usage: Option<TokenUsageDto>,
    /// Why the rule-based adapter ran instead of the model: `budget` (the
    /// organization's monthly token budget is spent).
    #[oai(nullable)]
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
    /// The email address it goes to.
    pub to: String,
    /// The email's subject line.
    pub subject: String,
    /// The email's plain-text body.
    pub body: String,
}

/// A person's decision.
#[derive(Object)]
#[oai(rename = "Decision", rename_all = "camelCase")]
pub struct DecisionDto {
    /// The user who decided.
    #[oai(nullable)]
    pub by: Option<Uuid>,
    /// The person's email address.
    #[oai(nullable)]
    pub by_email: Option<String>,
    /// When it happened.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The note the person left with the decision, if any.
    #[oai(nullable)]
    pub note: Option<String>,
    /// Approved or rejected.
    pub approved: bool,
}

/// A workflow.
#[derive(Object)]
#[oai(rename = "Workflow", rename_all = "camelCase")]
pub struct WorkflowDto {
    /// The workflow's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The lead the workflow processes.
    pub lead_id: Uuid,
    /// Where the workflow is.
    pub status: WorkflowStatusDto,
    /// The step running, due or waiting (`null` once the workflow ended).
    #[oai(nullable)]
    pub current_step: Option<StepNameDto>,
    /// Every step so far.
    pub steps: Vec<StepDto>,
    /// What research found (`null` until the research step ran).
    #[oai(nullable)]
    pub research: Option<ResearchDto>,
    /// The qualification, also written onto the lead (`null` until the qualify step ran).
    #[oai(nullable)]
    pub qualification: Option<QualificationDto>,
    /// The outreach draft.
    #[oai(nullable)]
    pub email_draft: Option<EmailDto>,
    /// The approval decision.
    #[oai(nullable)]
    pub decision: Option<DecisionDto>,
    /// The last step error.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When the workflow was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it completed, failed or was cancelled.
    #[oai(nullable)]
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Workflow> for WorkflowDto {
    fn from(w: Workflow) -> Self {
        Self {
            id: w.id.as_uuid(),
            lead_id: w.lead_id.as_uuid(),
            status: w.status.into(),
            current_step: w.current_step.map(Into::into),
            steps: w
                .steps
                .iter()
                .map(|s| StepDto {
                    name: s.name.into(),
                    status: s.status.into(),
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
            research: w.research.as_ref().map(Into::into),
            qualification: w.qualification.as_ref().map(|q| QualificationDto {
                category: match q.category {
                    Category::Qualified => QualificationCategoryDto::Qualified,
                    Category::FollowUp => QualificationCategoryDto::FollowUp,
                    Category::Support => QualificationCategoryDto::Support,
                    Category::Unqualified => QualificationCategoryDto::Unqualified,
                },
                reason: q.reason.clone(),
                score: q.score,
            }),
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
    /// The items of this page, newest first.
    pub data: Vec<WorkflowDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

/// An edited outreach email.
#[derive(Object)]
pub struct EditedEmailBody {
    /// Subject, 1–300 characters.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(max_length = 300))]
    pub subject: String,
    /// Body, 1–20,000 characters.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(max_length = 20000))]
    pub body: String,
}

/// An approval.
#[derive(Object)]
pub struct ApproveBody {
    /// A note for the record.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 2000))]
    pub note: Option<String>,
    /// The email to send instead of the draft.
    #[oai(nullable)]
    pub email: Option<EditedEmailBody>,
}

/// A rejection.
#[derive(Object)]
pub struct RejectBody {
    /// A note for the record.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 2000))]
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
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
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
