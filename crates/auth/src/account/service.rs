//! Accounts: `me`, password changes, the super admin bootstrap, and the super
//! admin's platform-wide view and disabling of users.

use leadflow_kernel::{
    Actor, AuditEntry, EmailAddress, KeysetPage, KeysetPaged, OrganizationId, Permission, Role, UserId,
    ValidationErrors,
};
use serde_json::json;

use crate::account::model::{Password, PersonName, PlatformUser, User};
use crate::account::ports::Credentials;
use crate::error::{AuthError, Conflict, Denied, Resource};
use crate::service::AuthService;
use crate::session::model::Membership;
use crate::session::throttle::{ActionLimits, QUARTER_HOUR};

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

impl AuthService {
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

    /// Changes the signed-in user's password and revokes all their refresh tokens.
    ///
    /// # Errors
    /// `UsersOnly`, `Invalid` (wrong current password or a weak new one), `Unexpected`.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<(), AuthError> {
        let id = actor.user_id().ok_or(AuthError::UsersOnly)?;
        // A stolen access token does not buy unlimited guesses at the current password.
        let limit = ActionLimits::default().password_changes_per_account;
        self.ports
            .budget
            .spend(&format!("password:{id}"), limit, QUARTER_HOUR)
            .await
            .map_err(|wait| AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) })?;
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

    /// Creates the platform super admin. For the CLI and the bootstrap
    /// environment only; never reachable over HTTP.
    ///
    /// An account with this email is refused unless `promote` is set: then it
    /// becomes super admin with `password` (its old password stops working) and
    /// every session of it ends, so whoever registered the address first does
    /// not inherit the platform.
    ///
    /// # Errors
    /// `Invalid`, `Conflict` (`SuperAdminAccountExists`), `Unexpected`.
    pub async fn create_super_admin(
        &self,
        email: &str,
        password: &str,
        name: &str,
        promote: bool,
    ) -> Result<User, AuthError> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", EmailAddress::parse(email));
        let password = errors.check("password", Password::parse(password));
        let name = errors.check("name", PersonName::parse(name));
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(errors.into());
        };
        let existing = self.ports.users.by_email(&email).await?;
        if existing.is_some() && !promote {
            return Err(Conflict::SuperAdminAccountExists(email).into());
        }
        let hash = self.ports.hasher.hash(&password).await?;
        let now = self.ports.clock.now();
        let system = Actor::system();
        if let Some(Credentials { mut user, .. }) = existing {
            let audit = AuditEntry::new(&system, None, "user.promoted_super_admin", "user", user.id, now)
                .with_details(json!({ "email": user.email.as_ref() }));
            self.ports.users.promote_to_super_admin(user.id, &hash, now, &audit).await?;
            user.is_super_admin = true;
            user.updated_at = now;
            return Ok(user);
        }
        let user = User {
            id: UserId::new(),
            email,
            name,
            username: None,
            is_super_admin: true,
            last_login_at: None,
            created_at: now,
            updated_at: now,
            email_verified_at: None,
        };
        if !self.ports.users.insert_super_admin(&user, &hash).await? {
            // Registered between the check and the insert: the same refusal.
            return Err(Conflict::SuperAdminAccountExists(user.email).into());
        }
        Ok(user)
    }

    /// Every user of the platform, newest first, optionally those whose email
    /// or name contains `search` (super admin).
    ///
    /// # Errors
    /// `Forbidden` (`SuperAdminOnly`), `Invalid` (search over 200 characters), `Unexpected`.
    pub async fn users_across_organizations(
        &self,
        actor: &Actor,
        search: Option<String>,
        page: KeysetPage,
    ) -> Result<KeysetPaged<PlatformUser>, AuthError> {
        let platform = actor.platform().ok_or(Denied::SuperAdminOnly)?;
        let search = search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(ValidationErrors::single("search", "must be at most 200 characters").into());
        }
        Ok(self.ports.users.page_across_organizations(platform, search, page).await?)
    }

    /// Disables (`disabled`) or enables a user platform-wide (super admin,
    /// audited). A disabled user's access tokens, refresh tokens and API keys
    /// stop working at once, and they cannot sign in.
    ///
    /// # Errors
    /// `Forbidden` (`SuperAdminOnly`, `DisableSelf`), `NotFound`, `Unexpected`.
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> Result<PlatformUser, AuthError> {
        let platform = actor.platform().ok_or(Denied::SuperAdminOnly)?;
        if disabled && actor.user_id() == Some(id) {
            return Err(Denied::DisableSelf.into());
        }
        let now = self.ports.clock.now();
        let action = if disabled { "user.disabled" } else { "user.enabled" };
        let audit = AuditEntry::new(actor, None, action, "user", id, now);
        let at = disabled.then_some(now);
        if !self.ports.users.set_disabled(platform, id, at, &audit).await? {
            return Err(AuthError::NotFound(Resource::User));
        }
        let credentials = self.ports.users.by_id(id).await?.ok_or(AuthError::NotFound(Resource::User))?;
        Ok(PlatformUser { user: credentials.user, disabled_at: credentials.disabled_at })
    }

    /// Whether a super admin exists (for the first-start bootstrap).
    ///
    /// # Errors
    /// `Unexpected`.
    pub async fn super_admin_exists(&self) -> Result<bool, AuthError> {
        Ok(self.ports.users.super_admin_exists().await?)
    }
}
