//! Plans, subscriptions and usage.

use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::OrganizationId;

use crate::period::Period;

/// A plan of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanId {
    /// 100 leads a month, 3 seats, 49.00.
    Starter,
    /// 1,000 leads a month, 10 seats, 199.00.
    Pro,
    /// Unlimited, custom price.
    Enterprise,
}

/// The plan name is not one of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a plan (starter, pro, enterprise)")]
pub struct UnknownPlan(pub String);

impl PlanId {
    /// Every plan, cheapest first.
    pub const ALL: [PlanId; 3] = [PlanId::Starter, PlanId::Pro, PlanId::Enterprise];

    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starter => "starter",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }

    /// Reads a plan name.
    ///
    /// # Errors
    /// [`UnknownPlan`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, UnknownPlan> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw).ok_or_else(|| UnknownPlan(raw.to_owned()))
    }

    /// The plan's terms.
    #[must_use]
    pub const fn plan(self) -> Plan {
        match self {
            Self::Starter => Plan {
                id: self,
                name: "Starter",
                price_cents: Some(4900),
                lead_limit: Some(100),
                seat_limit: Some(3),
                outreach_per_day: Some(100),
                llm_tokens_per_month: Some(200_000),
            },
            Self::Pro => Plan {
                id: self,
                name: "Pro",
                price_cents: Some(19900),
                lead_limit: Some(1000),
                seat_limit: Some(10),
                outreach_per_day: Some(1000),
                llm_tokens_per_month: Some(2_000_000),
            },
            Self::Enterprise => Plan {
                id: self,
                name: "Enterprise",
                price_cents: None,
                lead_limit: None,
                seat_limit: None,
                outreach_per_day: None,
                llm_tokens_per_month: None,
            },
        }
    }
}

/// A plan's terms. `None` means unlimited (limits) or custom (price).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Its id.
    pub id: PlanId,
    /// Display name.
    pub name: &'static str,
    /// Monthly price in cents (USD).
    pub price_cents: Option<u32>,
    /// Leads per monthly period.
    pub lead_limit: Option<u64>,
    /// Members plus pending invitations.
    pub seat_limit: Option<u64>,
    /// Outreach emails approved per day (UTC); trialing organizations get at most [`TRIAL_OUTREACH_PER_DAY`].
    pub outreach_per_day: Option<u64>,
    /// Language-model tokens the workflow steps may spend per monthly period;
    /// past it they fall back to the rule-based adapters.
    pub llm_tokens_per_month: Option<u64>,
}

/// A subscription's terms as one change sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The plan.
    pub plan: PlanId,
    /// The status.
    pub status: SubscriptionStatus,
    /// When the trial ends (trialing only).
    pub trial_ends_at: Option<DateTime<Utc>>,
}

impl Terms {
    /// An owner's (or the billing provider's) move to `plan`: `active`, no trial.
    #[must_use]
    pub const fn active(plan: PlanId) -> Self {
        Self { plan, status: SubscriptionStatus::Active, trial_ends_at: None }
    }
}

/// Outreach emails a trialing organization may approve per day.
pub const TRIAL_OUTREACH_PER_DAY: u64 = 20;

impl Plan {
    /// The currency of every price.
    pub const CURRENCY: &'static str = "USD";

    /// Whether `people` (members plus pending invitations, the newcomer
    /// included) fit in the plan's seats.
    #[must_use]
    pub fn seats_allow(&self, people: u64) -> bool {
        self.seat_limit.is_none_or(|limit| people <= limit)
    }
}

/// The lifecycle of a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// In its free trial.
    Trialing,
    /// Paid and current.
    Active,
    /// Payment is due (a trial that ended without a plan choice counts here).
    PastDue,
    /// Ended: no new leads are accepted.
    Canceled,
}

impl SubscriptionStatus {
    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Trialing, Self::Active, Self::PastDue, Self::Canceled].into_iter().find(|s| s.as_str() == raw)
    }
}

/// How long a new organization's trial lasts.
pub const TRIAL_DAYS: i64 = 14;

/// An organization's subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The organization (one subscription each).
    pub organization_id: OrganizationId,
    /// The plan.
    pub plan: PlanId,
    /// The stored status (see [`Subscription::status`]).
    pub stored_status: SubscriptionStatus,
    /// End of the trial, if it had one.
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// The instant monthly periods are counted from.
    pub period_anchor: DateTime<Utc>,
    /// The billing provider's customer id, when one is connected.
    pub external_customer_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Since when the stored status is `past_due` (a trial past its end is
    /// past due since the trial's end).
    pub past_due_since: Option<DateTime<Utc>>,
    /// The billing provider's subscription, once a checkout completed.
    pub external_subscription_id: Option<String>,
    /// The provider ends the subscription when its period ends.
    pub cancel_at_period_end: bool,
    /// The provider's time of the last change applied (its events arrive in any
    /// order: an older one changes nothing).
    pub billing_updated_at: Option<DateTime<Utc>>,
}

/// How long a `past_due` subscription still takes new leads.
pub const PAST_DUE_GRACE: Duration = Duration::days(7);

impl Subscription {
    /// The terms that hold for an organization with `subscription`: its plan's,
    /// or the starter plan's when it has none.
    #[must_use]
    pub fn terms_of(subscription: Option<&Self>) -> Plan {
        subscription.map_or(PlanId::Starter, |s| s.plan).plan()
    }

    /// A new organization's subscription: `trialing` on `plan` for 14 days
    /// (starter unless the super admin chose another).
    #[must_use]
    pub fn start_trial(organization: OrganizationId, plan: PlanId, now: DateTime<Utc>) -> Self {
        Self {
            organization_id: organization,
            plan,
            stored_status: SubscriptionStatus::Trialing,
            trial_ends_at: Some(now + Duration::days(TRIAL_DAYS)),
            period_anchor: now,
            external_customer_id: None,
            created_at: now,
            updated_at: now,
            past_due_since: None,
            external_subscription_id: None,
            cancel_at_period_end: false,
            billing_updated_at: None,
        }
    }

    /// The status at `now`: a trial past its end is `past_due` until a plan is chosen.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> SubscriptionStatus {
        match (self.stored_status, self.trial_ends_at) {
            (SubscriptionStatus::Trialing, Some(end)) if end <= now => SubscriptionStatus::PastDue,
            (s, _) => s,
        }
    }

    /// Outreach emails the organization may approve on the day of `now`
    /// (`None`: no cap): its plan's, and at most 20 while trialing.
    #[must_use]
    pub fn outreach_per_day(&self, now: DateTime<Utc>) -> Option<u64> {
        let plan = self.plan.plan().outreach_per_day;
        if self.status(now) == SubscriptionStatus::Trialing {
            Some(plan.map_or(TRIAL_OUTREACH_PER_DAY, |p| p.min(TRIAL_OUTREACH_PER_DAY)))
        } else {
            plan
        }
    }

    /// The usage period containing `now`.
    #[must_use]
    pub fn period(&self, now: DateTime<Utc>) -> Period {
        Period::containing(self.period_anchor, now)
    }

    /// When the grace of a `past_due` subscription ends (`None` unless past due).
    #[must_use]
    pub fn grace_ends_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.status(now) != SubscriptionStatus::PastDue {
            return None;
        }
        let since = match (self.stored_status, self.trial_ends_at) {
            (SubscriptionStatus::Trialing, Some(end)) => end,
            _ => self.past_due_since.unwrap_or(self.updated_at),
        };
        Some(since + PAST_DUE_GRACE)
    }

    /// Whether the subscription is in force at `now`: not canceled, and not
    /// past due beyond the 7-day grace. An inactive subscription takes no new
    /// leads and sends no outreach; reading, exporting and deleting still work.
    #[must_use]
    pub fn is_in_force(&self, now: DateTime<Utc>) -> bool {
        match self.status(now) {
            SubscriptionStatus::Canceled => false,
            SubscriptionStatus::PastDue => self.grace_ends_at(now).is_none_or(|end| now < end),
            SubscriptionStatus::Trialing | SubscriptionStatus::Active => true,
        }
    }

    /// Language-model tokens the organization may still spend in the period
    /// of `now`, given `used` so far (`None`: no budget).
    #[must_use]
    pub fn tokens_left(&self, used: u64) -> Option<u64> {
        self.plan.plan().llm_tokens_per_month.map(|limit| limit.saturating_sub(used))
    }

    /// Whether new leads are accepted (see [`Subscription::is_in_force`]).
    #[must_use]
    pub fn accepts_leads(&self, now: DateTime<Utc>) -> bool {
        self.is_in_force(now)
    }

    /// How one more lead submitted at `now` is to be counted: the plan's rule,
    /// handed to storage as values (storage applies it atomically, it never
    /// decides it).
    #[must_use]
    pub fn lead_policy(&self, now: DateTime<Utc>) -> MeterPolicy {
        if !self.accepts_leads(now) {
            return MeterPolicy::Closed;
        }
        let period = self.period(now);
        match self.plan.plan().lead_limit {
            Some(limit) => MeterPolicy::Limited { period, limit },
            None => MeterPolicy::Unlimited { period, shards: USAGE_SHARDS },
        }
    }
}

/// Rows an unlimited plan's usage is spread over, so that concurrent
/// submissions of one organization do not queue on a single counter.
pub const USAGE_SHARDS: u16 = 16;

/// How one more unit of a meter is to be counted, as the subscription decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeterPolicy {
    /// The subscription takes no new units (canceled, or past due beyond its grace).
    Closed,
    /// Count without a limit, in any of `shards` rows of the period (a limited
    /// plan later in the same period still counts them).
    Unlimited {
        /// The usage period the unit falls in.
        period: Period,
        /// How many rows the count is spread over.
        shards: u16,
    },
    /// Count exactly: at most `limit` units in the period, whatever the concurrency.
    Limited {
        /// The usage period the unit falls in.
        period: Period,
        /// The plan's limit for the period.
        limit: u64,
    },
}

/// What counting one more unit came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeterOutcome {
    /// The unit was counted.
    Counted,
    /// The period's limit is reached; nothing was counted.
    Spent {
        /// The plan's limit.
        limit: u64,
        /// When the next period starts.
        resets_at: DateTime<Utc>,
    },
    /// The subscription takes no new units.
    Closed,
}

/// What is metered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageMeter {
    /// Leads submitted in a period.
    Leads,
    /// Language-model tokens the workflow steps spent in a period.
    LlmTokens,
}

impl UsageMeter {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Leads => "leads",
            Self::LlmTokens => "llm_tokens",
        }
    }
}

/// Used, limit and remaining of one meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Used so far.
    pub used: u64,
    /// The limit (`None`: unlimited).
    pub limit: Option<u64>,
}

impl Usage {
    /// What is left (`None`: unlimited).
    #[must_use]
    pub fn remaining(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_the_specified_terms() {
        assert_eq!(PlanId::Starter.plan().lead_limit, Some(100));
        assert_eq!(PlanId::Starter.plan().seat_limit, Some(3));
        assert_eq!(PlanId::Starter.plan().price_cents, Some(4900));
        assert_eq!(PlanId::Pro.plan().lead_limit, Some(1000));
        assert_eq!(PlanId::Pro.plan().seat_limit, Some(10));
        assert_eq!(PlanId::Pro.plan().price_cents, Some(19900));
        assert_eq!(PlanId::Enterprise.plan().lead_limit, None);
        assert_eq!(PlanId::Enterprise.plan().price_cents, None);
        assert_eq!(PlanId::parse("pro"), Ok(PlanId::Pro));
        assert!(PlanId::parse("gold").is_err());
    }

    #[test]
    fn a_trial_lasts_fourteen_days_then_is_past_due() {
        let now = Utc::now();
        let s = Subscription::start_trial(OrganizationId::new(), PlanId::Starter, now);
        assert_eq!(s.status(now), SubscriptionStatus::Trialing);
        assert_eq!(s.status(now + Duration::days(14)), SubscriptionStatus::PastDue);
        // Leads are still taken for the 7-day grace after the trial, then not.
        assert!(s.accepts_leads(now + Duration::days(20)));
        assert!(!s.accepts_leads(now + Duration::days(22)));
    }

    #[test]
    fn the_plan_decides_how_a_lead_is_counted() {
        let now = Utc::now();
        let mut s = Subscription::start_trial(OrganizationId::new(), PlanId::Starter, now);
        assert!(matches!(s.lead_policy(now), MeterPolicy::Limited { limit: 100, .. }));
        s.plan = PlanId::Enterprise;
        assert!(matches!(s.lead_policy(now), MeterPolicy::Unlimited { shards: USAGE_SHARDS, .. }));
        s.stored_status = SubscriptionStatus::Canceled;
        assert_eq!(s.lead_policy(now), MeterPolicy::Closed);
    }

    #[test]
    fn seats_count_the_newcomer() {
        let starter = PlanId::Starter.plan();
        assert!(starter.seats_allow(3));
        assert!(!starter.seats_allow(4));
        assert!(PlanId::Enterprise.plan().seats_allow(10_000));
        assert_eq!(Usage { used: 120, limit: Some(100) }.remaining(), Some(0));
    }

    #[test]
    fn past_due_takes_leads_for_a_seven_day_grace() {
        let now = Utc::now();
        let mut s =
            Subscription::start_trial(OrganizationId::new(), PlanId::Starter, now - Duration::days(30));
        // The trial ended 16 days ago: past due since then, grace over.
        assert_eq!(s.status(now), SubscriptionStatus::PastDue);
        assert!(!s.accepts_leads(now));
        assert!(s.accepts_leads(s.trial_ends_at.unwrap() + Duration::days(6)));
        // Set past due two days ago: still in its grace.
        s.stored_status = SubscriptionStatus::PastDue;
        s.trial_ends_at = None;
        s.past_due_since = Some(now - Duration::days(2));
        assert!(s.accepts_leads(now));
        assert_eq!(s.grace_ends_at(now), Some(now + Duration::days(5)));
        assert!(!s.accepts_leads(now + Duration::days(6)));
        assert_eq!(s.lead_policy(now + Duration::days(6)), MeterPolicy::Closed);
    }
}
