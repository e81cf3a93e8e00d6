//! Registration: a new user, with a new organization or through an invitation, in one unit.

use leadflow_kernel::{Actor, AuditEntry, EmailAddress, Role, UserId, ValidationErrors};
use serde_json::json;

use crate::account::model::{Password, PersonName, User, Username};
use crate::error::{AuthError, Conflict, Resource};
use crate::invitations::model::Invitation;
use crate::invitations::service::ensure_pending;
use crate::recovery::model::{IssuedToken, TokenPurpose, token_email};
use crate::registration::model::OrganizationDraft;
use crate::registration::ports::RegistrationError;
use crate::service::AuthService;
use crate::session::service::Session;
use crate::session::throttle::{ActionLimits, HOUR};
use crate::session::tokens::hash_opaque_token;

/// A registration request, unvalidated.
#[derive(Clone, Debug, Default)]
pub struct RegisterInput {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Name.
    pub name: String,
    /// Optional handle.
    pub username: Option<String>,
    /// The organization to create and own.
    pub organization: Option<OrganizationDraft>,
    /// An invitation to accept (the email must be the invited one).
    pub invitation_token: Option<String>,
    /// The client's address, for the audit log.
    pub ip: Option<String>,
}

/// The result of a registration.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The session of the new user (acting in the new organization, if any).
    pub session: Session,
}

impl AuthService {
    /// Registers a user and signs them in. With an organization draft, creates
    /// that organization with the user as its owner; with an invitation token,
    /// joins the inviting organization with the invited role (allowed even when
    /// self-service sign-up is off). All in one transaction.
    ///
    /// # Errors
    /// `SignupDisabled`, `Invalid`, `NotFound` (unknown invitation), `Conflict`, `Unexpected`.
    pub async fn register(&self, input: RegisterInput) -> Result<Registered, AuthError> {
        if let Some(ip) = &input.ip {
            let limit = ActionLimits::default().registrations_per_address;
            self.ports
                .budget
                .spend(&format!("register:{ip}"), limit, HOUR)
                .await
                .map_err(|wait| AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) })?;
        }
        let now = self.ports.clock.now();
        let invitation = match input.invitation_token.as_deref() {
            Some(token) => {
                let invitation = self
                    .ports
                    .invitations
                    .find_by_token(&hash_opaque_token(token))
                    .await?
                    .ok_or(AuthError::NotFound(Resource::Invitation))?;
                ensure_pending(&invitation, now)?;
                Some(invitation)
            }
            None if !self.config.self_service_signup => return Err(AuthError::SignupDisabled),
            None => None,
        };
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", EmailAddress::parse(&input.email));
        let password = errors.check("password", Password::parse(&input.password));
        let name = errors.check("name", PersonName::parse(&input.name));
        let username = input.username.as_deref().map(|u| errors.check("username", Username::parse(u)));
        if let (Some(email), Some(invitation)) = (&email, &invitation)
            && *email != invitation.email
        {
            errors.push("email", "must be the invited address");
        }
        if invitation.is_some() && input.organization.is_some() {
            errors.push("organization", "cannot be created while accepting an invitation");
        }
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(errors.into());
        };
        errors.into_result()?;

        let hash = self.ports.hasher.hash(&password).await?;
        let user = User {
            id: UserId::new(),
            email,
            name,
            username: username.flatten(),
            is_super_admin: false,
            last_login_at: Some(now),
            created_at: now,
            updated_at: now,
            // An invitation reached this address: it is proven.
            email_verified_at: invitation.as_ref().map(|_| now),
        };
        let mut unit = self.ports.registrations.begin().await?;
        unit.insert_user(&user, &hash).await?;
        let (organization, role) = match (&input.organization, &invitation) {
            (Some(draft), _) => {
                let org = unit.create_organization(draft, user.id, now).await?;
                let actor = Actor::user(user.id, user.email.as_ref(), Some(org), Some(Role::Owner), false)
                    .with_ip(input.ip.clone());
                let entry =
                    AuditEntry::new(&actor, Some(org), "organization.created", "organization", org, now)
                        .with_details(json!({ "name": draft.name }));
                unit.record(&entry).await?;
                (Some(org), Some(Role::Owner))
            }
            (None, Some(invitation)) => {
                unit.accept_invitation(invitation, user.id, now).await.map_err(|e| match e {
                    RegistrationError::InvitationNotPending => {
                        AuthError::Conflict(Conflict::InvitationNotPending)
                    }
                    other => other.into(),
                })?;
                unit.record(&accepted_entry(&user, invitation, input.ip.clone(), now)).await?;
                (Some(invitation.organization_id), Some(invitation.role))
            }
            (None, None) => (None, None),
        };
        if user.email_verified_at.is_none() {
            // The first verification link, queued with the account itself.
            let (token, token_hash) = crate::session::tokens::new_opaque_token();
            let purpose = TokenPurpose::EmailVerification;
            let issued = IssuedToken {
                id: uuid::Uuid::now_v7(),
                user_id: user.id,
                purpose,
                token_hash,
                expires_at: now + purpose.ttl(),
                created_at: now,
            };
            unit.issue_token(&issued, &token_email(&user, purpose, &token, now)).await?;
        }
        unit.commit().await?;

        let tokens = self.start_session(&user, organization, role).await?;
        Ok(Registered { session: Session { user, organization_id: organization, role, tokens } })
    }
}

pub(crate) fn accepted_entry(
    user: &User,
    invitation: &Invitation,
    ip: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> AuditEntry {
    let actor = Actor::user(
        user.id,
        user.email.as_ref(),
        Some(invitation.organization_id),
        Some(invitation.role),
        false,
    )
    .with_ip(ip);
    AuditEntry::new(
        &actor,
        Some(invitation.organization_id),
        "invitation.accepted",
        "invitation",
        invitation.id,
        at,
    )
    .with_details(json!({ "email": invitation.email.as_ref(), "role": invitation.role.as_str() }))
}
