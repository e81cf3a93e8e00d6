//! Subscription use cases: the catalogue, the subscription, plan changes, usage.

use std::sync::Arc;

use leadflow_kernel::{Actor, AuditEntry, Clock, Permission, TenantScope, ValidationErrors};
use serde_json::json;

use crate::model::{Plan, PlanId, Subscription, Usage, UsageMeter};
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
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<leadflow_kernel::Forbidden> for SubscriptionError {
    fn from(e: leadflow_kernel::Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}

/// The subscription use cases.
pub struct SubscriptionService {
    subscriptions: Arc<dyn SubscriptionRepository>,
    clock: Arc<dyn Clock>,
}

impl SubscriptionService {
    /// Builds the service on its ports.
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

    /// Moves the organization to `plan` (`settings:billing`). A downgrade
    /// below the seats in use is refused.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `Invalid` (unknown plan), `Conflict` (seats), `Unexpected`.
    pub async fn change_plan(&self, actor: &Actor, plan: &str) -> Result<Subscription, SubscriptionError> {
        let scope = Self::scope(actor)?;
        let organization = scope.organization_id();
        actor.require(Permission::SettingsBilling)?;
        let plan = PlanId::parse(plan)
            .map_err(|e| SubscriptionError::Invalid(ValidationErrors::single("plan", e.to_string())))?;
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
        .with_details(json!({ "from": current.plan.as_str(), "to": plan.as_str() }));
        match self.subscriptions.change_plan(scope, plan, now, &audit).await {
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
        Ok(UsageReport {
            period,
            leads: Usage { used: leads, limit: plan.lead_limit },
            seats: Usage { used: seats, limit: plan.seat_limit },
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
    async fn only_billing_managers_change_the_plan_and_only_to_a_real_one() {
        let org = OrganizationId::new();
        let mut repo = MockSubscriptionRepository::new();
        repo.expect_get().returning(move |o| {
            Ok(Some(Subscription::start_trial(o.organization_id(), PlanId::Starter, Utc::now())))
        });
        repo.expect_change_plan()
            .withf(|_, plan, _, a| *plan == PlanId::Pro && a.action == "subscription.plan_changed")
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let svc = service(repo);
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        let owner = Actor::user(UserId::new(), "o@x.io", Some(org), Some(Role::Owner), false);

        assert!(matches!(svc.change_plan(&manager, "pro").await, Err(SubscriptionError::Forbidden(_))));
        assert!(matches!(svc.change_plan(&owner, "gold").await, Err(SubscriptionError::Invalid(_))));
        svc.change_plan(&owner, "pro").await.unwrap();
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
        let owner = Actor::user(UserId::new(), "o@x.io", Some(org), Some(Role::Owner), false);
        assert!(matches!(
            service(repo).change_plan(&owner, "starter").await,
            Err(SubscriptionError::Conflict(_))
        ));
    }

    #[test]
    fn the_catalogue_lists_three_plans() {
        let plans = service(MockSubscriptionRepository::new()).plans();
        assert_eq!(plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["starter", "pro", "enterprise"]);
    }
}
