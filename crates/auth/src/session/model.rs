//! What a session knows of a user's memberships and access.

use chrono::{DateTime, Utc};
use leadflow_kernel::{OrganizationId, Role};

/// A user's membership as they see it: the organization and their role there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The organization.
    pub organization_id: OrganizationId,
    /// Its slug.
    pub organization_name: String,
    /// Its display name.
    pub organization_display_name: String,
    /// Whether it is active.
    pub organization_active: bool,
    /// The user's role there.
    pub role: Role,
    /// When the user joined.
    pub joined_at: DateTime<Utc>,
}

/// The current truth about a user acting in an organization, looked up on
/// every authenticated request (and cached briefly by the adapter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessState {
    /// Whether the user is (still) a super admin.
    pub super_admin: bool,
    /// `None` when the organization does not exist (any more); else whether it is active.
    pub organization_active: Option<bool>,
    /// The user's current role there, if still a member.
    pub role: Option<Role>,
    /// Whether the super admin disabled the account (nothing of theirs works).
    pub disabled: bool,
    /// Whether the user's email address is verified.
    pub email_verified: bool,
}
