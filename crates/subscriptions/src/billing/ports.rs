//! Ports of billing: the provider that charges, and the store that keeps
//! what it said.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, TenantScope};

use super::{BillingUpdate, CheckoutRequest, EventRecord, EventRejected, NewCustomer, ProviderEvent};
use crate::model::{PlanId, Subscription};

/// The billing provider (Stripe's adapter in production, a stand-in in tests).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BillingProvider: Send + Sync {
    /// Whether the provider has a price for `plan` (enterprise never has one:
    /// the platform administrator sets it).
    fn sells(&self, plan: PlanId) -> bool;

    /// Creates the organization's customer; asking again for the same
    /// organization soon after gives the same customer.
    ///
    /// # Errors
    /// When the provider fails or cannot be reached.
    async fn create_customer(&self, customer: &NewCustomer) -> anyhow::Result<String>;

    /// Starts a checkout of the plan; the URL to send the buyer to.
    ///
    /// # Errors
    /// When the provider fails or cannot be reached.
    async fn checkout(&self, request: &CheckoutRequest) -> anyhow::Result<String>;

    /// Opens the provider's billing portal for the customer; its URL.
    ///
    /// # Errors
    /// When the provider fails or cannot be reached.
    async fn portal(&self, customer: &str) -> anyhow::Result<String>;

    /// Asks the provider to end the subscription when its period ends (or not to).
    ///
    /// # Errors
    /// When the provider fails or cannot be reached.
    async fn set_cancel_at_period_end(&self, subscription: &str, cancel: bool) -> anyhow::Result<()>;

    /// Verifies a payload the provider's webhook sent (`signature` is its
    /// signature header) and reads it.
    ///
    /// # Errors
    /// [`EventRejected`] for a bad or old signature, or an unreadable event.
    fn read_event(
        &self,
        signature: Option<String>,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ProviderEvent, EventRejected>;
}

/// What applying an event came to in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Written, with its audit entry.
    Written,
    /// The event id was stored before: nothing written.
    Duplicate,
    /// A newer event was applied since: only the event id was stored.
    Stale,
}

/// The store of billing state and received events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BillingRepository: Send + Sync {
    /// The scope's subscription.
    ///
    /// # Errors
    /// When the store fails.
    async fn subscription(&self, scope: TenantScope) -> anyhow::Result<Option<Subscription>>;

    /// The organization's name (for the provider's customer).
    ///
    /// # Errors
    /// When the store fails.
    async fn organization_name(&self, scope: TenantScope) -> anyhow::Result<Option<String>>;

    /// Keeps `customer` as the organization's provider customer unless it has
    /// one already; the one it keeps.
    ///
    /// # Errors
    /// When the store fails.
    async fn keep_customer(&self, scope: TenantScope, customer: &str) -> anyhow::Result<String>;

    /// The subscription whose provider customer is `customer`.
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_customer(&self, customer: &str) -> anyhow::Result<Option<Subscription>>;

    /// Stores a received event that changes nothing; `false` when its id was
    /// stored before.
    ///
    /// # Errors
    /// When the store fails.
    async fn record_event(&self, event: &EventRecord) -> anyhow::Result<bool>;

    /// In one transaction: stores `event` (nothing more when its id was
    /// stored before: [`Applied::Duplicate`]), applies `update` to the
    /// scope's subscription unless it applied a change newer than
    /// `occurred_at` ([`Applied::Stale`]) — a `past_due` status counts from
    /// `occurred_at` —, and writes `audit`.
    ///
    /// # Errors
    /// When the store fails.
    async fn apply_event(
        &self,
        scope: TenantScope,
        event: &EventRecord,
        occurred_at: DateTime<Utc>,
        update: &BillingUpdate,
        audit: &AuditEntry,
    ) -> anyhow::Result<Applied>;

    /// Records that the subscription ends (or no longer ends) with its period,
    /// with `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails.
    async fn set_cancel_at_period_end(
        &self,
        scope: TenantScope,
        cancel: bool,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;
}
