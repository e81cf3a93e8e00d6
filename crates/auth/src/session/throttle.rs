//! Login throttling: failed sign-ins counted per (account, client address),
//! per client address and per account, with one rule ([`ThrottlePolicy::decide`])
//! whatever stores the counts.
//!
//! The rule: an address that failed an account too often is refused for that
//! account; an address that failed too often overall is refused; an account
//! that many addresses fail is only slowed down, so a right password from an
//! address that has not failed it always gets in (a lockout cannot be used as
//! a weapon against the account's owner).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What to do with a sign-in attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Go ahead.
    Allow,
    /// Go ahead after waiting this long (the account is being attacked from many addresses).
    Slow(Duration),
    /// Refuse, even with the right password, for this long.
    Refuse(Duration),
}

/// Counts failed logins and says what to do with the next attempt.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// The verdict for an attempt on `account` from `ip`.
    async fn check(&self, account: &str, ip: Option<String>) -> ThrottleVerdict;

    /// Records a failed attempt.
    async fn failure(&self, account: &str, ip: Option<String>);

    /// A successful login clears the account's failures and those of this
    /// address on it (not the address's failures on other accounts).
    async fn success(&self, account: &str, ip: Option<String>);

    /// Forgets counters whose window ended (housekeeping); returns how many.
    async fn forget_expired(&self) -> u64;
}

/// Counts actions per key within a window: the throttles of registration,
/// invitations and password changes (the limits are [`ActionLimits`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ActionBudget: Send + Sync {
    /// Counts one action under `key`; `Err(wait)` when that makes more than
    /// `limit` within `window` (the action must then not happen).
    async fn spend(&self, key: &str, limit: u32, window: Duration) -> Result<(), Duration>;
}

/// How often the throttled actions may happen.
#[derive(Clone, Copy, Debug)]
pub struct ActionLimits {
    /// Registrations per client address per hour.
    pub registrations_per_address: u32,
    /// Password changes (right or wrong) per account per 15 minutes.
    pub password_changes_per_account: u32,
    /// Invitations per organization per hour.
    pub invitations_per_organization: u32,
}

impl Default for ActionLimits {
    /// 30 registrations per address an hour, 10 password changes per account
    /// in 15 minutes, 100 invitations per organization an hour.
    fn default() -> Self {
        Self {
            registrations_per_address: 30,
            password_changes_per_account: 10,
            invitations_per_organization: 100,
        }
    }
}

/// An hour.
pub const HOUR: Duration = Duration::from_secs(3600);
/// Fifteen minutes.
pub const QUARTER_HOUR: Duration = Duration::from_secs(15 * 60);

/// The counters one attempt is judged by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleKeys {
    /// This address on this account.
    pub pair: String,
    /// This address on any account (absent without an address).
    pub ip: Option<String>,
    /// This account from any address.
    pub account: String,
}

impl ThrottleKeys {
    /// The keys of an attempt on `account` from `ip`.
    #[must_use]
    pub fn of(account: &str, ip: Option<&str>) -> Self {
        Self {
            pair: format!("pair:{account}|{}", ip.unwrap_or("-")),
            ip: ip.map(|ip| format!("ip:{ip}")),
            account: format!("account:{account}"),
        }
    }

    /// Every key, for a store to read or write at once.
    #[must_use]
    pub fn all(&self) -> Vec<String> {
        let mut keys = vec![self.pair.clone(), self.account.clone()];
        keys.extend(self.ip.clone());
        keys
    }
}

/// A counter as stored: failures since the window started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures in the window.
    pub failures: u32,
    /// When the window started (its first failure).
    pub since: DateTime<Utc>,
}

impl FailureCount {
    /// The start before which a window of length `window` has ended at `now`.
    #[must_use]
    pub fn expired_before(window: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX)
    }

    /// Whether the window is still running at `now`.
    #[must_use]
    pub fn is_live(&self, window: Duration, now: DateTime<Utc>) -> bool {
        self.since > Self::expired_before(window, now)
    }

    /// The time left in the window (at least a second): a refusal's `Retry-After`.
    #[must_use]
    pub fn retry_after(&self, window: Duration, now: DateTime<Utc>) -> Duration {
        (self.since - Self::expired_before(window, now))
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1))
    }

    /// Counts one more at `now`, in a new window when the last one ended.
    pub fn add(&mut self, window: Duration, now: DateTime<Utc>) {
        if !self.is_live(window, now) {
            *self = Self { failures: 0, since: now };
        }
        self.failures += 1;
    }
}

/// The limits.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Failures of one address on one account before that address is refused for it.
    pub per_account_and_ip: u32,
    /// Failures of one address (any account) before it is refused.
    pub per_ip: u32,
    /// Failures on one account (any address) before attempts on it are slowed down.
    pub slow_account_after: u32,
    /// How long a slowed-down attempt waits.
    pub slowdown: Duration,
    /// How long a counter lives from its first failure.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    /// 5 failures per (account, address), 20 per address, slowing an account
    /// down by 1 s after 10 failures, within 15 minutes.
    fn default() -> Self {
        Self {
            per_account_and_ip: 5,
            per_ip: 20,
            slow_account_after: 10,
            slowdown: Duration::from_secs(1),
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl ThrottlePolicy {
    /// The verdict for an attempt, from the counters of its keys at `now`
    /// (expired windows count as nothing).
    #[must_use]
    pub fn decide(
        &self,
        pair: Option<FailureCount>,
        ip: Option<FailureCount>,
        account: Option<FailureCount>,
        now: DateTime<Utc>,
    ) -> ThrottleVerdict {
        let live = |c: Option<FailureCount>| c.filter(|c| c.is_live(self.window, now));
        let wait = |c: FailureCount| c.retry_after(self.window, now);
        let refusals = [(live(pair), self.per_account_and_ip), (live(ip), self.per_ip)];
        if let Some(longest) =
            refusals.into_iter().filter_map(|(c, limit)| c.filter(|c| c.failures >= limit)).map(wait).max()
        {
            return ThrottleVerdict::Refuse(longest);
        }
        if live(account).is_some_and(|c| c.failures >= self.slow_account_after) {
            return ThrottleVerdict::Slow(self.slowdown);
        }
        ThrottleVerdict::Allow
    }
}

/// An in-process throttle: each process counts on its own (for tests and
/// single-process embedders; the server keeps its counts in the database).
pub struct MemoryLoginThrottle {
    policy: ThrottlePolicy,
    counts: Mutex<HashMap<String, FailureCount>>,
}

impl MemoryLoginThrottle {
    /// A throttle with `policy`.
    #[must_use]
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self { policy, counts: Mutex::new(HashMap::new()) }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, FailureCount>> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl LoginThrottle for MemoryLoginThrottle {
    async fn check(&self, account: &str, ip: Option<String>) -> ThrottleVerdict {
        let keys = ThrottleKeys::of(account, ip.as_deref());
        let counts = self.counts();
        let get = |key: &str| counts.get(key).copied();
        self.policy.decide(get(&keys.pair), keys.ip.as_deref().and_then(get), get(&keys.account), Utc::now())
    }

    async fn failure(&self, account: &str, ip: Option<String>) {
        let (now, window) = (Utc::now(), self.policy.window);
        let mut counts = self.counts();
        if counts.len() > 100_000 {
            // Bound memory under a spray of distinct keys: expired windows go first.
            counts.retain(|_, c| c.is_live(window, now));
        }
        for key in ThrottleKeys::of(account, ip.as_deref()).all() {
            counts.entry(key).or_insert(FailureCount { failures: 0, since: now }).add(window, now);
        }
    }

    async fn success(&self, account: &str, ip: Option<String>) {
        let keys = ThrottleKeys::of(account, ip.as_deref());
        let mut counts = self.counts();
        counts.remove(&keys.pair);
        counts.remove(&keys.account);
    }

    async fn forget_expired(&self) -> u64 {
        let (now, window) = (Utc::now(), self.policy.window);
        let mut counts = self.counts();
        let before = counts.len();
        counts.retain(|_, c| c.is_live(window, now));
        u64::try_from(before - counts.len()).unwrap_or(0)
    }
}

/// An in-process [`ActionBudget`] (for tests and single-process embedders).
#[derive(Default)]
pub struct MemoryActionBudget {
    counts: Mutex<HashMap<String, FailureCount>>,
}

#[async_trait]
impl ActionBudget for MemoryActionBudget {
    async fn spend(&self, key: &str, limit: u32, window: Duration) -> Result<(), Duration> {
        let now = Utc::now();
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(key.to_owned()).or_insert(FailureCount { failures: 0, since: now });
        count.add(window, now);
        if count.failures > limit {
            return Err(count.retry_after(window, now));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> MemoryLoginThrottle {
        MemoryLoginThrottle::new(ThrottlePolicy {
            per_account_and_ip: 2,
            per_ip: 3,
            slow_account_after: 4,
            slowdown: Duration::from_millis(10),
            window: Duration::from_secs(60),
        })
    }

    #[tokio::test]
    async fn an_address_is_refused_for_an_account_it_failed_and_others_are_not() {
        let t = throttle();
        let ip = || Some("10.0.0.1".to_owned());
        t.failure("ada", ip()).await;
        assert_eq!(t.check("ada", ip()).await, ThrottleVerdict::Allow);
        t.failure("ada", ip()).await;
        let ThrottleVerdict::Refuse(wait) = t.check("ada", ip()).await else { panic!("expected a refusal") };
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert_eq!(
            t.check("ada", Some("10.0.0.2".into())).await,
            ThrottleVerdict::Allow,
            "another address gets in"
        );
        t.success("ada", Some("10.0.0.2".into())).await;
        assert!(
            matches!(t.check("ada", ip()).await, ThrottleVerdict::Refuse(_)),
            "the owner's success elsewhere does not unlock the failing address"
        );
    }

    #[tokio::test]
    async fn many_addresses_failing_one_account_slow_it_down_but_never_lock_it() {
        let t = throttle();
        for n in 0..8 {
            t.failure("ada", Some(format!("10.0.1.{n}"))).await;
        }
        assert_eq!(
            t.check("ada", Some("10.9.9.9".into())).await,
            ThrottleVerdict::Slow(Duration::from_millis(10))
        );
    }

    #[tokio::test]
    async fn an_address_is_refused_across_accounts() {
        let t = throttle();
        for account in ["a", "b", "c"] {
            t.failure(account, Some("10.0.0.9".into())).await;
        }
        assert!(matches!(t.check("d", Some("10.0.0.9".into())).await, ThrottleVerdict::Refuse(_)));
        assert_eq!(t.check("d", Some("10.0.0.10".into())).await, ThrottleVerdict::Allow);
        t.success("d", Some("10.0.0.9".into())).await;
        assert!(
            matches!(t.check("d", Some("10.0.0.9".into())).await, ThrottleVerdict::Refuse(_)),
            "a success does not clear the address"
        );
    }

    #[test]
    fn expired_windows_count_as_nothing() {
        let policy = ThrottlePolicy::default();
        let old = FailureCount { failures: 100, since: Utc::now() - chrono::Duration::hours(1) };
        assert_eq!(policy.decide(Some(old), Some(old), Some(old), Utc::now()), ThrottleVerdict::Allow);
    }
}
