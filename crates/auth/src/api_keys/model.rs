//! The API key model and its format.

use chrono::{DateTime, Utc};
use leadflow_kernel::ApiKeyId;
use leadflow_kernel::{OrganizationId, PermissionSet, UserId};
use rand::Rng as _;

/// `lastUsedAt` is written at most this often per key, so that a busy key
/// does not turn every request into a write.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// An API key (without its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The organization it acts in.
    pub organization_id: OrganizationId,
    /// A name for people.
    pub name: String,
    /// The public 8-character prefix.
    pub prefix: String,
    /// What it may do.
    pub scopes: PermissionSet,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A stored key as found by its prefix, for authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredApiKey {
    /// The key.
    pub key: ApiKey,
    /// Hex SHA-256 of its secret.
    pub secret_hash: String,
    /// Whether its organization is active.
    pub organization_active: bool,
}

/// A new key's fields, unvalidated.
#[derive(Clone, Debug, Default)]
pub struct ApiKeyInput {
    /// Name, 1–100 characters.
    pub name: String,
    /// Permission names (`leads:create`, …), at least one, each held by the creator.
    pub scopes: Vec<String>,
    /// Optional expiry, in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

pub(crate) fn new_prefix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

pub(crate) fn assemble(prefix: &str, secret: &str) -> String {
    format!("lf_{prefix}_{secret}")
}

/// Splits `lf_<prefix>_<secret>`.
pub(crate) fn split(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix("lf_")?;
    let (prefix, secret) = rest.split_at_checked(8)?;
    let secret = secret.strip_prefix('_')?;
    (prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) && !secret.is_empty())
        .then_some((prefix, secret))
}
