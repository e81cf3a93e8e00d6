//! Invitations: bringing people into an organization by email.
//!
//! The token is shown once to the inviter and sent in the invitation email
//! (written to the email outbox); only its SHA-256 is stored. An invitation
//! lives 7 days. Inviting an address that already has a pending invitation
//! replaces it: the old token stops working.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::{
    Actor, AuditEntry, Clock, EmailAddress, OrganizationId, Permission, Role, UserId, ValidationErrors,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::AuthError;
use crate::members::MemberRepository;
use crate::ports::UserRepository;
use crate::tokens::{hash_opaque_token as hash_token, new_opaque_token as new_token};

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
    pub id: Uuid,
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
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
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

/// Durable store of invitations.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InvitationRepository: Send + Sync {
    /// Revokes any pending invitation of the same organization and email,
    /// stores `invitation` with its token hash, queues `email` and writes
    /// `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `SeatLimit` (and change nothing) when the plan's seats —
    /// members plus pending invitations, the new one included — would be
    /// exceeded, checked atomically with the insert.
    async fn create(
        &self,
        invitation: &Invitation,
        token_hash: &str,
        email: &OutboxEmail,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError>;

    /// The invitations of `organization`, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn list(&self, organization: OrganizationId) -> anyhow::Result<Vec<Invitation>>;

    /// One invitation of `organization`.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, organization: OrganizationId, id: Uuid) -> anyhow::Result<Option<Invitation>>;

    /// The invitation with this token hash (any organization: the token is the credential).
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_token(&self, token_hash: &str) -> anyhow::Result<Option<Invitation>>;

    /// Revokes a pending invitation and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `NotPending` (and write nothing) when it is not pending.
    async fn revoke(
        &self,
        organization: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError>;

    /// Marks a pending invitation accepted by `user`, makes them a member with
    /// its role and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// MUST return `NotPending` when another request used or revoked it first,
    /// `AlreadyMember` when the user is a member already, `SeatLimit` when the
    /// plan's seats are exceeded (after a downgrade); then nothing changed.
    async fn accept(
        &self,
        invitation: &Invitation,
        user: UserId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), InvitationStoreError>;
}

impl From<InvitationStoreError> for AuthError {
    fn from(e: InvitationStoreError) -> Self {
        match e {
            InvitationStoreError::NotPending => {
                Self::Conflict("This invitation is no longer pending.".into())
            }
            InvitationStoreError::AlreadyMember => {
                Self::Conflict("You are already a member of this organization.".into())
            }
            e @ InvitationStoreError::SeatLimit { .. } => {
                Self::PlanLimit(format!("{e}; upgrade the plan or revoke pending invitations."))
            }
            InvitationStoreError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// Refuses an invitation that is not pending at `now`, saying why.
///
/// # Errors
/// `Conflict` naming the state.
pub fn ensure_pending(invitation: &Invitation, now: DateTime<Utc>) -> Result<(), AuthError> {
    match invitation.status(now) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Accepted => {
            Err(AuthError::Conflict("This invitation has already been used.".into()))
        }
        InvitationStatus::Revoked => Err(AuthError::Conflict("This invitation has been revoked.".into())),
        InvitationStatus::Expired => {
            Err(AuthError::Conflict("This invitation has expired; ask for a new one.".into()))
        }
    }
}

/// The invitation use cases.
pub struct InvitationService {
    invitations: Arc<dyn InvitationRepository>,
    members: Arc<dyn MemberRepository>,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
}

impl InvitationService {
    /// Builds the service on its ports.
    pub fn new(
        invitations: Arc<dyn InvitationRepository>,
        members: Arc<dyn MemberRepository>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { invitations, members, users, clock }
    }

    /// Invites `email` as `role` (`users:manage`; only an owner invites
    /// owners). Returns the invitation and its token, shown only here.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `Conflict` (already a member), `Unexpected`.
    pub async fn create(
        &self,
        actor: &Actor,
        email: &str,
        role: Role,
    ) -> Result<(Invitation, String), AuthError> {
        let organization = actor.organization().ok_or(AuthError::NoOrganization)?;
        actor.require(Permission::UsersManage)?;
        if role == Role::Owner && !(actor.is_super_admin() || actor.role() == Some(Role::Owner)) {
            return Err(AuthError::Forbidden("Only an owner invites owners.".into()));
        }
        let email =
            EmailAddress::parse(email).map_err(|e| ValidationErrors::single("email", e.to_string()))?;
        if let Some(existing) = self.users.by_email(&email).await?
            && self.members.member(organization, existing.user.id).await?.is_some()
        {
            return Err(AuthError::Conflict(format!("{email} is already a member of this organization.")));
        }
        let now = self.clock.now();
        let (token, token_hash) = new_token();
        let invitation = Invitation {
            id: Uuid::now_v7(),
            organization_id: organization,
            email: email.clone(),
            role,
            stored_status: InvitationStatus::Pending,
            invited_by: actor.user_id(),
            expires_at: now + Duration::days(INVITATION_TTL_DAYS),
            accepted_at: None,
            created_at: now,
        };
        let message = OutboxEmail {
            id: Uuid::now_v7(),
            organization_id: Some(organization),
            kind: "invitation".into(),
            recipient: email.as_ref().to_owned(),
            subject: "You are invited to join a Leadflow organization".into(),
            body: format!(
                "You have been invited to join an organization on Leadflow as {role}.\n\n\
                 Sign up with POST /api/v1/auth/register and \"invitationToken\": \"{token}\",\n\
                 or, if you already have an account, sign in and POST /api/v1/invitations/accept with \
                 {{\"token\": \"{token}\"}}.\n\nThe invitation expires on {}.\n",
                invitation.expires_at.to_rfc3339()
            ),
            created_at: now,
        };
        let audit = AuditEntry::new(
            actor,
            Some(organization),
            "invitation.created",
            "invitation",
            invitation.id,
            now,
        )
        .with_details(json!({ "email": email.as_ref(), "role": role.as_str() }));
        self.invitations.create(&invitation, &token_hash, &message, &audit).await?;
        Ok((invitation, token))
    }

    /// The organization's invitations, optionally of one status (`users:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, AuthError> {
        let organization = actor.organization().ok_or(AuthError::NoOrganization)?;
        actor.require(Permission::UsersManage)?;
        let now = self.clock.now();
        let all = self.invitations.list(organization).await?;
        Ok(all.into_iter().filter(|i| status.is_none_or(|s| i.status(now) == s)).collect())
    }

    /// Revokes a pending invitation (`users:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (not pending), `Unexpected`.
    pub async fn revoke(&self, actor: &Actor, id: Uuid) -> Result<(), AuthError> {
        let organization = actor.organization().ok_or(AuthError::NoOrganization)?;
        let invitation = self
            .invitations
            .get(organization, id)
            .await?
            .ok_or(AuthError::NotFound("No such invitation."))?;
        actor.require(Permission::UsersManage)?;
        let now = self.clock.now();
        ensure_pending(&invitation, now)?;
        let audit = AuditEntry::new(actor, Some(organization), "invitation.revoked", "invitation", id, now)
            .with_details(json!({ "email": invitation.email.as_ref() }));
        Ok(self.invitations.revoke(organization, id, now, &audit).await?)
    }

    /// Accepts an invitation as the signed-in user, whose email must be the invited one.
    ///
    /// # Errors
    /// `UsersOnly`, `NotFound` (unknown token), `Conflict` (used, revoked,
    /// expired, already a member), `Forbidden` (another email), `Unexpected`.
    pub async fn accept(&self, actor: &Actor, token: &str) -> Result<Invitation, AuthError> {
        let user_id = actor.user_id().ok_or(AuthError::UsersOnly)?;
        let mut invitation = self
            .invitations
            .find_by_token(&hash_token(token))
            .await?
            .ok_or(AuthError::NotFound("No such invitation."))?;
        let now = self.clock.now();
        ensure_pending(&invitation, now)?;
        let user = self.users.by_id(user_id).await?.ok_or(AuthError::Unauthorized)?.user;
        if user.email != invitation.email {
            return Err(AuthError::Forbidden("This invitation is for another email address.".into()));
        }
        let audit = AuditEntry::new(
            actor,
            Some(invitation.organization_id),
            "invitation.accepted",
            "invitation",
            invitation.id,
            now,
        )
        .with_details(json!({ "email": invitation.email.as_ref(), "role": invitation.role.as_str() }));
        self.invitations.accept(&invitation, user_id, now, &audit).await?;
        invitation.stored_status = InvitationStatus::Accepted;
        invitation.accepted_at = Some(now);
        Ok(invitation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::MockMemberRepository;
    use crate::model::{PasswordHash, PersonName, User};
    use crate::ports::{Credentials, MockUserRepository};
    use leadflow_kernel::MockClock;

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    fn pending(org: OrganizationId, email: &str) -> Invitation {
        let now = Utc::now();
        Invitation {
            id: Uuid::now_v7(),
            organization_id: org,
            email: EmailAddress::parse(email).unwrap(),
            role: Role::Member,
            stored_status: InvitationStatus::Pending,
            invited_by: None,
            expires_at: now + Duration::days(7),
            accepted_at: None,
            created_at: now,
        }
    }

    fn user(email: &str) -> User {
        let now = Utc::now();
        User {
            id: UserId::new(),
            email: EmailAddress::parse(email).unwrap(),
            name: PersonName::parse("U").unwrap(),
            username: None,
            is_super_admin: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_pending_invitation_expires_after_seven_days() {
        let inv = pending(OrganizationId::new(), "a@b.io");
        assert_eq!(inv.status(Utc::now()), InvitationStatus::Pending);
        assert_eq!(inv.status(Utc::now() + Duration::days(8)), InvitationStatus::Expired);
        assert!(ensure_pending(&inv, Utc::now() + Duration::days(8)).is_err());
    }

    #[tokio::test]
    async fn the_token_is_returned_once_and_only_its_hash_is_stored() {
        let org = OrganizationId::new();
        let mut invitations = MockInvitationRepository::new();
        invitations
            .expect_create()
            .withf(|inv, hash, email, audit| {
                hash.len() == 64
                    && email.recipient == inv.email.as_ref()
                    && audit.action == "invitation.created"
                    && !audit.details.to_string().contains(hash)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let mut users = MockUserRepository::new();
        users.expect_by_email().returning(|_| Ok(None));
        let svc = InvitationService::new(
            Arc::new(invitations),
            Arc::new(MockMemberRepository::new()),
            Arc::new(users),
            clock(),
        );
        let admin = Actor::user(UserId::new(), "admin@x.io", Some(org), Some(Role::Admin), false);

        let (invitation, token) = svc.create(&admin, "New@X.io", Role::Manager).await.unwrap();

        assert_eq!(invitation.email.as_ref(), "new@x.io");
        assert_eq!(hash_token(&token).len(), 64);
        assert_eq!(invitation.expires_at - invitation.created_at, Duration::days(7));
    }

    #[tokio::test]
    async fn only_an_owner_invites_owners() {
        let org = OrganizationId::new();
        let svc = InvitationService::new(
            Arc::new(MockInvitationRepository::new()),
            Arc::new(MockMemberRepository::new()),
            Arc::new(MockUserRepository::new()),
            clock(),
        );
        let admin = Actor::user(UserId::new(), "admin@x.io", Some(org), Some(Role::Admin), false);
        assert!(matches!(svc.create(&admin, "o@x.io", Role::Owner).await, Err(AuthError::Forbidden(_))));
    }

    #[tokio::test]
    async fn an_invitation_for_another_address_is_refused() {
        let org = OrganizationId::new();
        let me = user("me@x.io");
        let id = me.id;
        let mut invitations = MockInvitationRepository::new();
        invitations.expect_find_by_token().returning(move |_| Ok(Some(pending(org, "someone@x.io"))));
        invitations.expect_accept().never();
        let mut users = MockUserRepository::new();
        users.expect_by_id().returning(move |_| {
            Ok(Some(Credentials { user: me.clone(), password_hash: PasswordHash::from_phc("x".into()) }))
        });
        let svc = InvitationService::new(
            Arc::new(invitations),
            Arc::new(MockMemberRepository::new()),
            Arc::new(users),
            clock(),
        );
        let actor = Actor::user(id, "me@x.io", None, None, false);
        assert!(matches!(svc.accept(&actor, "token").await, Err(AuthError::Forbidden(_))));
    }
}
