//! Webhook POSTs over HTTP(S) with `reqwest`: 15 s timeout, no redirects, and
//! every connection's address checked by the [`AddressGuard`] — through the
//! DNS resolver, so a name that resolves to a private address is refused at
//! connection time, not only when the endpoint was saved.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use leadflow_delivery::ports::{PostResult, WebhookSender};

use crate::guard::AddressGuard;

/// POSTs webhooks.
#[derive(Clone)]
pub struct HttpSender {
    client: reqwest::Client,
    guard: AddressGuard,
}

impl HttpSender {
    /// A sender with `timeout` per request.
    ///
    /// # Errors
    /// When the TLS backend cannot start.
    pub fn new(guard: AddressGuard, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(guard.resolver())
            .no_proxy()
            .pool_max_idle_per_host(8)
            .build()?;
        Ok(Self { client, guard })
    }
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> PostResult {
        let started = Instant::now();
        let elapsed = || u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                return PostResult { status: None, error: Some(format!("invalid URL: {e}")), latency_ms: 0 };
            }
        };
        if let Err(refused) = self.guard.check_url(&parsed) {
            return PostResult { status: None, error: Some(refused), latency_ms: 0 };
        }
        let mut request = self.client.post(parsed).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let error = status.is_redirection().then(|| format!("redirects are not followed ({status})"));
                PostResult { status: Some(status.as_u16()), error, latency_ms: elapsed() }
            }
            Err(e) => {
                let what = if e.is_timeout() { "timed out".to_owned() } else { format!("{e:#}") };
                let chain = std::iter::successors(std::error::Error::source(&e), |s| s.source())
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(": ");
                let error = if chain.is_empty() { what } else { format!("{what}: {chain}") };
                PostResult { status: None, error: Some(error), latency_ms: elapsed() }
            }
        }
    }
}
