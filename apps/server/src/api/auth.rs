//! `/api/v1/auth`: registration, sign-in, sessions.

use crate::api::text::{Email, Line, Slug, Username};
use std::sync::Arc;

use leadflow_auth::{LoginInput, Me, OrganizationDraft, RegisterInput, Session};
use leadflow_kernel::OrganizationId;
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::NoContent;
use crate::api::dto::{OrganizationDto, RoleDto, TokensDto, UserDto};
use crate::problem::ApiResult;
use crate::security::{BearerAuth, BearerAuthAnyOrganization, client_ip};
use crate::state::AppState;

/// Operations of the Auth tag.
pub struct AuthApi;

/// The organization to create at registration.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct NewOrganizationBody {
    /// Unique slug: 3–63 characters of `[a-z0-9-]`, not starting or ending with `-`.
    #[oai(validator(min_length = 3, max_length = 63, custom = "crate::api::text::Conforms"))]
    pub name: Slug,
    /// Name shown to people (defaults to the slug).
    #[oai(nullable, validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub display_name: Option<Line>,
}

/// A registration.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct RegisterBody {
    /// Email, unique case-insensitively.
    #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Email,
    /// 10 to 256 characters.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 10, max_length = 256))]
    pub password: String,
    /// The person's name, 1–200 characters without control characters.
    #[oai(validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub name: Line,
    /// Optional unique handle, 3–32 characters of `[a-z0-9_.-]`.
    #[oai(nullable, validator(min_length = 3, max_length = 32, custom = "crate::api::text::Conforms"))]
    pub username: Option<Username>,
    /// Create this organization, owned by the new user.
    #[oai(nullable)]
    pub organization: Option<NewOrganizationBody>,
    /// Join the organization of this invitation (the email must be the invited one).
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 128))]
    pub invitation_token: Option<String>,
}

/// The result of a registration.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct RegisteredDto {
    /// The new user.
    pub user: UserDto,
    /// The organization created with them, if any.
    #[oai(nullable)]
    pub organization: Option<OrganizationDto>,
    /// Their role there.
    #[oai(nullable)]
    pub role: Option<RoleDto>,
    /// Their first session.
    pub tokens: TokensDto,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The user (and organization) were created and signed in.
    #[oai(status = 201)]
    Created(Json<RegisteredDto>),
}

/// Credentials.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct LoginBody {
    /// The account's email address (any case).
    #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Email,
    /// The account's password.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 10, max_length = 256))]
    pub password: String,
    /// The organization to act in (default: the oldest active membership).
    #[oai(nullable)]
    pub organization_id: Option<Uuid>,
}

/// A session: who, where, and the tokens.
#[derive(Object)]
#[oai(rename = "Session", rename_all = "camelCase")]
pub struct SessionDto {
    /// The user in question.
    pub user: UserDto,
    /// The organization the tokens act in (none for a user without one).
    #[oai(nullable)]
    pub organization_id: Option<Uuid>,
    /// The user's role there.
    #[oai(nullable)]
    pub role: Option<RoleDto>,
    /// The new access and refresh tokens.
    pub tokens: TokensDto,
}

impl From<Session> for SessionDto {
    fn from(s: Session) -> Self {
        Self {
            user: s.user.into(),
            organization_id: s.organization_id.map(|o| o.as_uuid()),
            role: s.role.map(Into::into),
            tokens: s.tokens.into(),
        }
    }
}

/// A refresh token.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct RefreshBody {
    /// The refresh token of a session.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(max_length = 128))]
    pub refresh_token: String,
}

/// One of the user's memberships.
#[derive(Object)]
#[oai(rename = "Membership", rename_all = "camelCase")]
pub struct MembershipDto {
    /// The organization the membership belongs to.
    pub organization_id: Uuid,
    /// The organization's slug (its unique name).
    pub name: String,
    /// Its display name.
    pub display_name: String,
    /// Whether it is active.
    pub is_active: bool,
    /// The user's role there.
    pub role: RoleDto,
    /// When the user joined.
    pub joined_at: chrono::DateTime<chrono::Utc>,
}

/// The signed-in user and what they may do.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct MeDto {
    /// The user in question.
    pub user: UserDto,
    /// The organization of the token.
    #[oai(nullable)]
    pub organization_id: Option<Uuid>,
    /// The current role there.
    #[oai(nullable)]
    pub role: Option<RoleDto>,
    /// Effective permissions (`resource:action`).
    pub permissions: Vec<String>,
    /// Every organization the user belongs to, with the role there.
    pub memberships: Vec<MembershipDto>,
}

impl From<Me> for MeDto {
    fn from(me: Me) -> Self {
        Self {
            user: me.user.into(),
            organization_id: me.organization_id.map(|o| o.as_uuid()),
            role: me.role.map(Into::into),
            permissions: me.permissions.iter().map(|p| p.as_str().to_owned()).collect(),
            memberships: me
                .memberships
                .into_iter()
                .map(|m| MembershipDto {
                    organization_id: m.organization_id.as_uuid(),
                    name: m.organization_name,
                    display_name: m.organization_display_name,
                    is_active: m.organization_active,
                    role: m.role.into(),
                    joined_at: m.joined_at,
                })
                .collect(),
        }
    }
}

/// The organization to switch to.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SwitchOrganizationBody {
    /// One of the user's organizations (any, for a super admin).
    pub organization_id: Uuid,
}

/// A password change.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ChangePasswordBody {
    /// The password in use.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(max_length = 256))]
    pub current_password: String,
    /// The new password, 10 to 256 characters.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 10, max_length = 256))]
    pub new_password: String,
}

/// A password reset request.
#[derive(Object)]
pub struct PasswordResetRequestBody {
    /// The account's email address.
    #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Email,
}

/// A new password, with the token of a reset link.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct PasswordResetConfirmBody {
    /// The token from the reset link (`{appUrl}/reset-password?token=…`).
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 1, max_length = 256))]
    pub token: String,
    /// The new password, 10 to 256 characters.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 10, max_length = 256))]
    pub new_password: String,
}

/// The token of a verification link.
#[derive(Object)]
pub struct VerifyEmailBody {
    /// The token from the verification link (`{appUrl}/verify-email?token=…`).
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 1, max_length = 256))]
    pub token: String,
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted; an email follows when it applies.
    #[oai(status = 202)]
    Accepted,
}

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Ask for a password reset link by email
    ///
    /// Always 202, whether or not an account has this address (no account
    /// enumeration); the link works once, for one hour. Throttled per client address.
    #[oai(path = "/password-reset/request", method = "post", operation_id = "requestPasswordReset")]
    async fn request_password_reset(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: Json<PasswordResetRequestBody>,
    ) -> ApiResult<Accepted> {
        state.recovery.request_password_reset(&body.0.email, client_ip(req).as_deref()).await?;
        Ok(Accepted::Accepted)
    }

    /// Set a new password with the token of a reset link
    ///
    /// Every session of the account ends (sign in again). 400 when the token is
    /// invalid, expired or used.
    #[oai(path = "/password-reset/confirm", method = "post", operation_id = "confirmPasswordReset")]
    async fn confirm_password_reset(
        &self,
        state: Data<&Arc<AppState>>,
        body: Json<PasswordResetConfirmBody>,
    ) -> ApiResult<NoContent> {
        state.recovery.confirm_password_reset(&body.0.token, &body.0.new_password).await?;
        Ok(NoContent::Done)
    }

    /// Verify one's email address with the token of a verification link
    ///
    /// Sets the user's `emailVerifiedAt`. 400 when the token is invalid, expired or used.
    #[oai(path = "/verify-email", method = "post", operation_id = "verifyEmail")]
    async fn verify_email(
        &self,
        state: Data<&Arc<AppState>>,
        body: Json<VerifyEmailBody>,
    ) -> ApiResult<NoContent> {
        state.recovery.verify_email(&body.0.token).await?;
        Ok(NoContent::Done)
    }

    /// Send a new verification link to the signed-in user
    ///
    /// The previous link stops working. 409 when the address is verified already.
    #[oai(path = "/verify-email/resend", method = "post", operation_id = "resendVerificationEmail")]
    async fn resend_verification(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuthAnyOrganization,
    ) -> ApiResult<Accepted> {
        state.recovery.resend_verification(&auth.0).await?;
        Ok(Accepted::Accepted)
    }

    /// Register a user, optionally creating their organization
    ///
    /// With `organization`, the organization is created in the same
    /// transaction and the user becomes its owner. Answers with a session.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: Json<RegisterBody>,
    ) -> ApiResult<RegisterResponse> {
        let body = body.0;
        let input = RegisterInput {
            email: body.email.into(),
            password: body.password,
            name: body.name.into(),
            username: body.username.map(String::from),
            organization: body.organization.map(|o| OrganizationDraft {
                name: o.name.into(),
                display_name: o.display_name.map(String::from),
            }),
            invitation_token: body.invitation_token,
            ip: client_ip(req),
        };
        let session = state.auth.register(input).await?.session;
        let organization = match session.organization_id {
            Some(id) => {
                let actor = state.auth.authenticate(&session.tokens.access_token, false).await?;
                Some(state.organizations.get(&actor, id).await?.into())
            }
            None => None,
        };
        Ok(RegisterResponse::Created(Json(RegisteredDto {
            user: session.user.into(),
            organization,
            role: session.role.map(Into::into),
            tokens: session.tokens.into(),
        })))
    }

    /// Sign in
    ///
    /// Wrong email and wrong password answer the same 401. After 5 failures for
    /// an account, or 20 from one address, within 15 minutes, attempts get 429
    /// with `Retry-After` until the window passes, even with the right password.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: Json<LoginBody>,
    ) -> ApiResult<Json<SessionDto>> {
        let body = body.0;
        let input = LoginInput {
            email: body.email.into(),
            password: body.password,
            organization_id: body.organization_id.map(OrganizationId::from_uuid),
            ip: client_ip(req),
        };
        Ok(Json(state.auth.login(input).await?.into()))
    }

    /// Exchange a refresh token for a new token pair
    ///
    /// The presented token dies. Presenting a used token again revokes every
    /// token of its session (theft detection).
    #[oai(path = "/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(
        &self,
        state: Data<&Arc<AppState>>,
        body: Json<RefreshBody>,
    ) -> ApiResult<Json<SessionDto>> {
        Ok(Json(state.auth.refresh(&body.0.refresh_token).await?.into()))
    }

    /// Sign out
    ///
    /// Revokes the session of the refresh token. Idempotent: an unknown token also answers 204.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, state: Data<&Arc<AppState>>, body: Json<RefreshBody>) -> ApiResult<NoContent> {
        state.auth.logout(&body.0.refresh_token).await?;
        Ok(NoContent::Done)
    }

    /// The signed-in user, their role, permissions and memberships
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<MeDto>> {
        Ok(Json(state.auth.me(&auth.0).await?.into()))
    }

    /// Act in another organization
    ///
    /// Returns new tokens for one of the user's organizations (a super admin
    /// may enter any). Accepted even from a deactivated organization's token.
    #[oai(path = "/switch-organization", method = "post", operation_id = "switchOrganization")]
    async fn switch_organization(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuthAnyOrganization,
        body: Json<SwitchOrganizationBody>,
    ) -> ApiResult<Json<SessionDto>> {
        let target = OrganizationId::from_uuid(body.0.organization_id);
        Ok(Json(state.auth.switch_organization(&auth.0, target).await?.into()))
    }

    /// Change one's password
    ///
    /// Every refresh token of the user is revoked; access tokens expire on their own.
    #[oai(path = "/change-password", method = "post", operation_id = "changePassword")]
    async fn change_password(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<ChangePasswordBody>,
    ) -> ApiResult<NoContent> {
        state.auth.change_password(&auth.0, &body.0.current_password, &body.0.new_password).await?;
        Ok(NoContent::Done)
    }
}
