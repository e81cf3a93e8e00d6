//! Billing use cases: checkout, the billing portal, cancel and resume, and
//! the provider's events.

use std::sync::Arc;

use leadflow_kernel::{Actor, AuditEntry, Clock, Permission, TenantScope, ValidationErrors};
use serde_json::json;

use super::ports::{Applied, BillingProvider, BillingRepository};
use super::{CheckoutRequest, EventOutcome, EventRecord, EventRejected, NewCustomer, ProviderEvent};
use crate::model::{PlanId, Subscription, SubscriptionStatus};

/// Everything a billing use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Invalid input.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The actor acts in no organization, or it has no subscription.
    #[error("no subscription for this organization")]
    NotFound,
    /// Missing permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// No billing provider is configured.
    #[error(
        "no billing provider is configured: plans are changed by the platform administrator (PUT /admin/organizations/{{id}}/subscription)"
    )]
    NotConfigured,
    /// The request conflicts with the subscription's state.
    #[error("{0}")]
    Conflict(&'static str),
    /// The provider's webhook payload was refused.
    #[error(transparent)]
    Rejected(#[from] EventRejected),
    /// The provider failed or could not be reached.
    #[error("the billing provider failed: {0:#}")]
    Provider(anyhow::Error),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<leadflow_kernel::Forbidden> for BillingError {
    fn from(e: leadflow_kernel::Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}

/// The billing use cases, on a provider when one is configured.
pub struct BillingService {
    store: Arc<dyn BillingRepository>,
    provider: Option<Arc<dyn BillingProvider>>,
    clock: Arc<dyn Clock>,
}

impl BillingService {
    /// Builds the service; `provider` is `None` when no billing provider is configured.
    pub fn new(
        store: Arc<dyn BillingRepository>,
        provider: Option<Arc<dyn BillingProvider>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, provider, clock }
    }

    /// Whether a billing provider is configured.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.provider.is_some()
    }

    fn provider(&self) -> Result<&Arc<dyn BillingProvider>, BillingError> {
        self.provider.as_ref().ok_or(BillingError::NotConfigured)
    }

    /// The billing manager's scope and the configured provider.
    fn manager(&self, actor: &Actor) -> Result<(TenantScope, &Arc<dyn BillingProvider>), BillingError> {
        let scope = actor.tenant_scope().ok_or(BillingError::NotFound)?;
        actor.require(Permission::SettingsBilling)?;
        Ok((scope, self.provider()?))
    }

    async fn subscription(&self, scope: TenantScope) -> Result<Subscription, BillingError> {
        self.store.subscription(scope).await?.ok_or(BillingError::NotFound)
    }

    /// The organization's provider customer, created on first use and kept.
    async fn customer(
        &self,
        actor: &Actor,
        scope: TenantScope,
        provider: &Arc<dyn BillingProvider>,
        subscription: &Subscription,
    ) -> Result<String, BillingError> {
        if let Some(customer) = &subscription.external_customer_id {
            return Ok(customer.clone());
        }
        let name = self.store.organization_name(scope).await?.ok_or(BillingError::NotFound)?;
        let email = match actor.principal() {
            leadflow_kernel::Principal::User { email, .. } => email.clone(),
            _ => String::new(),
        };
        let new = NewCustomer { organization: scope.organization_id(), name, email };
        let created = provider.create_customer(&new).await.map_err(BillingError::Provider)?;
        // Two first checkouts at once: the provider gave both the same
        // customer (idempotent per organization), and the store keeps one.
        Ok(self.store.keep_customer(scope, &created).await?)
    }

    /// Starts a checkout of `plan` (`settings:billing`); the URL to send the buyer to.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `NotConfigured`, `Invalid` (unknown plan, or
    /// one the provider does not sell), `Conflict` (already paying through
    /// the provider: plan changes go through the portal), `Provider`, `Unexpected`.
    pub async fn checkout(&self, actor: &Actor, plan: &str) -> Result<String, BillingError> {
        let (scope, provider) = self.manager(actor)?;
        let plan = PlanId::parse(plan)
            .map_err(|e| BillingError::Invalid(ValidationErrors::single("plan", e.to_string())))?;
        if !provider.sells(plan) {
            return Err(BillingError::Invalid(ValidationErrors::single(
                "plan",
                format!(
                    "`{}` is not sold through checkout; the platform administrator sets it",
                    plan.as_str()
                ),
            )));
        }
        let subscription = self.subscription(scope).await?;
        let now = self.clock.now();
        if subscription.external_subscription_id.is_some()
            && subscription.status(now) != SubscriptionStatus::Canceled
        {
            return Err(BillingError::Conflict(
                "the organization already has a paid subscription: change its plan in the billing portal (POST /subscription/portal)",
            ));
        }
        let customer = self.customer(actor, scope, provider, &subscription).await?;
        let request = CheckoutRequest { organization: scope.organization_id(), customer, plan };
        provider.checkout(&request).await.map_err(BillingError::Provider)
    }

    /// Opens the billing portal (`settings:billing`); its URL.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `NotConfigured`, `Provider`, `Unexpected`.
    pub async fn portal(&self, actor: &Actor) -> Result<String, BillingError> {
        let (scope, provider) = self.manager(actor)?;
        let subscription = self.subscription(scope).await?;
        let customer = self.customer(actor, scope, provider, &subscription).await?;
        provider.portal(&customer).await.map_err(BillingError::Provider)
    }

    /// Ends the paid subscription when its period ends (`cancel = true`), or
    /// takes that back (`settings:billing`).
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `NotConfigured`, `Conflict` (no paid
    /// subscription, or one already ended), `Provider`, `Unexpected`.
    pub async fn cancel_at_period_end(
        &self,
        actor: &Actor,
        cancel: bool,
    ) -> Result<Subscription, BillingError> {
        let (scope, provider) = self.manager(actor)?;
        let subscription = self.subscription(scope).await?;
        let now = self.clock.now();
        let Some(id) = subscription.external_subscription_id.as_deref() else {
            return Err(BillingError::Conflict(
                "the organization has no paid subscription: start one with a checkout",
            ));
        };
        if subscription.status(now) == SubscriptionStatus::Canceled {
            return Err(BillingError::Conflict(
                "the subscription has ended: start a new one with a checkout",
            ));
        }
        if subscription.cancel_at_period_end == cancel {
            return Ok(subscription);
        }
        provider.set_cancel_at_period_end(id, cancel).await.map_err(BillingError::Provider)?;
        let action = if cancel { "subscription.cancel_scheduled" } else { "subscription.resumed" };
        let organization = scope.organization_id();
        let audit = AuditEntry::new(actor, Some(organization), action, "subscription", organization, now)
            .with_details(json!({ "cancelAtPeriodEnd": cancel }));
        self.store.set_cancel_at_period_end(scope, cancel, now, &audit).await?;
        self.subscription(scope).await
    }

    /// Receives a payload from the provider's webhook: verifies it, then
    /// applies it once, unless it is older than what was applied.
    ///
    /// # Errors
    /// `NotConfigured`, `Rejected` (bad signature, unreadable), `Unexpected`.
    pub async fn receive(
        &self,
        signature: Option<&str>,
        payload: &[u8],
    ) -> Result<EventOutcome, BillingError> {
        let provider = self.provider()?;
        let now = self.clock.now();
        let event = match provider.read_event(signature.map(str::to_owned), payload, now)? {
            ProviderEvent::Billing(event) => event,
            ProviderEvent::Ignored { .. } => return Ok(EventOutcome::Ignored),
        };
        let mut record = EventRecord {
            id: event.id.clone(),
            kind: event.kind.clone(),
            organization: None,
            outcome: EventOutcome::UnknownCustomer,
            received_at: now,
        };
        let Some(current) = self.store.find_by_customer(&event.customer).await? else {
            return self.record(record).await;
        };
        record.organization = Some(current.organization_id);
        if current.billing_updated_at.is_some_and(|applied| event.occurred_at < applied) {
            record.outcome = EventOutcome::Stale;
            return self.record(record).await;
        }
        let Some(changes) = event.update.changes(&current, now) else {
            record.outcome = EventOutcome::Unchanged;
            return self.record(record).await;
        };
        record.outcome = EventOutcome::Applied;
        let organization = current.organization_id;
        let scope = Actor::system().platform().ok_or(BillingError::NotFound)?.tenant(organization);
        let audit = AuditEntry::new(
            &Actor::system(),
            Some(organization),
            "subscription.billing_updated",
            "subscription",
            organization,
            now,
        )
        .with_details(json!({ "event": { "id": event.id, "type": event.kind }, "changes": changes }));
        Ok(match self.store.apply_event(scope, &record, event.occurred_at, &event.update, &audit).await? {
            Applied::Written => EventOutcome::Applied,
            Applied::Duplicate => EventOutcome::Duplicate,
            Applied::Stale => EventOutcome::Stale,
        })
    }

    async fn record(&self, record: EventRecord) -> Result<EventOutcome, BillingError> {
        let outcome = record.outcome;
        Ok(if self.store.record_event(&record).await? { outcome } else { EventOutcome::Duplicate })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::ports::{MockBillingProvider, MockBillingRepository};
    use crate::billing::{BillingEvent, BillingUpdate};
    use chrono::{Duration, Utc};
    use leadflow_kernel::{MockClock, OrganizationId, Role, UserId};

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    fn trial(org: OrganizationId) -> Subscription {
        Subscription::start_trial(org, PlanId::Starter, Utc::now())
    }

    fn owner(org: OrganizationId) -> Actor {
        Actor::user(UserId::new(), "owner@acme.io", Some(org), Some(Role::Owner), false)
    }

    fn event(customer: &str, occurred_at: chrono::DateTime<Utc>, update: BillingUpdate) -> ProviderEvent {
        ProviderEvent::Billing(BillingEvent {
            id: "evt_1".into(),
            kind: "invoice.payment_failed".into(),
            occurred_at,
            customer: customer.into(),
            update,
        })
    }

    #[tokio::test]
    async fn without_a_provider_nothing_is_for_sale() {
        let org = OrganizationId::new();
        let service = BillingService::new(Arc::new(MockBillingRepository::new()), None, clock());
        assert!(matches!(service.checkout(&owner(org), "pro").await, Err(BillingError::NotConfigured)));
        assert!(matches!(service.portal(&owner(org)).await, Err(BillingError::NotConfigured)));
        assert!(matches!(service.receive(Some("t=1,v1=00"), b"{}").await, Err(BillingError::NotConfigured)));
    }

    #[tokio::test]
    async fn checkout_creates_the_customer_once_and_sells_only_priced_plans() {
        let org = OrganizationId::new();
        let mut store = MockBillingRepository::new();
        store.expect_subscription().returning(|s| Ok(Some(trial(s.organization_id()))));
        store.expect_organization_name().returning(|_| Ok(Some("Acme".into())));
        store.expect_keep_customer().times(1).returning(|_, c| Ok(c.to_owned()));
        let mut provider = MockBillingProvider::new();
        provider.expect_sells().returning(|p| p != PlanId::Enterprise);
        provider
            .expect_create_customer()
            .withf(move |c| c.organization == org && c.name == "Acme" && c.email == "owner@acme.io")
            .times(1)
            .returning(|_| Ok("cus_1".into()));
        provider
            .expect_checkout()
            .withf(|r| r.customer == "cus_1" && r.plan == PlanId::Pro)
            .returning(|_| Ok("https://checkout.example/c/1".into()));
        let service = BillingService::new(Arc::new(store), Some(Arc::new(provider)), clock());
        let manager = Actor::user(UserId::new(), "m@acme.io", Some(org), Some(Role::Manager), false);
        assert!(matches!(service.checkout(&manager, "pro").await, Err(BillingError::Forbidden(_))));
        assert!(matches!(service.checkout(&owner(org), "enterprise").await, Err(BillingError::Invalid(_))));
        assert_eq!(service.checkout(&owner(org), "pro").await.unwrap(), "https://checkout.example/c/1");
    }

    #[tokio::test]
    async fn an_event_changes_the_subscription_once_as_the_system() {
        let org = OrganizationId::new();
        let mut store = MockBillingRepository::new();
        store.expect_find_by_customer().returning(move |_| {
            let mut s = trial(org);
            s.external_customer_id = Some("cus_1".into());
            Ok(Some(s))
        });
        store
            .expect_apply_event()
            .withf(move |scope, record, _, update, audit| {
                scope.organization_id() == org
                    && record.id == "evt_1"
                    && update.status == Some(SubscriptionStatus::PastDue)
                    && audit.action == "subscription.billing_updated"
                    && audit.actor_kind == leadflow_kernel::AuditActorKind::System
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(Applied::Written));
        let mut provider = MockBillingProvider::new();
        provider.expect_read_event().returning(|_, _, _| {
            Ok(event(
                "cus_1",
                Utc::now(),
                BillingUpdate { status: Some(SubscriptionStatus::PastDue), ..Default::default() },
            ))
        });
        let service = BillingService::new(Arc::new(store), Some(Arc::new(provider)), clock());
        assert_eq!(service.receive(Some("sig"), b"{}").await.unwrap(), EventOutcome::Applied);
    }

    #[tokio::test]
    async fn an_event_older_than_the_last_applied_only_stores_its_id() {
        let org = OrganizationId::new();
        let mut store = MockBillingRepository::new();
        store.expect_find_by_customer().returning(move |_| {
            let mut s = trial(org);
            s.billing_updated_at = Some(Utc::now());
            Ok(Some(s))
        });
        store
            .expect_record_event()
            .withf(|r| r.outcome == EventOutcome::Stale)
            .times(1)
            .returning(|_| Ok(true));
        let mut provider = MockBillingProvider::new();
        provider.expect_read_event().returning(|_, _, _| {
            Ok(event(
                "cus_1",
                Utc::now() - Duration::hours(1),
                BillingUpdate { status: Some(SubscriptionStatus::Active), ..Default::default() },
            ))
        });
        let service = BillingService::new(Arc::new(store), Some(Arc::new(provider)), clock());
        assert_eq!(service.receive(Some("sig"), b"{}").await.unwrap(), EventOutcome::Stale);
    }

    #[tokio::test]
    async fn a_rejected_signature_touches_nothing() {
        let mut provider = MockBillingProvider::new();
        provider.expect_read_event().returning(|_, _, _| Err(EventRejected::Signature("no match")));
        let service =
            BillingService::new(Arc::new(MockBillingRepository::new()), Some(Arc::new(provider)), clock());
        assert!(matches!(service.receive(None, b"{}").await, Err(BillingError::Rejected(_))));
    }

    #[tokio::test]
    async fn cancel_needs_a_paid_subscription_and_goes_through_the_provider() {
        let org = OrganizationId::new();
        let mut store = MockBillingRepository::new();
        let mut paid = trial(org);
        paid.external_subscription_id = Some("sub_1".into());
        paid.stored_status = SubscriptionStatus::Active;
        let mut unpaid = Some(trial(org));
        store.expect_subscription().returning(move |_| Ok(unpaid.take().or_else(|| Some(paid.clone()))));
        store
            .expect_set_cancel_at_period_end()
            .withf(|_, cancel, _, audit| *cancel && audit.action == "subscription.cancel_scheduled")
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let mut provider = MockBillingProvider::new();
        provider
            .expect_set_cancel_at_period_end()
            .withf(|id, c| id == "sub_1" && *c)
            .times(1)
            .returning(|_, _| Ok(()));
        let service = BillingService::new(Arc::new(store), Some(Arc::new(provider)), clock());
        assert!(matches!(
            service.cancel_at_period_end(&owner(org), true).await,
            Err(BillingError::Conflict(_))
        ));
        service.cancel_at_period_end(&owner(org), true).await.unwrap();
    }
}
