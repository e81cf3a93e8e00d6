//! Ports of teams. Every method is scoped by the organization.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, TenantScope, UserId};

use super::model::{Team, TeamId, TeamMember};

/// What a team store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TeamStoreError {
    /// Another team of the organization has this name.
    #[error("a team with this name already exists")]
    NameTaken,
    /// No such team in the organization.
    #[error("team not found")]
    NotFound,
    /// The team changed since it was read.
    #[error("the team changed since it was read")]
    Changed,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Durable store of teams.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TeamRepository: Send + Sync {
    /// Stores a new team and `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `NameTaken` when the organization has a team of that name.
    async fn create(&self, scope: TenantScope, team: &Team, audit: &AuditEntry)
    -> Result<(), TeamStoreError>;

    /// The team `id` of `organization`.
    ///
    /// # Errors
    /// `Unexpected` when the store fails.
    async fn get(&self, scope: TenantScope, id: TeamId) -> Result<Option<Team>, TeamStoreError>;

    /// Every team of `organization`, by name.
    ///
    /// # Errors
    /// `Unexpected` when the store fails.
    async fn list(&self, scope: TenantScope) -> Result<Vec<Team>, TeamStoreError>;

    /// The members of a team, by name.
    ///
    /// # Errors
    /// `Unexpected` when the store fails.
    async fn members(&self, scope: TenantScope, id: TeamId) -> Result<Vec<TeamMember>, TeamStoreError>;

    /// Saves a team and `audit`, in one transaction — only if it is still
    /// the version read (`updated_at == read_at`).
    ///
    /// # Errors
    /// MUST return `NameTaken`, `NotFound` or `Changed`; then nothing is written.
    async fn update(
        &self,
        scope: TenantScope,
        team: &Team,
        read_at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), TeamStoreError>;

    /// Deletes a team (and its member list) and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `NotFound` when there is no such team.
    async fn delete(&self, scope: TenantScope, id: TeamId, audit: &AuditEntry) -> Result<(), TeamStoreError>;

    /// Adds a member of the organization to a team and writes `audit`, in one
    /// transaction; `Ok(false)` (and no entry) when they already are in it.
    ///
    /// # Errors
    /// `NotFound` when the team is gone.
    async fn add_member(
        &self,
        scope: TenantScope,
        id: TeamId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, TeamStoreError>;

    /// Removes a user from a team and writes `audit`, in one transaction;
    /// `Ok(false)` (and no entry) when they were not in it.
    ///
    /// # Errors
    /// `Unexpected` when the store fails.
    async fn remove_member(
        &self,
        scope: TenantScope,
        id: TeamId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, TeamStoreError>;
}

/// Who belongs to an organization, in the words of the organizations context.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MemberDirectory: Send + Sync {
    /// Whether `user` is a member of `organization`.
    ///
    /// # Errors
    /// When the store fails.
    async fn is_member(&self, scope: TenantScope, user: UserId) -> anyhow::Result<bool>;
}
