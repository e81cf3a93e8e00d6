//! Webhook POSTs over HTTP(S) with `reqwest`: 15 s timeout, no redirects, and
//! every connection's address checked by the [`AddressGuard`] — through the
//! DNS resolver, so a name that resolves to a private address is refused at
//! connection time, not only when the endpoint was saved.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use leadflow_delivery::ports::{PostResult, WebhookSender};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::guard::AddressGuard;

/// A resolver that keeps only the addresses the guard permits.
struct GuardedResolver {
    guard: AddressGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                resolved.iter().copied().filter(|a| guard.permits(a.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address; refused").into();
                return Err(refused);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

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
            .dns_resolver(Arc::new(GuardedResolver { guard }))
            .no_proxy()
            .pool_max_idle_per_host(8)
            .build()?;
        Ok(Self { client, guard })
    }

    /// Refuses an address written into the URL itself (the resolver is not asked for those).
    fn refuse_literal(&self, url: &reqwest::Url) -> Option<String> {
        let ip = match url.host()? {
            url::Host::Ipv4(v4) => IpAddr::V4(v4),
            url::Host::Ipv6(v6) => IpAddr::V6(v6),
            url::Host::Domain(_) => return None,
        };
        (!self.guard.permits(ip)).then(|| format!("{ip} is not a public address; refused"))
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
        if parsed.scheme() != "https" && !self.guard.allows_private() {
            return PostResult {
                status: None,
                error: Some("only https:// URLs are called; refused".into()),
                latency_ms: 0,
            };
        }
        if let Some(refused) = self.refuse_literal(&parsed) {
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
