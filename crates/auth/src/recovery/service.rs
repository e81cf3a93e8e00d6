//! Recovery use cases: request and confirm a password reset, verify an
//! address, send a new verification link.

use std::sync::Arc;

use leadflow_kernel::{Actor, AuditEntry, Clock, EmailAddress, ValidationErrors};
use uuid::Uuid;

use crate::account::password::PasswordHasher;
use crate::account::ports::UserRepository;
use crate::account::{Password, User};
use crate::error::{AuthError, Conflict};
use crate::recovery::model::{IssuedToken, TokenPurpose, token_email};
use crate::recovery::ports::UserTokenRepository;
use crate::session::throttle::{ActionBudget, HOUR};
use crate::session::tokens::{hash_opaque_token, new_opaque_token};

/// How often each may be asked for.
#[derive(Clone, Copy, Debug)]
pub struct RecoveryLimits {
    /// Reset requests per client address per hour (beyond: 429).
    pub reset_requests_per_address: u32,
    /// Reset emails per account per hour (beyond: still 202, no email).
    pub reset_emails_per_account: u32,
    /// Verification emails per account per hour.
    pub verification_emails_per_account: u32,
}

impl Default for RecoveryLimits {
    /// 20 requests per address, 3 reset emails and 5 verification emails per account, per hour.
    fn default() -> Self {
        Self {
            reset_requests_per_address: 20,
            reset_emails_per_account: 3,
            verification_emails_per_account: 5,
        }
    }
}

/// Password reset and email verification.
pub struct RecoveryService {
    users: Arc<dyn UserRepository>,
    tokens: Arc<dyn UserTokenRepository>,
    hasher: Arc<dyn PasswordHasher>,
    budget: Arc<dyn ActionBudget>,
    clock: Arc<dyn Clock>,
    limits: RecoveryLimits,
}

fn invalid_token() -> AuthError {
    ValidationErrors::single("token", "is invalid, expired or already used").into()
}

impl RecoveryService {
    /// Builds the service on its ports.
    pub fn new(
        users: Arc<dyn UserRepository>,
        tokens: Arc<dyn UserTokenRepository>,
        hasher: Arc<dyn PasswordHasher>,
        budget: Arc<dyn ActionBudget>,
        clock: Arc<dyn Clock>,
        limits: RecoveryLimits,
    ) -> Self {
        Self { users, tokens, hasher, budget, clock, limits }
    }

    async fn issue(&self, user: &User, purpose: TokenPurpose) -> Result<(), AuthError> {
        let now = self.clock.now();
        let (token, token_hash) = new_opaque_token();
        let issued = IssuedToken {
            id: Uuid::now_v7(),
            user_id: user.id,
            purpose,
            token_hash,
            expires_at: now + purpose.ttl(),
            created_at: now,
        };
        self.tokens.issue(&issued, &token_email(user, purpose, &token, now)).await?;
        Ok(())
    }

    /// Emails a reset link to `email` if it is an enabled account. Answers the
    /// same whether or not it is (no account enumeration); a flood from one
    /// address is throttled (429), a flood at one account silently sends no more.
    ///
    /// # Errors
    /// `Throttled` (per address), `Unexpected`.
    pub async fn request_password_reset(&self, email: &str, ip: Option<&str>) -> Result<(), AuthError> {
        if let Some(ip) = ip {
            self.budget
                .spend(&format!("reset-ip:{ip}"), self.limits.reset_requests_per_address, HOUR)
                .await
                .map_err(|wait| AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) })?;
        }
        let Ok(email) = EmailAddress::parse(email) else { return Ok(()) };
        let Some(credentials) = self.users.by_email(&email).await? else { return Ok(()) };
        if credentials.disabled_at.is_some() {
            return Ok(());
        }
        let user = credentials.user;
        if self
            .budget
            .spend(&format!("reset:{}", user.id), self.limits.reset_emails_per_account, HOUR)
            .await
            .is_err()
        {
            return Ok(());
        }
        self.issue(&user, TokenPurpose::PasswordReset).await
    }

    /// Sets a new password with a reset token; every session of the account ends.
    ///
    /// # Errors
    /// `Invalid` (`newPassword`, or `token`: invalid, expired or used), `Unexpected`.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<(), AuthError> {
        let password = Password::parse(new_password)
            .map_err(|e| ValidationErrors::single("newPassword", e.to_string()))?;
        let now = self.clock.now();
        let token_hash = hash_opaque_token(token);
        let stored = self.tokens.find(&token_hash).await?.ok_or_else(invalid_token)?;
        if !stored.usable_for(TokenPurpose::PasswordReset, now) {
            return Err(invalid_token());
        }
        let credentials = self.users.by_id(stored.user_id).await?.ok_or_else(invalid_token)?;
        let hash = self.hasher.hash(&password).await?;
        let actor = Actor::user(credentials.user.id, credentials.user.email.as_ref(), None, None, false);
        let audit = AuditEntry::new(&actor, None, "user.password_reset", "user", credentials.user.id, now);
        if !self.tokens.reset_password(&token_hash, stored.user_id, &hash, now, &audit).await? {
            return Err(invalid_token());
        }
        Ok(())
    }

    /// Marks the account's address verified with a verification token.
    ///
    /// # Errors
    /// `Invalid` (`token`), `Unexpected`.
    pub async fn verify_email(&self, token: &str) -> Result<(), AuthError> {
        let now = self.clock.now();
        let token_hash = hash_opaque_token(token);
        let stored = self.tokens.find(&token_hash).await?.ok_or_else(invalid_token)?;
        if !stored.usable_for(TokenPurpose::EmailVerification, now) {
            return Err(invalid_token());
        }
        let credentials = self.users.by_id(stored.user_id).await?.ok_or_else(invalid_token)?;
        let actor = Actor::user(credentials.user.id, credentials.user.email.as_ref(), None, None, false);
        let audit = AuditEntry::new(&actor, None, "user.email_verified", "user", credentials.user.id, now)
            .with_details(serde_json::json!({ "email": credentials.user.email.as_ref() }));
        if !self.tokens.verify_email(&token_hash, stored.user_id, now, &audit).await? {
            return Err(invalid_token());
        }
        Ok(())
    }

    /// Sends the signed-in user a new verification link (the previous one stops working).
    ///
    /// # Errors
    /// `UsersOnly`, `Conflict` (already verified), `Throttled`, `Unexpected`.
    pub async fn resend_verification(&self, actor: &Actor) -> Result<(), AuthError> {
        let id = actor.user_id().ok_or(AuthError::UsersOnly)?;
        let user = self.users.by_id(id).await?.ok_or(AuthError::Unauthorized)?.user;
        if user.email_verified_at.is_some() {
            return Err(Conflict::EmailAlreadyVerified.into());
        }
        self.budget
            .spend(&format!("verify:{id}"), self.limits.verification_emails_per_account, HOUR)
            .await
            .map_err(|wait| AuthError::Throttled { retry_after_secs: wait.as_secs().max(1) })?;
        self.issue(&user, TokenPurpose::EmailVerification).await
    }

    /// Sends a new account its first verification link (registration).
    ///
    /// # Errors
    /// `Unexpected`.
    pub async fn welcome(&self, user: &User) -> Result<(), AuthError> {
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        self.issue(user, TokenPurpose::EmailVerification).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::ports::{Credentials, MockUserRepository};
    use crate::account::{PasswordHash, PersonName};
    use crate::recovery::model::StoredToken;
    use crate::recovery::ports::MockUserTokenRepository;
    use crate::session::throttle::MockActionBudget;
    use chrono::{Duration, Utc};
    use leadflow_kernel::{SystemClock, UserId};

    fn user() -> User {
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
            email_verified_at: None,
        }
    }

    fn credentials(user: User) -> Credentials {
        Credentials { user, password_hash: PasswordHash::from_phc("$argon2id$x".into()), disabled_at: None }
    }

    fn budget(allow: bool) -> MockActionBudget {
        let mut budget = MockActionBudget::new();
        budget
            .expect_spend()
            .returning(move |_, _, _| if allow { Ok(()) } else { Err(std::time::Duration::from_secs(60)) });
        budget
    }

    fn service(
        users: MockUserRepository,
        tokens: MockUserTokenRepository,
        budget: MockActionBudget,
    ) -> RecoveryService {
        RecoveryService::new(
            Arc::new(users),
            Arc::new(tokens),
            Arc::new(
                crate::account::password::Argon2Hasher::new(
                    crate::account::password::HashCost { memory_kib: 256, iterations: 1, parallelism: 1 },
                    1,
                )
                .unwrap(),
            ),
            Arc::new(budget),
            Arc::new(SystemClock),
            RecoveryLimits::default(),
        )
    }

    #[tokio::test]
    async fn a_reset_request_answers_the_same_for_unknown_and_known_accounts() {
        let mut users = MockUserRepository::new();
        users
            .expect_by_email()
            .returning(|e| Ok((e.as_ref() == "ada@example.com").then(|| credentials(user()))));
        let mut tokens = MockUserTokenRepository::new();
        tokens
            .expect_issue()
            .withf(|t, m| {
                t.purpose == TokenPurpose::PasswordReset
                    && m.kind == "password_reset"
                    && m.secrets["token"].len() > 30
                    && t.token_hash.len() == 64
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let service = service(users, tokens, budget(true));
        service.request_password_reset("nobody@example.com", Some("1.2.3.4")).await.unwrap();
        service.request_password_reset("not an email", Some("1.2.3.4")).await.unwrap();
        service.request_password_reset("ada@example.com", Some("1.2.3.4")).await.unwrap();
    }

    #[tokio::test]
    async fn a_used_or_expired_token_is_refused() {
        let mut tokens = MockUserTokenRepository::new();
        let id = UserId::new();
        tokens.expect_find().returning(move |hash| {
            Ok(Some(StoredToken {
                user_id: id,
                purpose: TokenPurpose::PasswordReset,
                expires_at: if hash.starts_with('0') {
                    Utc::now() - Duration::minutes(1)
                } else {
                    Utc::now() + Duration::minutes(30)
                },
                used_at: Some(Utc::now()),
            }))
        });
        tokens.expect_reset_password().never();
        let service = service(MockUserRepository::new(), tokens, budget(true));
        assert!(matches!(
            service.confirm_password_reset("tok", "a long enough password").await,
            Err(AuthError::Invalid(_))
        ));
        // A verification token is not a reset token, and vice versa.
        assert!(matches!(service.verify_email("tok").await, Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_verified_user_gets_no_new_link() {
        let mut users = MockUserRepository::new();
        users.expect_by_id().returning(|_| {
            let mut u = user();
            u.email_verified_at = Some(Utc::now());
            Ok(Some(credentials(u)))
        });
        let service = service(users, MockUserTokenRepository::new(), budget(true));
        let actor = Actor::user(UserId::new(), "ada@example.com", None, None, false);
        assert!(matches!(service.resend_verification(&actor).await, Err(AuthError::Conflict(_))));
    }
}
