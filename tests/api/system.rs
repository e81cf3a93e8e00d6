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
        for path in ["/docs", "/docs/"] {
            let docs = app.call(Method::GET, path, None, None).await.expect(200);
            assert!(docs.text.contains("swagger"), "Swagger UI expected at {path}");
            // It shows the published document (with its examples), not poem-openapi's raw one.
            assert!(docs.text.contains("sam.doe@bigcorp.example"), "the published document in {path}");
        }
        let published = app.call(Method::GET, "/openapi.json", None, None).await.expect(200);
        assert_eq!(published.body, serde_json::from_str::<serde_json::Value>(&leadflow_server::api::document()).unwrap());
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
    let public = [
        "register",
        "login",
        "refresh",
        "logout",
        "health",
        "ready",
        "listPlans",
        "requestPasswordReset",
        "confirmPasswordReset",
        "verifyEmail",
        // Authenticated by its Stripe-Signature instead.
        "receiveStripeEvent",
        // A website's form: its publishable key is in the path.
        "submitFormLead",
    ];
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

/// Slow and oversized clients, against a server whose header-read timeout is 1 s.
mod slow_and_oversized_clients_are_cut_off {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use crate::helpers::TestApp;

    /// Sends a request's headers one byte every 200 ms; how long until the server closed the connection.
    async fn trickle(addr: String) -> Option<Duration> {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let headers =
            b"GET /health HTTP/1.1\r\nHost: leadflow\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in headers {
            if stream.write_all(&[*byte]).await.is_err() {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut buf = [0_u8; 256];
            if let Ok(Ok(read)) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
            {
                // Closed (0) or answered (408/400): either way the server let go.
                let _ = read;
                return Some(started.elapsed());
            }
        }
        None
    }

    async fn run(engine: leadflow_storage::testing::Engine) {
        let overrides = [("LEADFLOW_HEADER_READ_TIMEOUT_SECS", "1")];
        let Some(app) = TestApp::spawn_with(engine, &overrides).await else { return };
        let addr = app.base.trim_start_matches("http://").to_owned();
        let slow: Vec<_> = (0..50).map(|_| tokio::spawn(trickle(addr.clone()))).collect();
        for connection in slow {
            let closed = connection.await.unwrap().expect("the server closed the slow connection");
            assert!(closed < Duration::from_secs(4), "closed only after {closed:?}");
        }

        // 100 KB of headers: 431, and nothing else is read.
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let big =
            format!("GET /health HTTP/1.1\r\nHost: leadflow\r\nX-Big: {}\r\n\r\n", "b".repeat(100 * 1024));
        let _ = stream.write_all(big.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

        // Well-behaved clients are served as before.
        let health = app.client.get(format!("{}/health", app.base)).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }

    #[tokio::test]
    async fn sqlite() {
        run(leadflow_storage::testing::Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(leadflow_storage::testing::Engine::Postgres).await;
    }
}
