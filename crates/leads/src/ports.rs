//! Ports of the leads context. Adapters live in `leadflow-storage`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{
    AuditEntry, KeysetPage, KeysetPaged, PlatformScope, TeamId, TenantScope, UserId, WorkflowId,
};

use crate::model::{Lead, LeadFilter, LeadId, LeadStats, Visibility};

/// The result of asking for one lead of the period's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaOutcome {
    /// One lead was counted.
    Taken,
    /// The period's quota is spent.
    Spent {
        /// The plan's limit.
        limit: u64,
        /// When the next period starts.
        resets_at: DateTime<Utc>,
    },
    /// The subscription takes no new leads (canceled).
    Closed,
}

/// Whether an `Idempotency-Key` is new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use: this submission owns the key.
    New,
    /// Already used by a committed submission (within the last
    /// [`IDEMPOTENCY_KEY_TTL_HOURS`](crate::IDEMPOTENCY_KEY_TTL_HOURS)).
    Replay {
        /// That submission's fingerprint.
        fingerprint: String,
        /// The lead it created.
        lead: LeadId,
        /// That lead as first created: what the replay answers (`None` for a
        /// key kept before first responses were).
        first: Option<Box<Lead>>,
    },
}

/// Everything one lead submission changes, inside one transaction: the
/// idempotency key, the lead, its workflow, its audit entry and the quota. Dropping the unit without
/// [`SubmissionUnit::commit`] rolls everything back.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SubmissionUnit: Send {
    /// Claims `key` for this submission (creating `lead`, kept as the
    /// replay's answer). A key claimed before `expired_before` is free again.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Replay` when a committed submission
    /// holds the key — waiting for one still in flight rather than racing it.
    async fn claim_idempotency_key(
        &mut self,
        scope: TenantScope,
        key: &str,
        fingerprint: &str,
        lead: &Lead,
        expired_before: DateTime<Utc>,
    ) -> anyhow::Result<IdempotencyClaim>;

    /// Consumes one lead of the current period's quota.
    ///
    /// # Errors
    /// When the store fails. MUST be exact under concurrency: with N left, N
    /// concurrent units get `Taken` and the others `Spent`.
    async fn take_quota(&mut self, scope: TenantScope, at: DateTime<Utc>) -> anyhow::Result<QuotaOutcome>;

    /// The organization's settings (a JSON object; `leads.dedupeWindowDays` is read here).
    ///
    /// # Errors
    /// When the store fails.
    async fn organization_settings(&mut self, scope: TenantScope) -> anyhow::Result<serde_json::Value>;

    /// Claims `lead` as the original of its email unless an original of the
    /// email submitted at or after `window_start` exists; that original's id
    /// if so (`lead` is then its duplicate).
    ///
    /// # Errors
    /// When the store fails. MUST be exact under concurrency: of concurrent
    /// submissions of one email, exactly one becomes the original.
    async fn claim_original(
        &mut self,
        scope: TenantScope,
        lead: &Lead,
        window_start: DateTime<Utc>,
    ) -> anyhow::Result<Option<LeadId>>;

    /// Whether the organization's subscription takes new leads at `at` (a
    /// duplicate takes no quota unit, but an inactive subscription takes no
    /// lead at all).
    ///
    /// # Errors
    /// When the store fails.
    async fn accepts_leads(&mut self, scope: TenantScope, at: DateTime<Utc>) -> anyhow::Result<bool>;

    /// Stores the lead.
    ///
    /// # Errors
    /// When the store fails.
    async fn insert_lead(&mut self, scope: TenantScope, lead: &Lead) -> anyhow::Result<()>;

    /// Starts the lead's processing workflow; returns its id.
    ///
    /// # Errors
    /// When the store fails.
    async fn start_workflow(&mut self, scope: TenantScope, lead: &Lead) -> anyhow::Result<WorkflowId>;

    /// Writes an audit entry.
    ///
    /// # Errors
    /// When the store fails.
    async fn record(&mut self, entry: &AuditEntry) -> anyhow::Result<()>;

    /// Makes every change above visible at once.
    ///
    /// # Errors
    /// When the store fails; then nothing changed.
    async fn commit(self: Box<Self>) -> anyhow::Result<()>;
}

/// Starts submission units.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SubmissionUnits: Send + Sync {
    /// Opens a transaction.
    ///
    /// # Errors
    /// When the store fails.
    async fn begin(&self) -> anyhow::Result<Box<dyn SubmissionUnit>>;
}

/// Durable store of leads. Every method is scoped by the organization and
/// honours the actor's [`Visibility`]: a lead outside it does not exist.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LeadRepository: Send + Sync {
    /// Forgets the idempotency keys of every organization claimed before
    /// `before`; returns how many. Platform work (the workers' housekeeping).
    ///
    /// # Errors
    /// When the store fails.
    async fn purge_idempotency_keys(
        &self,
        platform: PlatformScope,
        before: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    /// One visible lead.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(
        &self,
        scope: TenantScope,
        id: LeadId,
        visibility: &Visibility,
    ) -> anyhow::Result<Option<Lead>>;

    /// A keyset page of visible leads matching `filter`, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn page(
        &self,
        scope: TenantScope,
        filter: &LeadFilter,
        visibility: &Visibility,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Lead>>;

    /// Saves a lead's fields (assignee included) and writes `audit`, in one
    /// transaction — only a lead of the scope's organization, and only if it
    /// is still the version read (`updated_at == read_at`), so a concurrent
    /// change (a workflow's decision, an assignment) is never lost.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and write nothing) when
    /// the lead changed since `read_at` or is gone.
    async fn update(
        &self,
        scope: TenantScope,
        lead: &Lead,
        read_at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Saves `original` (a duplicate folded into it) — only if it is still the
    /// version read (`updated_at == read_at`) —, deletes the `duplicate`, and
    /// writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and write nothing) when
    /// the original changed since `read_at` or either lead is gone.
    async fn merge(
        &self,
        scope: TenantScope,
        original: &Lead,
        read_at: DateTime<Utc>,
        duplicate: LeadId,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Deletes a lead and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails.
    async fn delete(&self, scope: TenantScope, id: LeadId, audit: &AuditEntry) -> anyhow::Result<()>;

    /// The id of the lead's workflow, if it has one.
    ///
    /// # Errors
    /// When the store fails.
    async fn workflow_of(&self, scope: TenantScope, id: LeadId) -> anyhow::Result<Option<WorkflowId>>;

    /// Counts of the visible leads.
    ///
    /// # Errors
    /// When the store fails.
    async fn stats(&self, scope: TenantScope, visibility: &Visibility) -> anyhow::Result<LeadStats>;
}

/// Who may work leads, in the words of the leads context.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LeadWorkers: Send + Sync {
    /// Whether `user` is a member of `organization` (a possible assignee).
    ///
    /// # Errors
    /// When the store fails.
    async fn is_member(&self, scope: TenantScope, user: UserId) -> anyhow::Result<bool>;

    /// The members of every team `leader` leads.
    ///
    /// # Errors
    /// When the store fails.
    async fn led_by(&self, scope: TenantScope, leader: UserId) -> anyhow::Result<Vec<UserId>>;

    /// The members of one team (empty for an unknown team).
    ///
    /// # Errors
    /// When the store fails.
    async fn team_members(&self, scope: TenantScope, team: TeamId) -> anyhow::Result<Vec<UserId>>;
}
