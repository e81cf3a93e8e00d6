//! `/api/v1/admin`: platform-wide views for the super admin.

use crate::api::text::Cursor;
use std::sync::Arc;

use leadflow_auth::model::PlatformUser;
use leadflow_kernel::{KeysetPage, UserId};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::{KeysetPagination, UserDto};
use crate::problem::ApiResult;
use crate::security::BearerAuth;
use crate::state::AppState;

/// Operations of the Admin tag.
pub struct AdminApi;

/// An organization's subscription terms.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SubscriptionTermsBody {
    /// The plan in force.
    pub plan: crate::api::dto::PlanDto,
    /// The status; default `active`.
    #[oai(nullable)]
    pub status: Option<crate::api::dto::SubscriptionStatusDto>,
    /// When the trial ends; only with `trialing`, and required there.
    #[oai(nullable)]
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Organizations by state.
#[derive(Object)]
pub struct OrganizationTotals {
    /// How many organizations are active.
    pub active: u64,
    /// How many organizations are deactivated.
    pub inactive: u64,
    /// How many organizations there are in all.
    pub total: u64,
}

/// Totals across every organization.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct OverviewDto {
    /// How many organizations there are, active and not.
    pub organizations: OrganizationTotals,
    /// Users on the platform.
    pub total_users: u64,
    /// Memberships across organizations.
    pub total_memberships: u64,
    /// Pending invitations across organizations.
    pub pending_invitations: u64,
    /// Active API keys across organizations.
    pub active_api_keys: u64,
    /// Teams across organizations.
    pub total_teams: u64,
    /// Leads per status across organizations.
    pub leads_by_status: std::collections::BTreeMap<String, u64>,
    /// Organizations per plan.
    pub organizations_per_plan: std::collections::BTreeMap<String, u64>,
    /// Workflows per status across organizations.
    pub workflows_by_status: std::collections::BTreeMap<String, u64>,
    /// The ten organizations with the most leads.
    pub top_organizations: Vec<TopOrganization>,
}

/// An organization ranked by leads.
#[derive(Object)]
pub struct TopOrganization {
    /// The organization's id.
    pub id: uuid::Uuid,
    /// The organization's slug (its unique name).
    pub name: String,
    /// How many leads it has.
    pub leads: u64,
}

/// A user as the super admin sees them.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AdminUserDto {
    /// The user in question.
    #[oai(flatten)]
    pub user: UserDto,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// When it was disabled.
    #[oai(nullable)]
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<PlatformUser> for AdminUserDto {
    fn from(u: PlatformUser) -> Self {
        Self { user: u.user.into(), disabled: u.disabled_at.is_some(), disabled_at: u.disabled_at }
    }
}

/// A page of users.
#[derive(Object)]
pub struct AdminUserPage {
    /// The items of this page, newest first.
    pub data: Vec<AdminUserDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// Every user of the platform (super admin)
    ///
    /// Newest first; `search` matches the email or the name, case-insensitively.
    #[oai(path = "/users", method = "get", operation_id = "adminListUsers")]
    async fn users(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Part of the email or name.
        search: Query<Option<String>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `pagination.nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<AdminUserPage>> {
        let page = KeysetPage::new(limit.0, cursor.0.as_deref())?;
        let result = state.auth.users_across_organizations(&auth.0, search.0, page).await?;
        Ok(Json(AdminUserPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }

    /// Disable a user platform-wide (super admin)
    ///
    /// Their sessions, refresh tokens and API keys stop at once and they cannot
    /// sign in; their data and memberships are kept. Audited (`user.disabled`).
    #[oai(path = "/users/:id/disable", method = "post", operation_id = "adminDisableUser")]
    async fn disable(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<AdminUserDto>> {
        Ok(Json(state.auth.set_user_disabled(&auth.0, UserId::from_uuid(id.0), true).await?.into()))
    }

    /// Enable a disabled user again (super admin)
    ///
    /// They sign in again; the sessions ended by disabling stay ended. Audited (`user.enabled`).
    #[oai(path = "/users/:id/enable", method = "post", operation_id = "adminEnableUser")]
    async fn enable(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<AdminUserDto>> {
        Ok(Json(state.auth.set_user_disabled(&auth.0, UserId::from_uuid(id.0), false).await?.into()))
    }

    /// Set an organization's plan, status and trial end (super admin)
    ///
    /// The only way to change plans while no billing provider is configured.
    /// `status` defaults to `active`; `trialEndsAt` goes with `trialing` only.
    /// A plan with fewer seats than in use is refused (409). Audited
    /// (`subscription.plan_changed`) and sent as `subscription.updated`.
    #[oai(path = "/organizations/:id/subscription", method = "put", operation_id = "adminSetSubscription")]
    async fn set_subscription(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<SubscriptionTermsBody>,
    ) -> ApiResult<Json<crate::api::plans::SubscriptionDto>> {
        let body = body.0;
        let input = leadflow_subscriptions::TermsInput {
            plan: body.plan.as_str().to_owned(),
            status: body.status.map(|s| s.as_str().to_owned()),
            trial_ends_at: body.trial_ends_at,
        };
        let subscription = state
            .subscriptions
            .set_terms(&auth.0, leadflow_kernel::OrganizationId::from_uuid(id.0), input)
            .await?;
        Ok(Json(crate::api::plans::dto(subscription)))
    }

    /// Totals across every organization (super admin)
    #[oai(path = "/overview", method = "get", operation_id = "adminOverview")]
    async fn overview(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<OverviewDto>> {
        let o = state.organizations.overview(&auth.0).await?;
        Ok(Json(OverviewDto {
            organizations: OrganizationTotals {
                active: o.active_organizations,
                inactive: o.inactive_organizations,
                total: o.active_organizations + o.inactive_organizations,
            },
            total_users: o.total_users,
            total_memberships: o.total_memberships,
            pending_invitations: o.pending_invitations,
            active_api_keys: o.active_api_keys,
            total_teams: o.total_teams,
            leads_by_status: o.leads_by_status,
            organizations_per_plan: o.organizations_per_plan,
            workflows_by_status: o.workflows_by_status,
            top_organizations: o
                .top_organizations
                .into_iter()
                .map(|(id, name, leads)| TopOrganization { id: id.as_uuid(), name, leads })
                .collect(),
        }))
    }
}
