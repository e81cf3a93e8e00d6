//! `/api/v1/api-keys`: credentials for machines.

use crate::api::text::NonBlank;
use std::sync::Arc;

use leadflow_auth::api_keys::{ApiKey, ApiKeyInput};
use leadflow_kernel::ApiKeyId;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::problem::ApiResult;
use crate::security::BearerAuth;
use crate::state::AppState;

/// Operations of the API keys tag.
pub struct ApiKeysApi;

/// An API key (never its secret).
#[derive(Object)]
#[oai(rename = "ApiKey", rename_all = "camelCase")]
pub struct ApiKeyDto {
    /// The API key's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The API key's name, as shown to people.
    pub name: String,
    /// Public prefix: the key reads `lf_<prefix>_<secret>`.
    pub prefix: String,
    /// Permissions the key acts with.
    pub scopes: Vec<crate::api::dto::PermissionDto>,
    /// When it stops working (`null`: never).
    #[oai(nullable)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Last use, to the minute.
    #[oai(nullable)]
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was revoked (`null` while it works).
    #[oai(nullable)]
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The user who created it (`null` once that user is deleted).
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When the API key was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn dto(k: ApiKey) -> ApiKeyDto {
    ApiKeyDto {
        id: k.id.as_uuid(),
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes.iter().map(Into::into).collect(),
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
        created_by: k.created_by.map(|u| u.as_uuid()),
        created_at: k.created_at,
    }
}

/// A new key.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateApiKeyBody {
    /// A name for people, 1–100 characters.
    #[oai(validator(min_length = 1, max_length = 100, custom = "crate::api::text::Conforms"))]
    pub name: NonBlank,
    /// Permissions (`resource:action`), at least one, each one the creator holds.
    #[oai(validator(min_items = 1, max_items = 17))]
    pub scopes: Vec<crate::api::dto::PermissionDto>,
    /// Optional expiry, in the future.
    #[oai(nullable)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A key with its full secret, shown only in this response.
#[derive(Object)]
pub struct ApiKeyWithSecretDto {
    /// The API key, as listed from now on.
    #[oai(rename = "apiKey")]
    pub api_key: ApiKeyDto,
    /// The full key, `lf_<prefix>_<secret>`, for the `X-Api-Key` header.
    pub secret: String,
}

/// API keys.
#[derive(Object)]
pub struct ApiKeyList {
    /// The items of this page, newest first.
    pub data: Vec<ApiKeyDto>,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Created; the secret is in this response only.
    #[oai(status = 201)]
    Created(Json<ApiKeyWithSecretDto>),
}

#[derive(ApiResponse)]
enum RevokeResponse {
    /// Revoked (or already was).
    #[oai(status = 204)]
    Revoked,
}

#[OpenApi(prefix_path = "/api/v1/api-keys", tag = "ApiTags::ApiKeys")]
impl ApiKeysApi {
    /// Create an API key (`api_keys:manage`)
    ///
    /// Signed-in users only: a key cannot create keys.
    #[oai(path = "/", method = "post", operation_id = "createApiKey")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CreateApiKeyBody>,
    ) -> ApiResult<CreateResponse> {
        let body = body.0;
        let input = ApiKeyInput {
            name: body.name.into(),
            scopes: body.scopes.iter().map(|p| p.as_str().to_owned()).collect(),
            expires_at: body.expires_at,
        };
        let (key, secret) = state.api_keys.create(&auth.0, input).await?;
        Ok(CreateResponse::Created(Json(ApiKeyWithSecretDto { api_key: dto(key), secret })))
    }

    /// List API keys (`api_keys:manage`)
    #[oai(path = "/", method = "get", operation_id = "listApiKeys")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<ApiKeyList>> {
        Ok(Json(ApiKeyList { data: state.api_keys.list(&auth.0).await?.into_iter().map(dto).collect() }))
    }

    /// Revoke an API key (`api_keys:manage`)
    #[oai(path = "/:id", method = "delete", operation_id = "revokeApiKey")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<RevokeResponse> {
        state.api_keys.revoke(&auth.0, ApiKeyId::from_uuid(id.0)).await?;
        Ok(RevokeResponse::Revoked)
    }

    /// Rotate an API key (`api_keys:manage`)
    ///
    /// A new prefix and secret; the old key stops working at once.
    #[oai(path = "/:id/rotate", method = "post", operation_id = "rotateApiKey")]
    async fn rotate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ApiKeyWithSecretDto>> {
        let (key, secret) = state.api_keys.rotate(&auth.0, ApiKeyId::from_uuid(id.0)).await?;
        Ok(Json(ApiKeyWithSecretDto { api_key: dto(key), secret }))
    }
}
