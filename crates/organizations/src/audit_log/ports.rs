//! Port of the audit log reader.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, KeysetPage, KeysetPaged, PlatformScope, TenantScope};
use uuid::Uuid;

/// Whose entries to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditScope {
    /// One organization's entries.
    Organization(TenantScope),
    /// Every entry, platform-level ones included (super admin only).
    AcrossOrganizations(PlatformScope),
}

/// Filters of the audit log; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact action, e.g. `organization.updated`.
    pub action: Option<String>,
    /// Exact resource type, e.g. `team`.
    pub resource_type: Option<String>,
    /// Exact resource id.
    pub resource_id: Option<String>,
    /// The acting user or key.
    pub actor_id: Option<Uuid>,
    /// Entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Reads audit entries, newest first.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLogRepository: Send + Sync {
    /// One keyset page of entries in `scope` matching `filter`, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn page(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<AuditEntry>>;
}
