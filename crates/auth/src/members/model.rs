//! The member model and what a membership change can fail with.

use chrono::{DateTime, Utc};
use leadflow_kernel::{Role, UserId};

/// A member as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user_id: UserId,
    /// Their email.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// What a membership change can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MemberChangeError {
    /// No such member.
    #[error("no such member")]
    NotFound,
    /// The change would leave the organization without an owner.
    #[error("the organization's last owner can be neither removed nor demoted")]
    LastOwner,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
