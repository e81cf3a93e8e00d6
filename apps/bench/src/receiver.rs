//! A webhook receiver for the `webhooks` scenario: plain hyper on 127.0.0.1,
//! answering 200 to every POST and recording, per event, the lag from the
//! event's `timestamp` (its commit) to its receipt.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// What arrived.
#[derive(Default)]
pub struct Received {
    /// Events received (retries included).
    pub count: u64,
    /// Distinct `webhook-id`s.
    pub ids: std::collections::HashSet<String>,
    /// Lag from commit to receipt, in microseconds.
    pub lag_us: Option<hdrhistogram::Histogram<u64>>,
    /// The first and the last receipt.
    pub first: Option<Instant>,
    /// The last receipt.
    pub last: Option<Instant>,
}

/// A running receiver.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    /// What it received.
    pub received: Arc<Mutex<Received>>,
}

async fn receive(
    req: Request<Incoming>,
    received: Arc<Mutex<Received>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = req.into_body().collect().await?.to_bytes();
    let now = chrono::Utc::now();
    let lag = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()))
        .and_then(|t| {
            u64::try_from((now - t.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0)).ok()
        });
    if let Ok(mut r) = received.lock() {
        r.count += 1;
        r.ids.insert(id);
        let at = Instant::now();
        r.first.get_or_insert(at);
        r.last = Some(at);
        if let (Some(lag), Some(h)) = (lag, r.lag_us.as_mut()) {
            let _ = h.record(lag.max(1));
        }
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

impl Receiver {
    /// Starts a receiver on an ephemeral port.
    ///
    /// # Errors
    /// When it cannot listen.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Received {
            lag_us: hdrhistogram::Histogram::new_with_bounds(1, 600_000_000, 3).ok(),
            ..Received::default()
        }));
        let shared = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| receive(req, shared.clone()));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { url, received })
    }
}
