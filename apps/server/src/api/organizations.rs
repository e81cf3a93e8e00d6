//! `/api/v1/organizations`: the tenants.

use crate::api::text::{Email, Line, Phone, Slug};
use std::collections::BTreeMap;
use std::sync::Arc;

use leadflow_kernel::{OffsetPage, OrganizationId, ValidationErrors};
use leadflow_organizations::{OrganizationChanges, OrganizationFilter, OrganizationInput, OrganizationSort};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::{OffsetPagination, OrganizationDto, PlanDto, etag, if_match, maybe};
use crate::api::plans::UsageDto;
use crate::problem::ApiResult;
use crate::security::{BearerAuth, TenantAuth};
use crate::state::AppState;

/// An organization with its version.
#[derive(ApiResponse)]
pub enum VersionedOrganization {
    /// The organization.
    #[oai(status = 200)]
    Ok(Json<OrganizationDto>, #[oai(header = "ETag")] String),
}

impl From<leadflow_organizations::Organization> for VersionedOrganization {
    fn from(organization: leadflow_organizations::Organization) -> Self {
        let tag = etag(organization.updated_at);
        Self::Ok(Json(organization.into()), tag)
    }
}

/// Operations of the Organizations tag.
pub struct OrganizationsApi;

/// A new organization.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateOrganizationBody {
    /// Unique slug, `[a-z0-9-]`, 3–63 characters, not starting or ending with `-`.
    #[oai(validator(min_length = 3, max_length = 63, custom = "crate::api::text::Conforms"))]
    pub name: Slug,
    /// Name shown to people (defaults to the slug).
    #[oai(nullable, validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub display_name: Option<Line>,
    /// The contact email address.
    #[oai(nullable, validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Option<Email>,
    /// The contact phone number.
    #[oai(nullable, validator(max_length = 32, custom = "crate::api::text::Conforms"))]
    pub phone: Option<Phone>,
    /// Free-form settings object (at most 16 KiB as JSON).
    #[oai(nullable)]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
    /// The plan to start on (super admin only; default: a 14-day starter trial).
    #[oai(nullable)]
    pub plan: Option<PlanDto>,
}

/// Changes to an organization; absent fields stay as they are, `null` clears `email` or `phone`.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct UpdateOrganizationBody {
    /// The organization's new slug.
    #[oai(nullable, validator(min_length = 3, max_length = 63, custom = "crate::api::text::Conforms"))]
    pub name: Option<Slug>,
    /// New display name.
    #[oai(nullable, validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub display_name: Option<Line>,
    /// New contact email, or `null` to clear it.
    #[oai(nullable, validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: MaybeUndefined<Email>,
    /// New contact phone, or `null` to clear it.
    #[oai(nullable, validator(max_length = 32, custom = "crate::api::text::Conforms"))]
    pub phone: MaybeUndefined<Phone>,
    /// New settings (replaces the whole object).
    #[oai(nullable)]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

/// A page of organizations.
#[derive(Object)]
pub struct OrganizationPage {
    /// The organizations of this page.
    pub data: Vec<OrganizationDto>,
    /// Where this page sits.
    pub pagination: OffsetPagination,
}

/// Counts about an organization.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct OrganizationCounts {
    /// People who belong to the organization.
    pub total_members: u64,
    /// Members per role.
    pub members_by_role: BTreeMap<String, u64>,
    /// Invitations waiting for an answer.
    pub pending_invitations: u64,
    /// API keys neither revoked nor expired.
    pub active_api_keys: u64,
    /// Teams of the organization.
    pub total_teams: u64,
    /// Leads of the organization, all time.
    pub total_leads: u64,
    /// Leads per status.
    pub leads_by_status: BTreeMap<String, u64>,
    /// The plan and the current period's usage.
    #[oai(nullable)]
    pub usage: Option<UsageCounts>,
    /// Workflows of the organization, all time.
    pub total_workflows: u64,
    /// Workflows per status.
    pub workflows_by_status: BTreeMap<String, u64>,
}

/// The plan and the current period's usage of an organization.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct UsageCounts {
    /// The plan in force (`null` for a plan name outside today's catalogue).
    #[oai(nullable)]
    pub plan: Option<PlanDto>,
    /// Leads this period.
    pub leads: UsageDto,
    /// Members plus pending invitations.
    pub seats: UsageDto,
}

/// An organization with its counts.
#[derive(Object)]
pub struct OrganizationStatsDto {
    /// The organization the item belongs to.
    pub organization: OrganizationDto,
    /// Its members, keys, teams, leads and usage.
    pub stats: OrganizationCounts,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// The organization was created (the caller owns it unless a super admin).
    #[oai(status = 201)]
    Created(Json<OrganizationDto>),
}

/// How a list of organizations is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "OrganizationSort")]
pub enum OrganizationSortDto {
    /// Newest first (the default).
    #[oai(rename = "-createdAt")]
    CreatedDesc,
    /// Oldest first.
    #[oai(rename = "createdAt")]
    CreatedAsc,
    /// By slug, a to z.
    #[oai(rename = "name")]
    NameAsc,
    /// By slug, z to a.
    #[oai(rename = "-name")]
    NameDesc,
}

impl From<OrganizationSortDto> for OrganizationSort {
    fn from(s: OrganizationSortDto) -> Self {
        match s {
            OrganizationSortDto::CreatedDesc => Self::CreatedDesc,
            OrganizationSortDto::CreatedAsc => Self::CreatedAsc,
            OrganizationSortDto::NameAsc => Self::NameAsc,
            OrganizationSortDto::NameDesc => Self::NameDesc,
        }
    }
}

#[derive(ApiResponse)]
enum PurgeResponse {
    /// Deleted for good with all its data.
    #[oai(status = 204)]
    Purged,
}

/// The confirmation of a purge.
#[derive(Object)]
pub struct PurgeBody {
    /// The organization's name, repeated exactly: a purge cannot be undone.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 1, max_length = 100))]
    pub confirm: String,
}

fn map_value(map: BTreeMap<String, serde_json::Value>) -> serde_json::Value {
    serde_json::Value::Object(map.into_iter().collect())
}

#[OpenApi(prefix_path = "/api/v1/organizations", tag = "ApiTags::Organizations")]
impl OrganizationsApi {
    /// List organizations
    ///
    /// A super admin sees every organization; anyone else sees their own.
    /// `sort` is one of `createdAt`, `-createdAt` (default), `name`, `-name`.
    #[oai(path = "/", method = "get", operation_id = "listOrganizations")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(name = "isActive")] is_active: Query<Option<bool>>,
        /// Only organizations on this plan.
        tier: Query<Option<PlanDto>>,
        /// Case-insensitive part of the slug or display name.
        search: Query<Option<String>>,
        /// The order: `-createdAt` (newest first, the default), `createdAt`, `name` or `-name` (by slug).
        sort: Query<Option<OrganizationSortDto>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Items to skip, at most 1,000,000 (narrow the filters instead).
        #[oai(validator(maximum(value = "1000000")))]
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<OrganizationPage>> {
        let mut errors = ValidationErrors::new();
        let sort = Some(sort.0.map_or_else(OrganizationSort::default, Into::into));
        let page = errors.check("limit", OffsetPage::new(limit.0, offset.0).map_err(|e| e.to_string()));
        let (Some(sort), Some(page)) = (sort, page) else { return Err(errors.into()) };
        let filter = OrganizationFilter {
            is_active: is_active.0,
            tier: tier.0.map(|t| t.as_str().to_owned()),
            search: search.0,
            sort,
        };
        let result = state.organizations.list(&auth.0, filter, page).await?;
        let pagination = OffsetPagination::from(&result);
        Ok(Json(OrganizationPage { data: result.items.into_iter().map(Into::into).collect(), pagination }))
    }

    /// Create an organization
    ///
    /// A super admin creates it without an owner. Any other signed-in user may
    /// when self-service sign-up is on, and becomes its owner.
    #[oai(path = "/", method = "post", operation_id = "createOrganization")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CreateOrganizationBody>,
    ) -> ApiResult<CreateResponse> {
        let body = body.0;
        let input = OrganizationInput {
            name: body.name.into(),
            display_name: body.display_name.map(String::from),
            email: body.email.map(String::from),
            phone: body.phone.map(String::from),
            settings: body.settings.map(map_value),
            plan: body.plan.map(|p| p.as_str().to_owned()),
        };
        Ok(CreateResponse::Created(Json(state.organizations.create(&auth.0, input).await?.into())))
    }

    /// Get an organization
    ///
    /// The `ETag` names this version, for `If-Match` on a later `PATCH`.
    #[oai(path = "/:id", method = "get", operation_id = "getOrganization")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<VersionedOrganization> {
        let organization = state.organizations.get(auth.actor(), OrganizationId::from_uuid(id.0)).await?;
        Ok(VersionedOrganization::from(organization))
    }

    /// Update an organization (`settings:manage`)
    ///
    /// Only the fields sent change; a concurrent change to others is kept.
    /// With `If-Match: <ETag>` the change applies only to that version (412 otherwise).
    #[oai(path = "/:id", method = "patch", operation_id = "updateOrganization")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// The `ETag` of the version this change is meant for.
        #[oai(name = "If-Match")]
        version: Header<Option<String>>,
        body: Json<UpdateOrganizationBody>,
    ) -> ApiResult<VersionedOrganization> {
        let if_version = if_match(version.0.as_deref())?;
        let body = body.0;
        let changes = OrganizationChanges {
            name: body.name.map(String::from),
            display_name: body.display_name.map(String::from),
            email: maybe(body.email.map_value(String::from)),
            phone: maybe(body.phone.map_value(String::from)),
            settings: body.settings.map(map_value),
        };
        let organization = state
            .organizations
            .update(auth.actor(), OrganizationId::from_uuid(id.0), changes, if_version)
            .await?;
        Ok(VersionedOrganization::from(organization))
    }

    /// Deactivate an organization
    ///
    /// Needs `org:delete`. Its data is kept and its members' tokens get 403
    /// `org_inactive` until a super admin reactivates it. Answers the
    /// organization, now inactive. To delete it for good, see `purgeOrganization`.
    #[oai(path = "/:id", method = "delete", operation_id = "deactivateOrganization")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<OrganizationDto>> {
        let id = OrganizationId::from_uuid(id.0);
        Ok(Json(state.organizations.deactivate(&auth.0, id).await?.into()))
    }

    /// Delete an organization and all its data for good (super admin)
    ///
    /// `confirm` must repeat the organization's name. Every row of its data
    /// goes (members' accesses, keys, leads, workflows, audit entries); a
    /// platform-level audit entry `organization.deleted` records the purge.
    #[oai(path = "/:id/purge", method = "post", operation_id = "purgeOrganization")]
    async fn purge(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<PurgeBody>,
    ) -> ApiResult<PurgeResponse> {
        let id = OrganizationId::from_uuid(id.0);
        state.organizations.hard_delete(&auth.0, id, Some(body.0.confirm.as_str())).await?;
        Ok(PurgeResponse::Purged)
    }

    /// Reactivate an organization (super admin)
    #[oai(path = "/:id/activate", method = "post", operation_id = "activateOrganization")]
    async fn activate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<OrganizationDto>> {
        Ok(Json(state.organizations.activate(&auth.0, OrganizationId::from_uuid(id.0)).await?.into()))
    }

    /// An organization with its counts (`analytics:view_all`)
    #[oai(path = "/:id/stats", method = "get", operation_id = "getOrganizationStats")]
    async fn stats(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<OrganizationStatsDto>> {
        let (organization, stats) =
            state.organizations.stats(auth.actor(), OrganizationId::from_uuid(id.0)).await?;
        Ok(Json(OrganizationStatsDto {
            organization: organization.into(),
            stats: OrganizationCounts {
                total_members: stats.total_members,
                members_by_role: stats.members_by_role,
                pending_invitations: stats.pending_invitations,
                active_api_keys: stats.active_api_keys,
                total_teams: stats.total_teams,
                total_leads: stats.total_leads,
                total_workflows: stats.total_workflows,
                workflows_by_status: stats.workflows_by_status,
                leads_by_status: stats.leads_by_status,
                usage: stats.usage.map(|u| UsageCounts {
                    plan: PlanDto::parse(&u.plan),
                    leads: UsageDto {
                        used: u.leads_used,
                        limit: u.leads_limit,
                        remaining: u.leads_limit.map(|l| l.saturating_sub(u.leads_used)),
                    },
                    seats: UsageDto {
                        used: u.seats_used,
                        limit: u.seats_limit,
                        remaining: u.seats_limit.map(|l| l.saturating_sub(u.seats_used)),
                    },
                }),
            },
        }))
    }
}
