//! Ports of the organizations context. Adapters live in `leadflow-storage`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, OffsetPage, Paged, PlatformScope, TenantScope, UserId, ValidationErrors};

use crate::model::{Organization, OrganizationFilter, OrganizationStats, PlatformOverview};

/// What a repository call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// Another organization already has this slug.
    #[error("an organization named {0:?} already exists")]
    NameTaken(String),
    /// The organization does not exist (any more).
    #[error("the organization does not exist")]
    NotFound,
    /// The organization changed since it was read (its `updated_at` moved).
    #[error("the organization changed since it was read")]
    Changed,
    /// A field only the store can judge (the initial plan) is invalid.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Which organizations a list may return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListScope {
    /// Every organization. Only the super admin's use cases ask for this.
    AcrossOrganizations(PlatformScope),
    /// Only this organization (a member's view).
    Only(TenantScope),
}

/// Durable store of [`Organization`]s.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// Stores a new organization, makes `owner` (if any) its owner, starts its
    /// subscription (on `plan`, or the default trial) and writes `audit`, in
    /// one transaction.
    ///
    /// # Errors
    /// MUST return [`RepositoryError::NameTaken`] when the slug is in use and
    /// [`RepositoryError::Invalid`] for an unknown plan.
    async fn create(
        &self,
        organization: &Organization,
        owner: Option<UserId>,
        plan: Option<String>,
        audit: &AuditEntry,
    ) -> Result<(), RepositoryError>;

    /// The scope's organization, if it exists.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when the store fails.
    async fn get(&self, scope: TenantScope) -> Result<Option<Organization>, RepositoryError>;

    /// One page of the organizations in `scope` that match `filter`, with the total.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when the store fails.
    async fn list(
        &self,
        scope: ListScope,
        filter: &OrganizationFilter,
        page: OffsetPage,
    ) -> Result<Paged<Organization>, RepositoryError>;

    /// Saves every field of `organization` and writes `audit`, in one
    /// transaction — only if the stored organization is still the version
    /// read (`updated_at == read_at`), so a concurrent change is never lost.
    ///
    /// # Errors
    /// MUST return [`RepositoryError::NameTaken`] when the new slug is in use,
    /// [`RepositoryError::NotFound`] when the organization is gone and
    /// [`RepositoryError::Changed`] when it changed since `read_at`; then nothing is written.
    async fn update(
        &self,
        scope: TenantScope,
        organization: &Organization,
        read_at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), RepositoryError>;

    /// Deletes the organization and every row that belongs to it (its audit
    /// entries included) and writes `audit`, a platform-level entry that
    /// outlives it, in one transaction.
    ///
    /// # Errors
    /// MUST return [`RepositoryError::NotFound`] when there is nothing to delete.
    async fn delete_with_all_data(
        &self,
        scope: TenantScope,
        audit: &AuditEntry,
    ) -> Result<(), RepositoryError>;

    /// Counts about one organization.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when the store fails.
    async fn stats(&self, scope: TenantScope) -> Result<OrganizationStats, RepositoryError>;

    /// Totals across every organization (super admin only).
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when the store fails.
    async fn overview_across_organizations(
        &self,
        platform: PlatformScope,
    ) -> Result<PlatformOverview, RepositoryError>;
}
