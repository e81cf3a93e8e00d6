//! Login throttling: failed sign-ins per account and per client address.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// Counts failed logins and says when to refuse further attempts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// `Err(wait)` when `account` or `ip` has failed too often recently: refuse
    /// the attempt, even with the right password, for `wait`.
    async fn check(&self, account: &str, ip: Option<String>) -> Result<(), Duration>;

    /// Records a failed attempt.
    async fn failure(&self, account: &str, ip: Option<String>);

    /// A successful login clears the account's failures (not the address's).
    async fn success(&self, account: &str);
}

/// Limits of [`MemoryLoginThrottle`].
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Failures per account within the window.
    pub per_account: usize,
    /// Failures per client address within the window.
    pub per_ip: usize,
    /// The sliding window.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    /// 5 failures per account and 20 per address within 15 minutes.
    fn default() -> Self {
        Self { per_account: 5, per_ip: 20, window: Duration::from_secs(15 * 60) }
    }
}

/// An in-process sliding-window throttle. Each server process counts on its
/// own, so N processes behind a balancer allow up to N times the limits.
pub struct MemoryLoginThrottle {
    policy: ThrottlePolicy,
    accounts: Mutex<HashMap<String, VecDeque<Instant>>>,
    ips: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl MemoryLoginThrottle {
    /// A throttle with `policy`.
    #[must_use]
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self { policy, accounts: Mutex::new(HashMap::new()), ips: Mutex::new(HashMap::new()) }
    }

    fn wait(
        &self,
        map: &Mutex<HashMap<String, VecDeque<Instant>>>,
        key: &str,
        limit: usize,
    ) -> Option<Duration> {
        let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let failures = map.get_mut(key)?;
        let now = Instant::now();
        while failures.front().is_some_and(|t| now.duration_since(*t) >= self.policy.window) {
            failures.pop_front();
        }
        if failures.len() < limit {
            return None;
        }
        let oldest = *failures.front()?;
        Some((oldest + self.policy.window).saturating_duration_since(now).max(Duration::from_secs(1)))
    }

    fn record(&self, map: &Mutex<HashMap<String, VecDeque<Instant>>>, key: &str) {
        let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            // Bound memory under a spray of distinct keys; stale windows go first.
            let window = self.policy.window;
            map.retain(|_, v| v.back().is_some_and(|t| t.elapsed() < window));
        }
        let failures = map.entry(key.to_owned()).or_default();
        failures.push_back(Instant::now());
        while failures.len() > 1000 {
            failures.pop_front();
        }
    }
}

#[async_trait]
impl LoginThrottle for MemoryLoginThrottle {
    async fn check(&self, account: &str, ip: Option<String>) -> Result<(), Duration> {
        let by_account = self.wait(&self.accounts, account, self.policy.per_account);
        let by_ip = ip.and_then(|ip| self.wait(&self.ips, &ip, self.policy.per_ip));
        match by_account.into_iter().chain(by_ip).max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    async fn failure(&self, account: &str, ip: Option<String>) {
        self.record(&self.accounts, account);
        if let Some(ip) = ip {
            self.record(&self.ips, &ip);
        }
    }

    async fn success(&self, account: &str) {
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> MemoryLoginThrottle {
        MemoryLoginThrottle::new(ThrottlePolicy {
            per_account: 2,
            per_ip: 3,
            window: Duration::from_secs(60),
        })
    }

    #[tokio::test]
    async fn an_account_is_refused_after_its_limit_until_a_success() {
        let t = throttle();
        t.failure("ada", None).await;
        assert!(t.check("ada", None).await.is_ok());
        t.failure("ada", None).await;
        let wait = t.check("ada", None).await.unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(t.check("bob", None).await.is_ok());
        t.success("ada").await;
        assert!(t.check("ada", None).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_is_refused_across_accounts() {
        let t = throttle();
        for account in ["a", "b", "c"] {
            t.failure(account, Some("10.0.0.9".into())).await;
        }
        assert!(t.check("d", Some("10.0.0.9".into())).await.is_err());
        assert!(t.check("d", Some("10.0.0.10".into())).await.is_ok());
        t.success("d").await;
        assert!(t.check("d", Some("10.0.0.9".into())).await.is_err(), "a success does not clear the address");
    }
}
