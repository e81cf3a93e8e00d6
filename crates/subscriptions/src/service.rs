//! Subscription use cases: the catalogue, the subscription, plan changes, usage.

use std::sync::Arc;

use leadflow_kernel::{Actor, AuditEntry, Clock, Permission, TenantScope, ValidationErrors};
use serde_json::json;

use crate::model::{Plan, PlanId, Subscription, SubscriptionStatus, Terms, Usage, UsageMeter};
use crate::ports::{SubscriptionRepository, SubscriptionStoreError, UsageReport};

/// Everything a subscription use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// Invalid input.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The actor acts in no organization, or it has no subscription.
    #[error("no subscription for this organization")]
    NotFound,
    /// Missing permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// The change conflicts with the organization's state.
    #[error("{0}")]
    Conflict(String),
    /// Plans are the platform administrator's to set; owners buy them through billing.
    #[error(
        "plans are set by the platform administrator (PUT /admin/organizations/{{id}}/subscription); owners buy one with POST /subscription/checkout when billing is configured"
    )]
    ChangedByAdministrator,
    /// Only the platform super admin may do this.
    #[error("only the platform super admin may change an organization's subscription terms")]
    SuperAdminOnly,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<leadflow_kernel::Forbidden> for SubscriptionError {
    fn from(e: leadflow_kernel::Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}

/// A change of an organization's terms by the platform super admin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TermsInput {
    /// The plan (`starter`, `pro`, `enterprise`).
    pub plan: String,
    /// The status (`trialing`, `active`, `past_due`, `canceled`); default `active`.
    pub status: Option<String>,
    /// When the trial ends; required with `trialing`, refused otherwise.
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The subscription use cases.
pub struct SubscriptionService {
    subscriptions: Arc<dyn SubscriptionRepository>,
    clock: Arc<dyn Clock>,
}

impl SubscriptionService {
    /// Builds the service on its ports. Plans cost money: owners buy them
    /// through [`crate::billing::BillingService`]; here only the platform
    /// super admin sets them.
    pub fn new(subscriptions: Arc<dyn SubscriptionRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { subscriptions, clock }
    }

    /// The plan catalogue (public).
    #[must_use]
    pub fn plans(&self) -> Vec<Plan> {
        PlanId::ALL.iter().map(|p| p.plan()).collect()
    }

    fn scope(actor: &Actor) -> Result<TenantScope, SubscriptionError> {
        actor.tenant_scope().ok_or(SubscriptionError::NotFound)
    }

    /// The actor's organization's subscription (any member; keys need `settings:billing`).
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn get(&self, actor: &Actor) -> Result<Subscription, SubscriptionError> {
        let scope = Self::scope(actor)?;
        actor.require_for_keys(Permission::SettingsBilling)?;
        self.subscriptions.get(scope).await?.ok_or(SubscriptionError::NotFound)
    }

    /// Moves the organization to `plan`, `active` (the platform super admin
    /// only: owners would grant themselves any plan for nothing; they buy one
    /// through billing). A downgrade below the seats in use is refused.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `ChangedByAdministrator`, `Invalid` (unknown plan), `Conflict` (seats), `Unexpected`.
    pub async fn change_plan(&self, actor: &Actor, plan: &str) -> Result<Subscription, SubscriptionError> {
        let scope = Self::scope(actor)?;
        actor.require(Permission::SettingsBilling)?;
        if !actor.is_super_admin() {
            return Err(SubscriptionError::ChangedByAdministrator);
        }
        let plan = PlanId::parse(plan)
            .map_err(|e| SubscriptionError::Invalid(ValidationErrors::single("plan", e.to_string())))?;
        self.apply(actor, scope, Terms::active(plan)).await
    }

    /// Sets an organization's plan, status and trial end (platform super admin only).
    ///
    /// # Errors
    /// `SuperAdminOnly`, `NotFound`, `Invalid`, `Conflict` (seats), `Unexpected`.
    pub async fn set_terms(
        &self,
        actor: &Actor,
        organization: leadflow_kernel::OrganizationId,
        input: TermsInput,
    ) -> Result<Subscription, SubscriptionError> {
        let scope = actor.platform().ok_or(SubscriptionError::SuperAdminOnly)?.tenant(organization);
        let mut errors = ValidationErrors::new();
        let plan = errors.check("plan", PlanId::parse(&input.plan));
        let status = match input.status.as_deref() {
            None => Some(SubscriptionStatus::Active),
            Some(raw) => {
                let parsed = SubscriptionStatus::parse(raw);
                if parsed.is_none() {
                    errors.push("status", "must be trialing, active, past_due or canceled");
                }
                parsed
            }
        };
        match (status, input.trial_ends_at) {
            (Some(SubscriptionStatus::Trialing), None) => {
                errors.push("trialEndsAt", "is required with status trialing")
            }
            (Some(s), Some(_)) if s != SubscriptionStatus::Trialing => {
                errors.push("trialEndsAt", "is only set with status trialing");
            }
            _ => {}
        }
        errors.into_result().map_err(SubscriptionError::Invalid)?;
        let (Some(plan), Some(status)) = (plan, status) else {
            return Err(SubscriptionError::Invalid(ValidationErrors::single("plan", "is invalid")));
        };
        self.apply(actor, scope, Terms { plan, status, trial_ends_at: input.trial_ends_at }).await
    }

    async fn apply(
        &self,
        actor: &Actor,
        scope: TenantScope,
        terms: Terms,
    ) -> Result<Subscription, SubscriptionError> {
        let organization = scope.organization_id();
        let current = self.subscriptions.get(scope).await?.ok_or(SubscriptionError::NotFound)?;
        let now = self.clock.now();
        let audit = AuditEntry::new(
            actor,
            Some(organization),
            "subscription.plan_changed",
            "subscription",
            organization,
            now,
        )
        .with_details(json!({
            "from": current.plan.as_str(),
            "to": terms.plan.as_str(),
            "status": terms.status.as_str(),
            "trialEndsAt": terms.trial_ends_at,
        }));
        match self.subscriptions.change_plan(scope, &terms, now, &audit).await {
            Ok(()) => {}
            Err(e @ SubscriptionStoreError::TooManySeats { .. }) => {
                return Err(SubscriptionError::Conflict(e.to_string()));
            }
            Err(SubscriptionStoreError::Unexpected(e)) => return Err(e.into()),
        }
        self.subscriptions.get(scope).await?.ok_or(SubscriptionError::NotFound)
    }

    /// Usage of the current period (any member; keys need `settings:billing`).
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn usage(&self, actor: &Actor) -> Result<UsageReport, SubscriptionError> {
        let subscription = self.get(actor).await?;
        let scope = Self::scope(actor)?;
        let now = self.clock.now();
        let period = subscription.period(now);
        let plan = subscription.plan.plan();
        let leads = self.subscriptions.used(scope, UsageMeter::Leads, period.start).await?;
        let seats = self.subscriptions.seats_used(scope, now).await?;
        let tokens = self.subscriptions.used(scope, UsageMeter::LlmTokens, period.start).await?;
        Ok(UsageReport {
            period,
            leads: Usage { used: leads, limit: plan.lead_limit },
            seats: Usage { used: seats, limit: plan.seat_limit },
            llm_tokens: Usage { used: tokens, limit: plan.llm_tokens_per_month },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockSubscriptionRepository;
    use chrono::Utc;
    use leadflow_kernel::{MockClock, OrganizationId, Role, UserId};

    fn service(repo: MockSubscriptionRepository) -> SubscriptionService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        SubscriptionService::new(Arc::new(repo), Arc::new(clock))
    }

    #[tokio::test]
    async fn only_the_super_admin_changes_the_plan_and_only_to_a_real_one() {
        let org = OrganizationId::new();
        let mut repo = MockSubscriptionRepository::new();
        repo.expect_get().returning(move |o| {
            Ok(Some(Subscription::start_trial(o.organization_id(), PlanId::Starter, Utc::now())))
        });
        repo.expect_change_plan()
            .withf(|_, terms, _, a| {
                *terms == Terms::active(PlanId::Pro) && a.action == "subscription.plan_changed"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let svc = service(repo);
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        let owner = Actor::user(UserId::new(), "o@x.io", Some(org), Some(Role::Owner), false);
        let root = Actor::user(UserId::new(), "root@x.io", Some(org), Some(Role::Owner), true);

        assert!(matches!(svc.change_plan(&manager, "pro").await, Err(SubscriptionError::Forbidden(_))));
        assert!(matches!(
            svc.change_plan(&owner, "pro").await,
            Err(SubscriptionError::ChangedByAdministrator)
        ));
        assert!(matches!(svc.change_plan(&root, "gold").await, Err(SubscriptionError::Invalid(_))));
        svc.change_plan(&root, "pro").await.unwrap();
    }

    #[tokio::test]
    async fn a_downgrade_below_the_seats_in_use_is_a_conflict() {
        let org = OrganizationId::new();
        let mut repo = MockSubscriptionRepository::new();
        repo.expect_get().returning(move |o| {
            Ok(Some(Subscription::start_trial(o.organization_id(), PlanId::Pro, Utc::now())))
        });
        repo.expect_change_plan()
            .returning(|_, _, _, _| Err(SubscriptionStoreError::TooManySeats { people: 5, limit: 3 }));
        let root = Actor::user(UserId::new(), "root@x.io", Some(org), Some(Role::Owner), true);
        assert!(matches!(
            service(repo).change_plan(&root, "starter").await,
            Err(SubscriptionError::Conflict(_))
        ));
    }

    #[test]
    fn the_catalogue_lists_three_plans() {
        let plans = service(MockSubscriptionRepository::new()).plans();
        assert_eq!(plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["starter", "pro", "enterprise"]);
    }

    #[tokio::test]
    async fn without_a_billing_provider_only_the_super_admin_sets_terms() {
        let org = OrganizationId::new();
        let mut repo = MockSubscriptionRepository::new();
        repo.expect_get().returning(move |o| {
            Ok(Some(Subscription::start_trial(o.organization_id(), PlanId::Starter, Utc::now())))
        });
        let trial_end = Utc::now() + chrono::Duration::days(30);
        repo.expect_change_plan()
            .withf(move |_, t, _, a| {
                *t == Terms {
                    plan: PlanId::Enterprise,
                    status: SubscriptionStatus::Trialing,
                    trial_ends_at: Some(trial_end),
                } && a.action == "subscription.plan_changed"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        let service = SubscriptionService::new(Arc::new(repo), Arc::new(clock));
        let owner = Actor::user(UserId::new(), "o@acme.io", Some(org), Some(Role::Owner), false);
        assert!(matches!(
            service.change_plan(&owner, "enterprise").await,
            Err(SubscriptionError::ChangedByAdministrator)
        ));
        assert!(matches!(
            service.set_terms(&owner, org, TermsInput { plan: "pro".into(), ..Default::default() }).await,
            Err(SubscriptionError::SuperAdminOnly)
        ));
        let root = Actor::user(UserId::new(), "root@x.io", None, None, true);
        let bad = TermsInput { plan: "gold".into(), status: Some("trialing".into()), trial_ends_at: None };
        match service.set_terms(&root, org, bad).await {
            Err(SubscriptionError::Invalid(e)) => assert_eq!(e.errors().len(), 2),
            other => panic!("{other:?}"),
        }
        let input = TermsInput {
            plan: "enterprise".into(),
            status: Some("trialing".into()),
            trial_ends_at: Some(trial_end),
        };
        service.set_terms(&root, org, input).await.unwrap();
    }
}
