//! `/api/v1/admin`: platform-wide views for the super admin.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::api::ApiTags;
use crate::problem::ApiResult;
use crate::security::BearerAuth;
use crate::state::AppState;

/// Operations of the Admin tag.
pub struct AdminApi;

/// Organizations by state.
#[derive(Object)]
pub struct OrganizationTotals {
    /// Active organizations.
    pub active: u64,
    /// Deactivated organizations.
    pub inactive: u64,
    /// All organizations.
    pub total: u64,
}

/// Totals across every organization.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct OverviewDto {
    /// Organizations.
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
    /// Its id.
    pub id: uuid::Uuid,
    /// Its slug.
    pub name: String,
    /// Its leads.
    pub leads: u64,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "ApiTags::Admin")]
impl AdminApi {
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
