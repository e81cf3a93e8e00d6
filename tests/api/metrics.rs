//! `/metrics`: the Prometheus text format, read by a Prometheus text parser;
//! only with the metrics token on the API's address, or without one on the
//! separate metrics listener; the series of SPEC §8 are there and move.

use leadflow_storage::testing::Engine;
use serde_json::json;

use crate::helpers::TestApp;

const TOKEN: &str = "metrics-token-0123456789";

/// The samples of a scrape, parsed as Prometheus parses them.
fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("a valid Prometheus text scrape")
}

fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(ref buckets) => buckets.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
        .reduce(|a, b| a + b)
}

crate::on_both_engines!(metrics_need_the_token_and_carry_the_operators_series,);

async fn metrics_need_the_token_and_carry_the_operators_series(engine: Engine) {
    let Some(app) = TestApp::spawn_with(engine, &[("LEADFLOW_METRICS_TOKEN", TOKEN)]).await else { return };
    let url = format!("{}/metrics", app.base);
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = app.client.get(&url).bearer_auth("metrics-token-wrong-guess").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    // A user's access token is no metrics token.
    let ada = app.register("ada@example.com", Some("acme")).await;
    assert_eq!(app.client.get(&url).bearer_auth(&ada.access).send().await.unwrap().status(), 401);

    // Traffic: a lead with its workflow queued, a failed sign-in, a 404.
    let key = app.api_key(&ada, &["leads:create"]).await;
    let lead = json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "A demo, please" });
    app.with_key(reqwest::Method::POST, "/api/v1/leads", &key, Some(lead)).await.expect(201);
    app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": "wrong password" }))
        .await
        .expect(401);
    app.get("/api/v1/leads/00000000-0000-7000-8000-000000000000", &ada.access).await.expect(404);

    let scrape = app.client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scrape.text().await.unwrap();
    let parsed = parse(&text);
    assert!(
        value(&parsed, "leadflow_http_requests_total", &[("operation", "submitLead"), ("status", "201")])
            .unwrap()
            >= 1.0,
        "{text}"
    );
    assert!(
        value(&parsed, "leadflow_http_requests_total", &[("operation", "getLead"), ("status", "404")])
            .unwrap()
            >= 1.0
    );
    assert!(
        value(&parsed, "leadflow_http_request_duration_seconds_count", &[("operation", "submitLead")])
            .is_some()
            || value(&parsed, "leadflow_http_request_duration_seconds", &[("operation", "submitLead")])
                .unwrap()
                >= 1.0,
        "{text}"
    );
    assert!(value(&parsed, "leadflow_login_failures_total", &[]).unwrap() >= 1.0);
    // Read at scrape time from this server's database: one workflow waits (no workers here).
    assert_eq!(value(&parsed, "leadflow_workflows_backlog", &[("status", "pending")]), Some(1.0), "{text}");
    assert_eq!(value(&parsed, "leadflow_webhook_backlog", &[]), Some(0.0));
    assert!(value(&parsed, "leadflow_email_outbox_backlog", &[]).is_some());
    assert!(value(&parsed, "leadflow_db_pool_max_connections", &[]).unwrap() >= 1.0);
    assert!(value(&parsed, "leadflow_db_pool_connections", &[("state", "open")]).unwrap() >= 1.0);
    assert_eq!(value(&parsed, "leadflow_metrics_scrape_error", &[]), Some(0.0));
    assert!(text.contains("# TYPE leadflow_http_request_duration_seconds histogram"), "{text}");

    // The separate listener: no token, the same series.
    let open =
        leadflow_server::metrics::listen(app.state.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let text = app.client.get(format!("http://{open}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(value(&parse(&text), "leadflow_http_requests_total", &[("operation", "submitLead")]).is_some());
}

#[tokio::test]
async fn without_a_token_there_is_no_metrics_route() {
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let reply = app.client.get(format!("{}/metrics", app.base)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(reply.status(), 404);
}
