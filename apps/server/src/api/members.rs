//! `/api/v1/members`: the people of the caller's organization.

use std::sync::Arc;

use leadflow_auth::members::Member;
use leadflow_kernel::{Role, UserId};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::RoleDto;
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// Operations of the Members tag.
pub struct MembersApi;

/// A member of the organization.
#[derive(Object)]
#[oai(rename = "Member", rename_all = "camelCase")]
pub struct MemberDto {
    /// The user in question.
    pub user_id: Uuid,
    /// The person's email address.
    pub email: String,
    /// The person's name.
    pub name: String,
    /// The person's role in the organization.
    pub role: RoleDto,
    /// When they joined.
    pub joined_at: chrono::DateTime<chrono::Utc>,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id.as_uuid(),
            email: m.email,
            name: m.name,
            role: m.role.into(),
            joined_at: m.joined_at,
        }
    }
}

/// The members.
#[derive(Object)]
pub struct MemberList {
    /// Every item, oldest first.
    pub data: Vec<MemberDto>,
}

/// A role change.
#[derive(Object)]
pub struct ChangeRoleBody {
    /// The new role.
    pub role: RoleDto,
}

#[derive(ApiResponse)]
enum RemoveResponse {
    /// The member was removed (or left).
    #[oai(status = 204)]
    Removed,
}

/// The domain role of an API role.
#[must_use]
pub fn role_of(dto: RoleDto) -> Role {
    match dto {
        RoleDto::Owner => Role::Owner,
        RoleDto::Admin => Role::Admin,
        RoleDto::Manager => Role::Manager,
        RoleDto::Member => Role::Member,
    }
}

#[OpenApi(prefix_path = "/api/v1/members", tag = "ApiTags::Members")]
impl MembersApi {
    /// List the organization's members
    ///
    /// Any member may list them; an API key needs `users:manage`.
    #[oai(path = "/", method = "get", operation_id = "listMembers")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<MemberList>> {
        let members = state.members.list(auth.actor()).await?;
        Ok(Json(MemberList { data: members.into_iter().map(Into::into).collect() }))
    }

    /// Change a member's role (`users:manage`)
    ///
    /// Only an owner grants or takes away `owner`; the last owner cannot be demoted (409).
    #[oai(path = "/:userId", method = "patch", operation_id = "changeMemberRole")]
    async fn change_role(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        #[oai(name = "userId")] user_id: Path<Uuid>,
        body: Json<ChangeRoleBody>,
    ) -> ApiResult<Json<MemberDto>> {
        let member = state
            .members
            .change_role(auth.actor(), UserId::from_uuid(user_id.0), role_of(body.0.role))
            .await?;
        Ok(Json(member.into()))
    }

    /// Remove a member, or leave (`users:manage` unless removing oneself)
    ///
    /// Only an owner removes an owner; the last owner can neither be removed
    /// nor leave (409). The member's sessions in the organization end.
    #[oai(path = "/:userId", method = "delete", operation_id = "removeMember")]
    async fn remove(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        #[oai(name = "userId")] user_id: Path<Uuid>,
    ) -> ApiResult<RemoveResponse> {
        state.members.remove(auth.actor(), UserId::from_uuid(user_id.0)).await?;
        Ok(RemoveResponse::Removed)
    }
}
