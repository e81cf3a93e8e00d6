//! Ports of the workflows context: the store and the steps.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{
    AuditEntry, KeysetPage, KeysetPaged, LeadId, PlatformScope, TeamId, TenantScope, UserId,
};

use crate::routing::Candidate;

use crate::model::{
    Category, EmailDraft, LeadSnapshot, Qualification, Research, TokenUsage, Workflow, WorkflowId,
    WorkflowStatus,
};

/// What a step adapter produced, with the language model's tokens it spent
/// (none for rule-based adapters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Produced<T> {
    /// The result.
    pub value: T,
    /// Tokens spent.
    pub usage: Option<TokenUsage>,
}

impl<T> Produced<T> {
    /// A result that cost no tokens.
    pub const fn plain(value: T) -> Self {
        Self { value, usage: None }
    }

    /// A result that cost `usage`.
    pub const fn metered(value: T, usage: TokenUsage) -> Self {
        Self { value, usage: Some(usage) }
    }
}

/// An organization's monthly budget of language-model tokens (its plan's;
/// owned by subscriptions, asked here).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TokenBudget: Send + Sync {
    /// Tokens the scope may still spend in the period of `now` (`None`: no budget).
    ///
    /// # Errors
    /// When the store fails.
    async fn remaining(&self, scope: TenantScope, now: DateTime<Utc>) -> anyhow::Result<Option<u64>>;

    /// Counts `tokens` spent by the scope at `now`.
    ///
    /// # Errors
    /// When the store fails.
    async fn spend(&self, scope: TenantScope, tokens: u64, now: DateTime<Utc>) -> anyhow::Result<()>;
}

/// A step failed; the engine retries it with backoff.
///
/// It carries two texts: the short message tenants see (a workflow's
/// `lastError`, a step's `error`) and, for an unexpected failure, the full
/// error chain, which goes to the logs with the workflow id and nowhere else.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    message: String,
    detail: Option<String>,
    retry_after: Option<std::time::Duration>,
    usage: Option<TokenUsage>,
}

/// What tenants read when a step failed unexpectedly (a store or driver error).
pub const INTERNAL_STEP_ERROR: &str = "internal: the step could not be completed; it has been logged";

impl StepError {
    /// A failure whose message is meant for the tenant (e.g. "research provider unavailable").
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), detail: None, retry_after: None, usage: None }
    }

    /// The same failure, to be retried no sooner than `delay` from now (a
    /// provider's `Retry-After`).
    #[must_use]
    pub fn retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The same failure, having spent `usage` tokens (an answer that did not validate).
    #[must_use]
    pub fn with_usage(mut self, usage: TokenUsage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// The earliest retry the provider asked for.
    #[must_use]
    pub fn min_delay(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// Tokens the failed attempt spent.
    #[must_use]
    pub fn usage(&self) -> Option<TokenUsage> {
        self.usage
    }

    /// What tenants see.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The full chain of an unexpected failure, for the logs.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl From<anyhow::Error> for StepError {
    /// An unexpected failure: tenants read [`INTERNAL_STEP_ERROR`], the chain is kept for the logs.
    fn from(e: anyhow::Error) -> Self {
        Self {
            message: INTERNAL_STEP_ERROR.to_owned(),
            detail: Some(format!("{e:#}")),
            retry_after: None,
            usage: None,
        }
    }
}

/// What a change to a workflow also writes onto its lead, in the same transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadEffects {
    /// The qualification to write (after `qualify`).
    pub qualification: Option<Qualification>,
    /// The decision to write as the lead's status (`true`: approved).
    pub approved: Option<bool>,
    /// Who the `route` step gave the lead to, or proposed.
    pub routing: Option<Routing>,
}

/// What the `route` step decided, written with the step.
#[derive(Clone, Debug, PartialEq)]
pub struct Routing {
    /// Assign, or propose.
    pub effect: RouteEffect,
    /// Its audit entry (`lead.assigned`, or `lead.assignment_proposed`), by the system.
    pub audit: AuditEntry,
}

/// An assignment, or a proposal of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteEffect {
    /// Assign the lead to the member (if it is still unassigned).
    Assign(UserId),
    /// Propose the member; a person accepts or rejects it before `expires_at`.
    Propose {
        /// The proposal's id.
        proposal: uuid::Uuid,
        /// The member proposed.
        user: UserId,
        /// When it expires.
        expires_at: DateTime<Utc>,
    },
}

/// Who may take an organization's leads (members, and their open leads).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Router: Send + Sync {
    /// The scope's active members (only `team`'s, when given) with their open leads.
    ///
    /// # Errors
    /// When the store fails.
    async fn candidates(&self, scope: TenantScope, team: Option<TeamId>) -> anyhow::Result<Vec<Candidate>>;

    /// The scope's next round-robin ticket: 0, 1, 2, … one per call.
    ///
    /// # Errors
    /// When the store fails. MUST hand each ticket out once, whatever the concurrency.
    async fn next_ticket(&self, scope: TenantScope) -> anyhow::Result<u64>;
}

/// Filters of the workflow list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkflowFilter {
    /// Only this status (`awaiting_approval` is the approvers' inbox).
    pub status: Option<WorkflowStatus>,
    /// Only the workflow of this lead.
    pub lead_id: Option<LeadId>,
}

/// Durable store of workflows.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WorkflowRepository: Send + Sync {
    /// Leases up to `limit` due workflows of every organization (runnable, `next_run_at` passed, no
    /// live lease) to `worker` until `lease_until`, with a snapshot of each lead.
    ///
    /// # Errors
    /// When the store fails. MUST never lease one workflow to two workers at
    /// once (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    async fn claim_due(
        &self,
        platform: PlatformScope,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<(Workflow, LeadSnapshot)>>;

    /// Saves a workflow changed by `worker` and applies `effects` to its lead,
    /// in one transaction — only while `worker` still holds the lease and the
    /// workflow was not cancelled. Keeps the lease until `lease_until`, or
    /// releases it with `None`. Platform work: the workers run every
    /// organization's workflows, fenced by the lease.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and write nothing) when
    /// the lease was lost or the workflow cancelled meanwhile.
    async fn save_step(
        &self,
        platform: PlatformScope,
        workflow: &Workflow,
        worker: &str,
        lease_until: Option<DateTime<Utc>>,
        effects: &LeadEffects,
    ) -> anyhow::Result<bool>;

    /// Releases `worker`'s leases (at shutdown): the workflows are due again at once.
    ///
    /// # Errors
    /// When the store fails.
    async fn release(&self, platform: PlatformScope, worker: &str) -> anyhow::Result<()>;

    /// One workflow of the scope's organization.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, scope: TenantScope, id: WorkflowId) -> anyhow::Result<Option<Workflow>>;

    /// A keyset page of the scope's workflows, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn page(
        &self,
        scope: TenantScope,
        filter: &WorkflowFilter,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Workflow>>;

    /// Saves a person's change (decision, cancel, retry), applies `effects`
    /// to the lead and writes `audit`, in one transaction — only if the
    /// workflow is still in status `expected`. Drops any lease.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and write nothing) when
    /// the status changed meanwhile.
    async fn transition(
        &self,
        scope: TenantScope,
        workflow: &Workflow,
        expected: WorkflowStatus,
        effects: &LeadEffects,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;
}

/// The organization's outreach today: its daily cap and what was approved so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyOutreach {
    /// Approvals allowed per day (UTC); `None`: no cap.
    pub limit: Option<u64>,
    /// Approvals made today.
    pub used: u64,
    /// Whether the subscription is in force (not canceled, not past due beyond its grace).
    pub in_force: bool,
}

/// How much outreach the organization's plan allows (owned by subscriptions; asked here).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutreachLimits: Send + Sync {
    /// The scope's cap and use on the day (UTC) of `now`.
    ///
    /// # Errors
    /// When the store fails.
    async fn today(&self, scope: TenantScope, now: DateTime<Utc>) -> anyhow::Result<DailyOutreach>;
}

/// Learns about a lead.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Researcher: Send + Sync {
    /// Research `lead`.
    ///
    /// # Errors
    /// [`StepError`] (retried).
    async fn research(&self, lead: &LeadSnapshot) -> Result<Produced<Research>, StepError>;
}

/// Scores and categorises a lead.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Qualifier: Send + Sync {
    /// Qualify `lead` given its research.
    ///
    /// # Errors
    /// [`StepError`] (retried).
    async fn qualify(
        &self,
        lead: &LeadSnapshot,
        research: &Research,
    ) -> Result<Produced<Qualification>, StepError>;
}

/// Writes the outreach email.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EmailDrafter: Send + Sync {
    /// Draft the email to `lead`.
    ///
    /// # Errors
    /// [`StepError`] (retried).
    async fn draft(
        &self,
        lead: &LeadSnapshot,
        research: &Research,
        category: Category,
    ) -> Result<Produced<EmailDraft>, StepError>;
}

/// Sends an approved email.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Send `email` for `workflow`.
    ///
    /// # Errors
    /// [`StepError`] (retried). MUST send at most once per workflow, however
    /// often it is called (the built-in outbox keys the email by workflow).
    async fn send(&self, workflow: &Workflow, email: &EmailDraft) -> Result<(), StepError>;
}

/// Tells people a workflow awaits their approval.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApprovalNotifier: Send + Sync {
    /// Announce that `workflow` awaits approval (`workflow.approval_requested`).
    ///
    /// # Errors
    /// [`StepError`] (the draft step is retried; the notice may repeat).
    async fn approval_requested(&self, workflow: &Workflow) -> Result<(), StepError>;
}
