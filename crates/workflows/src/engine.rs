//! The engine: workers that lease due workflows and run their steps.
//!
//! Guarantees (see `docs/workflows.md`): each step's result is committed
//! before the next step starts; a worker's writes are fenced by its lease, so
//! a worker that lost its lease (it stalled or died and another took over)
//! cannot overwrite newer state; failed steps are retried with exponential
//! backoff and jitter, then the workflow is `failed`.

use std::sync::Arc;
use std::time::Duration;

use leadflow_kernel::Clock;
use rand::Rng as _;
use tokio::sync::watch;

use crate::model::{LeadSnapshot, StepOutcome, TokenUsage};
use crate::model::{Step, Workflow};
use crate::ports::{
    ApprovalNotifier, EmailDrafter, LeadEffects, Mailer, Qualifier, Researcher, RouteEffect, Router, Routing,
    StepError, TokenBudget, WorkflowRepository,
};
use crate::routing::{self, RoutingMode, RoutingSettings, Strategy};
use leadflow_kernel::AuditEntry;

/// How failed steps are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts per step before the workflow fails (at least 1).
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 1 s doubling up to 5 minutes.
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// The delay before retrying after failed attempt `attempt` (1-based):
    /// `base · 2^(attempt-1)`, capped, with "equal jitter" (between half and all of it).
    #[must_use]
    pub fn delay(&self, attempt: u32) -> chrono::Duration {
        let exp = self.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        let jitter = rand::rng().random_range(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
        chrono::Duration::from_std(half + Duration::from_millis(jitter)).unwrap_or(chrono::Duration::MAX)
    }
}

/// How the engine works.
#[derive(Clone, Copy, Debug)]
pub struct EngineSettings {
    /// Workflows leased per claim.
    pub batch: u64,
    /// How long a lease lasts; a worker that stops for longer loses its workflows to others.
    pub lease: Duration,
    /// How long an idle worker waits before looking again.
    pub poll_interval: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            batch: 32,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            retry: RetryPolicy::default(),
        }
    }
}

/// The step adapters an engine runs.
#[derive(Clone)]
pub struct Steps {
    /// `research`.
    pub researcher: Arc<dyn Researcher>,
    /// `qualify`.
    pub qualifier: Arc<dyn Qualifier>,
    /// `draft_email`.
    pub drafter: Arc<dyn EmailDrafter>,
    /// `send_email`.
    pub mailer: Arc<dyn Mailer>,
    /// Entering `await_approval`.
    pub notifier: Arc<dyn ApprovalNotifier>,
    /// `route`: the candidates and the round-robin counter.
    pub router: Arc<dyn Router>,
    /// When `researcher`, `qualifier` and `drafter` spend a language model's
    /// tokens: the organizations' budgets, and the rule-based adapters that
    /// run once an organization's budget for the month is spent.
    pub metered: Option<Metered>,
}

/// Model-backed steps' budget and their rule-based stand-ins.
#[derive(Clone)]
pub struct Metered {
    /// The organizations' monthly token budgets.
    pub budget: Arc<dyn TokenBudget>,
    /// `research` past the budget.
    pub researcher: Arc<dyn Researcher>,
    /// `qualify` past the budget.
    pub qualifier: Arc<dyn Qualifier>,
    /// `draft_email` past the budget.
    pub drafter: Arc<dyn EmailDrafter>,
}

/// What running a step gave: its outcome, the tokens it spent, and why a
/// rule-based adapter ran instead of the model.
struct Ran {
    outcome: StepOutcome,
    usage: Option<TokenUsage>,
    fallback: Option<&'static str>,
    routing: Option<Routing>,
}

/// Runs workflows.
pub struct Engine {
    store: Arc<dyn WorkflowRepository>,
    steps: Steps,
    clock: Arc<dyn Clock>,
    settings: EngineSettings,
}

/// Records a step's outcome and duration through the `metrics` facade (the
/// server exports them; without a recorder this costs next to nothing).
fn record_step(step: Step, ok: bool, took: Duration) {
    let outcome = if ok { "succeeded" } else { "failed" };
    metrics::counter!("leadflow_workflow_steps_total", "step" => step.as_str(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("leadflow_workflow_step_duration_seconds", "step" => step.as_str())
        .record(took.as_secs_f64());
}

/// The platform scope the workers act in: Leadflow itself, across organizations.
fn platform() -> anyhow::Result<leadflow_kernel::PlatformScope> {
    leadflow_kernel::Actor::system()
        .platform()
        .ok_or_else(|| anyhow::anyhow!("the system actor acts across organizations"))
}

fn lease_until(clock: &dyn Clock, lease: Duration) -> chrono::DateTime<chrono::Utc> {
    clock.now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

impl Engine {
    /// An engine over its ports.
    pub fn new(
        store: Arc<dyn WorkflowRepository>,
        steps: Steps,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
    ) -> Self {
        Self { store, steps, clock, settings }
    }

    /// Leases one batch of due workflows and drives each as far as it goes.
    /// Returns how many were leased.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn run_once(&self, worker: &str) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_due(
                platform()?,
                worker,
                now,
                lease_until(self.clock.as_ref(), self.settings.lease),
                self.settings.batch,
            )
            .await?;
        let count = claimed.len();
        // The leased workflows are independent: drive them side by side, so a
        // worker keeps several database round trips in flight.
        futures_util::future::join_all(claimed.into_iter().map(|(workflow, lead)| async move {
            let id = workflow.id;
            if let Err(e) = self.drive(worker, workflow, &lead).await {
                // The lease runs out and another attempt picks the workflow up.
                tracing::warn!(workflow = %id, error = format!("{e:#}"), "workflow step could not be saved");
            }
        }))
        .await;
        Ok(count)
    }

    async fn execute(&self, step: Step, workflow: &Workflow, lead: &LeadSnapshot) -> Result<Ran, StepError> {
        let missing = |what: &str| StepError::new(format!("{what} is missing; the workflow is inconsistent"));
        let model_step = matches!(step, Step::Research | Step::Qualify | Step::DraftEmail);
        // Past the organization's token budget for the month, the rule-based
        // adapters run instead of the model (and the step says so).
        let mut fallback = None;
        let (mut researcher, mut qualifier, mut drafter) =
            (&self.steps.researcher, &self.steps.qualifier, &self.steps.drafter);
        if let Some(metered) = self.steps.metered.as_ref().filter(|_| model_step) {
            let scope = platform()?.tenant(workflow.organization_id);
            if metered.budget.remaining(scope, self.clock.now()).await? == Some(0) {
                (researcher, qualifier, drafter) =
                    (&metered.researcher, &metered.qualifier, &metered.drafter);
                fallback = Some("budget");
            }
        }
        let ran = |outcome, usage| Ran { outcome, usage, fallback, routing: None };
        match step {
            Step::Research => {
                let produced = researcher.research(lead).await?;
                Ok(ran(StepOutcome::Researched(produced.value), produced.usage))
            }
            Step::Qualify => {
                let research = workflow.research.as_ref().ok_or_else(|| missing("research"))?;
                let produced = qualifier.qualify(lead, research).await?;
                Ok(ran(StepOutcome::Qualified(produced.value), produced.usage))
            }
            Step::DraftEmail => {
                let research = workflow.research.as_ref().ok_or_else(|| missing("research"))?;
                let category =
                    workflow.qualification.as_ref().ok_or_else(|| missing("qualification"))?.category;
                let produced = drafter.draft(lead, research, category).await?;
                Ok(ran(StepOutcome::Drafted(produced.value), produced.usage))
            }
            Step::Route => {
                Ok(Ran { routing: self.route(workflow, lead).await?, ..ran(StepOutcome::Routed, None) })
            }
            Step::SendEmail => {
                let draft = workflow.email_draft.as_ref().ok_or_else(|| missing("email draft"))?;
                self.steps.mailer.send(workflow, draft).await?;
                Ok(ran(StepOutcome::Sent, None))
            }
            Step::AwaitApproval => Err(StepError::new("the approval step is not run by workers")),
        }
    }

    /// Picks who works the lead, as the organization's routing settings say
    /// (`None`: nobody eligible, or the lead was assigned meanwhile).
    async fn route(&self, workflow: &Workflow, lead: &LeadSnapshot) -> anyhow::Result<Option<Routing>> {
        let settings = RoutingSettings::from_settings(&lead.organization_settings);
        if settings.mode == RoutingMode::Manual || lead.assignee_id.is_some() {
            return Ok(None);
        }
        let scope = platform()?.tenant(workflow.organization_id);
        let candidates = self.steps.router.candidates(scope, settings.team).await?;
        let ticket = if settings.strategy == Strategy::RoundRobin && !candidates.is_empty() {
            self.steps.router.next_ticket(scope).await?
        } else {
            0
        };
        let Some(user) = routing::pick(&settings, &candidates, ticket) else {
            tracing::info!(workflow = %workflow.id, "no member to route the lead to");
            return Ok(None);
        };
        let now = self.clock.now();
        let system = leadflow_kernel::Actor::system();
        let org = Some(workflow.organization_id);
        let strategy = settings.strategy.as_str();
        Ok(Some(match settings.mode {
            RoutingMode::Propose => {
                let proposal = uuid::Uuid::now_v7();
                let audit =
                    AuditEntry::new(&system, org, "lead.assignment_proposed", "lead", workflow.lead_id, now)
                        .with_details(
                            serde_json::json!({ "proposalId": proposal, "to": user, "strategy": strategy }),
                        );
                Routing {
                    effect: RouteEffect::Propose { proposal, user, expires_at: now + routing::PROPOSAL_TTL },
                    audit,
                }
            }
            _ => {
                let audit = AuditEntry::new(&system, org, "lead.assigned", "lead", workflow.lead_id, now)
                    .with_details(serde_json::json!({ "from": null, "to": user, "by": "routing", "strategy": strategy }));
                Routing { effect: RouteEffect::Assign(user), audit }
            }
        }))
    }

    /// Counts the tokens a step spent against its organization's budget.
    async fn spend(&self, workflow: &Workflow, usage: Option<TokenUsage>) -> anyhow::Result<()> {
        if let (Some(metered), Some(usage)) = (&self.steps.metered, usage) {
            let scope = platform()?.tenant(workflow.organization_id);
            metered.budget.spend(scope, usage.total(), self.clock.now()).await?;
        }
        Ok(())
    }

    /// Runs steps one after another, committing each result, until the
    /// workflow waits, ends, must retry later, or the lease is lost.
    async fn drive(&self, worker: &str, mut workflow: Workflow, lead: &LeadSnapshot) -> anyhow::Result<()> {
        loop {
            let Ok(step) = workflow.begin_step(self.clock.now()) else { return Ok(()) };
            let started = std::time::Instant::now();
            let result = self.execute(step, &workflow, lead).await;
            record_step(step, result.is_ok(), started.elapsed());
            let now = self.clock.now();
            let mut effects = LeadEffects::default();
            match result {
                Ok(Ran { outcome, usage, fallback, routing }) => {
                    if let StepOutcome::Qualified(q) = &outcome {
                        effects.qualification = Some(q.clone());
                    }
                    effects.routing = routing;
                    self.spend(&workflow, usage).await?;
                    let mut next = workflow.clone();
                    next.record_cost(usage, fallback);
                    next.complete_step(outcome, worker, now)?;
                    // An organization that assigns by hand has no route step at all.
                    let routes = RoutingSettings::from_settings(&lead.organization_settings).mode
                        != RoutingMode::Manual;
                    if !routes || lead.assignee_id.is_some() {
                        next.skip_routing(now);
                    }
                    if step == Step::DraftEmail
                        && let Err(e) = self.steps.notifier.approval_requested(&next).await
                    {
                        self.fail(worker, &mut workflow, &e, now).await?;
                        return Ok(());
                    }
                    workflow = next;
                    let keep = workflow
                        .status
                        .is_runnable()
                        .then(|| lease_until(self.clock.as_ref(), self.settings.lease));
                    if !self.store.save_step(platform()?, &workflow, worker, keep, &effects).await?
                        || keep.is_none()
                    {
                        return Ok(());
                    }
                }
                Err(e) => {
                    self.spend(&workflow, e.usage()).await?;
                    workflow.record_cost(e.usage(), None);
                    self.fail(worker, &mut workflow, &e, now).await?;
                    return Ok(());
                }
            }
        }
    }

    async fn fail(
        &self,
        worker: &str,
        workflow: &mut Workflow,
        error: &StepError,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<()> {
        let attempts = workflow.steps.last().map_or(1, |s| s.attempts);
        // Never sooner than the provider asked (`Retry-After`).
        let asked = error.min_delay().and_then(|d| chrono::Duration::from_std(d).ok());
        let delay = asked.map_or_else(
            || self.settings.retry.delay(attempts),
            |d| d.max(self.settings.retry.delay(attempts)),
        );
        workflow.fail_step(error.message(), self.settings.retry.max_attempts.max(1), delay, now)?;
        match error.detail() {
            // Unexpected: the chain goes to the log, with the workflow id, and only there.
            Some(detail) => {
                tracing::warn!(workflow = %workflow.id, attempts, error = detail, status = workflow.status.as_str(), "workflow step failed unexpectedly");
            }
            None => {
                tracing::info!(workflow = %workflow.id, attempts, error = %error, status = workflow.status.as_str(), "workflow step failed");
            }
        }
        self.store.save_step(platform()?, workflow, worker, None, &LeadEffects::default()).await?;
        Ok(())
    }

    /// A worker: claims and drives due workflows until `shutdown` turns true,
    /// then finishes the step at hand and releases its leases.
    pub async fn work(self: Arc<Self>, worker: String, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %worker, "workflow worker started");
        while !*shutdown.borrow() {
            let claimed = match self.run_once(&worker).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(worker = %worker, error = format!("{e:#}"), "claiming workflows failed");
                    0
                }
            };
            if claimed == 0 {
                tokio::select! {
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        let released = match platform() {
            Ok(platform) => self.store.release(platform, &worker).await,
            Err(e) => Err(e),
        };
        if let Err(e) = released {
            tracing::warn!(worker = %worker, error = format!("{e:#}"), "releasing leases failed; they expire on their own");
        }
        tracing::info!(worker = %worker, "workflow worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{RuleQualifier, RuleResearcher, TemplateDrafter};
    use crate::model::{Research, WorkflowStatus};
    use crate::ports::{MockApprovalNotifier, MockMailer, MockResearcher, MockWorkflowRepository, Produced};
    use chrono::Utc;
    use leadflow_kernel::{OrganizationId, SystemClock};
    use std::sync::Mutex;

    fn lead() -> LeadSnapshot {
        LeadSnapshot {
            lead_id: leadflow_kernel::LeadId::new(),
            email: "sam@bigcorp.io".into(),
            name: "Sam".into(),
            company: Some("BigCorp".into()),
            message: "We want a demo and pricing".into(),
            metadata: serde_json::json!({}),
            organization_name: "Acme".into(),
            organization_settings: serde_json::json!({}),
            assignee_id: None,
        }
    }

    fn steps(researcher: Arc<dyn Researcher>, notifier: MockApprovalNotifier, mailer: MockMailer) -> Steps {
        Steps {
            researcher,
            qualifier: Arc::new(RuleQualifier),
            drafter: Arc::new(TemplateDrafter),
            mailer: Arc::new(mailer),
            notifier: Arc::new(notifier),
            router: Arc::new(crate::ports::MockRouter::new()),
            metered: None,
        }
    }

    /// A store that hands out one workflow once and records every save.
    fn store(workflow: Workflow, saved: Arc<Mutex<Vec<Workflow>>>) -> MockWorkflowRepository {
        let mut store = MockWorkflowRepository::new();
        let once = Mutex::new(Some(workflow));
        store.expect_claim_due().returning(move |_, _, _, _, _| {
            Ok(once.lock().unwrap().take().map(|w| (w, lead())).into_iter().collect())
        });
        store.expect_save_step().returning(move |_, w, _, _, _| {
            saved.lock().unwrap().push(w.clone());
            Ok(true)
        });
        store
    }

    fn settings(max_attempts: u32) -> EngineSettings {
        EngineSettings {
            retry: RetryPolicy {
                max_attempts,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(4),
            },
            ..EngineSettings::default()
        }
    }

    #[tokio::test]
    async fn a_qualified_lead_is_driven_to_approval_committing_each_step() {
        let saved = Arc::new(Mutex::new(Vec::new()));
        let workflow = Workflow::new(OrganizationId::new(), leadflow_kernel::LeadId::new(), Utc::now());
        let mut notifier = MockApprovalNotifier::new();
        notifier.expect_approval_requested().times(1).returning(|_| Ok(()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let engine = Engine::new(
            Arc::new(store(workflow, saved.clone())),
            steps(Arc::new(RuleResearcher), notifier, mailer),
            Arc::new(SystemClock),
            settings(3),
        );

        assert_eq!(engine.run_once("w1").await.unwrap(), 1);

        let saved = saved.lock().unwrap();
        let statuses: Vec<WorkflowStatus> = saved.iter().map(|w| w.status).collect();
        assert_eq!(
            statuses,
            [WorkflowStatus::Running, WorkflowStatus::Running, WorkflowStatus::AwaitingApproval]
        );
        assert_eq!(saved[1].qualification.as_ref().unwrap().category, crate::model::Category::Qualified);
    }

    #[tokio::test]
    async fn a_failing_step_is_scheduled_for_retry_then_fails_for_good() {
        let saved = Arc::new(Mutex::new(Vec::new()));
        let mut failing = MockResearcher::new();
        failing.expect_research().returning(|_| Err(StepError::new("provider down")));
        let mut workflow = Workflow::new(OrganizationId::new(), leadflow_kernel::LeadId::new(), Utc::now());
        let engine = |wf: Workflow, saved: Arc<Mutex<Vec<Workflow>>>, researcher: MockResearcher| {
            Engine::new(
                Arc::new(store(wf, saved)),
                steps(Arc::new(researcher), MockApprovalNotifier::new(), MockMailer::new()),
                Arc::new(SystemClock),
                settings(2),
            )
        };
        engine(workflow.clone(), saved.clone(), failing).run_once("w1").await.unwrap();
        workflow = saved.lock().unwrap().last().unwrap().clone();
        assert_eq!(workflow.status, WorkflowStatus::Running);
        assert!(workflow.next_run_at.unwrap() > Utc::now() - chrono::Duration::seconds(1));
        assert_eq!(workflow.last_error.as_deref(), Some("provider down"));

        let mut failing = MockResearcher::new();
        failing.expect_research().returning(|_| Err(StepError::new("provider down")));
        engine(workflow, saved.clone(), failing).run_once("w1").await.unwrap();
        assert_eq!(saved.lock().unwrap().last().unwrap().status, WorkflowStatus::Failed);
    }

    #[tokio::test]
    async fn a_lost_lease_stops_the_worker() {
        let mut store = MockWorkflowRepository::new();
        let once = Mutex::new(Some(Workflow::new(
            OrganizationId::new(),
            leadflow_kernel::LeadId::new(),
            Utc::now(),
        )));
        store.expect_claim_due().returning(move |_, _, _, _, _| {
            Ok(once.lock().unwrap().take().map(|w| (w, lead())).into_iter().collect())
        });
        store.expect_save_step().times(1).returning(|_, _, _, _, _| Ok(false));
        let mut researcher = MockResearcher::new();
        researcher.expect_research().times(1).returning(|_| Ok(Produced::plain(Research::default())));
        let engine = Engine::new(
            Arc::new(store),
            steps(Arc::new(researcher), MockApprovalNotifier::new(), MockMailer::new()),
            Arc::new(SystemClock),
            settings(3),
        );
        engine.run_once("w1").await.unwrap();
    }

    #[tokio::test]
    async fn model_steps_spend_the_budget_and_fall_back_to_rules_once_it_is_spent() {
        use crate::model::TokenUsage;
        use crate::ports::MockTokenBudget;
        let used = TokenUsage { prompt_tokens: 700, completion_tokens: 50 };
        let run = |remaining: Option<u64>, spends: usize| {
            let saved = Arc::new(Mutex::new(Vec::new()));
            let workflow = Workflow::new(OrganizationId::new(), leadflow_kernel::LeadId::new(), Utc::now());
            let mut model = MockResearcher::new();
            model.expect_research().returning(move |_| Ok(Produced::metered(Research::default(), used)));
            let mut budget = MockTokenBudget::new();
            budget.expect_remaining().returning(move |_, _| Ok(remaining));
            budget
                .expect_spend()
                .withf(|_, tokens, _| *tokens == 750)
                .times(spends)
                .returning(|_, _, _| Ok(()));
            let mut notifier = MockApprovalNotifier::new();
            notifier.expect_approval_requested().returning(|_| Ok(()));
            let mut steps = steps(Arc::new(model), notifier, MockMailer::new());
            steps.metered = Some(Metered {
                budget: Arc::new(budget),
                researcher: Arc::new(RuleResearcher),
                qualifier: Arc::new(RuleQualifier),
                drafter: Arc::new(TemplateDrafter),
            });
            let engine = Engine::new(
                Arc::new(store(workflow, saved.clone())),
                steps,
                Arc::new(SystemClock),
                settings(3),
            );
            (engine, saved)
        };
        // Budget left: the model researches, its tokens are counted and recorded on the step.
        let (engine, saved) = run(Some(10_000), 1);
        engine.run_once("w1").await.unwrap();
        let research = saved.lock().unwrap()[0].steps[0].clone();
        assert_eq!((research.usage, research.fallback), (Some(used), None));
        // Spent: the rules research, and the step says why.
        let (engine, saved) = run(Some(0), 0);
        engine.run_once("w1").await.unwrap();
        let research = saved.lock().unwrap()[0].steps[0].clone();
        assert_eq!((research.usage, research.fallback.as_deref()), (None, Some("budget")));
        assert_eq!(saved.lock().unwrap()[0].research.as_ref().unwrap().domain, "bigcorp.io");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let d = policy.delay(attempt).num_milliseconds();
            assert!((full / 2..=full).contains(&d), "attempt {attempt}: {d}ms not in [{}, {full}]", full / 2);
        }
    }
}
