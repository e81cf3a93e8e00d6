//! `/api/v1/teams`: groups of members with an optional leader.

use crate::api::text::Line;
use std::sync::Arc;

use leadflow_kernel::UserId;
use leadflow_organizations::teams::{Team, TeamChanges, TeamId, TeamInput, TeamMember};
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::NoContent;
use crate::api::dto::{etag, if_match, maybe};
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// A team with its members and its version.
#[derive(ApiResponse)]
pub enum TeamDetailResponse {
    /// The team.
    #[oai(status = 200)]
    Ok(Json<TeamDetailDto>, #[oai(header = "ETag")] String),
}

/// A team with its version.
#[derive(ApiResponse)]
pub enum TeamResponse {
    /// The team.
    #[oai(status = 200)]
    Ok(Json<TeamDto>, #[oai(header = "ETag")] String),
}

/// Operations of the Teams tag.
pub struct TeamsApi;

/// A team.
#[derive(Object)]
#[oai(rename = "Team", rename_all = "camelCase")]
pub struct TeamDto {
    /// The team's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// Name, unique in the organization.
    pub name: String,
    /// What the team is for, if anyone said.
    #[oai(nullable)]
    pub description: Option<String>,
    /// Leader (sees the leads assigned to the team's members).
    #[oai(nullable)]
    pub leader_id: Option<Uuid>,
    /// When the team was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the team last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Team> for TeamDto {
    fn from(t: Team) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name,
            description: t.description,
            leader_id: t.leader_id.map(|u| u.as_uuid()),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A member of a team.
#[derive(Object)]
#[oai(rename = "TeamMember", rename_all = "camelCase")]
pub struct TeamMemberDto {
    /// The user in question.
    pub user_id: Uuid,
    /// The person's email address.
    pub email: String,
    /// The person's name.
    pub name: String,
    /// When they were added.
    pub added_at: chrono::DateTime<chrono::Utc>,
}

impl From<TeamMember> for TeamMemberDto {
    fn from(m: TeamMember) -> Self {
        Self { user_id: m.user_id.as_uuid(), email: m.email, name: m.name, added_at: m.added_at }
    }
}

/// A team with its members.
#[derive(Object)]
pub struct TeamDetailDto {
    /// The team.
    #[oai(flatten)]
    pub team: TeamDto,
    /// The team's members, by name.
    pub members: Vec<TeamMemberDto>,
}

/// Teams.
#[derive(Object)]
pub struct TeamList {
    /// Every team, sorted by name.
    pub data: Vec<TeamDto>,
}

/// A new team.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateTeamBody {
    /// Name, 1–100 characters without control characters, unique in the organization.
    #[oai(validator(max_length = 100, custom = "crate::api::text::Conforms"))]
    pub name: Line,
    /// Description, at most 1000 characters.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 1000))]
    pub description: Option<String>,
    /// Leader, a member of the organization.
    #[oai(nullable)]
    pub leader_id: Option<Uuid>,
}

/// Changes to a team; `null` clears `description` or `leaderId`.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct UpdateTeamBody {
    /// New name, 1–100 characters without control characters.
    #[oai(nullable, validator(max_length = 100, custom = "crate::api::text::Conforms"))]
    pub name: Option<Line>,
    /// New description, or `null`.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 1000))]
    pub description: MaybeUndefined<String>,
    /// New leader, or `null`.
    #[oai(nullable)]
    pub leader_id: MaybeUndefined<Uuid>,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<TeamDto>),
}

#[OpenApi(prefix_path = "/api/v1/teams", tag = "ApiTags::Teams")]
impl TeamsApi {
    /// List teams
    ///
    /// Any member may read teams; an API key needs `settings:manage`.
    #[oai(path = "/", method = "get", operation_id = "listTeams")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<TeamList>> {
        Ok(Json(TeamList {
            data: state.teams.list(auth.actor()).await?.into_iter().map(Into::into).collect(),
        }))
    }

    /// Create a team (`settings:manage`)
    #[oai(path = "/", method = "post", operation_id = "createTeam")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        body: Json<CreateTeamBody>,
    ) -> ApiResult<CreateResponse> {
        let body = body.0;
        let input = TeamInput {
            name: body.name.into(),
            description: body.description,
            leader_id: body.leader_id.map(UserId::from_uuid),
        };
        Ok(CreateResponse::Created(Json(state.teams.create(auth.actor(), input).await?.into())))
    }

    /// Get a team with its members
    ///
    /// The `ETag` names this version of the team, for `If-Match` on a later `PATCH`.
    #[oai(path = "/:id", method = "get", operation_id = "getTeam")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<TeamDetailResponse> {
        let (team, members) = state.teams.get(auth.actor(), TeamId::from_uuid(id.0)).await?;
        let tag = etag(team.updated_at);
        let detail =
            TeamDetailDto { team: team.into(), members: members.into_iter().map(Into::into).collect() };
        Ok(TeamDetailResponse::Ok(Json(detail), tag))
    }

    /// Update a team (`settings:manage`)
    ///
    /// Only the fields sent change; with `If-Match: <ETag>` the change applies
    /// only to that version (412 otherwise).
    #[oai(path = "/:id", method = "patch", operation_id = "updateTeam")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// The `ETag` of the version this change is meant for.
        #[oai(name = "If-Match")]
        version: Header<Option<String>>,
        body: Json<UpdateTeamBody>,
    ) -> ApiResult<TeamResponse> {
        let if_version = if_match(version.0.as_deref())?;
        let body = body.0;
        let changes = TeamChanges {
            name: body.name.map(String::from),
            description: maybe(body.description),
            leader_id: maybe(body.leader_id).map(|l| l.map(UserId::from_uuid)),
        };
        let team = state.teams.update(auth.actor(), TeamId::from_uuid(id.0), changes, if_version).await?;
        let tag = etag(team.updated_at);
        Ok(TeamResponse::Ok(Json(team.into()), tag))
    }

    /// Delete a team (`settings:manage`); its members stay in the organization
    #[oai(path = "/:id", method = "delete", operation_id = "deleteTeam")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        state.teams.delete(auth.actor(), TeamId::from_uuid(id.0)).await?;
        Ok(NoContent::Done)
    }

    /// Add a member of the organization to a team (`settings:manage`; idempotent)
    #[oai(path = "/:id/members/:userId", method = "put", operation_id = "addTeamMember")]
    async fn add_member(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "userId")] user_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        state.teams.add_member(auth.actor(), TeamId::from_uuid(id.0), UserId::from_uuid(user_id.0)).await?;
        Ok(NoContent::Done)
    }

    /// Take a user out of a team (`settings:manage`; idempotent)
    #[oai(path = "/:id/members/:userId", method = "delete", operation_id = "removeTeamMember")]
    async fn remove_member(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "userId")] user_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        state
            .teams
            .remove_member(auth.actor(), TeamId::from_uuid(id.0), UserId::from_uuid(user_id.0))
            .await?;
        Ok(NoContent::Done)
    }
}
