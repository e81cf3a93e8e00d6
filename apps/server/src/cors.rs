//! CORS for public web forms: a browser on one of a form's allowed origins
//! may post to `/api/v1/forms/{formKey}/submissions`. The preflight
//! (`OPTIONS`) is answered here from the form's settings; the actual
//! request's answer (success or problem) carries `Access-Control-Allow-Origin`
//! for an allowed origin, so the page can read it. No other route answers
//! CORS: the API proper is for servers and generated clients.

use std::sync::Arc;

use poem::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::problem::ApiError;
use crate::state::AppState;

/// The form key of a public submission path, if `path` is one.
fn form_key(path: &str) -> Option<&str> {
    let key = path.strip_prefix("/api/v1/forms/")?.strip_suffix("/submissions")?;
    (!key.is_empty() && !key.contains('/')).then_some(key)
}

fn allow(response: &mut Response, origin: &HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(VARY, HeaderValue::from_static("Origin"));
}

/// The middleware, for `EndpointExt::around`.
pub async fn forms_cors<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let Some(key) = form_key(req.uri().path()).map(str::to_owned) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let origin = req.headers().get(ORIGIN).cloned();
    if req.method() == Method::OPTIONS {
        let Some(state) = req.data::<Arc<AppState>>() else {
            return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let origin_text = origin.as_ref().and_then(|o| o.to_str().ok());
        return Ok(match (state.forms.admit(&key, origin_text).await, &origin) {
            (Ok(_), Some(origin)) => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                allow(&mut response, origin);
                let headers = response.headers_mut();
                headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
                headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
                response
            }
            // A preflight without Origin is no preflight: nothing to allow.
            (Ok(_), None) => StatusCode::NO_CONTENT.into_response(),
            (Err(e), _) => ApiError::from(e).into_response(),
        });
    }
    let mut response = next.call(req).await.map(IntoResponse::into_response)?;
    // The handler refused foreign origins (403 origin_not_allowed); any other
    // answer went to an allowed origin (or the key was unknown: nothing to protect).
    if let Some(origin) = origin
        && response.status() != StatusCode::FORBIDDEN
    {
        allow(&mut response, &origin);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::form_key;

    #[test]
    fn only_submission_paths_carry_a_form_key() {
        assert_eq!(form_key("/api/v1/forms/pf_abc/submissions"), Some("pf_abc"));
        assert_eq!(form_key("/api/v1/forms/pf_abc"), None);
        assert_eq!(form_key("/api/v1/forms//submissions"), None);
        assert_eq!(form_key("/api/v1/forms/a/b/submissions"), None);
    }
}
