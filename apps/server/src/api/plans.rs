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
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Monthly price in cents; `null` for a custom price.
    pub price_cents: Option<u32>,
    /// ISO currency of the price.
    pub currency: String,
    /// Leads per monthly period; `null` for unlimited.
    pub lead_limit: Option<u64>,
    /// Members plus pending invitations; `null` for unlimited.
    pub seat_limit: Option<u64>,
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
        }
    }
}

/// The plan catalogue.
#[derive(Object)]
pub struct PlanList {
    /// Cheapest first.
    pub data: Vec<PlanInfo>,
}

/// An organization's subscription.
#[derive(Object)]
#[oai(rename = "Subscription", rename_all = "camelCase")]
pub struct SubscriptionDto {
    /// The organization.
    pub organization_id: Uuid,
    /// The plan.
    pub plan: String,
    /// `trialing`, `active`, `past_due` or `canceled` (a trial past its end is `past_due`).
    pub status: String,
    /// End of the trial.
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Start of the current usage period.
    pub current_period_start: chrono::DateTime<chrono::Utc>,
    /// End of the current usage period (when usage resets).
    pub current_period_end: chrono::DateTime<chrono::Utc>,
    /// The billing provider's customer id, when connected.
    pub external_customer_id: Option<String>,
}

/// The subscription as the API shows it.
pub(crate) fn dto(s: Subscription) -> SubscriptionDto {
    let now = chrono::Utc::now();
    let period = s.period(now);
    SubscriptionDto {
        organization_id: s.organization_id.as_uuid(),
        plan: s.plan.as_str().to_owned(),
        status: s.status(now).as_str().to_owned(),
        trial_ends_at: s.trial_ends_at,
        current_period_start: period.start,
        current_period_end: period.end,
        external_customer_id: s.external_customer_id,
    }
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
    pub limit: Option<u64>,
    /// What is left; `null` for unlimited.
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

    /// Change the plan (`settings:billing`; without a billing provider, super admin only)
    ///
    /// No billing provider is configured yet, so plans cost nothing here: only
    /// the platform super admin may change them (this operation, or `PUT
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
        }))
    }
}
