//! A short-lived cache of "may this user act in this organization", read on
//! every authenticated request.
//!
//! Changes made through this process's adapters invalidate it at once; a
//! change made by another process is seen after at most the TTL. API keys
//! (by prefix) are cached alike: a key revoked or rotated by another process
//! keeps working there for at most the TTL.
//!
//! A value read from the database before an invalidation is never stored
//! after it: readers note the [`AccessCache::generation`] before reading, and
//! a `put` of an older generation is dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use leadflow_kernel::{OrganizationId, Role, UserId};

/// What the cache holds for one (user, organization) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedAccess {
    /// Whether the user is a super admin.
    pub super_admin: bool,
    /// `None`: no such organization; else whether it is active.
    pub organization_active: Option<bool>,
    /// The user's role there.
    pub role: Option<Role>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether the user's email address is verified.
    pub email_verified: bool,
}

type Key = (UserId, Option<OrganizationId>);

/// The cache. Bounded: it is cleared when it grows past `capacity` entries.
pub struct AccessCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Key, (Instant, Option<CachedAccess>)>>,
    /// Bumped by every invalidation (under the lock of what it clears).
    generation: AtomicU64,
    /// API keys by prefix (with their organization's state), for `X-Api-Key` requests.
    #[cfg(feature = "auth")]
    keys: Mutex<HashMap<String, (Instant, Option<leadflow_auth::api_keys::StoredApiKey>)>>,
}

impl AccessCache {
    /// A cache whose entries live for `ttl` (zero disables caching).
    #[must_use]
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            capacity: 100_000,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            #[cfg(feature = "auth")]
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value, if fresh. `Some(None)` caches "no such user".
    pub fn get(&self, user: UserId, organization: Option<OrganizationId>) -> Option<Option<CachedAccess>> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(&(user, organization)).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| *v)
    }

    /// The current generation: note it before reading what you will `put`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers a value read at `generation`, unless an invalidation came since.
    pub fn put(
        &self,
        user: UserId,
        organization: Option<OrganizationId>,
        value: Option<CachedAccess>,
        generation: u64,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation() != generation {
            return;
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert((user, organization), (Instant::now(), value));
    }

    /// Forgets everything about an organization (activated, deactivated, deleted, members or keys changed).
    pub fn invalidate_organization(&self, organization: OrganizationId) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|(_, org), _| *org != Some(organization));
        drop(entries);
        #[cfg(feature = "auth")]
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, (_, key)| key.as_ref().is_none_or(|k| k.key.organization_id != organization));
    }

    /// The cached API key of `prefix`, if fresh (`Some(None)`: no such key).
    #[cfg(feature = "auth")]
    pub fn key(&self, prefix: &str) -> Option<Option<leadflow_auth::api_keys::StoredApiKey>> {
        let keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.get(prefix).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, k)| k.clone())
    }

    /// Remembers an API key lookup made at `generation`, unless an invalidation came since.
    #[cfg(feature = "auth")]
    pub fn put_key(&self, prefix: &str, key: Option<leadflow_auth::api_keys::StoredApiKey>, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation() != generation {
            return;
        }
        if keys.len() >= self.capacity {
            keys.clear();
        }
        keys.insert(prefix.to_owned(), (Instant::now(), key));
    }

    /// Forgets a key (its use was recorded, or it changed).
    #[cfg(feature = "auth")]
    pub fn invalidate_key(&self, id: leadflow_kernel::ApiKeyId) {
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        keys.retain(|_, (_, key)| key.as_ref().is_none_or(|k| k.key.id != id));
    }

    /// Forgets everything about a user.
    pub fn invalidate_user(&self, user: UserId) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|(u, _), _| *u != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: CachedAccess = CachedAccess {
        super_admin: false,
        organization_active: Some(true),
        role: None,
        disabled: false,
        email_verified: true,
    };

    #[test]
    fn invalidation_drops_only_the_organization_concerned() {
        let cache = AccessCache::new(Duration::from_secs(60));
        let (u, a, b) = (UserId::new(), OrganizationId::new(), OrganizationId::new());
        cache.put(u, Some(a), Some(ACCESS), cache.generation());
        cache.put(u, Some(b), Some(ACCESS), cache.generation());
        cache.invalidate_organization(a);
        assert_eq!(cache.get(u, Some(a)), None);
        assert_eq!(cache.get(u, Some(b)), Some(Some(ACCESS)));
        cache.invalidate_user(u);
        assert_eq!(cache.get(u, Some(b)), None);
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_stored_after_it() {
        let cache = AccessCache::new(Duration::from_secs(60));
        let (u, a) = (UserId::new(), OrganizationId::new());
        let before = cache.generation();
        // The member is removed (and the cache invalidated) while the read was in flight.
        cache.invalidate_organization(a);
        cache.put(u, Some(a), Some(ACCESS), before);
        assert_eq!(cache.get(u, Some(a)), None, "the stale read was dropped");
        cache.put(u, Some(a), Some(ACCESS), cache.generation());
        assert_eq!(cache.get(u, Some(a)), Some(Some(ACCESS)));
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = AccessCache::new(Duration::ZERO);
        let u = UserId::new();
        cache.put(u, None, Some(ACCESS), cache.generation());
        assert_eq!(cache.get(u, None), None);
    }
}
