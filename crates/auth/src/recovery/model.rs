//! Account tokens and the emails that carry them.

use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::UserId;
use uuid::Uuid;

use crate::account::model::User;
use crate::invitations::model::OutboxEmail;

/// What a token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Choose a new password (1 hour).
    PasswordReset,
    /// Prove the account's address (7 days).
    EmailVerification,
}

impl TokenPurpose {
    /// The stored name (also the email's kind).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::PasswordReset, Self::EmailVerification].into_iter().find(|p| p.as_str() == raw)
    }

    /// How long a token lives.
    #[must_use]
    pub const fn ttl(self) -> Duration {
        match self {
            Self::PasswordReset => Duration::hours(1),
            Self::EmailVerification => Duration::days(7),
        }
    }
}

/// A token being issued: its hash is stored, the token itself only emailed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// Its id.
    pub id: Uuid,
    /// The account it acts on.
    pub user_id: UserId,
    /// What it allows.
    pub purpose: TokenPurpose,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

/// A stored token, as a presented one is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    /// The account it acts on.
    pub user_id: UserId,
    /// What it allows.
    pub purpose: TokenPurpose,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used (single use).
    pub used_at: Option<DateTime<Utc>>,
}

impl StoredToken {
    /// Whether it still allows `purpose` at `now`.
    #[must_use]
    pub fn usable_for(&self, purpose: TokenPurpose, now: DateTime<Utc>) -> bool {
        self.purpose == purpose && self.used_at.is_none() && self.expires_at > now
    }
}

/// The email that carries `token` for `purpose` to `user`.
#[must_use]
pub fn token_email(user: &User, purpose: TokenPurpose, token: &str, now: DateTime<Utc>) -> OutboxEmail {
    OutboxEmail {
        id: Uuid::now_v7(),
        organization_id: None,
        kind: purpose.as_str().to_owned(),
        recipient: user.email.as_ref().to_owned(),
        data: serde_json::json!({ "name": user.name.as_ref() }),
        secrets: std::collections::BTreeMap::from([("token".to_owned(), token.to_owned())]),
        created_at: now,
    }
}
