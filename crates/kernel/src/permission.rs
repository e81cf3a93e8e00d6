//! Permissions (`resource:action`) and sets of them.

use std::fmt;
use std::str::FromStr;

/// One thing an actor may be allowed to do, written `resource:action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read every lead of the organization.
    LeadsViewAll,
    /// Read leads assigned to oneself.
    LeadsViewAssigned,
    /// Submit leads.
    LeadsCreate,
    /// Update and assign leads.
    LeadsEdit,
    /// Approve or reject a workflow's outreach.
    LeadsApprove,
    /// Delete leads.
    LeadsDelete,
    /// Export leads as CSV.
    LeadsExport,
    /// Read workflows.
    WorkflowsViewAll,
    /// Cancel and retry workflows.
    WorkflowsCancel,
    /// Update the organization, teams, webhooks.
    SettingsManage,
    /// Change the plan.
    SettingsBilling,
    /// Organization-wide statistics.
    AnalyticsViewAll,
    /// Statistics of one's own leads.
    AnalyticsViewOwn,
    /// Members, roles, invitations.
    UsersManage,
    /// API keys.
    ApiKeysManage,
    /// The audit log.
    AuditView,
    /// Deactivate the organization.
    OrgDelete,
}

impl Permission {
    /// Every permission, in the order of the specification's table.
    pub const ALL: [Permission; 17] = [
        Permission::LeadsViewAll,
        Permission::LeadsViewAssigned,
        Permission::LeadsCreate,
        Permission::LeadsEdit,
        Permission::LeadsApprove,
        Permission::LeadsDelete,
        Permission::LeadsExport,
        Permission::WorkflowsViewAll,
        Permission::WorkflowsCancel,
        Permission::SettingsManage,
        Permission::SettingsBilling,
        Permission::AnalyticsViewAll,
        Permission::AnalyticsViewOwn,
        Permission::UsersManage,
        Permission::ApiKeysManage,
        Permission::AuditView,
        Permission::OrgDelete,
    ];

    /// The `resource:action` name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::LeadsViewAll => "leads:view_all",
            Permission::LeadsViewAssigned => "leads:view_assigned",
            Permission::LeadsCreate => "leads:create",
            Permission::LeadsEdit => "leads:edit",
            Permission::LeadsApprove => "leads:approve",
            Permission::LeadsDelete => "leads:delete",
            Permission::LeadsExport => "leads:export",
            Permission::WorkflowsViewAll => "workflows:view_all",
            Permission::WorkflowsCancel => "workflows:cancel",
            Permission::SettingsManage => "settings:manage",
            Permission::SettingsBilling => "settings:billing",
            Permission::AnalyticsViewAll => "analytics:view_all",
            Permission::AnalyticsViewOwn => "analytics:view_own",
            Permission::UsersManage => "users:manage",
            Permission::ApiKeysManage => "api_keys:manage",
            Permission::AuditView => "audit:view",
            Permission::OrgDelete => "org:delete",
        }
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`Permission::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known permission")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| UnknownPermission(s.to_owned()))
    }
}

/// A set of permissions, stored as a bit set (cheap to copy and to check).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u32);

impl PermissionSet {
    /// No permission at all.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every permission.
    #[must_use]
    pub const fn all() -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < Permission::ALL.len() {
            bits |= Permission::ALL[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    /// A set holding exactly `permissions`.
    #[must_use]
    pub const fn of(permissions: &[Permission]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < permissions.len() {
            bits |= permissions[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    /// Whether `permission` is in the set.
    #[must_use]
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Whether every permission of `other` is in this set.
    #[must_use]
    pub const fn is_superset_of(self, other: PermissionSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permissions in both sets.
    #[must_use]
    pub const fn intersection(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 & other.0)
    }

    /// The permissions of the set, in [`Permission::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        PermissionSet(iter.into_iter().fold(0, |bits, p| bits | p.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_name() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), p);
        }
    }

    #[test]
    fn an_unknown_name_is_rejected() {
        assert!("leads:fly".parse::<Permission>().is_err());
    }

    #[test]
    fn the_full_set_holds_every_permission() {
        let all = PermissionSet::all();
        assert!(Permission::ALL.iter().all(|p| all.contains(*p)));
        assert_eq!(all.iter().count(), 17);
        assert!(all.is_superset_of(PermissionSet::of(&[Permission::OrgDelete])));
        assert!(!PermissionSet::EMPTY.is_superset_of(all));
    }
}
