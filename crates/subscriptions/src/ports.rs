//! Ports of the subscriptions context.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, TenantScope};

use crate::model::{Subscription, Terms, Usage, UsageMeter};

/// What a subscription store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionStoreError {
    /// The organization has more people than the new plan's seats.
    #[error(
        "the organization has {people} people (members and pending invitations); the plan allows {limit}"
    )]
    TooManySeats {
        /// Members plus pending invitations.
        people: u64,
        /// The new plan's seats.
        limit: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Durable store of subscriptions and usage counters.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SubscriptionRepository: Send + Sync {
    /// The scope's subscription.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, scope: TenantScope) -> anyhow::Result<Option<Subscription>>;

    /// Sets the subscription's terms — `plan`, `status`, `trial_ends_at` —
    /// and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `TooManySeats` (and change nothing) when the organization's
    /// members plus pending invitations exceed the new plan's seats, checked
    /// atomically with the change.
    async fn change_plan(
        &self,
        scope: TenantScope,
        terms: &Terms,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), SubscriptionStoreError>;

    /// Usage of `meter` in the period that starts at `period_start`.
    ///
    /// # Errors
    /// When the store fails.
    async fn used(
        &self,
        scope: TenantScope,
        meter: UsageMeter,
        period_start: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    /// Members plus pending (unexpired) invitations.
    ///
    /// # Errors
    /// When the store fails.
    async fn seats_used(&self, scope: TenantScope, at: DateTime<Utc>) -> anyhow::Result<u64>;
}

/// Usage of every meter and of the seats, for one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageReport {
    /// The period.
    pub period: crate::period::Period,
    /// Leads.
    pub leads: Usage,
    /// Seats.
    pub seats: Usage,
    /// Language-model tokens spent by the workflow steps.
    pub llm_tokens: Usage,
}
