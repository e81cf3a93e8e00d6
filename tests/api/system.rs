//! Liveness, readiness, documentation and request ids.

use reqwest::Method;

use crate::helpers::TestApp;
use crate::http_tests;

http_tests! {
    async fn health_ready_and_docs_are_served(app: TestApp) {
        let health = app.call(Method::GET, "/health", None, None).await.expect(200);
        assert_eq!(health.body["status"], "ok");
        let ready = app.call(Method::GET, "/ready", None, None).await.expect(200);
        assert_eq!(ready.body["status"], "ready");
        let docs = app.call(Method::GET, "/docs", None, None).await.expect(200);
        assert!(docs.text.contains("swagger"), "Swagger UI expected at /docs");
    }

    async fn every_response_carries_a_request_id(app: TestApp) {
        let generated = app.call(Method::GET, "/health", None, None).await;
        assert!(generated.headers.contains_key("x-request-id"));
        let echoed = app.client.get(format!("{}/api/v1/nowhere", app.base)).header("x-request-id", "trace-me-42").send().await.unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    }
}

#[tokio::test]
async fn the_committed_openapi_document_matches_what_the_server_serves() {
    let app = TestApp::spawn(leadflow_storage::testing::Engine::Sqlite).await.unwrap();
    let served = app.call(Method::GET, "/openapi.json", None, None).await.expect(200);
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
    assert!(
        committed == served.body,
        "docs/openapi.json is out of date: run `cargo run -p leadflow-server -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn every_operation_is_documented_with_id_tag_summary_errors_and_security() {
    let doc: serde_json::Value = serde_json::from_str(&leadflow_server::api::document()).unwrap();
    let public = ["register", "login", "refresh", "logout", "health", "ready", "listPlans"];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id =
                op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{id} has no tag");
            assert!(op["summary"].is_string(), "{id} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("400") && responses.contains_key("500"),
                "{id} lacks its error responses"
            );
            assert_eq!(
                responses["500"]["content"].as_object().unwrap().keys().next().unwrap(),
                "application/problem+json"
            );
            if !public.contains(&id) {
                assert!(
                    op["security"].as_array().is_some_and(|s| !s.is_empty()),
                    "{id} has no security scheme"
                );
            }
        }
    }
}
