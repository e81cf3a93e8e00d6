//! `/api/v1/plans` and `/api/v1/subscription`: what an organization pays for and uses.

use std::sync::Arc;

use leadflow_subscriptions::{Plan, Subscription, Usage};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::PlanDto;
use crate::problem::ApiResult;
use crate::security::{BearerAuth, TenantAuth};
use crate::state::AppState;

/// Operations of the Subscriptions tag.
pub struct SubscriptionsApi;

/// A plan of the catalogue.
#[derive(Object)]
#[oai(rename = "Plan", rename_all = "camelCase")]
pub struct PlanInfo {
    /// The plan's id.
    pub id: String,
    /// The plan's name as shown to people.
    pub name: String,
    /// Monthly price in cents; `null` for a custom price.
    #[oai(nullable)]
    pub price_cents: Option<u32>,
    /// ISO currency of the price.
    pub currency: String,
    /// Leads per monthly period; `null` for unlimited.
    #[oai(nullable)]
    pub lead_limit: Option<u64>,
    /// Members plus pending invitations; `null` for unlimited.
    #[oai(nullable)]
    pub seat_limit: Option<u64>,
    /// Language-model tokens the workflow steps may spend per period (then
    /// they fall back to the rules); `null` for unlimited.
    #[oai(nullable)]
    pub llm_token_budget: Option<u64>,
}

impl From<Plan> for PlanInfo {
    fn from(p: Plan) -> Self {
        Self {
            id: p.id.as_str().to_owned(),
            name: p.name.to_owned(),
            price_cents: p.price_cents,
            currency: Plan::CURRENCY.to_owned(),
            lead_limit: p.lead_limit,
            seat_limit: p.seat_limit,
            llm_token_budget: p.llm_tokens_per_month,
        }
    }
}

/// The plan catalogue.
#[derive(Object)]
pub struct PlanList {
    /// Every plan, cheapest first.
    pub data: Vec<PlanInfo>,
}

/// An organization's subscription.
#[derive(Object)]
#[oai(rename = "Subscription", rename_all = "camelCase")]
pub struct SubscriptionDto {
    /// The organization the item belongs to.
    pub organization_id: Uuid,
    /// The plan in force.
    pub plan: crate::api::dto::PlanDto,
    /// Where the subscription is (a trial past its end is `past_due`).
    pub status: crate::api::dto::SubscriptionStatusDto,
    /// End of the trial.
    #[oai(nullable)]
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Start of the current usage period.
    pub current_period_start: chrono::DateTime<chrono::Utc>,
    /// End of the current usage period (when usage resets).
    pub current_period_end: chrono::DateTime<chrono::Utc>,
    /// The billing provider's customer id, when connected.
    #[oai(nullable)]
    pub external_customer_id: Option<String>,
    /// The billing provider's subscription id, once a checkout completed.
    #[oai(nullable)]
    pub external_subscription_id: Option<String>,
    /// The paid subscription ends when its current period ends.
    pub cancel_at_period_end: bool,
}

/// The subscription as the API shows it.
pub(crate) fn dto(s: Subscription) -> SubscriptionDto {
    let now = chrono::Utc::now();
    let period = s.period(now);
    SubscriptionDto {
        organization_id: s.organization_id.as_uuid(),
        plan: s.plan.into(),
        status: s.status(now).into(),
        trial_ends_at: s.trial_ends_at,
        current_period_start: period.start,
        current_period_end: period.end,
        external_customer_id: s.external_customer_id,
        external_subscription_id: s.external_subscription_id,
        cancel_at_period_end: s.cancel_at_period_end,
    }
}

/// A plan to buy.
#[derive(Object)]
pub struct CheckoutBody {
    /// `starter` or `pro` (`enterprise` is set by the platform administrator).
    pub plan: PlanDto,
}

/// A page of the billing provider to send the user to.
#[derive(Object)]
pub struct RedirectDto {
    /// Open it in the browser; it returns to `LEADFLOW_APP_URL/billing`.
    pub url: String,
}

/// A plan change.
#[derive(Object)]
pub struct ChangePlanBody {
    /// The new plan.
    pub plan: PlanDto,
}

/// One meter's usage.
#[derive(Object)]
pub struct UsageDto {
    /// Used this period.
    pub used: u64,
    /// The limit; `null` for unlimited.
    #[oai(nullable)]
    pub limit: Option<u64>,
    /// What is left; `null` for unlimited.
    #[oai(nullable)]
    pub remaining: Option<u64>,
}

impl From<Usage> for UsageDto {
    fn from(u: Usage) -> Self {
        Self { used: u.used, limit: u.limit, remaining: u.remaining() }
    }
}

/// Usage of the current period.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct UsageReportDto {
    /// Start of the period.
    pub period_start: chrono::DateTime<chrono::Utc>,
    /// End of the period (when lead usage resets).
    pub period_end: chrono::DateTime<chrono::Utc>,
    /// Leads submitted this period.
    pub leads: UsageDto,
    /// Members plus pending invitations.
    pub seats: UsageDto,
    /// Language-model tokens the workflow steps spent this period.
    pub llm_tokens: UsageDto,
}

#[OpenApi(tag = "ApiTags::Subscriptions")]
impl SubscriptionsApi {
    /// The plan catalogue (public)
    #[oai(path = "/api/v1/plans", method = "get", operation_id = "listPlans")]
    async fn plans(&self, state: Data<&Arc<AppState>>) -> ApiResult<Json<PlanList>> {
        Ok(Json(PlanList { data: state.subscriptions.plans().into_iter().map(Into::into).collect() }))
    }

    /// The organization's subscription
    ///
    /// Any member may read it; an API key needs `settings:billing`.
    #[oai(path = "/api/v1/subscription", method = "get", operation_id = "getSubscription")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<SubscriptionDto>> {
        Ok(Json(dto(state.subscriptions.get(auth.actor()).await?)))
    }

    /// Change the plan (platform super admin only)
    ///
    /// Plans cost money: owners buy one through `POST /subscription/checkout`
    /// and change it in the billing portal (with Stripe configured). Only the
    /// platform super admin sets a plan directly (this operation, or `PUT
    /// /admin/organizations/{id}/subscription`); everyone else gets 403. The
    /// subscription becomes `active` on the new plan; usage of the current
    /// period carries over. A plan with fewer seats than the members and
    /// pending invitations in use is refused (409).
    #[oai(path = "/api/v1/subscription", method = "put", operation_id = "changePlan")]
    async fn change_plan(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<ChangePlanBody>,
    ) -> ApiResult<Json<SubscriptionDto>> {
        Ok(Json(dto(state.subscriptions.change_plan(&auth.0, body.0.plan.as_str()).await?)))
    }

    /// Start a checkout of a plan (`settings:billing`; Stripe)
    ///
    /// Creates a Stripe Checkout Session for the plan's price and answers its
    /// URL. The organization's Stripe customer is created on first use and
    /// kept. The plan changes when Stripe reports the completed checkout
    /// (`POST /billing/stripe/webhook`), not before. 409 when a paid
    /// subscription exists (change plans in the portal); 403
    /// `billing_not_configured` without Stripe.
    #[oai(path = "/api/v1/subscription/checkout", method = "post", operation_id = "startCheckout")]
    async fn checkout(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CheckoutBody>,
    ) -> ApiResult<Json<RedirectDto>> {
        Ok(Json(RedirectDto { url: state.billing.checkout(&auth.0, body.0.plan.as_str()).await? }))
    }

    /// Open the billing portal (`settings:billing`; Stripe)
    ///
    /// A Stripe Billing Portal session for the organization's customer, where
    /// its billing managers change plan and payment method, and see invoices.
    #[oai(path = "/api/v1/subscription/portal", method = "post", operation_id = "openBillingPortal")]
    async fn portal(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<RedirectDto>> {
        Ok(Json(RedirectDto { url: state.billing.portal(&auth.0).await? }))
    }

    /// Cancel at the end of the period (`settings:billing`; Stripe)
    ///
    /// Asks Stripe to end the paid subscription when its current period ends;
    /// leads are taken until then. Audited (`subscription.cancel_scheduled`).
    /// 409 without a paid subscription.
    #[oai(path = "/api/v1/subscription/cancel", method = "post", operation_id = "cancelSubscription")]
    async fn cancel(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
    ) -> ApiResult<Json<SubscriptionDto>> {
        Ok(Json(dto(state.billing.cancel_at_period_end(&auth.0, true).await?)))
    }

    /// Take back a cancellation (`settings:billing`; Stripe)
    ///
    /// The paid subscription renews at the end of its period again. Audited
    /// (`subscription.resumed`). 409 once it has ended.
    #[oai(path = "/api/v1/subscription/resume", method = "post", operation_id = "resumeSubscription")]
    async fn resume(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
    ) -> ApiResult<Json<SubscriptionDto>> {
        Ok(Json(dto(state.billing.cancel_at_period_end(&auth.0, false).await?)))
    }

    /// Usage of the current period
    ///
    /// Any member may read it; an API key needs `settings:billing`.
    #[oai(path = "/api/v1/subscription/usage", method = "get", operation_id = "getUsage")]
    async fn usage(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<UsageReportDto>> {
        let report = state.subscriptions.usage(auth.actor()).await?;
        Ok(Json(UsageReportDto {
            period_start: report.period.start,
            period_end: report.period.end,
            leads: report.leads.into(),
            seats: report.seats.into(),
            llm_tokens: report.llm_tokens.into(),
        }))
    }
}
