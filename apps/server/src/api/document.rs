//! The OpenAPI document as published: poem-openapi's, with the shapes that
//! strict generators cannot read rewritten into their plain OpenAPI 3.0
//! equivalents. The rules are mechanical and total (they apply to every
//! schema), so what the code declares stays what the document says:
//!
//! - A field that refers to a named schema and carries its own description
//!   (and `nullable`) comes out of poem-openapi as
//!   `allOf: [{$ref}, {description, nullable}]`; the second member has no
//!   type, which openapi-python-client refuses ("Cannot take allOf a
//!   non-object") and openapi-typescript turns into `X & unknown`. It becomes
//!   `allOf: [{$ref}]` with the description and `nullable` beside it, the
//!   form OpenAPI 3.0.3 recommends for a nullable reference.
//! - An unsigned integer (`format: uint64`, …) gets `minimum: 0`.
//! - Every operation shares one error type, so poem-openapi lists every error
//!   status on every operation. Each operation keeps only those it can
//!   answer (see [`ErrorRules`]): 401 only with credentials, 404 only with a
//!   resource to miss, 412 only with `If-Match`, 415 only with a body, 402 and
//!   409 only on writes that can meet a limit or a conflict, 429 only where a
//!   budget is counted; 400, 413, 500 and 503 can meet any request (a NUL in
//!   the query, an oversized body, a bug, the database away).
//! - Each request body's schema and the main answers' carry an example (`api/examples.rs`).
//! - Summaries are plain text (no Markdown backticks).
//! - A creating operation links to the operations on what it created
//!   (OpenAPI links), so clients and schemathesis can follow real ids.
//! - poem-openapi lists an `Option` field as not required. Leadflow always
//!   writes every field of what it answers (`null` when empty; no field is
//!   skipped), so every property of a schema that only answers carry (never
//!   a request body or parameter) is required: clients get `T | null`, not
//!   `T | null | undefined`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// Keys that only annotate a schema (no constraint on the value).
const ANNOTATIONS: [&str; 6] = ["description", "nullable", "readOnly", "writeOnly", "deprecated", "title"];

fn only_annotations(schema: &Map<String, Value>) -> bool {
    schema.keys().all(|k| ANNOTATIONS.contains(&k.as_str()))
}

/// Rewrites one schema object in place (and everything under it).
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get_mut("allOf")
                && members.len() == 2
                && members[0].get("$ref").is_some()
                && members[1].as_object().is_some_and(only_annotations)
            {
                let annotations = members.pop().and_then(|v| v.as_object().cloned()).unwrap_or_default();
                for (k, v) in annotations {
                    map.entry(k).or_insert(v);
                }
            }
            // Unsigned integers cannot be negative (poem-openapi states only the format).
            if map.get("format").and_then(Value::as_str).is_some_and(|f| f.starts_with("uint"))
                && !map.contains_key("minimum")
            {
                map.insert("minimum".into(), Value::from(0));
            }
            for v in map.values_mut() {
                normalize(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// The component schemas `value` refers to, directly or through others.
fn referenced(value: &Value, schemas: &Map<String, Value>, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMAS))
                && found.insert(name.to_owned())
                && let Some(schema) = schemas.get(name)
            {
                referenced(schema, schemas, found);
            }
            map.values().for_each(|v| referenced(v, schemas, found));
        }
        Value::Array(items) => items.iter().for_each(|v| referenced(v, schemas, found)),
        _ => {}
    }
}

const SCHEMAS: &str = "#/components/schemas/";

/// Marks every property of the schemas that only answers carry as required.
fn require_answered_fields(document: &mut Value) {
    let Some(schemas) = document.pointer("/components/schemas").and_then(Value::as_object).cloned() else {
        return;
    };
    let (mut answered, mut sent) = (BTreeSet::new(), BTreeSet::new());
    for item in document["paths"].as_object().into_iter().flat_map(|p| p.values()) {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            referenced(&operation["responses"], &schemas, &mut answered);
            referenced(&operation["requestBody"], &schemas, &mut sent);
            referenced(&operation["parameters"], &schemas, &mut sent);
        }
    }
    let Some(components) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return;
    };
    for name in answered.difference(&sent) {
        if let Some(schema) = components.get_mut(name).and_then(Value::as_object_mut)
            && let Some(properties) = schema.get("properties").and_then(Value::as_object)
        {
            let all: Vec<Value> = properties.keys().map(|k| Value::String(k.clone())).collect();
            schema.insert("required".into(), Value::Array(all));
        }
    }
}

/// The error statuses of an operation beyond those its shape implies.
struct ErrorRules;

impl ErrorRules {
    /// Public operations that still answer 401 (they check credentials themselves).
    const PUBLIC_401: [&'static str; 2] = ["login", "refresh"];
    /// Public operations that answer 403 (sign-up disabled, an account disabled,
    /// a foreign origin, billing not configured).
    const PUBLIC_403: [&'static str; 6] =
        ["register", "login", "refresh", "submitFormLead", "receiveStripeEvent", "confirmPasswordReset"];
    /// Public operations without a path parameter that answer 404 (an invitation or organization named in the body).
    const PUBLIC_404: [&'static str; 3] = ["register", "login", "acceptInvitation"];
    /// Tags whose writes can meet a plan limit or an inactive subscription (402).
    const TAGS_402: [&'static str; 6] = ["Leads", "Forms", "Workflows", "Invitations", "Members", "Auth"];
    /// Operations that count a budget (429).
    const BUDGETED: [&'static str; 7] = [
        "login",
        "register",
        "changePassword",
        "createInvitation",
        "requestPasswordReset",
        "resendVerificationEmail",
        "submitFormLead",
    ];

    /// Whether `operation` (its id, method, tags, security, parameters) can answer `status`.
    fn can_answer(status: &str, id: &str, method: &str, operation: &Map<String, Value>) -> bool {
        let secured = operation.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
        let parameters = operation.get("parameters").and_then(Value::as_array);
        let has = |place: &str, name: Option<&str>| {
            parameters.is_some_and(|ps| {
                ps.iter().any(|p| p["in"] == place && name.is_none_or(|n| p["name"].as_str() == Some(n)))
            })
        };
        let write = method != "get";
        let tagged = |tags: &[&str]| {
            operation
                .get("tags")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().filter_map(Value::as_str).any(|tag| tags.contains(&tag)))
        };
        match status {
            "401" => secured || Self::PUBLIC_401.contains(&id),
            "403" => secured || Self::PUBLIC_403.contains(&id),
            "404" => has("path", None) || secured || Self::PUBLIC_404.contains(&id),
            "402" => write && tagged(&Self::TAGS_402),
            "409" => write,
            "412" => has("header", Some("If-Match")),
            "415" => operation.contains_key("requestBody"),
            "429" => Self::BUDGETED.contains(&id),
            _ => true,
        }
    }
}

/// Drops the error statuses an operation cannot answer.
fn trim_error_responses(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for (method, operation) in item.iter_mut() {
            let Some(operation) = operation.as_object_mut() else { continue };
            let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
            let snapshot = operation.clone();
            if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                responses.retain(|status, _| {
                    !status.starts_with('4') || ErrorRules::can_answer(status, &id, method, &snapshot)
                });
            }
        }
    }
}

/// Puts each example ([`super::examples`]: every request body, the main
/// answers) on its schema.
fn add_examples(document: &mut Value) {
    let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return;
    };
    for examples in [super::examples::request_examples(), super::examples::response_examples()] {
        let Value::Object(examples) = examples else { continue };
        for (name, example) in examples {
            if let Some(schema) = schemas.get_mut(&name).and_then(Value::as_object_mut) {
                schema.entry("example").or_insert(example);
            }
        }
    }
}

/// Summaries are plain text (Swagger UI shows them raw): no Markdown backticks.
fn plain_summaries(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|i| i.values_mut()) {
        if let Some(Value::String(summary)) = operation.get_mut("summary") {
            *summary = summary.replace('`', "");
        }
    }
}

/// Where the id of what an answer created is, in its schema: `/id`, or
/// `/<field>/id` when the answer wraps the resource (`{lead, workflowId}`).
fn created_id(schema: &Value, schemas: &Map<String, Value>) -> Option<String> {
    let resolve = |s: &Value| -> Option<Value> {
        let name = s.get("$ref").or_else(|| s.pointer("/allOf/0/$ref"))?.as_str()?.strip_prefix(SCHEMAS)?;
        schemas.get(name).cloned()
    };
    let schema = resolve(schema)?;
    let properties = schema.get("properties")?.as_object()?;
    if properties.contains_key("id") {
        return Some("/id".into());
    }
    properties
        .iter()
        .find_map(|(field, inner)| resolve(inner)?.pointer("/properties/id").map(|_| format!("/{field}/id")))
}

/// OpenAPI links from each creating operation to the operations on what it
/// created (`POST /leads` → `GET /leads/{id}`, `POST /leads/{id}/assign`, …),
/// so that clients and schemathesis can follow real ids.
fn add_links(document: &mut Value) {
    let Some(schemas) = document.pointer("/components/schemas").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(paths) = document.get("paths").and_then(Value::as_object).cloned() else { return };
    for (path, item) in &paths {
        let Some(create) = item.get("post") else { continue };
        let Some((status, answer)) =
            create["responses"].as_object().and_then(|r| r.iter().find(|(s, _)| s.starts_with('2')))
        else {
            continue;
        };
        let Some(schema) =
            answer.pointer("/content").and_then(Value::as_object).and_then(|c| c.values().next())
        else {
            continue;
        };
        let Some(pointer) = created_id(&schema["schema"], &schemas) else { continue };
        let prefix = format!("{}/{{id}}", path.trim_end_matches('/'));
        let mut links = Map::new();
        for (target, operations) in &paths {
            if target != &prefix && !target.starts_with(&format!("{prefix}/")) {
                continue;
            }
            for operation in operations.as_object().into_iter().flat_map(|o| o.values()) {
                let Some(id) = operation["operationId"].as_str() else { continue };
                let mut parameters = Map::new();
                parameters.insert("id".into(), Value::String(format!("$response.body#{pointer}")));
                let mut link = Map::new();
                link.insert("operationId".into(), Value::String(id.to_owned()));
                link.insert("parameters".into(), Value::Object(parameters));
                links.insert(id.to_owned(), Value::Object(link));
            }
        }
        if !links.is_empty()
            && let Some(response) = document.pointer_mut(&format!(
                "/paths/{}/post/responses/{status}",
                path.replace('~', "~0").replace('/', "~1")
            ))
            && let Some(response) = response.as_object_mut()
        {
            response.insert("links".into(), Value::Object(links));
        }
    }
}

/// The published document of `raw` (poem-openapi's JSON), pretty-printed.
#[must_use]
pub fn publish(raw: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<Value>(raw) else { return raw.to_owned() };
    normalize(&mut document);
    require_answered_fields(&mut document);
    trim_error_responses(&mut document);
    add_examples(&mut document);
    plain_summaries(&mut document);
    add_links(&mut document);
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| raw.to_owned())
}

/// The document, computed once per process.
#[must_use]
pub fn published() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| publish(&super::service().spec()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::normalize;

    #[test]
    fn a_described_reference_loses_its_typeless_all_of_member() {
        let mut field = json!({
            "description": "Qualification.", "nullable": true,
            "allOf": [{ "$ref": "#/components/schemas/Q" }, { "description": "Qualification.", "nullable": true }]
        });
        normalize(&mut field);
        assert_eq!(
            field,
            json!({ "description": "Qualification.", "nullable": true, "allOf": [{ "$ref": "#/components/schemas/Q" }] })
        );
        // A real composition stays.
        let mut composed = json!({ "allOf": [{ "$ref": "#/a" }, { "type": "object", "properties": {} }] });
        let before = composed.clone();
        normalize(&mut composed);
        assert_eq!(composed, before);
    }
}
