//! [`Serialized`]: a JSON answer written straight from its typed value.
//!
//! poem-openapi's `Json<T>` answers by building `T::to_json()`, a
//! `serde_json::Value` tree (every string copied, every object a map), and
//! then serializing that tree. For the answers on the hot paths (a lead, a
//! page of leads) that tree was a large part of the request's CPU. A
//! [`Serialized`] answer has the same document (its schema is `T`'s
//! poem-openapi schema) and the same bytes on the wire (`T`'s serde
//! `Serialize`, kept equal to its `ToJSON` by a test per type), without the tree.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A JSON answer serialized by serde from `T`, documented by `T`'s schema.
pub struct Serialized<T>(pub T);

/// The media type, as poem-openapi's `Json` answers it.
const JSON: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for Serialized<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for Serialized<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder().content_type(JSON).body(body),
            Err(error) => {
                tracing::error!(%error, "serializing an answer");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl<T: Type + Serialize + Send> ApiResponse for Serialized<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Serializes a time as poem-openapi's `ToJSON` does (`to_rfc3339`:
/// `2026-12-01T10:00:00.123456+00:00`), for `#[serde(serialize_with)]`.
///
/// # Errors
/// Never, but for the serializer's own.
pub fn rfc3339<S: serde::Serializer>(
    at: &chrono::DateTime<chrono::Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // chrono's RFC 3339 writer (a `strftime` format string is parsed again on
    // every call, which showed in the profile of a page of leads).
    serializer.serialize_str(&at.to_rfc3339())
}

/// Asserts that `value` serializes by serde exactly as poem-openapi's
/// `ToJSON` writes it (the answer's bytes do not depend on the path).
#[cfg(test)]
pub fn assert_same_json<T: Serialize + poem_openapi::types::ToJSON>(value: &T) {
    let by_serde = serde_json::to_value(value).expect("serializes");
    let by_poem = value.to_json().expect("has a JSON form");
    assert_eq!(by_serde, by_poem);
}
