//! `subscriptions` table: one row per organization.

use sea_orm::entity::prelude::*;

/// A row of `subscriptions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    /// Organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Plan name.
    pub plan: String,
    /// Stored status.
    pub status: String,
    /// End of the trial.
    pub trial_ends_at: Option<DateTimeUtc>,
    /// Start of the monthly periods.
    pub period_anchor: DateTimeUtc,
    /// Billing provider's customer id.
    pub external_customer_id: Option<String>,
    /// Creation.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Since when the stored status is `past_due`.
    pub past_due_since: Option<DateTimeUtc>,
    /// Billing provider's subscription id.
    pub external_subscription_id: Option<String>,
    /// The provider ends the subscription with its period.
    pub cancel_at_period_end: bool,
    /// Provider time of the last change applied.
    pub billing_updated_at: Option<DateTimeUtc>,
}

/// Relations of `subscriptions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
