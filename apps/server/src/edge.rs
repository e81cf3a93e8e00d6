//! What every request passes through: a request id, a tracing span, the body
//! size limit, the refusal of NUL characters, panic capture, and the rule that every error is a problem
//! document — including poem's own (unknown route, wrong method, unparsable
//! body, missing credentials).

use std::time::Instant;

use poem::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument as _;

use crate::problem::{PROBLEM_JSON, Problem};

/// Largest request body accepted (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The request id header, read from the client when sane and always returned.
pub const REQUEST_ID: &str = "x-request-id";

fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The middleware, for `EndpointExt::around`.
pub async fn edge<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let id = request_id(&req);
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let started = Instant::now();
        // A reference-counted copy (no allocation), for the `Allow` header of a 405.
        let uri = req.uri().clone();
        let checked = match limit_body(&mut req).await {
            Ok(()) => refuse_nul(&mut req).await,
            Err(problem) => Err(problem),
        };
        let mut operation = "unmatched";
        let mut response = match checked {
            Err(problem) => problem.into_response(),
            Ok(()) => match next.call(req).await {
                Ok(output) => {
                    let response = output.into_response();
                    if let Some(id) = response.data::<OperationId>() {
                        operation = id.0;
                    }
                    as_problem_if_error(response, None)
                }
                Err(e) => {
                    if let Some(id) = e.data::<OperationId>() {
                        operation = id.0;
                    }
                    let status = e.status();
                    let message = e.to_string();
                    as_problem_if_error(e.into_response(), Some((status, message)))
                }
            },
        };
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(allowed) = allowed_methods(uri.path())
            && let Ok(value) = HeaderValue::from_str(allowed)
        {
            // RFC 9110: a 405 names the methods the resource supports.
            response.headers_mut().insert(poem::http::header::ALLOW, value);
        }
        let status = response.status().as_u16();
        let took = started.elapsed();
        crate::metrics::record_request(operation, status, took);
        let elapsed_ms = took.as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request");
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

/// Refuses bodies over [`MAX_BODY_BYTES`] (413), whether announced by
/// `Content-Length` or sent chunked.
async fn limit_body(req: &mut Request) -> Result<(), Problem> {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The body must be at most {MAX_BODY_BYTES} bytes."),
        )
    };
    if let Some(length) = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && length > MAX_BODY_BYTES as u64
    {
        return Err(too_large());
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS) {
        return Ok(());
    }
    let body = req.take_body().into_bytes_limit(MAX_BODY_BYTES).await.map_err(|_| too_large())?;
    req.set_body(body);
    Ok(())
}

/// Refuses the NUL character anywhere in the query, the path or a JSON body's
/// strings and keys (400 `validation_failed`, naming the field). PostgreSQL
/// stores no NUL in `text` or `jsonb` while SQLite does; refusing it here
/// makes both engines answer alike, before anything is read or written.
async fn refuse_nul(req: &mut Request) -> Result<(), Problem> {
    let invalid = |field: &str| {
        crate::problem::ApiError::from(leadflow_kernel::ValidationErrors::single(
            field,
            "must not contain the NUL character",
        ))
        .0
    };
    let encoded_nul = |s: &str| s.to_ascii_lowercase().contains("%00");
    if req.uri().query().is_some_and(encoded_nul) {
        return Err(invalid("query"));
    }
    if encoded_nul(req.uri().path()) {
        return Err(invalid("path"));
    }
    let json = req.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json || matches!(*req.method(), Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS) {
        return Ok(());
    }
    let body = req.take_body().into_bytes().await.unwrap_or_default();
    // Only an escaped `\u0000` becomes a NUL (a raw one is invalid JSON, refused by the parser).
    let found = if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| nul_at(&v, ""))
    } else {
        None
    };
    req.set_body(body);
    found.map_or(Ok(()), |field| Err(invalid(if field.is_empty() { "body" } else { &field })))
}

/// The path (`settings.theme`, `tags[2]`) of the first string or key holding a NUL.
fn nul_at(value: &serde_json::Value, path: &str) -> Option<String> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(|| path.to_owned()),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_at(item, &format!("{path}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(join(&key.replace('\0', "\\u0000")))
            } else {
                nul_at(item, &join(key))
            }
        }),
        _ => None,
    }
}

/// The methods the document declares for `path` (matched against its path
/// templates), as an `Allow` header value.
fn allowed_methods(path: &str) -> Option<&'static str> {
    static ROUTES: std::sync::OnceLock<Vec<(Vec<String>, String)>> = std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let document: serde_json::Value =
            serde_json::from_str(crate::api::document::published()).unwrap_or_default();
        document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(template, item)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods: Vec<String> = item
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                (segments, methods.join(", "))
            })
            .collect()
    });
    let wanted: Vec<&str> = path.split('/').collect();
    // The most literal template wins (`/leads/stats` over `/leads/{id}`).
    routes
        .iter()
        .filter(|(template, _)| {
            template.len() == wanted.len()
                && template.iter().zip(&wanted).all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
        })
        .min_by_key(|(template, _)| template.iter().filter(|t| t.starts_with('{')).count())
        .map(|(_, methods)| methods.as_str())
}

fn is_problem(response: &Response) -> bool {
    response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// The field a poem-openapi parse error names, as a dotted path
/// (`failed to parse "A": field `organization` … failed to parse "B": field `name` …`
/// → `organization.name`), or the parameter it names.
fn parse_error_field(detail: &str) -> Option<String> {
    let fields: Vec<&str> =
        detail.split("field `").skip(1).filter_map(|rest| rest.split('`').next()).collect();
    if !fields.is_empty() {
        return Some(fields.join("."));
    }
    let parameter = detail.strip_prefix("failed to parse parameter `")?;
    parameter.split('`').next().map(str::to_owned)
}

/// What a poem-openapi parse error says about its field, in the API's words.
fn parse_error_message(detail: &str) -> String {
    let after =
        |marker: &str| detail.split(marker).nth(1).and_then(|rest| rest.split(')').next()).map(str::to_owned);
    if detail.contains("pattern(") {
        "does not have the form the API document states (its pattern)".to_owned()
    } else if let Some(n) = after("maxLength(") {
        format!("must be at most {n} characters")
    } else if let Some(n) = after("minLength(") {
        format!("must be at least {n} characters")
    } else if let Some(n) = after("maxItems(") {
        format!("must have at most {n} items")
    } else if let Some(n) = after("minItems(") {
        format!("must have at least {n} items")
    } else if detail.contains("maximum(") || detail.contains("minimum(") {
        "is out of the range the API document states".to_owned()
    } else if detail.contains("missing") {
        "is required".to_owned()
    } else {
        "has the wrong type or value for the API document".to_owned()
    }
}

/// Rewrites any error response that is not yet a problem document.
fn as_problem_if_error(response: Response, error: Option<(StatusCode, String)>) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || is_problem(&response) {
        return response;
    }
    let detail = match (status.as_u16(), error) {
        (500.., _) => "An internal error occurred; it has been logged.".to_owned(),
        (404, _) => "No such resource.".to_owned(),
        (405, _) => "This method is not allowed on this resource.".to_owned(),
        (401, _) => "Send a valid access token as `Authorization: Bearer <token>`.".to_owned(),
        (_, Some((_, message))) => message,
        (_, None) => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut problem = Problem::new(status, detail);
    if status == StatusCode::BAD_REQUEST
        && let Some(field) = problem.detail.as_deref().and_then(parse_error_field)
    {
        let message = problem.detail.as_deref().map_or_else(String::new, parse_error_message);
        problem.errors.push(crate::problem::FieldProblem { field, message });
    }
    let mut rewritten = problem.into_response();
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}
