//! The port of the members store.

use super::model::{Member, MemberChangeError};
use async_trait::async_trait;
use leadflow_kernel::TenantScope;
use leadflow_kernel::{AuditEntry, Role, UserId};

/// Durable store of an organization's members. Every method is scoped by the organization.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MemberRepository: Send + Sync {
    /// Every member of `organization`, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn members(&self, scope: TenantScope) -> anyhow::Result<Vec<Member>>;

    /// One member.
    ///
    /// # Errors
    /// When the store fails.
    async fn member(&self, scope: TenantScope, user: UserId) -> anyhow::Result<Option<Member>>;

    /// Changes a member's role and writes `audit`, in one transaction. Takes
    /// effect for the member's tokens at once in this process.
    ///
    /// # Errors
    /// MUST return `LastOwner` (and change nothing) when this would demote the
    /// last owner, checked atomically with the change; `NotFound` when not a member.
    async fn change_role(
        &self,
        scope: TenantScope,
        user: UserId,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError>;

    /// Removes a member (from the organization's teams and team leads too),
    /// revokes their sessions in the organization and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `LastOwner` (and change nothing) when they are the last
    /// owner, checked atomically; `NotFound` when not a member.
    async fn remove(
        &self,
        scope: TenantScope,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), MemberChangeError>;
}
