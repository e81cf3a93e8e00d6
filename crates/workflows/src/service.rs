//! Workflow use cases for people: read, approve, reject, cancel, retry.

use std::sync::Arc;

use leadflow_kernel::{
    Actor, AuditEntry, Clock, KeysetPage, KeysetPaged, Permission, TenantScope, ValidationErrors,
};
use serde_json::json;

use crate::error::{IllegalTransition, WorkflowError};
use crate::model::{Decision, Workflow, WorkflowId, WorkflowStatus};
use crate::ports::{LeadEffects, OutreachLimits, WorkflowFilter, WorkflowRepository};

/// The workflow use cases.
pub struct WorkflowService {
    store: Arc<dyn WorkflowRepository>,
    limits: Arc<dyn OutreachLimits>,
    clock: Arc<dyn Clock>,
}

fn scope_of(actor: &Actor) -> Result<TenantScope, WorkflowError> {
    actor.tenant_scope().ok_or(WorkflowError::NoOrganization)
}

/// An edited outreach email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditedEmail {
    /// Subject, 1–300 characters.
    pub subject: String,
    /// Body, 1–20,000 characters.
    pub body: String,
}

impl WorkflowService {
    /// Builds the service on its ports.
    pub fn new(
        store: Arc<dyn WorkflowRepository>,
        limits: Arc<dyn OutreachLimits>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, limits, clock }
    }

    /// A page of the organization's workflows (`workflows:view_all`).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: WorkflowFilter,
        page: KeysetPage,
    ) -> Result<KeysetPaged<Workflow>, WorkflowError> {
        let scope = scope_of(actor)?;
        actor.require(Permission::WorkflowsViewAll)?;
        Ok(self.store.page(scope, &filter, page).await?)
    }

    /// One workflow (`workflows:view_all`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow, WorkflowError> {
        let scope = scope_of(actor)?;
        let workflow = self.store.get(scope, id).await?.ok_or(WorkflowError::NotFound)?;
        actor.require(Permission::WorkflowsViewAll)?;
        Ok(workflow)
    }

    async fn load(
        &self,
        actor: &Actor,
        id: WorkflowId,
        permission: Permission,
    ) -> Result<Workflow, WorkflowError> {
        let scope = scope_of(actor)?;
        let workflow = self.store.get(scope, id).await?.ok_or(WorkflowError::NotFound)?;
        actor.require(permission)?;
        Ok(workflow)
    }

    fn decision(
        &self,
        actor: &Actor,
        approved: bool,
        note: Option<String>,
    ) -> Result<Decision, WorkflowError> {
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(WorkflowError::Invalid(ValidationErrors::single(
                "note",
                "must be at most 2000 characters",
            )));
        }
        let by_email = match actor.principal() {
            leadflow_kernel::Principal::User { email, .. } => Some(email.clone()),
            leadflow_kernel::Principal::ApiKey { name, .. }
            | leadflow_kernel::Principal::Form { name, .. } => Some(name.clone()),
            leadflow_kernel::Principal::System => None,
        };
        Ok(Decision {
            approved,
            by: actor.user_id(),
            by_email,
            at: self.clock.now(),
            note: note.filter(|n| !n.trim().is_empty()),
        })
    }

    async fn commit(
        &self,
        actor: &Actor,
        workflow: &Workflow,
        expected: WorkflowStatus,
        effects: LeadEffects,
        action: &str,
    ) -> Result<(), WorkflowError> {
        let audit = AuditEntry::new(
            actor,
            Some(workflow.organization_id),
            action,
            "workflow",
            workflow.id,
            self.clock.now(),
        )
        .with_details(json!({ "leadId": workflow.lead_id, "status": workflow.status.as_str() }));
        let scope = scope_of(actor)?;
        if self.store.transition(scope, workflow, expected, &effects, &audit).await? {
            Ok(())
        } else {
            // Someone else changed it first; say what it is now.
            let now = self.store.get(scope, workflow.id).await?.map_or(expected, |w| w.status);
            Err(IllegalTransition { action: "change", from: now }.into())
        }
    }

    /// Approves the outreach (`leads:approve`), optionally with an edited
    /// email; the email is sent next and the lead becomes `approved`.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Invalid`, `Conflict` (not awaiting approval), `Unexpected`.
    pub async fn approve(
        &self,
        actor: &Actor,
        id: WorkflowId,
        note: Option<String>,
        email: Option<EditedEmail>,
    ) -> Result<Workflow, WorkflowError> {
        let mut workflow = self.load(actor, id, Permission::LeadsApprove).await?;
        actor.require_verified_email()?;
        let today = self.limits.today(scope_of(actor)?, self.clock.now()).await?;
        if !today.in_force {
            return Err(WorkflowError::SubscriptionInactive);
        }
        if let Some(limit) = today.limit.filter(|limit| today.used >= *limit) {
            return Err(WorkflowError::OutreachCapReached { limit });
        }
        if let Some(e) = &email {
            let mut errors = ValidationErrors::new();
            if !(1..=300).contains(&e.subject.trim().chars().count()) {
                errors.push("email.subject", "must be 1 to 300 characters");
            }
            // A subject is one header line: CR/LF would let an approver add headers.
            if e.subject.chars().any(char::is_control) {
                errors.push("email.subject", "must not contain control characters (line breaks included)");
            }
            if !(1..=20_000).contains(&e.body.trim().chars().count()) {
                errors.push("email.body", "must be 1 to 20000 characters");
            }
            errors.into_result().map_err(WorkflowError::Invalid)?;
        }
        let decision = self.decision(actor, true, note)?;
        workflow.approve(decision, email.map(|e| (e.subject, e.body)), self.clock.now())?;
        let effects = LeadEffects { approved: Some(true), ..LeadEffects::default() };
        self.commit(actor, &workflow, WorkflowStatus::AwaitingApproval, effects, "workflow.approved").await?;
        Ok(workflow)
    }

    /// Rejects the outreach (`leads:approve`); the workflow completes and the lead becomes `rejected`.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Invalid`, `Conflict`, `Unexpected`.
    pub async fn reject(
        &self,
        actor: &Actor,
        id: WorkflowId,
        note: Option<String>,
    ) -> Result<Workflow, WorkflowError> {
        let mut workflow = self.load(actor, id, Permission::LeadsApprove).await?;
        let decision = self.decision(actor, false, note)?;
        workflow.reject(decision, self.clock.now())?;
        let effects = LeadEffects { approved: Some(false), ..LeadEffects::default() };
        self.commit(actor, &workflow, WorkflowStatus::AwaitingApproval, effects, "workflow.rejected").await?;
        Ok(workflow)
    }

    /// Cancels a workflow that has not ended (`workflows:cancel`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict`, `Unexpected`.
    pub async fn cancel(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow, WorkflowError> {
        let mut workflow = self.load(actor, id, Permission::WorkflowsCancel).await?;
        let expected = workflow.status;
        workflow.cancel(self.clock.now())?;
        self.commit(actor, &workflow, expected, LeadEffects::default(), "workflow.cancelled").await?;
        Ok(workflow)
    }

    /// Starts a failed workflow again at its failed step (`workflows:cancel`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict`, `Unexpected`.
    pub async fn retry(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow, WorkflowError> {
        let mut workflow = self.load(actor, id, Permission::WorkflowsCancel).await?;
        workflow.retry(self.clock.now())?;
        self.commit(actor, &workflow, WorkflowStatus::Failed, LeadEffects::default(), "workflow.retried")
            .await?;
        Ok(workflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockWorkflowRepository;
    use chrono::Utc;
    use leadflow_kernel::{MockClock, OrganizationId, Role, UserId};

    fn service(store: MockWorkflowRepository) -> WorkflowService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        let mut limits = crate::ports::MockOutreachLimits::new();
        limits
            .expect_today()
            .returning(|_, _| Ok(crate::ports::DailyOutreach { limit: Some(1), used: 0, in_force: true }));
        WorkflowService::new(Arc::new(store), Arc::new(limits), Arc::new(clock))
    }

    fn awaiting(org: OrganizationId) -> Workflow {
        let mut w = Workflow::new(org, leadflow_kernel::LeadId::new(), Utc::now());
        w.status = WorkflowStatus::AwaitingApproval;
        w.current_step = Some(crate::model::Step::AwaitApproval);
        w.email_draft =
            Some(crate::model::EmailDraft { to: "a@b.io".into(), subject: "s".into(), body: "b".into() });
        w
    }

    #[tokio::test]
    async fn approving_needs_leads_approve_and_writes_the_lead_decision() {
        let org = OrganizationId::new();
        let w = awaiting(org);
        let id = w.id;
        let mut store = MockWorkflowRepository::new();
        store.expect_get().returning(move |_, _| Ok(Some(w.clone())));
        store
            .expect_transition()
            .withf(|_, w, expected, effects, audit| {
                w.status == WorkflowStatus::Running
                    && *expected == WorkflowStatus::AwaitingApproval
                    && effects.approved == Some(true)
                    && audit.action == "workflow.approved"
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let svc = service(store);
        let member = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Member), false);
        assert!(matches!(
            svc.approve(&member, id, None, None).await,
            Err(WorkflowError::Forbidden(Permission::LeadsApprove))
        ));
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        let edited = EditedEmail { subject: "New".into(), body: "Body".into() };
        let approved = svc.approve(&manager, id, Some("ok".into()), Some(edited)).await.unwrap();
        assert_eq!(approved.email_draft.unwrap().subject, "New");
    }

    #[tokio::test]
    async fn a_subject_with_a_line_break_is_invalid_and_nothing_is_written() {
        let org = OrganizationId::new();
        let w = awaiting(org);
        let id = w.id;
        let mut store = MockWorkflowRepository::new();
        store.expect_get().returning(move |_, _| Ok(Some(w.clone())));
        store.expect_transition().never();
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        let edited = EditedEmail { subject: "Hi\r\nBcc: x@y.io".into(), body: "Body".into() };
        let result = service(store).approve(&manager, id, None, Some(edited)).await;
        let Err(WorkflowError::Invalid(errors)) = result else { panic!("expected Invalid") };
        assert_eq!(errors.errors()[0].field, "email.subject");
    }

    #[tokio::test]
    async fn deciding_a_workflow_that_is_not_awaiting_approval_is_a_conflict() {
        let org = OrganizationId::new();
        let mut w = awaiting(org);
        w.status = WorkflowStatus::Completed;
        let id = w.id;
        let mut store = MockWorkflowRepository::new();
        store.expect_get().returning(move |_, _| Ok(Some(w.clone())));
        store.expect_transition().never();
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        assert!(matches!(service(store).reject(&manager, id, None).await, Err(WorkflowError::Conflict(_))));
    }

    #[tokio::test]
    async fn a_lost_race_is_a_conflict() {
        let org = OrganizationId::new();
        let w = awaiting(org);
        let id = w.id;
        let mut store = MockWorkflowRepository::new();
        store.expect_get().returning(move |_, _| Ok(Some(w.clone())));
        store.expect_transition().returning(|_, _, _, _, _| Ok(false));
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        assert!(matches!(
            service(store).approve(&manager, id, None, None).await,
            Err(WorkflowError::Conflict(_))
        ));
    }

    /// Approves an awaiting workflow as `actor` with today's outreach at
    /// `today`, where the store must not be written.
    async fn approve_refused(
        org: OrganizationId,
        actor: leadflow_kernel::Actor,
        today: crate::ports::DailyOutreach,
    ) -> Result<Workflow, WorkflowError> {
        let mut store = MockWorkflowRepository::new();
        let w = awaiting(org);
        store.expect_get().returning(move |_, _| Ok(Some(w.clone())));
        store.expect_transition().never();
        let mut limits = crate::ports::MockOutreachLimits::new();
        limits.expect_today().returning(move |_, _| Ok(today));
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        let service = WorkflowService::new(Arc::new(store), Arc::new(limits), Arc::new(clock));
        service.approve(&actor, WorkflowId::new(), None, None).await
    }

    fn owner(org: OrganizationId) -> leadflow_kernel::Actor {
        leadflow_kernel::Actor::user(UserId::new(), "o@acme.io", Some(org), Some(Role::Owner), false)
    }

    const ROOM: crate::ports::DailyOutreach =
        crate::ports::DailyOutreach { limit: Some(1), used: 0, in_force: true };

    #[tokio::test]
    async fn an_unverified_approver_is_refused_when_verification_is_required() {
        let org = OrganizationId::new();
        let result = approve_refused(org, owner(org).with_unverified_email(), ROOM).await;
        assert!(matches!(result, Err(WorkflowError::EmailUnverified(_))), "{result:?}");
    }

    #[tokio::test]
    async fn approving_past_the_daily_outreach_cap_is_refused() {
        let org = OrganizationId::new();
        let spent = crate::ports::DailyOutreach { limit: Some(20), used: 20, in_force: true };
        let result = approve_refused(org, owner(org), spent).await;
        assert!(matches!(result, Err(WorkflowError::OutreachCapReached { limit: 20 })), "{result:?}");
    }

    #[tokio::test]
    async fn an_inactive_subscription_sends_no_outreach() {
        let org = OrganizationId::new();
        let inactive = crate::ports::DailyOutreach { limit: None, used: 0, in_force: false };
        let result = approve_refused(org, owner(org), inactive).await;
        assert!(matches!(result, Err(WorkflowError::SubscriptionInactive)), "{result:?}");
    }
}
