//! Security schemes: how a request proves who it is.
//!
//! `bearerAuth` is a JWT access token of a signed-in user; `apiKey` is an
//! organization's API key in `X-Api-Key`. Operations that accept both say so
//! in the OpenAPI document. Either way the result is an [`Actor`] carrying
//! the client's address for the audit log.

use std::sync::Arc;

use leadflow_kernel::Actor;
use poem::http::StatusCode;
use poem::{Request, RequestBody};
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};

use crate::problem::ApiError;
use crate::state::AppState;

/// A JWT access token in `Authorization: Bearer …`, resolved to the acting
/// [`Actor`] with its current role. A deactivated organization's token is
/// refused with 403 `org_inactive`.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", bearer_format = "JWT", checker = "active_actor")]
pub struct BearerToken(pub Actor);

/// A signed-in user's [`BearerToken`], for the operations that only people
/// may call. A valid API key sent instead is a credential without the right
/// (403), not a missing one (401).
pub struct BearerAuth(pub Actor);

impl<'a> ApiExtractor<'a> for BearerAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        BearerToken::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        BearerToken::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        refuse_api_key(req, body, param_opts.clone()).await?;
        BearerToken::from_request(req, body, param_opts).await.map(|token| Self(token.0))
    }
}

/// Like [`BearerToken`], but a deactivated organization's token is accepted, so
/// its members can switch to another organization.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", bearer_format = "JWT", checker = "any_actor")]
pub struct BearerTokenAnyOrganization(pub Actor);

/// [`BearerTokenAnyOrganization`] for the operations only people may call
/// (a valid API key is refused with 403, as for [`BearerAuth`]).
pub struct BearerAuthAnyOrganization(pub Actor);

/// Refuses a valid API key sent to an operation for signed-in users (403);
/// an invalid one is 401. `Ok(())` when no key is sent instead of a token.
async fn refuse_api_key(
    req: &Request,
    body: &mut RequestBody,
    param_opts: ExtractParamOptions<()>,
) -> poem::Result<()> {
    if !req.headers().contains_key("authorization") && req.headers().contains_key("x-api-key") {
        ApiKeyAuth::from_request(req, body, param_opts).await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "This operation is for signed-in users (Authorization: Bearer <access token>); API keys cannot call it.",
        )
        .into());
    }
    Ok(())
}

impl<'a> ApiExtractor<'a> for BearerAuthAnyOrganization {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        BearerTokenAnyOrganization::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        BearerTokenAnyOrganization::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        refuse_api_key(req, body, param_opts.clone()).await?;
        BearerTokenAnyOrganization::from_request(req, body, param_opts).await.map(|token| Self(token.0))
    }
}

/// An organization's API key in `X-Api-Key` (`lf_<prefix>_<secret>`), acting
/// with exactly its scopes.
#[derive(SecurityScheme)]
#[oai(rename = "apiKey", ty = "api_key", key_name = "X-Api-Key", key_in = "header", checker = "key_actor")]
pub struct ApiKeyAuth(pub Actor);

/// A signed-in user or an API key. Which one is decided by the headers sent:
/// with `X-Api-Key` the key is checked, otherwise the bearer token, so the
/// answer (401, or 403 `org_inactive`) is about the credential the client sent.
pub enum TenantAuth {
    /// A user's access token.
    Bearer(BearerToken),
    /// An API key.
    ApiKey(ApiKeyAuth),
}

impl<'a> ApiExtractor<'a> for TenantAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        BearerToken::register(registry);
        ApiKeyAuth::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        let mut schemes = BearerToken::security_schemes();
        schemes.extend(ApiKeyAuth::security_schemes());
        schemes
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if req.headers().contains_key("x-api-key") {
            ApiKeyAuth::from_request(req, body, param_opts).await.map(Self::ApiKey)
        } else {
            BearerToken::from_request(req, body, param_opts).await.map(Self::Bearer)
        }
    }
}

impl TenantAuth {
    /// The acting [`Actor`], whichever way it authenticated.
    #[must_use]
    pub fn actor(&self) -> &Actor {
        match self {
            Self::Bearer(b) => &b.0,
            Self::ApiKey(k) => &k.0,
        }
    }
}

/// The client's address: the TCP peer's, unless the peer is a trusted proxy
/// (`LEADFLOW_TRUSTED_PROXIES`); then the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy. A client cannot
/// choose its address by sending the header to the server directly.
#[must_use]
pub fn client_ip(req: &Request) -> Option<String> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip())?;
    let trusted: &[ipnet::IpNet] = req.data::<Arc<AppState>>().map_or(&[], |s| &s.trusted_proxies);
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer.to_string());
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    let client = forwarded.iter().rev().find(|ip| !is_trusted(ip)).or(forwarded.first()).unwrap_or(&peer);
    Some(client.to_string())
}

fn state(req: &Request) -> poem::Result<&Arc<AppState>> {
    req.data::<Arc<AppState>>()
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "application state missing").into())
}

async fn active_actor(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let actor = state(req)?.auth.authenticate(&bearer.token, false).await.map_err(ApiError::from)?;
    Ok(actor.with_ip(client_ip(req)))
}

async fn any_actor(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let actor = state(req)?.auth.authenticate(&bearer.token, true).await.map_err(ApiError::from)?;
    Ok(actor.with_ip(client_ip(req)))
}

async fn key_actor(req: &Request, key: ApiKey) -> poem::Result<Actor> {
    let actor = state(req)?.api_keys.authenticate(&key.key).await.map_err(ApiError::from)?;
    Ok(actor.with_ip(client_ip(req)))
}
