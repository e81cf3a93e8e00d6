//! Invitations: bringing people into an organization by email.
//!
//! The token is shown once to the inviter and sent in the invitation email
//! (written to the email outbox); only its SHA-256 is stored. An invitation
//! lives 7 days. Inviting an address that already has a pending invitation
//! replaces it: the old token stops working.

use super::model::*;
use super::ports::InvitationRepository;
use crate::account::ports::UserRepository;
use crate::error::{AuthError, Conflict, Denied, Resource};
use crate::members::ports::MemberRepository;
use crate::session::throttle::{ActionBudget, ActionLimits, HOUR};
use crate::session::tokens::{hash_opaque_token as hash_token, new_opaque_token as new_token};
use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::InvitationId;
use leadflow_kernel::{Actor, AuditEntry, Clock, EmailAddress, Permission, Role, ValidationErrors};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// Refuses an invitation that is not pending at `now`, saying why.
///
/// # Errors
/// `Conflict` naming the state.
pub fn ensure_pending(invitation: &Invitation, now: DateTime<Utc>) -> Result<(), AuthError> {
    match invitation.status(now) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Accepted => Err(Conflict::InvitationUsed.into()),
        InvitationStatus::Revoked => Err(Conflict::InvitationRevoked.into()),
        InvitationStatus::Expired => Err(Conflict::InvitationExpired.into()),
    }
}

/// The invitation use cases.
pub struct InvitationService {
    invitations: Arc<dyn InvitationRepository>,
    members: Arc<dyn MemberRepository>,
    users: Arc<dyn UserRepository>,
    budget: Arc<dyn ActionBudget>,
    clock: Arc<dyn Clock>,
}

impl InvitationService {
    /// Builds the service on its ports.
    pub fn new(
        invitations: Arc<dyn InvitationRepository>,
        members: Arc<dyn MemberRepository>,
        users: Arc<dyn UserRepository>,
        budget: Arc<dyn ActionBudget>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { invitations, members, users, budget, clock }
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
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let organization = scope.organization_id();
        actor.require(Permission::UsersManage)?;
        actor.require_verified_email()?;
        if role == Role::Owner && !(actor.is_super_admin() || actor.role() == Some(Role::Owner)) {
            return Err(Denied::OwnerInvitesByOwners.into());
        }
        let email =
            EmailAddress::parse(email).map_err(|e| ValidationErrors::single("email", e.to_string()))?;
        let limit = ActionLimits::default().invitations_per_organization;
        self.budget
            .spend(&format!("invite:{organization}"), limit, HOUR)
            .await
            .map_err(|wait| AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) })?;
        if let Some(existing) = self.users.by_email(&email).await?
            && self.members.member(scope, existing.user.id).await?.is_some()
        {
            return Err(Conflict::InviteeIsMember(email).into());
        }
        let now = self.clock.now();
        let (token, token_hash) = new_token();
        let invitation = Invitation {
            id: InvitationId::new(),
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
            data: json!({
                "role": role.as_str(),
                "invitedBy": match actor.principal() {
                    leadflow_kernel::Principal::User { email, .. } => Some(email.clone()),
                    _ => None,
                },
                "expiresAt": invitation.expires_at.format("%B %-d, %Y").to_string(),
            }),
            secrets: std::collections::BTreeMap::from([("token".to_owned(), token.clone())]),
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
        self.invitations.create(scope, &invitation, &token_hash, &message, &audit).await?;
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
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let _organization = scope.organization_id();
        actor.require(Permission::UsersManage)?;
        let now = self.clock.now();
        let all = self.invitations.list(scope).await?;
        Ok(all.into_iter().filter(|i| status.is_none_or(|s| i.status(now) == s)).collect())
    }

    /// Revokes a pending invitation (`users:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (not pending), `Unexpected`.
    pub async fn revoke(&self, actor: &Actor, id: InvitationId) -> Result<(), AuthError> {
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let invitation =
            self.invitations.get(scope, id).await?.ok_or(AuthError::NotFound(Resource::Invitation))?;
        actor.require(Permission::UsersManage)?;
        let now = self.clock.now();
        ensure_pending(&invitation, now)?;
        let audit = AuditEntry::in_scope(actor, scope, "invitation.revoked", "invitation", id, now)
            .with_details(json!({ "email": invitation.email.as_ref() }));
        Ok(self.invitations.revoke(scope, id, now, &audit).await?)
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
            .ok_or(AuthError::NotFound(Resource::Invitation))?;
        let now = self.clock.now();
        ensure_pending(&invitation, now)?;
        let user = self.users.by_id(user_id).await?.ok_or(AuthError::Unauthorized)?.user;
        if user.email != invitation.email {
            return Err(Denied::InvitationForAnotherEmail.into());
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
    use crate::account::model::{PasswordHash, PersonName, User};
    use crate::account::ports::{Credentials, MockUserRepository};
    use crate::error::*;
    use crate::invitations::*;
    use crate::members::ports::MockMemberRepository;
    use chrono::{Duration, Utc};
    use leadflow_kernel::MockClock;
    use leadflow_kernel::*;

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    fn pending(org: OrganizationId, email: &str) -> Invitation {
        let now = Utc::now();
        Invitation {
            id: InvitationId::new(),
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
            email_verified_at: None,
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
            .withf(|_, inv, hash, email, audit| {
                hash.len() == 64
                    && email.recipient == inv.email.as_ref()
                    && audit.action == "invitation.created"
                    && !audit.details.to_string().contains(hash)
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let mut users = MockUserRepository::new();
        users.expect_by_email().returning(|_| Ok(None));
        let svc = InvitationService::new(
            Arc::new(invitations),
            Arc::new(MockMemberRepository::new()),
            Arc::new(users),
            Arc::new(crate::session::throttle::MemoryActionBudget::default()),
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
            Arc::new(crate::session::throttle::MemoryActionBudget::default()),
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
            Ok(Some(Credentials {
                user: me.clone(),
                password_hash: PasswordHash::from_phc("x".into()),
                disabled_at: None,
            }))
        });
        let svc = InvitationService::new(
            Arc::new(invitations),
            Arc::new(MockMemberRepository::new()),
            Arc::new(users),
            Arc::new(crate::session::throttle::MemoryActionBudget::default()),
            clock(),
        );
        let actor = Actor::user(id, "me@x.io", None, None, false);
        assert!(matches!(svc.accept(&actor, "token").await, Err(AuthError::Forbidden(_))));
    }
}
