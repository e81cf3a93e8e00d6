//! Plans, subscriptions and usage limits.
//!
//! The plan catalogue and its limits ([`model`]), how a subscription's monthly
//! usage periods roll over without any scheduled job ([`period`]), the ports
//! its storage must provide ([`ports`]) and the use cases ([`service`]).
//! Other contexts ask "may this organization take one more lead / seat?"
//! through ports of their own; their adapters apply the rules defined here.
//! Paying for a plan goes through a billing provider ([`billing`]), a port.

pub mod billing;
pub mod model;
pub mod period;
pub mod ports;
pub mod service;

pub use billing::{BillingError, BillingService};
pub use model::{
    MeterOutcome, MeterPolicy, PAST_DUE_GRACE, Plan, PlanId, Subscription, SubscriptionStatus,
    TRIAL_OUTREACH_PER_DAY, Terms, USAGE_SHARDS, Usage, UsageMeter,
};
pub use period::Period;
pub use ports::{SubscriptionRepository, SubscriptionStoreError};
pub use service::{SubscriptionError, SubscriptionService, TermsInput};
