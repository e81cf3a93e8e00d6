//! Sessions: login, refresh with rotation and reuse detection, logout, the per-request actor, switching organizations.

use leadflow_kernel::{RefreshTokenId, SessionFamilyId};

use chrono::Duration;
use leadflow_kernel::{Actor, AuditEntry, EmailAddress, OrganizationId, Role, UserId};

use crate::account::model::{Password, User};
use crate::account::ports::Credentials;
use crate::error::AuthError;
use crate::service::AuthService;
use crate::session::ports::RefreshTokenRecord;
use crate::session::throttle::ThrottleVerdict;
use crate::session::tokens::{IssuedTokens, hash_opaque_token, new_opaque_token};

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

impl AuthService {
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
        match self.ports.throttle.check(&account, input.ip.clone()).await {
            ThrottleVerdict::Allow => {}
            // An account failed from many addresses: each attempt waits, none is locked out.
            ThrottleVerdict::Slow(wait) => tokio::time::sleep(wait).await,
            ThrottleVerdict::Refuse(wait) => {
                return Err(AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) });
            }
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
        let Some(Credentials { user, disabled_at, .. }) = credentials.filter(|_| verified) else {
            self.ports.throttle.failure(&account, input.ip).await;
            return Err(AuthError::InvalidCredentials);
        };
        if disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        self.ports.throttle.success(&account, input.ip).await;
        let (organization_id, role) = self.choose_organization(&user, input.organization_id).await?;
        let now = self.ports.clock.now();
        self.ports.users.record_login(user.id, now).await?;
        let tokens = self.start_session(&user, organization_id, role).await?;
        let user = User { last_login_at: Some(now), ..user };
        Ok(Session { user, organization_id, role, tokens })
    }

    pub(crate) async fn choose_organization(
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

    pub(crate) async fn start_session(
        &self,
        user: &User,
        organization: Option<OrganizationId>,
        role: Option<Role>,
    ) -> Result<IssuedTokens, AuthError> {
        self.issue(user, organization, role, SessionFamilyId::new(), None).await
    }

    /// Signs an access token and stores a refresh token of `family`; when
    /// `rotating` is given, that token is marked used in the same transaction.
    pub(crate) async fn issue(
        &self,
        user: &User,
        organization: Option<OrganizationId>,
        role: Option<Role>,
        family_id: SessionFamilyId,
        rotating: Option<RefreshTokenId>,
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
            id: RefreshTokenId::new(),
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
        let user = self
            .ports
            .users
            .by_id(record.user_id)
            .await?
            .filter(|c| c.disabled_at.is_none())
            .ok_or(AuthError::Unauthorized)?
            .user;
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
    pub(crate) async fn current_role(
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
        if state.disabled {
            return Err(AuthError::Unauthorized);
        }
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
        let actor = Actor::user(user, claims.email, organization, state.role, state.super_admin);
        Ok(if self.config.require_verified_email && !state.email_verified && !state.super_admin {
            actor.with_unverified_email()
        } else {
            actor
        })
    }

    /// Forgets the login failures whose window ended (the workers' housekeeping).
    pub async fn forget_expired_login_failures(&self) -> u64 {
        self.ports.throttle.forget_expired().await
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
}
