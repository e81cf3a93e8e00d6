//! API keys: per-organization credentials for machines, limited to scopes.
//!
//! Format `lf_<prefix>_<secret>`: an 8-character public prefix (to find the
//! key and to show it in lists) and a 256-bit secret. Only SHA-256 of the
//! secret is stored, compared in constant time; the full key is shown once.
//! A key acts with exactly its scopes, never as a super admin, and never
//! outlives its organization's activation.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::{
    Actor, AuditEntry, Clock, OrganizationId, Permission, PermissionSet, UserId, ValidationErrors,
};
use rand::Rng as _;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::error::AuthError;
use crate::tokens::{hash_opaque_token, new_opaque_token};

/// `lastUsedAt` is written at most this often per key, so that a busy key
/// does not turn every request into a write.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// An API key (without its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: Uuid,
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

/// Durable store of API keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a key with its secret hash and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails (a prefix collision included; the caller may retry).
    async fn create(&self, key: &ApiKey, secret_hash: &str, audit: &AuditEntry) -> anyhow::Result<()>;

    /// The keys of `organization`, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn list(&self, organization: OrganizationId) -> anyhow::Result<Vec<ApiKey>>;

    /// One key of `organization`.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, organization: OrganizationId, id: Uuid) -> anyhow::Result<Option<ApiKey>>;

    /// Revokes a key and writes `audit`, in one transaction. Takes effect at once.
    ///
    /// # Errors
    /// When the store fails.
    async fn revoke(
        &self,
        organization: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// Replaces a key's prefix and secret and writes `audit`, in one
    /// transaction; the old secret stops working at once.
    ///
    /// # Errors
    /// When the store fails.
    async fn rotate(
        &self,
        organization: OrganizationId,
        id: Uuid,
        prefix: &str,
        secret_hash: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// The key with this prefix, its secret hash and its organization's state.
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_prefix(&self, prefix: &str) -> anyhow::Result<Option<StoredApiKey>>;

    /// Sets `last_used_at`.
    ///
    /// # Errors
    /// When the store fails.
    async fn touch(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()>;
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

fn new_prefix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

fn assemble(prefix: &str, secret: &str) -> String {
    format!("lf_{prefix}_{secret}")
}

/// Splits `lf_<prefix>_<secret>`.
fn split(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix("lf_")?;
    let (prefix, secret) = rest.split_at_checked(8)?;
    let secret = secret.strip_prefix('_')?;
    (prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) && !secret.is_empty())
        .then_some((prefix, secret))
}

/// The API key use cases.
pub struct ApiKeyService {
    keys: Arc<dyn ApiKeyRepository>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyService {
    /// Builds the service on its ports.
    pub fn new(keys: Arc<dyn ApiKeyRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    fn manager(actor: &Actor) -> Result<OrganizationId, AuthError> {
        actor.user_id().ok_or(AuthError::UsersOnly)?;
        let organization = actor.organization().ok_or(AuthError::NoOrganization)?;
        actor.require(Permission::ApiKeysManage)?;
        Ok(organization)
    }

    /// Creates a key (`api_keys:manage`, signed-in users only). Its scopes must
    /// be permissions the creator holds. Returns the key and the full secret,
    /// shown only here.
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `Forbidden`, `Invalid`, `Unexpected`.
    pub async fn create(&self, actor: &Actor, input: ApiKeyInput) -> Result<(ApiKey, String), AuthError> {
        let organization = Self::manager(actor)?;
        let now = self.clock.now();
        let mut errors = ValidationErrors::new();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.push("name", "must be 1 to 100 characters without control characters");
        }
        let mut scopes = Vec::new();
        for raw in &input.scopes {
            match raw.parse::<Permission>() {
                Ok(p) if actor.can(p) => scopes.push(p),
                Ok(p) => errors.push("scopes", format!("you cannot grant {p}, which you do not hold")),
                Err(e) => errors.push("scopes", e.to_string()),
            }
        }
        if input.scopes.is_empty() {
            errors.push("scopes", "must name at least one permission");
        }
        if input.expires_at.is_some_and(|t| t <= now) {
            errors.push("expiresAt", "must be in the future");
        }
        errors.into_result()?;
        let (secret, secret_hash) = new_opaque_token();
        let key = ApiKey {
            id: Uuid::now_v7(),
            organization_id: organization,
            name,
            prefix: new_prefix(),
            scopes: scopes.into_iter().collect(),
            created_by: actor.user_id(),
            expires_at: input.expires_at,
            last_used_at: None,
            revoked_at: None,
            created_at: now,
        };
        let audit = AuditEntry::new(actor, Some(organization), "api_key.created", "api_key", key.id, now).with_details(
            json!({ "name": key.name, "prefix": key.prefix, "scopes": key.scopes.iter().map(Permission::as_str).collect::<Vec<_>>() }),
        );
        self.keys.create(&key, &secret_hash, &audit).await?;
        let full = assemble(&key.prefix, &secret);
        Ok((key, full))
    }

    /// The organization's keys (`api_keys:manage`).
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<ApiKey>, AuthError> {
        let organization = Self::manager(actor)?;
        Ok(self.keys.list(organization).await?)
    }

    /// Revokes a key (`api_keys:manage`). Idempotent.
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn revoke(&self, actor: &Actor, id: Uuid) -> Result<(), AuthError> {
        let organization = actor.organization().ok_or(AuthError::NoOrganization)?;
        let key = self.keys.get(organization, id).await?.ok_or(AuthError::NotFound("No such API key."))?;
        Self::manager(actor)?;
        if key.revoked_at.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        let audit = AuditEntry::new(actor, Some(organization), "api_key.revoked", "api_key", id, now)
            .with_details(json!({ "name": key.name, "prefix": key.prefix }));
        Ok(self.keys.revoke(organization, id, now, &audit).await?)
    }

    /// Gives a key a new prefix and secret (`api_keys:manage`); the old one
    /// stops working at once. Returns the key and its new full secret.
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (revoked), `Unexpected`.
    pub async fn rotate(&self, actor: &Actor, id: Uuid) -> Result<(ApiKey, String), AuthError> {
        let organization = actor.organization().ok_or(AuthError::NoOrganization)?;
        let mut key =
            self.keys.get(organization, id).await?.ok_or(AuthError::NotFound("No such API key."))?;
        Self::manager(actor)?;
        if key.revoked_at.is_some() {
            return Err(AuthError::Conflict("A revoked key cannot be rotated; create a new one.".into()));
        }
        let (secret, secret_hash) = new_opaque_token();
        let old_prefix = std::mem::replace(&mut key.prefix, new_prefix());
        let audit =
            AuditEntry::new(actor, Some(organization), "api_key.rotated", "api_key", id, self.clock.now())
                .with_details(json!({ "name": key.name, "oldPrefix": old_prefix, "prefix": key.prefix }));
        self.keys.rotate(organization, id, &key.prefix, &secret_hash, &audit).await?;
        let full = assemble(&key.prefix, &secret);
        Ok((key, full))
    }

    /// Turns an `X-Api-Key` value into the [`Actor`] it stands for.
    ///
    /// # Errors
    /// `Unauthorized` (malformed, unknown, wrong secret, revoked, expired),
    /// `OrganizationInactive`, `Unexpected`.
    pub async fn authenticate(&self, raw: &str) -> Result<Actor, AuthError> {
        let (prefix, secret) = split(raw.trim()).ok_or(AuthError::Unauthorized)?;
        let stored = self.keys.find_by_prefix(prefix).await?.ok_or(AuthError::Unauthorized)?;
        let presented = hash_opaque_token(secret);
        if !bool::from(presented.as_bytes().ct_eq(stored.secret_hash.as_bytes())) {
            return Err(AuthError::Unauthorized);
        }
        let key = stored.key;
        let now = self.clock.now();
        if key.revoked_at.is_some() || key.expires_at.is_some_and(|t| t <= now) {
            return Err(AuthError::Unauthorized);
        }
        if !stored.organization_active {
            return Err(AuthError::OrganizationInactive);
        }
        if key.last_used_at.is_none_or(|t| now - t >= Duration::seconds(LAST_USED_RESOLUTION_SECS)) {
            self.keys.touch(key.id, now).await?;
        }
        Ok(Actor::api_key(key.id, key.name, key.organization_id, key.scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadflow_kernel::{MockClock, Role};

    fn service(keys: MockApiKeyRepository) -> ApiKeyService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        ApiKeyService::new(Arc::new(keys), Arc::new(clock))
    }

    fn stored(secret: &str, revoked: bool, active: bool, last_used: Option<DateTime<Utc>>) -> StoredApiKey {
        StoredApiKey {
            key: ApiKey {
                id: Uuid::now_v7(),
                organization_id: OrganizationId::new(),
                name: "ci".into(),
                prefix: "abcd1234".into(),
                scopes: PermissionSet::of(&[Permission::LeadsCreate]),
                created_by: None,
                expires_at: None,
                last_used_at: last_used,
                revoked_at: revoked.then(Utc::now),
                created_at: Utc::now(),
            },
            secret_hash: hash_opaque_token(secret),
            organization_active: active,
        }
    }

    #[test]
    fn keys_split_into_prefix_and_secret() {
        assert_eq!(split("lf_abcd1234_s3cr3t"), Some(("abcd1234", "s3cr3t")));
        for bad in ["abcd1234_s3cr3t", "lf_abcd123_x", "lf_ABCD1234_x", "lf_abcd1234_", "lf_abcd1234x"] {
            assert_eq!(split(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn scopes_beyond_the_creators_permissions_are_refused() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create().never();
        let admin =
            Actor::user(UserId::new(), "a@x.io", Some(OrganizationId::new()), Some(Role::Admin), false);
        let input = ApiKeyInput {
            name: "ci".into(),
            scopes: vec!["leads:create".into(), "org:delete".into()],
            expires_at: None,
        };
        let Err(AuthError::Invalid(errors)) = service(keys).create(&admin, input).await else {
            panic!("expected Invalid")
        };
        assert_eq!(errors.errors()[0].field, "scopes");
    }

    #[tokio::test]
    async fn a_key_cannot_manage_keys() {
        let key_actor = Actor::api_key(Uuid::now_v7(), "ci", OrganizationId::new(), PermissionSet::all());
        let result = service(MockApiKeyRepository::new()).list(&key_actor).await;
        assert!(matches!(result, Err(AuthError::UsersOnly)));
    }

    #[tokio::test]
    async fn a_valid_key_acts_with_its_scopes_only_and_is_touched_once_a_minute() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_prefix().returning(|_| Ok(Some(stored("s3cr3t", false, true, None))));
        keys.expect_touch().times(1).returning(|_, _| Ok(()));
        let actor = service(keys).authenticate("lf_abcd1234_s3cr3t").await.unwrap();
        assert!(actor.can(Permission::LeadsCreate));
        assert!(!actor.can(Permission::LeadsViewAll));
        assert!(!actor.is_super_admin());

        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_prefix().returning(|_| Ok(Some(stored("s3cr3t", false, true, Some(Utc::now())))));
        keys.expect_touch().never();
        service(keys).authenticate("lf_abcd1234_s3cr3t").await.unwrap();
    }

    #[tokio::test]
    async fn wrong_revoked_and_inactive_keys_are_refused() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_prefix().returning(|_| Ok(Some(stored("s3cr3t", false, true, None))));
        assert!(matches!(
            service(keys).authenticate("lf_abcd1234_wrong").await,
            Err(AuthError::Unauthorized)
        ));

        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_prefix().returning(|_| Ok(Some(stored("s3cr3t", true, true, None))));
        assert!(matches!(
            service(keys).authenticate("lf_abcd1234_s3cr3t").await,
            Err(AuthError::Unauthorized)
        ));

        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_prefix().returning(|_| Ok(Some(stored("s3cr3t", false, false, None))));
        assert!(matches!(
            service(keys).authenticate("lf_abcd1234_s3cr3t").await,
            Err(AuthError::OrganizationInactive)
        ));
    }
}
