//! The invitation model and what its store can fail with.

use chrono::{DateTime, Utc};
use leadflow_kernel::InvitationId;
use leadflow_kernel::{EmailAddress, OrganizationId, Role, UserId};
use uuid::Uuid;

/// How long an invitation stays valid.
pub const INVITATION_TTL_DAYS: i64 = 7;

/// The state of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Waiting for an answer.
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Revoked by an admin, or replaced by a newer invitation.
    Revoked,
    /// Not accepted within 7 days.
    Expired,
}

impl InvitationStatus {
    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Reads a name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Revoked, Self::Expired].into_iter().find(|s| s.as_str() == raw)
    }
}

/// An invitation to join an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The organization.
    pub organization_id: OrganizationId,
    /// Who is invited.
    pub email: EmailAddress,
    /// The role they will have.
    pub role: Role,
    /// The stored state (`Expired` is never stored; see [`Invitation::status`]).
    pub stored_status: InvitationStatus,
    /// Who invited.
    pub invited_by: Option<UserId>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Invitation {
    /// The state at `now`: a pending invitation past its expiry is expired.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        match self.stored_status {
            InvitationStatus::Pending if self.expires_at <= now => InvitationStatus::Expired,
            s => s,
        }
    }
}

/// An email waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEmail {
    /// Its id.
    pub id: Uuid,
    /// The organization it is about.
    pub organization_id: Option<OrganizationId>,
    /// What it is (`invitation`, …).
    pub kind: String,
    /// The recipient.
    pub recipient: String,
    /// What its template shows (never a secret): role, inviter, expiry.
    pub data: serde_json::Value,
    /// The secrets its link carries (`token`), kept apart so the outbox can
    /// forget them once they are no longer needed.
    pub secrets: std::collections::BTreeMap<String, String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// What an invitation store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum InvitationStoreError {
    /// It is no longer pending.
    #[error("the invitation is no longer pending")]
    NotPending,
    /// The invitee is already a member.
    #[error("already a member of the organization")]
    AlreadyMember,
    /// The plan's seats (members plus pending invitations) are all taken.
    #[error("the plan's {limit} seats (members and pending invitations) are all taken")]
    SeatLimit {
        /// The plan's seats.
        limit: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
