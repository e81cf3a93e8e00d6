//! Security schemes: how a request proves who it is.

use std::sync::Arc;

use leadflow_kernel::Actor;
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::problem::ApiError;
use crate::state::AppState;

/// A JWT access token in `Authorization: Bearer …`, resolved to the acting
/// [`Actor`] with its current role. A deactivated organization's token is
/// refused with 403 `org_inactive`.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", bearer_format = "JWT", checker = "active_actor")]
pub struct BearerAuth(pub Actor);

/// Like [`BearerAuth`], but a deactivated organization's token is accepted, so
/// its members can switch to another organization.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", bearer_format = "JWT", checker = "any_actor")]
pub struct BearerAuthAnyOrganization(pub Actor);

fn state(req: &Request) -> poem::Result<&Arc<AppState>> {
    req.data::<Arc<AppState>>()
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "application state missing").into())
}

async fn active_actor(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    Ok(state(req)?.auth.authenticate(&bearer.token, false).await.map_err(ApiError::from)?)
}

async fn any_actor(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    Ok(state(req)?.auth.authenticate(&bearer.token, true).await.map_err(ApiError::from)?)
}
