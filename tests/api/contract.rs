//! The published OpenAPI document, checked as a whole (SPEC §8): what strict
//! generated clients and Swagger UI rely on holds for every operation and
//! every schema, not just the ones someone remembered.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

fn document() -> Value {
    serde_json::from_str(&leadflow_server::api::document()).unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, &Map<String, Value>)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            all.push((path.clone(), method.clone(), op.as_object().unwrap()));
        }
    }
    all
}

/// The component schemas `value` refers to, directly or through others.
fn referenced(value: &Value, schemas: &Map<String, Value>, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
                && found.insert(name.to_owned())
            {
                referenced(&schemas[name], schemas, found);
            }
            map.values().for_each(|v| referenced(v, schemas, found));
        }
        Value::Array(items) => items.iter().for_each(|v| referenced(v, schemas, found)),
        _ => {}
    }
}

#[test]
fn every_operation_has_one_success_response_and_only_its_own_errors() {
    let doc = document();
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let successes: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
        assert_eq!(successes.len(), 1, "{method} {path} answers {successes:?}");
        let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
        if op.get("requestBody").is_none() {
            assert!(!responses.contains_key("415"), "{method} {path} has no body, so no 415");
        }
        let if_match = op
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "If-Match"));
        assert_eq!(responses.contains_key("412"), if_match, "{method} {path}: 412 exactly with If-Match");
        if method == "get" {
            assert!(
                !responses.contains_key("409") && !responses.contains_key("402"),
                "{method} {path} only reads"
            );
        }
        if !secured && !["login", "refresh"].contains(&op["operationId"].as_str().unwrap()) {
            assert!(!responses.contains_key("401"), "{method} {path} takes no credentials, so no 401");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"].get("application/problem+json").is_some(),
                    "{method} {path} {status}"
                );
            }
        }
    }
}

#[test]
fn every_request_body_has_an_example_and_every_request_string_a_bound() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut sent = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let Some(body) = op.get("requestBody") else { continue };
        for media in body["content"].as_object().unwrap().values() {
            let name = media["schema"]["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"));
            let name = name.unwrap_or_else(|| panic!("{method} {path}: the body is a named schema"));
            assert!(schemas[name].get("example").is_some(), "{method} {path}: {name} has no example");
        }
        referenced(body, schemas, &mut sent);
        if let Some(parameters) = op.get("parameters") {
            referenced(parameters, schemas, &mut sent);
        }
    }
    for name in &sent {
        for (property, schema) in
            schemas[name].get("properties").and_then(Value::as_object).into_iter().flatten()
        {
            let leaf = schema.get("items").unwrap_or(schema);
            if leaf["type"] == "string" && leaf.get("format").is_none() && leaf.get("enum").is_none() {
                // A length bound, or a pattern whose last repetition is bounded (`{0,252}$`).
                let bounded_pattern = leaf["pattern"].as_str().is_some_and(|p| p.ends_with("}$"));
                assert!(
                    leaf.get("maxLength").is_some() || bounded_pattern,
                    "{name}.{property}: a request string without a length bound"
                );
            }
        }
    }
}

#[test]
fn answers_are_exact_for_strict_clients() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let (mut answered, mut sent) = (BTreeSet::new(), BTreeSet::new());
    for (_, _, op) in operations(&doc) {
        referenced(&op["responses"], schemas, &mut answered);
        if let Some(body) = op.get("requestBody") {
            referenced(body, schemas, &mut sent);
        }
    }
    for name in answered.difference(&sent) {
        let schema = &schemas[name];
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else { continue };
        let required: BTreeSet<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for property in properties.keys() {
            assert!(required.contains(property.as_str()), "{name}.{property} is always sent, so required");
        }
    }
    // No typeless member in a composition (`X & unknown` in TypeScript, refused by openapi-python-client).
    assert!(no_typeless_all_of(&doc));
}

fn no_typeless_all_of(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            let ok = map.get("allOf").and_then(Value::as_array).is_none_or(|members| {
                members.iter().all(|m| {
                    m.get("$ref").is_some() || m.get("type").is_some() || m.get("properties").is_some()
                })
            });
            ok && map.values().all(no_typeless_all_of)
        }
        Value::Array(items) => items.iter().all(no_typeless_all_of),
        _ => true,
    }
}

#[test]
fn descriptions_say_something_and_closed_sets_are_enums() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        for (property, field) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let description = field["description"].as_str().unwrap_or_default();
            assert!(
                description.split_whitespace().count() >= 3,
                "{name}.{property}: describe it for a reader, not a linter ({description:?})"
            );
            // Statuses, kinds, roles and scopes are enums, never free strings.
            let leaf = field.get("items").unwrap_or(field);
            let text = leaf["type"] == "string" || leaf.get("type").is_none();
            if text
                && ["status", "role", "scopes", "kind", "currentStep", "category", "plan"]
                    .contains(&property.as_str())
            {
                assert!(
                    leaf.get("$ref").is_some() || leaf.get("allOf").is_some() || leaf.get("enum").is_some(),
                    "{name}.{property} is a closed set: an enum"
                );
            }
        }
    }
    for (path, method, op) in operations(&doc) {
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(!summary.contains("[`"), "{method} {path}: a Rust doc link in the summary: {summary}");
    }
}

#[test]
fn every_example_has_the_shape_of_its_schema() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut checked = 0;
    for (name, schema) in schemas {
        let (Some(example), Some(properties)) = (
            schema.get("example").and_then(Value::as_object),
            schema.get("properties").and_then(Value::as_object),
        ) else {
            continue;
        };
        for key in example.keys() {
            assert!(properties.contains_key(key), "{name}: the example's {key} is not a property");
        }
        for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            assert!(example.contains_key(required), "{name}: the example lacks the required {required}");
        }
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} examples");
}

/// The request examples that need no prior state are requests the server
/// accepts as they stand (Swagger UI's "Try it out" starts from them).
#[tokio::test]
async fn the_request_examples_are_accepted() {
    let app = crate::helpers::TestApp::spawn(leadflow_storage::testing::Engine::Sqlite).await.unwrap();
    let doc = document();
    let example = |name: &str| doc["components"]["schemas"][name]["example"].clone();
    let registered = app.post("/api/v1/auth/register", None, example("RegisterBody")).await.expect(201);
    let org = registered.body["organization"]["id"].as_str().unwrap().to_owned();
    let login = app.post("/api/v1/auth/login", None, example("LoginBody")).await.expect(200);
    let token = login.body["tokens"]["accessToken"].as_str().unwrap().to_owned();
    for (path, schema, status) in [
        ("/api/v1/leads", "SubmitLeadBody", 201),
        ("/api/v1/api-keys", "CreateApiKeyBody", 201),
        ("/api/v1/teams", "CreateTeamBody", 201),
        ("/api/v1/invitations", "CreateInvitationBody", 201),
        ("/api/v1/forms", "FormSettings", 201),
        ("/api/v1/organizations", "CreateOrganizationBody", 201),
        ("/api/v1/auth/password-reset/request", "PasswordResetRequestBody", 202),
    ] {
        app.post(path, Some(&token), example(schema)).await.expect(status);
    }
    app.patch(&format!("/api/v1/organizations/{org}"), &token, example("UpdateOrganizationBody"))
        .await
        .expect(200);
}
