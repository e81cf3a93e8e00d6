//! API keys: per-organization credentials for machines, limited to scopes.
//!
//! Format `lf_<prefix>_<secret>`: an 8-character public prefix (to find the
//! key and to show it in lists) and a 256-bit secret. Only SHA-256 of the
//! secret is stored, compared in constant time; the full key is shown once.
//! A key acts with its scopes as far as its creator still holds them (the
//! intersection with the creator's current permissions), never as a super
//! admin, and never outlives its organization's activation or its creator's
//! membership (removing a member revokes their keys).

use super::model::*;
use super::ports::ApiKeyRepository;
use crate::error::{AuthError, Conflict, Resource};
use crate::session::ports::AccessRepository;
use crate::session::tokens::{hash_opaque_token, new_opaque_token};
use chrono::Duration;
use leadflow_kernel::{Actor, AuditEntry, Clock, Permission, PermissionSet, ValidationErrors};
use leadflow_kernel::{ApiKeyId, TenantScope};
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq as _;

/// The API key use cases.
pub struct ApiKeyService {
    keys: Arc<dyn ApiKeyRepository>,
    access: Arc<dyn AccessRepository>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyService {
    /// Builds the service on its ports (`access` answers what a key's creator
    /// holds now; it is the cached per-request access check).
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        access: Arc<dyn AccessRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { keys, access, clock }
    }

    fn manager(actor: &Actor) -> Result<TenantScope, AuthError> {
        actor.user_id().ok_or(AuthError::UsersOnly)?;
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        actor.require(Permission::ApiKeysManage)?;
        Ok(scope)
    }

    /// Creates a key (`api_keys:manage`, signed-in users only). Its scopes must
    /// be permissions the creator holds. Returns the key and the full secret,
    /// shown only here.
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `Forbidden`, `Invalid`, `Unexpected`.
    pub async fn create(&self, actor: &Actor, input: ApiKeyInput) -> Result<(ApiKey, String), AuthError> {
        let scope = Self::manager(actor)?;
        actor.require_verified_email()?;
        let organization = scope.organization_id();
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
            id: ApiKeyId::new(),
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
        let audit = AuditEntry::in_scope(actor, scope, "api_key.created", "api_key", key.id, now).with_details(
            json!({ "name": key.name, "prefix": key.prefix, "scopes": key.scopes.iter().map(Permission::as_str).collect::<Vec<_>>() }),
        );
        self.keys.create(scope, &key, &secret_hash, &audit).await?;
        let full = assemble(&key.prefix, &secret);
        Ok((key, full))
    }

    /// The organization's keys (`api_keys:manage`).
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<ApiKey>, AuthError> {
        let scope = Self::manager(actor)?;
        Ok(self.keys.list(scope).await?)
    }

    /// Revokes a key (`api_keys:manage`). Idempotent.
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn revoke(&self, actor: &Actor, id: ApiKeyId) -> Result<(), AuthError> {
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let key = self.keys.get(scope, id).await?.ok_or(AuthError::NotFound(Resource::ApiKey))?;
        Self::manager(actor)?;
        if key.revoked_at.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        let audit = AuditEntry::in_scope(actor, scope, "api_key.revoked", "api_key", id, now)
            .with_details(json!({ "name": key.name, "prefix": key.prefix }));
        Ok(self.keys.revoke(scope, id, now, &audit).await?)
    }

    /// Gives a key a new prefix and secret (`api_keys:manage`); the old one
    /// stops working at once. Returns the key and its new full secret.
    ///
    /// # Errors
    /// `UsersOnly`, `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (revoked), `Unexpected`.
    pub async fn rotate(&self, actor: &Actor, id: ApiKeyId) -> Result<(ApiKey, String), AuthError> {
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let mut key = self.keys.get(scope, id).await?.ok_or(AuthError::NotFound(Resource::ApiKey))?;
        Self::manager(actor)?;
        if key.revoked_at.is_some() {
            return Err(Conflict::KeyRevoked.into());
        }
        let (secret, secret_hash) = new_opaque_token();
        let old_prefix = std::mem::replace(&mut key.prefix, new_prefix());
        let audit = AuditEntry::in_scope(actor, scope, "api_key.rotated", "api_key", id, self.clock.now())
            .with_details(json!({ "name": key.name, "oldPrefix": old_prefix, "prefix": key.prefix }));
        self.keys.rotate(scope, id, &key.prefix, &secret_hash, &audit).await?;
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
        let scopes =
            key.scopes.intersection(self.creator_permissions(&key).await?.ok_or(AuthError::Unauthorized)?);
        if key.last_used_at.is_none_or(|t| now - t >= Duration::seconds(LAST_USED_RESOLUTION_SECS)) {
            self.keys.touch(key.id, now).await?;
        }
        Ok(Actor::api_key(key.id, key.name, key.organization_id, scopes))
    }

    /// What the key's creator may do in its organization now: their current
    /// role's permissions (all for a super admin), none once they left;
    /// `None` when the super admin disabled the creator (the key stops). A key
    /// without a recorded creator keeps its scopes.
    async fn creator_permissions(&self, key: &ApiKey) -> Result<Option<PermissionSet>, AuthError> {
        let Some(creator) = key.created_by else { return Ok(Some(PermissionSet::all())) };
        Ok(match self.access.access(creator, Some(key.organization_id)).await? {
            Some(state) if state.disabled => None,
            Some(state) if state.super_admin => Some(PermissionSet::all()),
            Some(state) => Some(state.role.map_or(PermissionSet::EMPTY, leadflow_kernel::Role::permissions)),
            None => Some(PermissionSet::EMPTY),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_keys::*;
    use crate::error::*;
    use chrono::{DateTime, Utc};
    use leadflow_kernel::*;
    use leadflow_kernel::{MockClock, Role};

    fn service(keys: MockApiKeyRepository) -> ApiKeyService {
        service_with(keys, crate::session::ports::MockAccessRepository::new())
    }

    fn service_with(
        keys: MockApiKeyRepository,
        access: crate::session::ports::MockAccessRepository,
    ) -> ApiKeyService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        ApiKeyService::new(Arc::new(keys), Arc::new(access), Arc::new(clock))
    }

    fn stored(secret: &str, revoked: bool, active: bool, last_used: Option<DateTime<Utc>>) -> StoredApiKey {
        StoredApiKey {
            key: ApiKey {
                id: ApiKeyId::new(),
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
    async fn a_key_acts_only_with_what_its_creator_still_holds() {
        use crate::session::model::AccessState;
        let creator = UserId::new();
        let mut key = stored("s3cr3t", false, true, Some(Utc::now()));
        key.key.created_by = Some(creator);
        key.key.scopes = PermissionSet::of(&[Permission::LeadsCreate, Permission::LeadsViewAll]);
        let holds = |role: Option<Role>| {
            let mut access = crate::session::ports::MockAccessRepository::new();
            access.expect_access().returning(move |_, _| {
                Ok(Some(AccessState {
                    super_admin: false,
                    organization_active: Some(true),
                    role,
                    disabled: false,
                    email_verified: true,
                }))
            });
            access
        };
        let authenticate = |access| {
            let mut keys = MockApiKeyRepository::new();
            let key = key.clone();
            keys.expect_find_by_prefix().returning(move |_| Ok(Some(key.clone())));
            service_with(keys, access)
        };

        // Demoted to member: leads:create stays, leads:view_all (not a member's) goes.
        let actor = authenticate(holds(Some(Role::Member))).authenticate("lf_abcd1234_s3cr3t").await.unwrap();
        assert!(actor.can(Permission::LeadsCreate));
        assert!(!actor.can(Permission::LeadsViewAll));
        // Gone from the organization: nothing is left.
        let actor = authenticate(holds(None)).authenticate("lf_abcd1234_s3cr3t").await.unwrap();
        assert!(!actor.can(Permission::LeadsCreate));
    }

    #[tokio::test]
    async fn a_key_cannot_manage_keys() {
        let key_actor = Actor::api_key(ApiKeyId::new(), "ci", OrganizationId::new(), PermissionSet::all());
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
