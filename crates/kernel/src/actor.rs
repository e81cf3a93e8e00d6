//! Who is asking: the one value every service takes to decide what is allowed.

use crate::ids::{ApiKeyId, OrganizationId, UserId};
use crate::permission::{Permission, PermissionSet};
use crate::role::Role;

/// The identity behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in user.
    User {
        /// The user.
        id: UserId,
        /// Their email, kept for audit entries.
        email: String,
    },
    /// An organization's API key (never a super admin).
    ApiKey {
        /// The key's id.
        id: ApiKeyId,
        /// The key's name, kept for audit entries.
        name: String,
    },
    /// An organization's public web form (publishable key): it may only submit leads.
    Form {
        /// The form's id.
        id: uuid::Uuid,
        /// The form's name, kept for audit entries.
        name: String,
    },
    /// Leadflow itself (workers, bootstrap).
    System,
}

/// An authenticated caller acting in at most one organization.
///
/// Built by the server from a verified token or key; services ask it with
/// [`Actor::require`] and [`Actor::can_access`] and never look at roles directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    principal: Principal,
    organization: Option<OrganizationId>,
    role: Option<Role>,
    permissions: PermissionSet,
    super_admin: bool,
    ip: Option<String>,
    unverified: bool,
}

/// The actor's email address is not verified, and the platform requires it
/// for this action (`LEADFLOW_REQUIRE_VERIFIED_EMAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("verify your email address first (POST /auth/verify-email/resend sends a new link)")]
pub struct Unverified;

/// The actor lacks a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("missing permission {0}")]
pub struct Forbidden(pub Permission);

impl Actor {
    /// A user acting in `organization` with `role`. A super admin holds every
    /// permission in whichever organization they act.
    #[must_use]
    pub fn user(
        id: UserId,
        email: impl Into<String>,
        organization: Option<OrganizationId>,
        role: Option<Role>,
        super_admin: bool,
    ) -> Self {
        let permissions = if super_admin {
            PermissionSet::all()
        } else if organization.is_some() {
            role.map(Role::permissions).unwrap_or_default()
        } else {
            PermissionSet::EMPTY
        };
        Self {
            principal: Principal::User { id, email: email.into() },
            organization,
            role,
            permissions,
            super_admin,
            ip: None,
            unverified: false,
        }
    }

    /// An API key of `organization` limited to `scopes`.
    #[must_use]
    pub fn api_key(
        id: ApiKeyId,
        name: impl Into<String>,
        organization: OrganizationId,
        scopes: PermissionSet,
    ) -> Self {
        Self {
            principal: Principal::ApiKey { id, name: name.into() },
            organization: Some(organization),
            role: None,
            permissions: scopes,
            super_admin: false,
            ip: None,
            unverified: false,
        }
    }

    /// A public web form of `organization`: it holds `leads:create` and nothing else.
    #[must_use]
    pub fn form(id: uuid::Uuid, name: impl Into<String>, organization: OrganizationId) -> Self {
        Self {
            principal: Principal::Form { id, name: name.into() },
            organization: Some(organization),
            role: None,
            permissions: PermissionSet::of(&[Permission::LeadsCreate]),
            super_admin: false,
            ip: None,
            unverified: false,
        }
    }

    /// Leadflow itself, acting with every permission (bootstrap, background work).
    #[must_use]
    pub fn system() -> Self {
        Self {
            principal: Principal::System,
            organization: None,
            role: None,
            permissions: PermissionSet::all(),
            super_admin: true,
            ip: None,
            unverified: false,
        }
    }

    /// The same actor, seen from the client address `ip`.
    #[must_use]
    pub fn with_ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }

    /// The same actor, restricted until their email address is verified:
    /// [`Actor::require_verified_email`] refuses it.
    #[must_use]
    pub fn with_unverified_email(mut self) -> Self {
        self.unverified = true;
        self
    }

    /// `Ok` unless the actor was restricted until their email address is
    /// verified. Actions that reach other people or create credentials ask it
    /// (creating an organization, inviting, creating an API key, approving outreach).
    ///
    /// # Errors
    /// [`Unverified`].
    pub fn require_verified_email(&self) -> Result<(), Unverified> {
        if self.unverified { Err(Unverified) } else { Ok(()) }
    }

    /// The client address the request came from, if known.
    #[must_use]
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    /// The identity behind the request.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The user, when the actor is one.
    #[must_use]
    pub fn user_id(&self) -> Option<UserId> {
        match &self.principal {
            Principal::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The organization the actor acts in, if any.
    #[must_use]
    pub fn organization(&self) -> Option<OrganizationId> {
        self.organization
    }

    /// The actor's role in [`Actor::organization`], if it has a membership there.
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The actor's effective permissions.
    #[must_use]
    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// Whether the actor is the platform super admin.
    #[must_use]
    pub fn is_super_admin(&self) -> bool {
        self.super_admin
    }

    /// Whether the actor holds `permission`.
    #[must_use]
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// `Ok` when the actor holds `permission`.
    ///
    /// # Errors
    /// [`Forbidden`] naming the missing permission.
    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.can(permission) { Ok(()) } else { Err(Forbidden(permission)) }
    }

    /// For reads open to every member of an organization: users pass, an API
    /// key needs `permission` (a key embedded in a web form must not, say,
    /// list the organization's people).
    ///
    /// # Errors
    /// [`Forbidden`] for a key without `permission`.
    pub fn require_for_keys(&self, permission: Permission) -> Result<(), Forbidden> {
        match self.principal {
            Principal::ApiKey { .. } => self.require(permission),
            _ => Ok(()),
        }
    }

    /// Whether the actor may know that `organization`'s resources exist at all:
    /// its own organization, or any for a super admin. Everything else is "not found".
    #[must_use]
    pub fn can_access(&self, organization: OrganizationId) -> bool {
        self.super_admin || self.organization == Some(organization)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_gets_the_permissions_of_their_role_in_their_organization_only() {
        let org = OrganizationId::new();
        let actor = Actor::user(UserId::new(), "m@example.com", Some(org), Some(Role::Member), false);
        assert!(actor.can(Permission::LeadsCreate));
        assert_eq!(actor.require(Permission::LeadsDelete), Err(Forbidden(Permission::LeadsDelete)));
        assert!(actor.can_access(org));
        assert!(!actor.can_access(OrganizationId::new()));
    }

    #[test]
    fn a_super_admin_can_access_every_organization_with_every_permission() {
        let actor = Actor::user(UserId::new(), "root@example.com", None, None, true);
        assert!(actor.can_access(OrganizationId::new()));
        assert!(actor.can(Permission::OrgDelete));
    }

    #[test]
    fn a_user_without_an_organization_has_no_permission() {
        let actor = Actor::user(UserId::new(), "x@example.com", None, Some(Role::Owner), false);
        assert!(actor.permissions().iter().next().is_none());
    }

    #[test]
    fn an_api_key_never_is_a_super_admin() {
        let actor = Actor::api_key(ApiKeyId::new(), "ci", OrganizationId::new(), PermissionSet::all());
        assert!(!actor.is_super_admin());
        assert!(!actor.can_access(OrganizationId::new()));
    }

    #[test]
    fn member_reads_need_a_scope_only_for_keys() {
        let org = OrganizationId::new();
        let key = Actor::api_key(ApiKeyId::new(), "form", org, PermissionSet::of(&[Permission::LeadsCreate]));
        assert!(key.require_for_keys(Permission::UsersManage).is_err());
        let member = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Member), false);
        assert!(member.require_for_keys(Permission::UsersManage).is_ok());
    }
}
