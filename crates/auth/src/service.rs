//! Auth use cases: registration, sessions, the per-request actor, passwords.

use std::sync::Arc;

use chrono::Duration;
use leadflow_kernel::{
    Actor, AuditEntry, Clock, EmailAddress, OrganizationId, Permission, Role, UserId, ValidationErrors,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::AuthError;
use crate::invitations::{Invitation, InvitationRepository, ensure_pending};
use crate::model::{Membership, OrganizationDraft, Password, PersonName, User, Username};
use crate::password::PasswordHasher;
use crate::ports::{
    AccessRepository, AuditRecorder, Credentials, MembershipRepository, RefreshTokenRecord,
    RefreshTokenRepository, RegistrationError, RegistrationUnits, UserRepository,
};
use crate::throttle::LoginThrottle;
use crate::tokens::{IssuedTokens, TokenIssuer, hash_opaque_token, new_opaque_token};

/// Platform rules for sessions and sign-up.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    /// Whether anyone may register (and create an organization) without an invitation.
    pub self_service_signup: bool,
}

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

/// A login request.
#[derive(Clone, Debug)]
pub struct LoginInput {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The organization to act in; defaults to the user's oldest active membership.
    pub organization_id: Option<OrganizationId>,
    /// The client's address, for throttling.
    pub ip: Option<String>,
}

/// A signed-in session: who, where, and the tokens.
#[derive(Clone, Debug)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The organization the tokens act in.
    pub organization_id: Option<OrganizationId>,
    /// The user's role there.
    pub role: Option<Role>,
    /// The token pair.
    pub tokens: IssuedTokens,
}

/// The result of a registration.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The session of the new user (acting in the new organization, if any).
    pub session: Session,
}

/// What `GET /auth/me` shows.
#[derive(Clone, Debug)]
pub struct Me {
    /// The user.
    pub user: User,
    /// The organization of the token.
    pub organization_id: Option<OrganizationId>,
    /// The current role there.
    pub role: Option<Role>,
    /// The effective permissions.
    pub permissions: Vec<Permission>,
    /// Every membership of the user.
    pub memberships: Vec<Membership>,
}

/// The ports the auth service runs on.
#[derive(Clone)]
pub struct AuthPorts {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Memberships.
    pub memberships: Arc<dyn MembershipRepository>,
    /// Per-request access state.
    pub access: Arc<dyn AccessRepository>,
    /// Refresh tokens.
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    /// Registration transactions.
    pub registrations: Arc<dyn RegistrationUnits>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Invitations (registration with an invitation token).
    pub invitations: Arc<dyn InvitationRepository>,
    /// Failed-login throttling.
    pub throttle: Arc<dyn LoginThrottle>,
    /// Audit entries that are themselves the change.
    pub audit: Arc<dyn AuditRecorder>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The auth use cases.
pub struct AuthService {
    ports: AuthPorts,
    tokens: Arc<TokenIssuer>,
    config: SessionConfig,
}

impl AuthService {
    /// Builds the service on its ports.
    pub fn new(ports: AuthPorts, tokens: Arc<TokenIssuer>, config: SessionConfig) -> Self {
        Self { ports, tokens, config }
    }

    /// Registers a user and signs them in. With an organization draft, creates
    /// that organization with the user as its owner; with an invitation token,
    /// joins the inviting organization with the invited role (allowed even when
    /// self-service sign-up is off). All in one transaction.
    ///
    /// # Errors
    /// `SignupDisabled`, `Invalid`, `NotFound` (unknown invitation), `Conflict`, `Unexpected`.
    pub async fn register(&self, input: RegisterInput) -> Result<Registered, AuthError> {
        let now = self.ports.clock.now();
        let invitation = match input.invitation_token.as_deref() {
            Some(token) => {
                let invitation = self
                    .ports
                    .invitations
                    .find_by_token(&hash_opaque_token(token))
                    .await?
                    .ok_or(AuthError::NotFound("No such invitation."))?;
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
                        AuthError::Conflict("This invitation is no longer pending.".into())
                    }
                    other => other.into(),
                })?;
                unit.record(&accepted_entry(&user, invitation, input.ip.clone(), now)).await?;
                (Some(invitation.organization_id), Some(invitation.role))
            }
            (None, None) => (None, None),
        };
        unit.commit().await?;

        let tokens = self.start_session(&user, organization, role).await?;
        Ok(Registered { session: Session { user, organization_id: organization, role, tokens } })
    }

    /// Checks email and password and opens a session in the requested
    /// organization, or in the user's oldest active membership. Repeated
    /// failures for an account or an address are throttled; a throttled
    /// attempt is refused even with the right password, and whether the
    /// account exists makes no difference.
    ///
    /// # Errors
    /// `Throttled`, `InvalidCredentials`, `OrganizationNotFound`, `OrganizationInactive`, `Unexpected`.
    pub async fn login(&self, input: LoginInput) -> Result<Session, AuthError> {
        let account = input.email.trim().to_lowercase();
        if let Err(wait) = self.ports.throttle.check(&account, input.ip.clone()).await {
            return Err(AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) });
        }
        let password = Password::presented(&input.password);
        let credentials = match EmailAddress::parse(&input.email) {
            Ok(email) => self.ports.users.by_email(&email).await?,
            Err(_) => None,
        };
        let verified = self
            .ports
            .hasher
            .verify(&password, credentials.as_ref().map(|c| c.password_hash.clone()))
            .await?;
        let Some(Credentials { user, .. }) = credentials.filter(|_| verified) else {
            self.ports.throttle.failure(&account, input.ip).await;
            return Err(AuthError::InvalidCredentials);
        };
        self.ports.throttle.success(&account).await;
        let (organization_id, role) = self.choose_organization(&user, input.organization_id).await?;
        let now = self.ports.clock.now();
        self.ports.users.record_login(user.id, now).await?;
        let tokens = self.start_session(&user, organization_id, role).await?;
        let user = User { last_login_at: Some(now), ..user };
        Ok(Session { user, organization_id, role, tokens })
    }

    async fn choose_organization(
        &self,
        user: &User,
        requested: Option<OrganizationId>,
    ) -> Result<(Option<OrganizationId>, Option<Role>), AuthError> {
        let memberships = self.ports.memberships.memberships_of(user.id).await?;
        let Some(requested) = requested else {
            return Ok(memberships
                .iter()
                .find(|m| m.organization_active)
                .map_or((None, None), |m| (Some(m.organization_id), Some(m.role))));
        };
        if let Some(m) = memberships.iter().find(|m| m.organization_id == requested) {
            if !m.organization_active && !user.is_super_admin {
                return Err(AuthError::OrganizationInactive);
            }
            return Ok((Some(requested), Some(m.role)));
        }
        if user.is_super_admin {
            let state = self.ports.access.access(user.id, Some(requested)).await?;
            if state.and_then(|s| s.organization_active).is_some() {
                return Ok((Some(requested), None));
            }
        }
        Err(AuthError::OrganizationNotFound)
    }

    async fn start_session(
        &self,
        user: &User,
        organization: Option<OrganizationId>,
        role: Option<Role>,
    ) -> Result<IssuedTokens, AuthError> {
        self.issue(user, organization, role, Uuid::now_v7(), None).await
    }

    /// Signs an access token and stores a refresh token of `family`; when
    /// `rotating` is given, that token is marked used in the same transaction.
    async fn issue(
        &self,
        user: &User,
        organization: Option<OrganizationId>,
        role: Option<Role>,
        family_id: Uuid,
        rotating: Option<Uuid>,
    ) -> Result<IssuedTokens, AuthError> {
        let now = self.ports.clock.now();
        let (access_token, expires_in) = self.tokens.issue_access(
            user.id,
            user.email.as_ref(),
            user.is_super_admin,
            organization,
            role,
            now,
        )?;
        let (refresh_token, token_hash) = new_opaque_token();
        let record = RefreshTokenRecord {
            id: Uuid::now_v7(),
            family_id,
            user_id: user.id,
            organization_id: organization,
            token_hash,
            created_at: now,
            expires_at: now + Duration::seconds(self.tokens.settings().refresh_ttl_secs),
            used_at: None,
            revoked_at: None,
        };
        match rotating {
            None => self.ports.refresh_tokens.insert(&record).await?,
            Some(used) => {
                if !self.ports.refresh_tokens.rotate(used, &record, now).await? {
                    // Another request exchanged this token first: treat as reuse.
                    self.ports.refresh_tokens.revoke_family(family_id, now).await?;
                    return Err(AuthError::Unauthorized);
                }
            }
        }
        Ok(IssuedTokens { access_token, refresh_token, token_type: "Bearer", expires_in })
    }

    /// Exchanges a refresh token for a new pair. The presented token dies; a
    /// token presented a second time revokes its whole family (theft detection).
    ///
    /// # Errors
    /// `Unauthorized`, `OrganizationInactive`, `Unexpected`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError> {
        let now = self.ports.clock.now();
        let record = self
            .ports
            .refresh_tokens
            .find_by_hash(&hash_opaque_token(refresh_token))
            .await?
            .ok_or(AuthError::Unauthorized)?;
        if record.used_at.is_some() {
            self.ports.refresh_tokens.revoke_family(record.family_id, now).await?;
            return Err(AuthError::Unauthorized);
        }
        if record.revoked_at.is_some() || record.expires_at <= now {
            return Err(AuthError::Unauthorized);
        }
        let user = self.ports.users.by_id(record.user_id).await?.ok_or(AuthError::Unauthorized)?.user;
        let role = match record.organization_id {
            None => None,
            Some(org) => self.current_role(&user, org).await?,
        };
        let tokens =
            self.issue(&user, record.organization_id, role, record.family_id, Some(record.id)).await?;
        Ok(Session { user, organization_id: record.organization_id, role, tokens })
    }

    /// The user's current role in `organization`, refusing removed members and
    /// deactivated organizations (a super admin passes with no role).
    async fn current_role(
        &self,
        user: &User,
        organization: OrganizationId,
    ) -> Result<Option<Role>, AuthError> {
        let state =
            self.ports.access.access(user.id, Some(organization)).await?.ok_or(AuthError::Unauthorized)?;
        let active = state.organization_active.ok_or(AuthError::Unauthorized)?;
        if state.super_admin {
            return Ok(state.role);
        }
        if !active {
            return Err(AuthError::OrganizationInactive);
        }
        state.role.map(Some).ok_or(AuthError::Unauthorized)
    }

    /// Ends the session of a refresh token (its whole family). Unknown tokens
    /// are accepted silently, so that logout is idempotent.
    ///
    /// # Errors
    /// `Unexpected`.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        if let Some(record) =
            self.ports.refresh_tokens.find_by_hash(&hash_opaque_token(refresh_token)).await?
        {
            self.ports.refresh_tokens.revoke_family(record.family_id, self.ports.clock.now()).await?;
        }
        Ok(())
    }

    /// Turns a bearer token into the [`Actor`] it stands for, with the user's
    /// current role and super-admin flag (not the ones frozen in the token).
    /// With `allow_inactive`, a deactivated organization's token still passes
    /// (used to switch away from it).
    ///
    /// # Errors
    /// `Unauthorized`, `OrganizationInactive`, `Unexpected`.
    pub async fn authenticate(&self, bearer: &str, allow_inactive: bool) -> Result<Actor, AuthError> {
        let claims = self.tokens.verify_access(bearer).map_err(|_| AuthError::Unauthorized)?;
        let user = UserId::from_uuid(claims.sub);
        let organization = claims.org.map(OrganizationId::from_uuid);
        let state = self.ports.access.access(user, organization).await?.ok_or(AuthError::Unauthorized)?;
        if organization.is_some() {
            let active = state.organization_active.ok_or(AuthError::Unauthorized)?;
            if !state.super_admin {
                if state.role.is_none() {
                    return Err(AuthError::Unauthorized);
                }
                if !active && !allow_inactive {
                    return Err(AuthError::OrganizationInactive);
                }
            }
        }
        Ok(Actor::user(user, claims.email, organization, state.role, state.super_admin))
    }

    /// The signed-in user, their organization, role, permissions and memberships.
    ///
    /// # Errors
    /// `UsersOnly`, `Unauthorized` (user deleted), `Unexpected`.
    pub async fn me(&self, actor: &Actor) -> Result<Me, AuthError> {
        let id = actor.user_id().ok_or(AuthError::UsersOnly)?;
        let user = self.ports.users.by_id(id).await?.ok_or(AuthError::Unauthorized)?.user;
        let memberships = self.ports.memberships.memberships_of(id).await?;
        Ok(Me {
            user,
            organization_id: actor.organization(),
            role: actor.role(),
            permissions: actor.permissions().iter().collect(),
            memberships,
        })
    }

    /// New tokens acting in another organization of the user's (any existing
    /// one for a super admin).
    ///
    /// # Errors
    /// `UsersOnly`, `OrganizationNotFound`, `OrganizationInactive`, `Unexpected`.
    pub async fn switch_organization(
        &self,
        actor: &Actor,
        target: OrganizationId,
    ) -> Result<Session, AuthError> {
        let id = actor.user_id().ok_or(AuthError::UsersOnly)?;
        let user = self.ports.users.by_id(id).await?.ok_or(AuthError::Unauthorized)?.user;
        let (organization_id, role) = self.choose_organization(&user, Some(target)).await?;
        if user.is_super_admin && role.is_none() {
            // A super admin entering an organization they do not belong to is audited there.
            let entry = AuditEntry::new(
                actor,
                Some(target),
                "organization.entered",
                "organization",
                target,
                self.ports.clock.now(),
            );
            self.ports.audit.record(&entry).await?;
        }
        let tokens = self.start_session(&user, organization_id, role).await?;
        Ok(Session { user, organization_id, role, tokens })
    }

    /// Changes the signed-in user's password and revokes all their refresh tokens.
    ///
    /// # Errors
    /// `UsersOnly`, `Invalid` (wrong current password or a weak new one), `Unexpected`.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<(), AuthError> {
        let id = actor.user_id().ok_or(AuthError::UsersOnly)?;
        let new = Password::parse(new).map_err(|e| ValidationErrors::single("newPassword", e.to_string()))?;
        let credentials = self.ports.users.by_id(id).await?.ok_or(AuthError::Unauthorized)?;
        if !self.ports.hasher.verify(&Password::presented(current), Some(credentials.password_hash)).await? {
            return Err(ValidationErrors::single("currentPassword", "is not your current password").into());
        }
        let hash = self.ports.hasher.hash(&new).await?;
        let now = self.ports.clock.now();
        let entry = AuditEntry::new(actor, actor.organization(), "user.password_changed", "user", id, now);
        self.ports.users.change_password(id, &hash, now, &entry).await?;
        Ok(())
    }

    /// Creates the platform super admin (or promotes an existing user with this
    /// email). For the CLI and the bootstrap environment only; never reachable over HTTP.
    ///
    /// # Errors
    /// `Invalid`, `Unexpected`.
    pub async fn create_super_admin(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<User, AuthError> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", EmailAddress::parse(email));
        let password = errors.check("password", Password::parse(password));
        let name = errors.check("name", PersonName::parse(name));
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(errors.into());
        };
        let hash = self.ports.hasher.hash(&password).await?;
        let now = self.ports.clock.now();
        let user = User {
            id: UserId::new(),
            email,
            name,
            username: None,
            is_super_admin: true,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        };
        Ok(self.ports.users.upsert_super_admin(&user, &hash).await?)
    }

    /// Whether a super admin exists (for the first-start bootstrap).
    ///
    /// # Errors
    /// `Unexpected`.
    pub async fn super_admin_exists(&self) -> Result<bool, AuthError> {
        Ok(self.ports.users.super_admin_exists().await?)
    }
}

fn accepted_entry(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitations::MockInvitationRepository;
    use crate::model::{AccessState, PasswordHash};
    use crate::password::MockPasswordHasher;
    use crate::ports::MockAuditRecorder;
    use crate::ports::{
        MockAccessRepository, MockMembershipRepository, MockRefreshTokenRepository, MockRegistrationUnit,
        MockRegistrationUnits, MockUserRepository,
    };
    use crate::throttle::MockLoginThrottle;
    use crate::tokens::TokenSettings;
    use chrono::Utc;
    use leadflow_kernel::MockClock;

    struct Mocks {
        users: MockUserRepository,
        memberships: MockMembershipRepository,
        access: MockAccessRepository,
        refresh_tokens: MockRefreshTokenRepository,
        registrations: MockRegistrationUnits,
        hasher: MockPasswordHasher,
        throttle: MockLoginThrottle,
    }

    impl Mocks {
        fn new() -> Self {
            Self {
                users: MockUserRepository::new(),
                memberships: MockMembershipRepository::new(),
                access: MockAccessRepository::new(),
                refresh_tokens: MockRefreshTokenRepository::new(),
                registrations: MockRegistrationUnits::new(),
                hasher: MockPasswordHasher::new(),
                throttle: {
                    let mut t = MockLoginThrottle::new();
                    t.expect_check().returning(|_, _| Ok(()));
                    t.expect_failure().returning(|_, _| ());
                    t.expect_success().returning(|_| ());
                    t
                },
            }
        }

        fn service(self) -> AuthService {
            let mut clock = MockClock::new();
            clock.expect_now().returning(Utc::now);
            let ports = AuthPorts {
                users: Arc::new(self.users),
                memberships: Arc::new(self.memberships),
                access: Arc::new(self.access),
                refresh_tokens: Arc::new(self.refresh_tokens),
                registrations: Arc::new(self.registrations),
                hasher: Arc::new(self.hasher),
                invitations: Arc::new(MockInvitationRepository::new()),
                throttle: Arc::new(self.throttle),
                audit: Arc::new(MockAuditRecorder::new()),
                clock: Arc::new(clock),
            };
            AuthService::new(ports, Arc::new(issuer()), SessionConfig { self_service_signup: true })
        }
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(TokenSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "leadflow".into(),
            audience: "leadflow-api".into(),
            access_ttl_secs: 3600,
            refresh_ttl_secs: 86400,
        })
    }

    fn a_user() -> User {
        let now = Utc::now();
        User {
            id: UserId::new(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            name: PersonName::parse("Ada").unwrap(),
            username: None,
            is_super_admin: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn credentials(user: User) -> Credentials {
        Credentials { user, password_hash: PasswordHash::from_phc("$argon2id$fake".into()) }
    }

    fn record(used: bool) -> RefreshTokenRecord {
        let now = Utc::now();
        RefreshTokenRecord {
            id: Uuid::now_v7(),
            family_id: Uuid::now_v7(),
            user_id: UserId::new(),
            organization_id: None,
            token_hash: "h".into(),
            created_at: now,
            expires_at: now + Duration::days(1),
            used_at: used.then_some(now),
            revoked_at: None,
        }
    }

    fn register_input(organization: Option<&str>) -> RegisterInput {
        RegisterInput {
            email: "Ada@Example.com".into(),
            password: "correct horse battery".into(),
            name: "Ada".into(),
            username: None,
            organization: organization.map(|n| OrganizationDraft { name: n.into(), display_name: None }),
            invitation_token: None,
            ip: None,
        }
    }

    #[tokio::test]
    async fn registering_with_an_organization_creates_user_and_organization_in_one_unit() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().times(1).returning(|_| Ok(PasswordHash::from_phc("$argon2id$x".into())));
        let org = OrganizationId::new();
        m.registrations.expect_begin().times(1).returning(move || {
            let mut unit = MockRegistrationUnit::new();
            let mut seq = mockall::Sequence::new();
            unit.expect_insert_user()
                .withf(|u, _| u.email.as_ref() == "ada@example.com")
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_, _| Ok(()));
            unit.expect_create_organization()
                .times(1)
                .in_sequence(&mut seq)
                .returning(move |_, _, _| Ok(org));
            unit.expect_record()
                .withf(|e| e.action == "organization.created")
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_| Ok(()));
            unit.expect_commit().times(1).in_sequence(&mut seq).returning(|| Ok(()));
            Ok(Box::new(unit))
        });
        m.refresh_tokens.expect_insert().times(1).returning(|_| Ok(()));

        let registered = m.service().register(register_input(Some("acme"))).await.unwrap();

        assert_eq!(registered.session.organization_id, Some(org));
        assert_eq!(registered.session.role, Some(Role::Owner));
    }

    #[tokio::test]
    async fn a_failed_organization_never_commits_the_user() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().returning(|_| Ok(PasswordHash::from_phc("$argon2id$x".into())));
        m.registrations.expect_begin().returning(|| {
            let mut unit = MockRegistrationUnit::new();
            unit.expect_insert_user().returning(|_, _| Ok(()));
            unit.expect_create_organization().returning(|d, _, _| {
                Err(crate::ports::RegistrationError::OrganizationNameTaken(d.name.clone()))
            });
            unit.expect_commit().never();
            Ok(Box::new(unit))
        });
        m.refresh_tokens.expect_insert().never();

        let result = m.service().register(register_input(Some("acme"))).await;

        assert!(matches!(result, Err(AuthError::Conflict(_))));
    }

    #[tokio::test]
    async fn invalid_registrations_are_rejected_before_hashing() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().never();
        m.registrations.expect_begin().never();
        let input = RegisterInput {
            email: "nope".into(),
            password: "short".into(),
            name: " ".into(),
            ..Default::default()
        };

        let Err(AuthError::Invalid(errors)) = m.service().register(input).await else {
            panic!("expected Invalid")
        };

        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "name"]);
    }

    #[tokio::test]
    async fn an_unknown_email_costs_a_hash_and_fails_like_a_wrong_password() {
        let mut m = Mocks::new();
        m.users.expect_by_email().returning(|_| Ok(None));
        m.hasher.expect_verify().withf(|_, hash| hash.is_none()).times(1).returning(|_, _| Ok(false));
        m.users.expect_record_login().never();

        let result = m
            .service()
            .login(LoginInput {
                email: "who@example.com".into(),
                password: "whatever12".into(),
                organization_id: None,
                ip: None,
            })
            .await;

        assert!(matches!(result, Err(AuthError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn login_acts_in_the_oldest_active_membership() {
        let mut m = Mocks::new();
        let user = a_user();
        let active = OrganizationId::new();
        m.users.expect_by_email().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.memberships.expect_memberships_of().returning(move |_| {
            let m = |id, active| Membership {
                organization_id: id,
                organization_name: "x".into(),
                organization_display_name: "X".into(),
                organization_active: active,
                role: Role::Manager,
                joined_at: Utc::now(),
            };
            Ok(vec![m(OrganizationId::new(), false), m(active, true)])
        });
        m.users.expect_record_login().times(1).returning(|_, _| Ok(()));
        m.refresh_tokens.expect_insert().times(1).returning(|_| Ok(()));

        let session = m
            .service()
            .login(LoginInput {
                email: "ada@example.com".into(),
                password: "right-password".into(),
                organization_id: None,
                ip: None,
            })
            .await
            .unwrap();

        assert_eq!(session.organization_id, Some(active));
        assert_eq!(session.role, Some(Role::Manager));
    }

    #[tokio::test]
    async fn a_reused_refresh_token_revokes_its_family() {
        let mut m = Mocks::new();
        let used = record(true);
        let family = used.family_id;
        m.refresh_tokens.expect_find_by_hash().returning(move |_| Ok(Some(used.clone())));
        m.refresh_tokens
            .expect_revoke_family()
            .withf(move |f, _| *f == family)
            .times(1)
            .returning(|_, _| Ok(()));
        m.refresh_tokens.expect_rotate().never();

        assert!(matches!(m.service().refresh("stolen").await, Err(AuthError::Unauthorized)));
    }

    #[tokio::test]
    async fn losing_a_rotation_race_counts_as_reuse() {
        let mut m = Mocks::new();
        let fresh = record(false);
        let family = fresh.family_id;
        let user = a_user();
        m.refresh_tokens.expect_find_by_hash().returning(move |_| Ok(Some(fresh.clone())));
        m.users.expect_by_id().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.refresh_tokens.expect_rotate().times(1).returning(|_, _, _| Ok(false));
        m.refresh_tokens
            .expect_revoke_family()
            .withf(move |f, _| *f == family)
            .times(1)
            .returning(|_, _| Ok(()));

        assert!(matches!(m.service().refresh("raced").await, Err(AuthError::Unauthorized)));
    }

    fn bearer_for(org: Option<OrganizationId>) -> String {
        issuer()
            .issue_access(UserId::new(), "ada@example.com", false, org, Some(Role::Owner), Utc::now())
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn a_deactivated_organizations_token_is_refused_unless_switching_away() {
        let mut m = Mocks::new();
        m.access.expect_access().returning(|_, _| {
            Ok(Some(AccessState {
                super_admin: false,
                organization_active: Some(false),
                role: Some(Role::Owner),
            }))
        });
        let svc = m.service();
        let token = bearer_for(Some(OrganizationId::new()));

        assert!(matches!(svc.authenticate(&token, false).await, Err(AuthError::OrganizationInactive)));
        assert!(svc.authenticate(&token, true).await.is_ok());
    }

    #[tokio::test]
    async fn the_current_role_counts_not_the_one_in_the_token() {
        let mut m = Mocks::new();
        m.access.expect_access().returning(|_, _| {
            Ok(Some(AccessState {
                super_admin: false,
                organization_active: Some(true),
                role: Some(Role::Member),
            }))
        });
        let actor = m.service().authenticate(&bearer_for(Some(OrganizationId::new())), false).await.unwrap();
        assert_eq!(actor.role(), Some(Role::Member));
        assert!(!actor.can(Permission::SettingsManage));
    }

    #[tokio::test]
    async fn a_removed_member_is_unauthorized() {
        let mut m = Mocks::new();
        m.access.expect_access().returning(|_, _| {
            Ok(Some(AccessState { super_admin: false, organization_active: Some(true), role: None }))
        });
        let result = m.service().authenticate(&bearer_for(Some(OrganizationId::new())), false).await;
        assert!(matches!(result, Err(AuthError::Unauthorized)));
    }

    #[tokio::test]
    async fn a_wrong_current_password_changes_nothing() {
        let mut m = Mocks::new();
        let user = a_user();
        let id = user.id;
        m.users.expect_by_id().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.hasher.expect_verify().returning(|_, _| Ok(false));
        m.hasher.expect_hash().never();
        m.users.expect_change_password().never();
        let actor = Actor::user(id, "ada@example.com", None, None, false);

        let result = m.service().change_password(&actor, "wrong-password", "a new long password").await;

        assert!(matches!(result, Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_throttled_login_is_refused_before_the_password_is_checked() {
        let mut m = Mocks::new();
        m.throttle = MockLoginThrottle::new();
        m.throttle.expect_check().returning(|_, _| Err(std::time::Duration::from_secs(90)));
        m.hasher.expect_verify().never();
        m.users.expect_by_email().never();

        let result = m
            .service()
            .login(LoginInput {
                email: "ada@example.com".into(),
                password: "the right password".into(),
                organization_id: None,
                ip: Some("10.1.2.3".into()),
            })
            .await;

        assert!(matches!(result, Err(AuthError::Throttled { retry_after_secs: 90 })));
    }
}
