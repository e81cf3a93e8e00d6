//! A language-model stand-in for the `workflows-llm` scenario: an
//! OpenAI-compatible `/v1/chat/completions` on 127.0.0.1 (plain hyper) that
//! answers every call after a fixed latency with a valid JSON answer for the
//! schema asked (the qualification is `unqualified`, so workflows end after
//! `qualify`), and counts the calls in flight and their peak.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

/// Calls counted by the stand-in.
#[derive(Default)]
pub struct Calls {
    /// Answered.
    pub done: AtomicU64,
    /// In flight now.
    pub in_flight: AtomicU64,
    /// The most in flight at once.
    pub peak: AtomicU64,
    /// Calls in flight, summed over samples taken every 10 ms while any was.
    pub sampled: AtomicU64,
    /// Samples taken while any call was in flight.
    pub samples: AtomicU64,
}

impl Calls {
    /// The mean number of calls in flight while the model was busy.
    pub fn mean_in_flight(&self) -> f64 {
        let samples = self.samples.load(Ordering::SeqCst);
        if samples == 0 { 0.0 } else { self.sampled.load(Ordering::SeqCst) as f64 / samples as f64 }
    }
}

/// A running stand-in.
pub struct ModelStandIn {
    /// `http://127.0.0.1:port/v1`.
    pub base_url: String,
    /// Its counters.
    pub calls: Arc<Calls>,
}

fn answer(schema: &str) -> Value {
    match schema {
        "research" => json!({ "company": null, "intents": [], "summary": "A visitor who said hello." }),
        "qualification" => json!({ "category": "unqualified", "score": 10, "reason": "No buying intent." }),
        _ => json!({ "subject": "Hello", "body": "Hi,\n\nThanks for writing.\n" }),
    }
}

async fn complete(
    req: Request<Incoming>,
    calls: Arc<Calls>,
    latency: Duration,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let now = calls.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    calls.peak.fetch_max(now, Ordering::SeqCst);
    let body = req.into_body().collect().await?.to_bytes();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let schema = request["response_format"]["json_schema"]["name"].as_str().unwrap_or("").to_owned();
    tokio::time::sleep(latency).await;
    let reply = json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "model": request["model"],
        "choices": [ { "index": 0, "finish_reason": "stop", "message": { "role": "assistant", "content": answer(&schema).to_string() } } ],
        "usage": { "prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340 },
    });
    calls.in_flight.fetch_sub(1, Ordering::SeqCst);
    calls.done.fetch_add(1, Ordering::SeqCst);
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    response
        .headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    Ok(response)
}

impl ModelStandIn {
    /// Starts the stand-in answering after `latency`.
    ///
    /// # Errors
    /// When it cannot listen.
    pub async fn start(latency: Duration) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let calls = Arc::new(Calls::default());
        let sampler = calls.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let now = sampler.in_flight.load(Ordering::SeqCst);
                if now > 0 {
                    sampler.sampled.fetch_add(now, Ordering::SeqCst);
                    sampler.samples.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let shared = calls.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| complete(req, shared.clone(), latency));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { base_url, calls })
    }
}
