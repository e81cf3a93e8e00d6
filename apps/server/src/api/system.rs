//! Liveness and readiness.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::api::ApiTags;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Operations of the System tag.
pub struct SystemApi;

/// How the process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "HealthStatus", rename_all = "lowercase")]
pub enum HealthStatus {
    /// The process answers (`/health`).
    Ok,
    /// The process answers and its database does (`/ready`).
    Ready,
}

/// A health answer.
#[derive(Object)]
pub struct HealthDto {
    /// `ok` from `/health`, `ready` from `/ready`.
    pub status: HealthStatus,
}

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// Liveness: the process answers.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> ApiResult<Json<HealthDto>> {
        Ok(Json(HealthDto { status: HealthStatus::Ok }))
    }

    /// Readiness: the database answers (503 otherwise).
    #[oai(path = "/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, state: Data<&Arc<AppState>>) -> ApiResult<Json<HealthDto>> {
        if state.storage.is_reachable().await {
            Ok(Json(HealthDto { status: HealthStatus::Ready }))
        } else {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The database does not answer."))
        }
    }
}
