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

/// The published document of `raw` (poem-openapi's JSON), pretty-printed.
#[must_use]
pub fn publish(raw: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<Value>(raw) else { return raw.to_owned() };
    normalize(&mut document);
    require_answered_fields(&mut document);
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
