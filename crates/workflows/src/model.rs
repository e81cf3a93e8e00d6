//! The workflow state machine.

use chrono::{DateTime, Utc};
use leadflow_kernel::{LeadId, OrganizationId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use leadflow_kernel::WorkflowId;

/// A transition the state machine does not allow from the current status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a workflow that is {}", from.as_str())]
pub struct IllegalTransition {
    /// What was attempted.
    pub action: &'static str,
    /// The status it was in.
    pub from: WorkflowStatus,
}

/// Where a workflow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    /// Created, not yet started.
    Pending,
    /// A step is running or due (possibly after a failure, waiting to retry).
    Running,
    /// Waiting for a person to approve or reject the outreach.
    AwaitingApproval,
    /// Done.
    Completed,
    /// A step failed for good; `POST /retry` starts it again.
    Failed,
    /// Stopped by a person.
    Cancelled,
}

impl WorkflowStatus {
    /// Every status.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::AwaitingApproval,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether workers pick it up when due.
    #[must_use]
    pub const fn is_runnable(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }
}

/// A step of the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Learn about the lead (email domain, company, intent).
    Research,
    /// Score and categorise it; writes the qualification onto the lead.
    Qualify,
    /// Pick who works it (when the organization routes leads).
    Route,
    /// Write the outreach email.
    DraftEmail,
    /// Wait for a person's decision.
    AwaitApproval,
    /// Send the approved email.
    SendEmail,
}

impl Step {
    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Research => "research",
            Self::Qualify => "qualify",
            Self::Route => "route",
            Self::DraftEmail => "draft_email",
            Self::AwaitApproval => "await_approval",
            Self::SendEmail => "send_email",
        }
    }
}

/// The state of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Running, or due to run (again).
    Running,
    /// Waiting for a person.
    Waiting,
    /// Done.
    Succeeded,
    /// Failed for good.
    Failed,
}

/// What happened in one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step.
    pub name: Step,
    /// Its state.
    pub status: StepStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// First attempt's start.
    pub started_at: Option<DateTime<Utc>>,
    /// When it succeeded or failed for good.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last error.
    pub error: Option<String>,
    /// The worker that completed it.
    pub worker: Option<String>,
    /// The language model's tokens the step spent (model-backed steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// Why the rule-based adapter ran instead of the model (`budget`: the
    /// organization's monthly token budget is spent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Tokens a language model spent on one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
}

impl TokenUsage {
    /// Both together (what the budget counts).
    #[must_use]
    pub const fn total(self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    /// The sum of two usages.
    #[must_use]
    pub const fn plus(self, other: Self) -> Self {
        Self {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            completion_tokens: self.completion_tokens.saturating_add(other.completion_tokens),
        }
    }
}

/// What a lead's website says about it (its domain's home page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteFacts {
    /// The page fetched.
    pub url: String,
    /// Its `<title>`.
    pub title: Option<String>,
    /// Its meta description.
    pub description: Option<String>,
    /// The start of its visible text.
    pub excerpt: Option<String>,
}

/// What research found about a lead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Research {
    /// The email's domain.
    pub domain: String,
    /// A free mail provider (gmail.com, …).
    pub free_mail: bool,
    /// A disposable address provider (mailinator.com, …).
    pub disposable: bool,
    /// The company name, normalised.
    pub company: Option<String>,
    /// What the message asks for: `demo`, `pricing`, `support`, `partnership`, `purchase`.
    pub intents: Vec<String>,
    /// The company's website, when its home page could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<WebsiteFacts>,
    /// A model's summary of the lead (model-backed research only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A qualification category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Worth outreach now.
    Qualified,
    /// Worth outreach later.
    FollowUp,
    /// A support request.
    Support,
    /// Not a lead.
    Unqualified,
}

impl Category {
    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Qualified => "qualified",
            Self::FollowUp => "follow_up",
            Self::Support => "support",
            Self::Unqualified => "unqualified",
        }
    }

    /// Whether the workflow drafts outreach for it.
    #[must_use]
    pub const fn wants_outreach(self) -> bool {
        matches!(self, Self::Qualified | Self::FollowUp)
    }
}

/// The qualification a workflow computes (and writes onto its lead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    /// Category.
    pub category: Category,
    /// Why.
    pub reason: String,
    /// 0–100.
    pub score: u8,
}

/// An outreach email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDraft {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A person's decision on the outreach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Approved (`true`) or rejected.
    pub approved: bool,
    /// Who decided.
    pub by: Option<UserId>,
    /// Their email.
    pub by_email: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// Their note.
    pub note: Option<String>,
}

/// What the steps see of the lead and its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadSnapshot {
    /// The lead.
    pub lead_id: LeadId,
    /// Contact email.
    pub email: String,
    /// Contact name.
    pub name: String,
    /// Company.
    pub company: Option<String>,
    /// Message.
    pub message: String,
    /// Metadata object.
    pub metadata: Value,
    /// The organization's display name (for the email).
    pub organization_name: String,
    /// The organization's settings (qualification rules live under `qualification`).
    pub organization_settings: Value,
    /// The member working the lead, if any (routing leaves assigned leads alone).
    pub assignee_id: Option<UserId>,
}

/// A workflow: one per lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workflow {
    /// Its id.
    pub id: WorkflowId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Its lead.
    pub lead_id: LeadId,
    /// Status.
    pub status: WorkflowStatus,
    /// The step running, due or waiting.
    pub current_step: Option<Step>,
    /// Every step so far, in order.
    pub steps: Vec<StepRecord>,
    /// Research result.
    pub research: Option<Research>,
    /// Qualification result.
    pub qualification: Option<Qualification>,
    /// Outreach draft (as edited at approval).
    pub email_draft: Option<EmailDraft>,
    /// The approval decision.
    pub decision: Option<Decision>,
    /// When a worker should run it next (`None`: not runnable).
    pub next_run_at: Option<DateTime<Utc>>,
    /// The last step error.
    pub last_error: Option<String>,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it completed, failed for good or was cancelled.
    pub completed_at: Option<DateTime<Utc>>,
}

/// What a step produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// `research` done.
    Researched(Research),
    /// `qualify` done.
    Qualified(Qualification),
    /// `route` done (assigned, proposed, or no one to route to).
    Routed,
    /// `draft_email` done.
    Drafted(EmailDraft),
    /// `send_email` done.
    Sent,
}

impl StepOutcome {
    const fn step(&self) -> Step {
        match self {
            Self::Researched(_) => Step::Research,
            Self::Qualified(_) => Step::Qualify,
            Self::Routed => Step::Route,
            Self::Drafted(_) => Step::DraftEmail,
            Self::Sent => Step::SendEmail,
        }
    }
}

/// Whether a failed step will be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Retried at this time.
    RetryAt(DateTime<Utc>),
    /// Failed for good: the workflow is `failed`.
    GaveUp,
}

impl Workflow {
    /// A new workflow for `lead`, due now.
    #[must_use]
    pub fn new(organization: OrganizationId, lead: LeadId, now: DateTime<Utc>) -> Self {
        Self {
            id: WorkflowId::new(),
            organization_id: organization,
            lead_id: lead,
            status: WorkflowStatus::Pending,
            current_step: Some(Step::Research),
            steps: Vec::new(),
            research: None,
            qualification: None,
            email_draft: None,
            decision: None,
            next_run_at: Some(now),
            last_error: None,
            created_at: now,
            updated_at: now,
            completed_at: None,
        }
    }

    fn record(&mut self, step: Step) -> &mut StepRecord {
        if self.steps.last().is_none_or(|r| r.name != step) {
            self.steps.push(StepRecord {
                name: step,
                status: StepStatus::Running,
                attempts: 0,
                started_at: None,
                finished_at: None,
                error: None,
                worker: None,
                usage: None,
                fallback: None,
            });
        }
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    /// The step a worker should run now.
    ///
    /// # Errors
    /// [`IllegalTransition`] unless the workflow is runnable at a runnable step.
    pub fn begin_step(&mut self, now: DateTime<Utc>) -> Result<Step, IllegalTransition> {
        let step = match (self.status.is_runnable(), self.current_step) {
            (true, Some(step)) if step != Step::AwaitApproval => step,
            _ => return Err(IllegalTransition { action: "run a step of", from: self.status }),
        };
        self.status = WorkflowStatus::Running;
        let record = self.record(step);
        record.attempts += 1;
        record.status = StepStatus::Running;
        record.started_at.get_or_insert(now);
        self.updated_at = now;
        Ok(step)
    }

    /// Records what the running step cost: the model's tokens, or why the
    /// rule-based adapter ran instead.
    pub fn record_cost(&mut self, usage: Option<TokenUsage>, fallback: Option<&str>) {
        if let Some(step) = self.current_step {
            let record = self.record(step);
            if let Some(usage) = usage {
                record.usage = Some(record.usage.map_or(usage, |u| u.plus(usage)));
            }
            record.fallback = fallback.map(str::to_owned);
        }
    }

    /// Records a step's result and moves to the next step.
    ///
    /// # Errors
    /// [`IllegalTransition`] when the outcome is not of the running step.
    pub fn complete_step(
        &mut self,
        outcome: StepOutcome,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        if self.status != WorkflowStatus::Running || self.current_step != Some(outcome.step()) {
            return Err(IllegalTransition { action: "complete a step of", from: self.status });
        }
        let record = self.record(outcome.step());
        record.status = StepStatus::Succeeded;
        record.finished_at = Some(now);
        record.error = None;
        record.worker = Some(worker.to_owned());
        self.last_error = None;
        self.updated_at = now;
        self.next_run_at = Some(now);
        match outcome {
            StepOutcome::Researched(research) => {
                self.research = Some(research);
                self.current_step = Some(Step::Qualify);
            }
            StepOutcome::Qualified(qualification) => {
                let unqualified = qualification.category == Category::Unqualified;
                self.qualification = Some(qualification);
                if unqualified {
                    self.finish(WorkflowStatus::Completed, now);
                } else {
                    self.current_step = Some(Step::Route);
                }
            }
            StepOutcome::Routed => self.after_routing(now),
            StepOutcome::Drafted(draft) => {
                self.email_draft = Some(draft);
                self.current_step = Some(Step::AwaitApproval);
                self.status = WorkflowStatus::AwaitingApproval;
                self.next_run_at = None;
                let record = self.record(Step::AwaitApproval);
                record.status = StepStatus::Waiting;
                record.started_at = Some(now);
            }
            StepOutcome::Sent => self.finish(WorkflowStatus::Completed, now),
        }
        Ok(())
    }

    /// Leaves the `route` step without running it (the organization assigns
    /// leads by hand): no step record, on to the draft or the end.
    pub fn skip_routing(&mut self, now: DateTime<Utc>) {
        if self.current_step == Some(Step::Route) {
            self.after_routing(now);
        }
    }

    fn after_routing(&mut self, now: DateTime<Utc>) {
        if self.qualification.as_ref().is_some_and(|q| q.category.wants_outreach()) {
            self.current_step = Some(Step::DraftEmail);
        } else {
            self.finish(WorkflowStatus::Completed, now);
        }
    }

    fn finish(&mut self, status: WorkflowStatus, now: DateTime<Utc>) {
        self.status = status;
        self.current_step = None;
        self.next_run_at = None;
        self.completed_at = Some(now);
        self.updated_at = now;
    }

    /// Records a failed attempt: retried after `delay` while attempts remain,
    /// else the workflow is `failed` with the error kept.
    ///
    /// # Errors
    /// [`IllegalTransition`] when no step is running.
    pub fn fail_step(
        &mut self,
        error: &str,
        max_attempts: u32,
        delay: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<FailureOutcome, IllegalTransition> {
        let Some(step) = self.current_step.filter(|_| self.status == WorkflowStatus::Running) else {
            return Err(IllegalTransition { action: "fail a step of", from: self.status });
        };
        self.last_error = Some(error.to_owned());
        let record = self.record(step);
        record.error = Some(error.to_owned());
        if record.attempts >= max_attempts {
            record.status = StepStatus::Failed;
            record.finished_at = Some(now);
            self.status = WorkflowStatus::Failed;
            self.next_run_at = None;
            self.completed_at = Some(now);
            self.updated_at = now;
            return Ok(FailureOutcome::GaveUp);
        }
        let at = now + delay;
        self.next_run_at = Some(at);
        self.updated_at = now;
        Ok(FailureOutcome::RetryAt(at))
    }

    /// A person approves the outreach, optionally with an edited email; the
    /// `send_email` step is due at once.
    ///
    /// # Errors
    /// [`IllegalTransition`] unless awaiting approval.
    pub fn approve(
        &mut self,
        decision: Decision,
        edited: Option<(String, String)>,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        self.decide(decision, "approve", now)?;
        if let (Some((subject, body)), Some(draft)) = (edited, self.email_draft.as_mut()) {
            draft.subject = subject;
            draft.body = body;
        }
        self.status = WorkflowStatus::Running;
        self.current_step = Some(Step::SendEmail);
        self.next_run_at = Some(now);
        Ok(())
    }

    /// A person rejects the outreach; the workflow completes without email.
    ///
    /// # Errors
    /// [`IllegalTransition`] unless awaiting approval.
    pub fn reject(&mut self, decision: Decision, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        self.decide(decision, "reject", now)?;
        self.finish(WorkflowStatus::Completed, now);
        Ok(())
    }

    fn decide(
        &mut self,
        decision: Decision,
        action: &'static str,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        if self.status != WorkflowStatus::AwaitingApproval {
            return Err(IllegalTransition { action, from: self.status });
        }
        let record = self.record(Step::AwaitApproval);
        record.status = StepStatus::Succeeded;
        record.finished_at = Some(now);
        self.decision = Some(decision);
        self.updated_at = now;
        Ok(())
    }

    /// A person stops the workflow.
    ///
    /// # Errors
    /// [`IllegalTransition`] once completed, failed or cancelled.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        if !matches!(
            self.status,
            WorkflowStatus::Pending | WorkflowStatus::Running | WorkflowStatus::AwaitingApproval
        ) {
            return Err(IllegalTransition { action: "cancel", from: self.status });
        }
        self.finish(WorkflowStatus::Cancelled, now);
        Ok(())
    }

    /// Starts a failed workflow again at its failed step, with fresh attempts.
    ///
    /// # Errors
    /// [`IllegalTransition`] unless failed.
    pub fn retry(&mut self, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        if self.status != WorkflowStatus::Failed {
            return Err(IllegalTransition { action: "retry", from: self.status });
        }
        let failed = self.steps.last().map(|r| r.name);
        if let Some(record) = self.steps.last_mut() {
            record.status = StepStatus::Running;
            record.attempts = 0;
            record.finished_at = None;
        }
        self.current_step = failed.or(Some(Step::Research));
        self.status = WorkflowStatus::Pending;
        self.next_run_at = Some(now);
        self.completed_at = None;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    fn qualification(category: Category) -> Qualification {
        Qualification { category, reason: "r".into(), score: 70 }
    }

    fn draft() -> EmailDraft {
        EmailDraft { to: "a@b.io".into(), subject: "Hi".into(), body: "Hello".into() }
    }

    fn decision(approved: bool) -> Decision {
        Decision { approved, by: None, by_email: None, at: now(), note: None }
    }

    fn run(w: &mut Workflow, outcome: StepOutcome) {
        w.begin_step(now()).unwrap();
        w.complete_step(outcome, "w1", now()).unwrap();
    }

    #[test]
    fn a_qualified_lead_waits_for_approval_then_sends_and_completes() {
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        run(&mut w, StepOutcome::Researched(Research::default()));
        run(&mut w, StepOutcome::Qualified(qualification(Category::Qualified)));
        run(&mut w, StepOutcome::Routed);
        run(&mut w, StepOutcome::Drafted(draft()));
        assert_eq!((w.status, w.current_step), (WorkflowStatus::AwaitingApproval, Some(Step::AwaitApproval)));
        assert!(w.begin_step(now()).is_err(), "nobody runs the approval step");
        w.approve(decision(true), Some(("Edited".into(), "New body".into())), now()).unwrap();
        assert_eq!(w.email_draft.as_ref().unwrap().subject, "Edited");
        run(&mut w, StepOutcome::Sent);
        assert_eq!(w.status, WorkflowStatus::Completed);
        let names: Vec<Step> = w.steps.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                Step::Research,
                Step::Qualify,
                Step::Route,
                Step::DraftEmail,
                Step::AwaitApproval,
                Step::SendEmail
            ]
        );
        assert!(w.steps.iter().all(|s| s.status == StepStatus::Succeeded && s.attempts <= 1));
    }

    #[test]
    fn unqualified_leads_end_after_qualify_and_support_after_routing() {
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        run(&mut w, StepOutcome::Researched(Research::default()));
        run(&mut w, StepOutcome::Qualified(qualification(Category::Unqualified)));
        assert_eq!((w.status, w.steps.len()), (WorkflowStatus::Completed, 2));
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        run(&mut w, StepOutcome::Researched(Research::default()));
        run(&mut w, StepOutcome::Qualified(qualification(Category::Support)));
        assert_eq!(w.current_step, Some(Step::Route));
        run(&mut w, StepOutcome::Routed);
        assert_eq!((w.status, w.steps.len()), (WorkflowStatus::Completed, 3));
        // Manual routing: no route step at all.
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        run(&mut w, StepOutcome::Researched(Research::default()));
        run(&mut w, StepOutcome::Qualified(qualification(Category::Support)));
        w.skip_routing(now());
        assert_eq!((w.status, w.steps.len()), (WorkflowStatus::Completed, 2));
    }

    #[test]
    fn a_rejection_completes_without_sending() {
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        run(&mut w, StepOutcome::Researched(Research::default()));
        run(&mut w, StepOutcome::Qualified(qualification(Category::FollowUp)));
        w.skip_routing(now());
        run(&mut w, StepOutcome::Drafted(draft()));
        w.reject(decision(false), now()).unwrap();
        assert_eq!(w.status, WorkflowStatus::Completed);
        assert!(w.approve(decision(true), None, now()).is_err(), "deciding twice is illegal");
    }

    #[test]
    fn failures_retry_then_give_up_and_retry_restarts_the_step() {
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        w.begin_step(now()).unwrap();
        assert!(matches!(
            w.fail_step("boom", 2, chrono::Duration::seconds(1), now()).unwrap(),
            FailureOutcome::RetryAt(_)
        ));
        w.begin_step(now()).unwrap();
        assert_eq!(
            w.fail_step("boom", 2, chrono::Duration::seconds(1), now()).unwrap(),
            FailureOutcome::GaveUp
        );
        assert_eq!(w.status, WorkflowStatus::Failed);
        assert_eq!(w.last_error.as_deref(), Some("boom"));
        assert!(w.begin_step(now()).is_err());
        w.retry(now()).unwrap();
        assert_eq!((w.status, w.current_step), (WorkflowStatus::Pending, Some(Step::Research)));
        assert_eq!(w.begin_step(now()).unwrap(), Step::Research);
        assert_eq!(w.steps[0].attempts, 1);
    }

    #[test]
    fn illegal_transitions_are_rejected() {
        let mut w = Workflow::new(OrganizationId::new(), LeadId::new(), now());
        assert!(w.approve(decision(true), None, now()).is_err());
        assert!(w.reject(decision(false), now()).is_err());
        assert!(w.retry(now()).is_err());
        assert!(w.complete_step(StepOutcome::Sent, "w", now()).is_err());
        w.begin_step(now()).unwrap();
        assert!(w.complete_step(StepOutcome::Sent, "w", now()).is_err(), "outcome of another step");
        w.cancel(now()).unwrap();
        assert!(w.cancel(now()).is_err());
        assert!(w.begin_step(now()).is_err());
    }
}
