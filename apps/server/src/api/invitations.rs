//! `/api/v1/invitations`: bringing people in by email.

use crate::api::text::Email;
use std::sync::Arc;

use leadflow_auth::invitations::{Invitation, InvitationStatus};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::RoleDto;
use crate::api::members::role_of;
use crate::problem::ApiResult;
use crate::security::{BearerAuth, TenantAuth};
use crate::state::AppState;

/// Operations of the Invitations tag.
pub struct InvitationsApi;

/// The state of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum InvitationStatusDto {
    /// Waiting for an answer.
    Pending,
    /// Accepted.
    Accepted,
    /// Revoked or replaced.
    Revoked,
    /// Not accepted within 7 days.
    Expired,
}

impl From<InvitationStatus> for InvitationStatusDto {
    fn from(s: InvitationStatus) -> Self {
        match s {
            InvitationStatus::Pending => Self::Pending,
            InvitationStatus::Accepted => Self::Accepted,
            InvitationStatus::Revoked => Self::Revoked,
            InvitationStatus::Expired => Self::Expired,
        }
    }
}

impl From<InvitationStatusDto> for InvitationStatus {
    fn from(s: InvitationStatusDto) -> Self {
        match s {
            InvitationStatusDto::Pending => Self::Pending,
            InvitationStatusDto::Accepted => Self::Accepted,
            InvitationStatusDto::Revoked => Self::Revoked,
            InvitationStatusDto::Expired => Self::Expired,
        }
    }
}

/// An invitation (never its token).
#[derive(Object)]
#[oai(rename = "Invitation", rename_all = "camelCase")]
pub struct InvitationDto {
    /// The invitation's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The organization the invitation belongs to.
    pub organization_id: Uuid,
    /// Who is invited.
    pub email: String,
    /// The role they will have.
    pub role: RoleDto,
    /// Its state now.
    pub status: InvitationStatusDto,
    /// The user who sent the invitation.
    #[oai(nullable)]
    pub invited_by: Option<Uuid>,
    /// When it expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// When it was accepted.
    #[oai(nullable)]
    pub accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn dto(i: Invitation) -> InvitationDto {
    InvitationDto {
        id: i.id.as_uuid(),
        organization_id: i.organization_id.as_uuid(),
        email: i.email.as_ref().to_owned(),
        role: i.role.into(),
        status: i.status(chrono::Utc::now()).into(),
        invited_by: i.invited_by.map(|u| u.as_uuid()),
        expires_at: i.expires_at,
        accepted_at: i.accepted_at,
        created_at: i.created_at,
    }
}

/// A new invitation.
#[derive(Object)]
pub struct CreateInvitationBody {
    /// The invitee's email.
    #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Email,
    /// The role they will have (only an owner invites owners).
    pub role: RoleDto,
}

/// A created invitation and its token, shown only in this response (it is
/// also sent in the invitation email).
#[derive(Object)]
pub struct CreatedInvitationDto {
    /// The invitation, as listed from now on.
    pub invitation: InvitationDto,
    /// The token, for `POST /invitations/accept` or registration.
    pub token: String,
}

/// Invitations.
#[derive(Object)]
pub struct InvitationList {
    /// The items of this page, newest first.
    pub data: Vec<InvitationDto>,
}

/// An invitation token to accept.
#[derive(Object)]
pub struct AcceptInvitationBody {
    /// The token from the invitation email.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(max_length = 128))]
    pub token: String,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Invited; the email is queued. A pending invitation of the same address is replaced.
    #[oai(status = 201)]
    Created(Json<CreatedInvitationDto>),
}

#[derive(ApiResponse)]
enum RevokeResponse {
    /// Revoked.
    #[oai(status = 204)]
    Revoked,
}

#[OpenApi(prefix_path = "/api/v1/invitations", tag = "ApiTags::Invitations")]
impl InvitationsApi {
    /// Invite someone by email (`users:manage`)
    ///
    /// The invitation lives 7 days. Its token is returned here once and sent
    /// in the invitation email; only its hash is stored.
    #[oai(path = "/", method = "post", operation_id = "createInvitation")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        body: Json<CreateInvitationBody>,
    ) -> ApiResult<CreateResponse> {
        let (invitation, token) =
            state.invitations.create(auth.actor(), &body.0.email, role_of(body.0.role)).await?;
        Ok(CreateResponse::Created(Json(CreatedInvitationDto { invitation: dto(invitation), token })))
    }

    /// List invitations (`users:manage`)
    #[oai(path = "/", method = "get", operation_id = "listInvitations")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        /// Only invitations in this state.
        status: Query<Option<InvitationStatusDto>>,
    ) -> ApiResult<Json<InvitationList>> {
        let all = state.invitations.list(auth.actor(), status.0.map(Into::into)).await?;
        Ok(Json(InvitationList { data: all.into_iter().map(dto).collect() }))
    }

    /// Revoke a pending invitation (`users:manage`)
    #[oai(path = "/:id", method = "delete", operation_id = "revokeInvitation")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<RevokeResponse> {
        state.invitations.revoke(auth.actor(), leadflow_kernel::InvitationId::from_uuid(id.0)).await?;
        Ok(RevokeResponse::Revoked)
    }

    /// Accept an invitation as the signed-in user
    ///
    /// The user's email must be the invited one. Used, revoked and expired
    /// invitations answer 409. Then `POST /auth/switch-organization` acts there.
    #[oai(path = "/accept", method = "post", operation_id = "acceptInvitation")]
    async fn accept(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<AcceptInvitationBody>,
    ) -> ApiResult<Json<InvitationDto>> {
        Ok(Json(dto(state.invitations.accept(&auth.0, &body.0.token).await?)))
    }
}
