//! A closed-loop load generator: `concurrency` clients, each sending its next
//! request when the previous one answered, for a fixed time.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What one scenario measured.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Successful requests.
    pub ok: u64,
    /// Failed requests (wrong status, transport error).
    pub errors: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Median latency of successful requests, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
}

impl Stats {
    /// Successful requests per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs `request` from `concurrency` clients for `duration`. `request(client, n)`
/// gets the client's index and its request count, and answers success or failure.
pub async fn run<F, Fut>(concurrency: usize, duration: Duration, request: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + duration;
    let clients: Vec<_> = (0..concurrency)
        .map(|client| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                    .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()));
                let (mut ok, mut errors, mut n) = (0_u64, 0_u64, 0_u64);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if request(client, n).await {
                        ok += 1;
                        let _ = histogram
                            .record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
                    } else {
                        errors += 1;
                    }
                    n += 1;
                }
                (histogram, ok, errors)
            })
        })
        .collect();
    let mut total = Histogram::<u64>::new(3).unwrap_or_else(|_| unreachable!());
    let mut stats = Stats::default();
    for client in clients {
        if let Ok((histogram, ok, errors)) = client.await {
            let _ = total.add(&histogram);
            stats.ok += ok;
            stats.errors += errors;
        }
    }
    stats.elapsed = started.elapsed();
    stats.p50_ms = total.value_at_quantile(0.5) as f64 / 1000.0;
    stats.p99_ms = total.value_at_quantile(0.99) as f64 / 1000.0;
    stats
}
