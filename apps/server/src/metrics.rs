//! Prometheus metrics (SPEC §8), through the `metrics` facade and its
//! Prometheus exporter: the edge records every request, the workflow engine
//! its steps, the dispatcher its sends; the pool and the backlogs are read at
//! scrape time. Served at `GET /metrics` with `LEADFLOW_METRICS_TOKEN`, or on
//! a separate listener (`LEADFLOW_METRICS_BIND`); without either nothing is
//! recorded and `/metrics` does not exist.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::http::header::{AUTHORIZATION, CONTENT_TYPE};
use poem::http::{HeaderValue, StatusCode};
use poem::{IntoResponse, Request, Response, handler, web::Data};
use subtle::ConstantTimeEq as _;

use crate::problem::Problem;
use crate::state::AppState;

/// The Prometheus text format's content type.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Request latencies, seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Delivery lags and step durations, seconds (a model step or a retried delivery takes minutes).
const SLOW_BUCKETS: [f64; 11] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls return the
/// same handle). `None` when another recorder was installed first, e.g. by an embedder.
pub fn install() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("lag_seconds".into()), &SLOW_BUCKETS))
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("leadflow_workflow_step_duration_seconds".into()),
                        &SLOW_BUCKETS,
                    )
                });
            match builder.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => {
                    describe();
                    Some(handle)
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not built");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("leadflow_http_requests_total", "HTTP requests by operation and status.");
    describe_histogram!("leadflow_http_request_duration_seconds", "HTTP request latency by operation.");
    describe_counter!("leadflow_login_failures_total", "Sign-ins refused for wrong credentials.");
    describe_counter!("leadflow_throttled_requests_total", "Requests refused with 429, by operation.");
    describe_counter!("leadflow_workflow_steps_total", "Workflow steps run, by step and outcome.");
    describe_histogram!("leadflow_workflow_step_duration_seconds", "Workflow step duration by step.");
    describe_counter!("leadflow_emails_total", "Emails handed to the transport, by kind and outcome.");
    describe_counter!("leadflow_webhook_attempts_total", "Webhook delivery attempts by outcome.");
    describe_histogram!("leadflow_webhook_delivery_lag_seconds", "From an event to its delivery.");
    describe_gauge!("leadflow_db_pool_connections", "Database connections by state (open, idle).");
    describe_gauge!("leadflow_db_pool_max_connections", "The most connections the pool opens.");
    describe_gauge!("leadflow_workflows_backlog", "Workflows pending or running, by status.");
    describe_gauge!("leadflow_workflows_due", "Of those, due now.");
    describe_gauge!("leadflow_workflow_queue_lag_seconds", "How long the oldest due workflow has waited.");
    describe_gauge!("leadflow_email_outbox_backlog", "Emails not yet sent (queued or retrying).");
    describe_gauge!("leadflow_email_outbox_lag_seconds", "How long the oldest due email has waited.");
    describe_gauge!("leadflow_webhook_backlog", "Webhook deliveries pending.");
    describe_gauge!("leadflow_webhook_lag_seconds", "How long the oldest due webhook delivery has waited.");
    describe_gauge!("leadflow_metrics_scrape_error", "1 when the last scrape could not read the database.");
}

/// Records one answered request (a no-op without an installed recorder).
pub fn record_request(operation: &'static str, status: u16, took: Duration) {
    let status_label = status_label(status);
    metrics::counter!("leadflow_http_requests_total", "operation" => operation, "status" => status_label)
        .increment(1);
    metrics::histogram!("leadflow_http_request_duration_seconds", "operation" => operation)
        .record(took.as_secs_f64());
    if status == 429 {
        metrics::counter!("leadflow_throttled_requests_total", "operation" => operation).increment(1);
    }
    if status == 401 && operation == "login" {
        metrics::counter!("leadflow_login_failures_total").increment(1);
    }
}

/// The status as a label without formatting on the request path.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        402 => "402",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        412 => "412",
        413 => "413",
        415 => "415",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

fn seconds_since(at: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>) -> f64 {
    at.map_or(0.0, |at| (now - at).to_std().unwrap_or_default().as_secs_f64())
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
async fn read_gauges(state: &AppState) {
    let now = chrono::Utc::now();
    let pool = state.storage.pool_use();
    metrics::gauge!("leadflow_db_pool_connections", "state" => "open").set(f64::from(pool.open));
    metrics::gauge!("leadflow_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("leadflow_db_pool_max_connections").set(f64::from(pool.max));
    match state.storage.operational_snapshot(now).await {
        Ok(snapshot) => {
            let mut oldest = None;
            for (status, backlog) in snapshot.workflows {
                metrics::gauge!("leadflow_workflows_backlog", "status" => status.clone())
                    .set(backlog.open as f64);
                metrics::gauge!("leadflow_workflows_due", "status" => status).set(backlog.due as f64);
                oldest = match (oldest, backlog.oldest_due) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
            }
            metrics::gauge!("leadflow_workflow_queue_lag_seconds").set(seconds_since(oldest, now));
            metrics::gauge!("leadflow_email_outbox_backlog").set(snapshot.emails.open as f64);
            metrics::gauge!("leadflow_email_outbox_lag_seconds")
                .set(seconds_since(snapshot.emails.oldest_due, now));
            metrics::gauge!("leadflow_webhook_backlog").set(snapshot.webhooks.open as f64);
            metrics::gauge!("leadflow_webhook_lag_seconds")
                .set(seconds_since(snapshot.webhooks.oldest_due, now));
            metrics::gauge!("leadflow_metrics_scrape_error").set(0.0);
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "metrics: reading the backlogs failed");
            metrics::gauge!("leadflow_metrics_scrape_error").set(1.0);
        }
    }
}

/// The scrape: the gauges read now, then everything recorded, as text.
pub async fn render(state: &AppState) -> Option<String> {
    let handle = install()?;
    read_gauges(state).await;
    handle.run_upkeep();
    Some(handle.render())
}

fn text(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT));
    response
}

fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, "There is no such route.").into_response()
}

/// `GET /metrics` on the API's listener: only with `LEADFLOW_METRICS_TOKEN`,
/// and only for a request that carries it as a bearer token.
#[handler]
pub async fn scrape_with_token(req: &Request, state: Data<&Arc<AppState>>) -> Response {
    let Some(expected) = state.metrics_token.as_deref() else { return not_found() };
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        let mut response =
            Problem::new(StatusCode::UNAUTHORIZED, "Send the metrics token as a bearer token.")
                .into_response();
        response
            .headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"metrics\""));
        return response;
    }
    match render(&state).await {
        Some(body) => text(body),
        None => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Metrics are unavailable in this process.")
            .into_response(),
    }
}

/// `GET /metrics` on the separate metrics listener: no token (the network is the protection).
#[handler]
pub async fn scrape_open(state: Data<&Arc<AppState>>) -> Response {
    match render(&state).await {
        Some(body) => text(body),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Serves `GET /metrics` (no token) on `bind` in the background, until the
/// runtime stops: the listener of `LEADFLOW_METRICS_BIND`. Returns its address.
///
/// # Errors
/// When `bind` cannot be bound.
pub async fn listen(
    state: Arc<AppState>,
    bind: std::net::SocketAddr,
) -> anyhow::Result<std::net::SocketAddr> {
    use poem::EndpointExt as _;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {bind}: {e}"))?;
    let addr = listener.local_addr()?;
    install();
    let endpoint = poem::Route::new().at("/metrics", poem::get(scrape_open)).data(state);
    tokio::spawn(async move {
        let limits = crate::serve::ServerLimits::default();
        if let Err(e) =
            crate::serve::serve(listener, endpoint, limits, std::future::pending(), Duration::ZERO).await
        {
            tracing::error!(error = format!("{e:#}"), "the metrics listener stopped");
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::status_label;

    #[test]
    fn statuses_become_labels_without_formatting() {
        assert_eq!(status_label(201), "201");
        assert_eq!(status_label(207), "2xx");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(502), "5xx");
    }
}
