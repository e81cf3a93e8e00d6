//! Tenant scope as a capability.
//!
//! Every port method on tenant data takes a [`TenantScope`] instead of a bare
//! [`OrganizationId`]. A scope cannot be built from an id: the only ways to get
//! one are the access checks on [`Actor`] ([`Actor::tenant_scope`],
//! [`Actor::scope_for`]) and, for the super admin and Leadflow's own workers,
//! a [`PlatformScope`]. A caller that skipped the check does not compile.
//! Both types are `Copy` newtypes: the capability costs nothing at run time.

use crate::actor::Actor;
use crate::ids::OrganizationId;

/// The right to read and write one organization's data, granted by an access check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TenantScope(OrganizationId);

impl TenantScope {
    /// The organization this scope grants. Adapters filter every query by it.
    #[must_use]
    pub const fn organization_id(self) -> OrganizationId {
        self.0
    }
}

/// The right to act across organizations: the super admin's, and Leadflow's
/// own background work (workers, bootstrap). Operations that take it say so in
/// their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlatformScope(());

impl PlatformScope {
    /// Scopes one organization, for work that the platform does on a tenant's behalf.
    #[must_use]
    pub const fn tenant(self, organization: OrganizationId) -> TenantScope {
        TenantScope(organization)
    }
}

impl Actor {
    /// The scope of the organization the actor acts in, if any.
    #[must_use]
    pub fn tenant_scope(&self) -> Option<TenantScope> {
        self.organization().map(TenantScope)
    }

    /// The scope of `organization` when the actor may know it exists (its own
    /// organization, or any for a super admin); `None` means "not found".
    #[must_use]
    pub fn scope_for(&self, organization: OrganizationId) -> Option<TenantScope> {
        self.can_access(organization).then_some(TenantScope(organization))
    }

    /// The platform scope, for a super admin (never an API key) and Leadflow itself.
    #[must_use]
    pub fn platform(&self) -> Option<PlatformScope> {
        self.is_super_admin().then_some(PlatformScope(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PermissionSet, Role, UserId};

    #[test]
    fn a_member_gets_the_scope_of_their_own_organization_only() {
        let org = OrganizationId::new();
        let actor = Actor::user(UserId::new(), "m@example.com", Some(org), Some(Role::Member), false);
        assert_eq!(actor.tenant_scope().map(TenantScope::organization_id), Some(org));
        assert!(actor.scope_for(OrganizationId::new()).is_none());
        assert!(actor.platform().is_none());
    }

    #[test]
    fn an_api_key_never_gets_the_platform_scope() {
        let org = OrganizationId::new();
        let key = Actor::api_key(crate::ApiKeyId::new(), "ci", org, PermissionSet::all());
        assert!(key.platform().is_none());
        assert!(key.scope_for(org).is_some());
    }

    #[test]
    fn the_platform_scopes_any_organization() {
        let other = OrganizationId::new();
        let platform = Actor::system().platform().expect("system is platform");
        assert_eq!(platform.tenant(other).organization_id(), other);
    }

    #[test]
    fn scopes_are_zero_cost() {
        assert_eq!(std::mem::size_of::<TenantScope>(), std::mem::size_of::<OrganizationId>());
        assert_eq!(std::mem::size_of::<PlatformScope>(), 0);
    }
}
