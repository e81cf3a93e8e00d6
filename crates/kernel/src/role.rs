//! Roles within an organization and the built-in role matrix.

use std::fmt;
use std::str::FromStr;

use crate::permission::{Permission, PermissionSet};

/// A member's role in an organization. Ordered from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Full control, including deactivating the organization and managing owners.
    Owner,
    /// Everything but deactivating the organization and managing owners.
    Admin,
    /// Works all leads and workflows of the organization.
    Manager,
    /// Works the leads assigned to them.
    Member,
}

use Permission as P;

const MEMBER: PermissionSet = PermissionSet::of(&[P::LeadsViewAssigned, P::LeadsCreate, P::AnalyticsViewOwn]);

const MANAGER: PermissionSet = PermissionSet::of(&[
    P::LeadsViewAll,
    P::LeadsViewAssigned,
    P::LeadsCreate,
    P::LeadsEdit,
    P::LeadsApprove,
    P::LeadsExport,
    P::WorkflowsViewAll,
    P::WorkflowsCancel,
    P::AnalyticsViewAll,
    P::AnalyticsViewOwn,
]);

const ADMIN: PermissionSet = PermissionSet::of(&[
    P::LeadsViewAll,
    P::LeadsViewAssigned,
    P::LeadsCreate,
    P::LeadsEdit,
    P::LeadsApprove,
    P::LeadsDelete,
    P::LeadsExport,
    P::WorkflowsViewAll,
    P::WorkflowsCancel,
    P::SettingsManage,
    P::SettingsBilling,
    P::AnalyticsViewAll,
    P::AnalyticsViewOwn,
    P::UsersManage,
    P::ApiKeysManage,
    P::AuditView,
]);

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Manager, Role::Member];

    /// The permissions this role grants (the built-in role matrix).
    #[must_use]
    pub const fn permissions(self) -> PermissionSet {
        match self {
            Role::Owner => PermissionSet::all(),
            Role::Admin => ADMIN,
            Role::Manager => MANAGER,
            Role::Member => MEMBER,
        }
    }

    /// Whether this role grants `permission`.
    #[must_use]
    pub const fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(permission)
    }

    /// The lowercase name used in the API and in storage.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`Role::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role (owner, admin, manager, member)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role matrix of SPEC §2, cell by cell: (permission, owner, admin, manager, member).
    const MATRIX: [(&str, bool, bool, bool, bool); 17] = [
        ("leads:view_all", true, true, true, false),
        ("leads:view_assigned", true, true, true, true),
        ("leads:create", true, true, true, true),
        ("leads:edit", true, true, true, false),
        ("leads:approve", true, true, true, false),
        ("leads:delete", true, true, false, false),
        ("leads:export", true, true, true, false),
        ("workflows:view_all", true, true, true, false),
        ("workflows:cancel", true, true, true, false),
        ("settings:manage", true, true, false, false),
        ("settings:billing", true, true, false, false),
        ("analytics:view_all", true, true, true, false),
        ("analytics:view_own", true, true, true, true),
        ("users:manage", true, true, false, false),
        ("api_keys:manage", true, true, false, false),
        ("audit:view", true, true, false, false),
        ("org:delete", true, false, false, false),
    ];

    #[test]
    fn every_cell_of_the_role_matrix_matches_the_specification() {
        for (name, owner, admin, manager, member) in MATRIX {
            let p: Permission = name.parse().unwrap();
            assert_eq!(Role::Owner.grants(p), owner, "owner / {name}");
            assert_eq!(Role::Admin.grants(p), admin, "admin / {name}");
            assert_eq!(Role::Manager.grants(p), manager, "manager / {name}");
            assert_eq!(Role::Member.grants(p), member, "member / {name}");
        }
    }

    #[test]
    fn the_matrix_covers_every_permission() {
        let names: Vec<&str> = MATRIX.iter().map(|row| row.0).collect();
        for p in Permission::ALL {
            assert!(names.contains(&p.as_str()), "{p} missing from the matrix test");
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
