//! The account model: users, names, passwords.

use std::fmt;

use chrono::{DateTime, Utc};
use leadflow_kernel::{EmailAddress, UserId};

/// A person's name: trimmed, 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

/// Why a text is not a [`PersonName`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 200 characters without control characters")]
pub struct InvalidPersonName;

impl PersonName {
    /// Validates and trims a name.
    ///
    /// # Errors
    /// [`InvalidPersonName`] when empty, too long or holding control characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidPersonName> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > 200 || trimmed.chars().any(char::is_control) {
            return Err(InvalidPersonName);
        }
        Ok(Self(trimmed.to_owned()))
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An optional unique handle: 3 to 32 characters of `[a-z0-9_.-]`, lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

/// Why a text is not a [`Username`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be 3 to 32 characters of letters, digits, '_', '.' or '-'")]
pub struct InvalidUsername;

impl Username {
    /// Validates and lowercases a username.
    ///
    /// # Errors
    /// [`InvalidUsername`] for other characters or lengths.
    pub fn parse(raw: &str) -> Result<Self, InvalidUsername> {
        let lower = raw.trim().to_lowercase();
        let ok = (3..=32).contains(&lower.len())
            && lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if ok { Ok(Self(lower)) } else { Err(InvalidUsername) }
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A password as typed: 10 to 256 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// Why a text is not an acceptable [`Password`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be 10 to 256 characters long")]
pub struct InvalidPassword;

impl Password {
    /// Checks the length rules (counted in characters, not bytes).
    ///
    /// # Errors
    /// [`InvalidPassword`] when shorter than 10 or longer than 256 characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidPassword> {
        if (10..=256).contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPassword)
        }
    }

    /// A password presented at login, checked against a hash only (no length rule,
    /// so that the rules can change without locking anybody out).
    #[must_use]
    pub fn presented(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The secret itself, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format (`$argon2id$…`). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read from storage or produced by a hasher.
    #[must_use]
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage.
    #[must_use]
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user: a global identity, member of zero or more organizations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Unique (case-insensitively) email.
    pub email: EmailAddress,
    /// Display name.
    pub name: PersonName,
    /// Optional unique handle.
    pub username: Option<Username>,
    /// Platform super admin flag (set only by the CLI or the bootstrap environment).
    pub is_super_admin: bool,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
    /// When the user proved the address is theirs (a verification link, or
    /// registering through an invitation sent to it); `None`: unverified.
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// A user as the super admin sees them across the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformUser {
    /// The user.
    pub user: User,
    /// When the account was disabled (`None`: enabled).
    pub disabled_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_10_to_256_characters_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert!(Password::parse(&"é".repeat(10)).is_ok());
    }

    #[test]
    fn usernames_are_lowercased_handles() {
        assert_eq!(Username::parse("Ada_L").unwrap().as_ref(), "ada_l");
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("ab").is_err());
    }

    #[test]
    fn names_are_trimmed() {
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_ref(), "Ada");
        assert!(PersonName::parse("   ").is_err());
    }
}
