//! Billing through a provider (Stripe in production): what Leadflow asks of
//! it, what its events change, and the rules that apply them — each event
//! once, none older than the last one applied, every change audited.
//!
//! Nothing here knows Stripe: the provider is a port ([`BillingProvider`])
//! whose adapter verifies and reads the provider's events into
//! [`BillingEvent`]s, in Leadflow's terms.

pub mod ports;
pub mod service;

use chrono::{DateTime, Utc};
use leadflow_kernel::OrganizationId;
use serde_json::{Map, Value, json};

use crate::model::{PlanId, Subscription, SubscriptionStatus};

pub use ports::{BillingProvider, BillingRepository};
pub use service::{BillingError, BillingService};

/// A provider's event, verified and read into what it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingEvent {
    /// The provider's event id: each is processed once.
    pub id: String,
    /// The provider's event type (kept for the audit trail and the logs).
    pub kind: String,
    /// When the provider's object changed: an event older than the last one
    /// applied is stale.
    pub occurred_at: DateTime<Utc>,
    /// The provider's customer the event is about.
    pub customer: String,
    /// What it changes.
    pub update: BillingUpdate,
}

/// What an event changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BillingUpdate {
    /// The plan (read from the provider's price).
    pub plan: Option<PlanId>,
    /// The status.
    pub status: Option<SubscriptionStatus>,
    /// The provider's subscription.
    pub subscription_id: Option<String>,
    /// Start of the provider's current billing period: usage periods follow it.
    pub period_start: Option<DateTime<Utc>>,
    /// Whether the subscription ends with its period.
    pub cancel_at_period_end: Option<bool>,
}

impl BillingUpdate {
    /// The fields of `self` that differ from `current`, as audit details
    /// (`None` when the event changes nothing).
    #[must_use]
    pub fn changes(&self, current: &Subscription, now: DateTime<Utc>) -> Option<Value> {
        let mut changes = Map::new();
        if let Some(plan) = self.plan.filter(|p| *p != current.plan) {
            changes.insert("plan".into(), json!({ "from": current.plan.as_str(), "to": plan.as_str() }));
        }
        if let Some(status) = self.status.filter(|s| *s != current.status(now) || *s != current.stored_status)
        {
            changes.insert(
                "status".into(),
                json!({ "from": current.status(now).as_str(), "to": status.as_str() }),
            );
        }
        if let Some(id) = self
            .subscription_id
            .as_deref()
            .filter(|id| current.external_subscription_id.as_deref() != Some(*id))
        {
            changes.insert("subscriptionId".into(), json!(id));
        }
        if let Some(start) = self.period_start.filter(|s| *s != current.period_anchor) {
            changes.insert("periodStart".into(), json!(start));
        }
        if let Some(cancel) = self.cancel_at_period_end.filter(|c| *c != current.cancel_at_period_end) {
            changes.insert("cancelAtPeriodEnd".into(), json!(cancel));
        }
        (!changes.is_empty()).then_some(Value::Object(changes))
    }
}

/// What reading a provider's payload gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderEvent {
    /// An event that may change a subscription.
    Billing(BillingEvent),
    /// A genuine event of a type Leadflow does not act on.
    Ignored {
        /// The provider's event id.
        id: String,
        /// Its type.
        kind: String,
    },
}

/// Why a payload claiming to come from the provider was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventRejected {
    /// No signature, a signature that does not match, or one too old.
    #[error("invalid signature: {0}")]
    Signature(&'static str),
    /// Signed, but not an event Leadflow can read.
    #[error("unreadable event: {0}")]
    Malformed(String),
}

/// What became of a received event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// It changed the subscription (audited, `subscription.updated` sent).
    Applied,
    /// It changed nothing the subscription does not already say.
    Unchanged,
    /// A newer event was applied already; it changed nothing.
    Stale,
    /// Its id was processed before; it changed nothing.
    Duplicate,
    /// No organization has its customer; it changed nothing.
    UnknownCustomer,
    /// A type Leadflow does not act on.
    Ignored,
}

impl EventOutcome {
    /// The stored and reported name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Stale => "stale",
            Self::Duplicate => "duplicate",
            Self::UnknownCustomer => "unknown_customer",
            Self::Ignored => "ignored",
        }
    }
}

/// A received event as stored, so that its id is never processed twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// The provider's event id.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// The organization it concerned, when known.
    pub organization: Option<OrganizationId>,
    /// What became of it.
    pub outcome: EventOutcome,
    /// When Leadflow received it.
    pub received_at: DateTime<Utc>,
}

/// The customer to create at the provider for an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustomer {
    /// The organization (kept in the provider's metadata, and the key that
    /// makes creating it idempotent).
    pub organization: OrganizationId,
    /// The organization's name.
    pub name: String,
    /// Where the provider sends receipts: the billing manager who started it.
    pub email: String,
}

/// A checkout of a plan for an organization's customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The organization.
    pub organization: OrganizationId,
    /// Its provider customer.
    pub customer: String,
    /// The plan bought.
    pub plan: PlanId,
}
