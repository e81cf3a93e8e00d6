//! Password hashing: the [`PasswordHasher`] port and its argon2id adapter.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::account::model::{Password, PasswordHash};

/// Hashes and verifies passwords. Implementations must not block the async runtime.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A fresh salted hash of `password`.
    ///
    /// # Errors
    /// When the hasher fails (never for valid parameters).
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash>;

    /// Whether `password` matches `hash`. With `hash` = `None` it does the same
    /// work against a dummy hash and answers `false`, so that an unknown account
    /// takes as long as a wrong password.
    ///
    /// # Errors
    /// When the hasher fails.
    async fn verify(&self, password: &Password, hash: Option<PasswordHash>) -> anyhow::Result<bool>;
}

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    /// The OWASP recommendation for argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

/// No hashing slot came free in time: the server is saturated with password
/// work (a registration or login flood). Answered as "try again shortly".
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("every password hashing slot is busy; try again shortly")]
pub struct HashingBusy;

/// How long a request waits for a hashing slot before [`HashingBusy`].
pub const HASHING_SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// argon2id on tokio's blocking pool, with at most `permits` hashes at once so
/// that a login storm neither exhausts memory nor starves other requests; a
/// request that waits longer than [`HASHING_SLOT_WAIT`] for a slot fails with
/// [`HashingBusy`] instead of queueing without bound.
pub struct Argon2Hasher {
    argon: Arc<Argon2<'static>>,
    permits: Arc<Semaphore>,
    wait: std::time::Duration,
    dummy: PasswordHash,
}

impl Argon2Hasher {
    /// A hasher with `cost`, running at most `concurrency` hashes at once.
    ///
    /// # Errors
    /// When `cost` is outside argon2's limits.
    pub fn new(cost: HashCost, concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let argon = Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
        let dummy = hash_blocking(&argon, "leadflow dummy password for timing")?;
        Ok(Self {
            argon,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait: HASHING_SLOT_WAIT,
            dummy,
        })
    }

    async fn slot(&self) -> anyhow::Result<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(permit) => Ok(permit?),
            Err(_) => Err(HashingBusy.into()),
        }
    }
}

fn hash_blocking(argon: &Argon2<'_>, password: &str) -> anyhow::Result<PasswordHash> {
    use argon2::PasswordHasher as _;
    let hash =
        argon.hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    Ok(PasswordHash::from_phc(hash.to_string()))
}

fn verify_blocking(argon: &Argon2<'_>, password: &str, phc: &str) -> anyhow::Result<bool> {
    use argon2::PasswordVerifier as _;
    let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(phc) else {
        return Ok(false);
    };
    Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let _permit = self.slot().await?;
        let argon = self.argon.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_blocking(&argon, password.expose())).await?
    }

    async fn verify(&self, password: &Password, hash: Option<PasswordHash>) -> anyhow::Result<bool> {
        let _permit = self.slot().await?;
        let argon = self.argon.clone();
        let password = password.clone();
        let (phc, real) = match hash {
            Some(h) => (h.as_phc().to_owned(), true),
            None => (self.dummy.as_phc().to_owned(), false),
        };
        let matched =
            tokio::task::spawn_blocking(move || verify_blocking(&argon, password.expose(), &phc)).await??;
        Ok(matched && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_gets_no_slot_in_time_is_busy_not_queued() {
        let cost = HashCost { memory_kib: 64, iterations: 1, parallelism: 1 };
        let mut hasher = Argon2Hasher::new(cost, 1).unwrap();
        hasher.wait = std::time::Duration::from_millis(50);
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let busy = hasher.hash(&Password::presented("a long enough password")).await.unwrap_err();
        assert!(busy.downcast_ref::<HashingBusy>().is_some());
        drop(held);
        assert!(hasher.hash(&Password::presented("a long enough password")).await.is_ok());
    }

    fn cheap() -> Argon2Hasher {
        Argon2Hasher::new(HashCost { memory_kib: 256, iterations: 1, parallelism: 1 }, 2).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = cheap();
        let pw = Password::parse("correct horse battery").unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(hasher.verify(&pw, Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify(&Password::presented("wrong horse battery"), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = cheap();
        assert!(
            !hasher.verify(&Password::presented("leadflow dummy password for timing"), None).await.unwrap()
        );
    }

    #[tokio::test]
    async fn a_corrupt_hash_does_not_verify() {
        let hasher = cheap();
        let bad = PasswordHash::from_phc("not-a-phc".into());
        assert!(!hasher.verify(&Password::presented("whatever12"), Some(bad)).await.unwrap());
    }
}
