//! The port of the API keys store.

use super::model::{ApiKey, StoredApiKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::AuditEntry;
use leadflow_kernel::{ApiKeyId, TenantScope};

/// Durable store of API keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a key of the scope's organization with its secret hash and
    /// writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails (a prefix collision included; the caller may retry).
    async fn create(
        &self,
        scope: TenantScope,
        key: &ApiKey,
        secret_hash: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// The keys of `organization`, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn list(&self, scope: TenantScope) -> anyhow::Result<Vec<ApiKey>>;

    /// One key of `organization`.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, scope: TenantScope, id: ApiKeyId) -> anyhow::Result<Option<ApiKey>>;

    /// Revokes a key and writes `audit`, in one transaction. Takes effect at once.
    ///
    /// # Errors
    /// When the store fails.
    async fn revoke(
        &self,
        scope: TenantScope,
        id: ApiKeyId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// Replaces a key's prefix and secret and writes `audit`, in one
    /// transaction; the old secret stops working at once.
    ///
    /// # Errors
    /// When the store fails.
    async fn rotate(
        &self,
        scope: TenantScope,
        id: ApiKeyId,
        prefix: &str,
        secret_hash: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// The key with this prefix, its secret hash and its organization's state.
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_prefix(&self, prefix: &str) -> anyhow::Result<Option<StoredApiKey>>;

    /// Sets `last_used_at`.
    ///
    /// # Errors
    /// When the store fails.
    async fn touch(&self, id: ApiKeyId, at: DateTime<Utc>) -> anyhow::Result<()>;
}
