//! API keys: the `api_keys` table, its scope encoding, and the cached lookup by prefix.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::api_keys::{ApiKey, ApiKeyRepository, StoredApiKey};
use leadflow_kernel::{ApiKeyId, AuditEntry, OrganizationId, Permission, PermissionSet, TenantScope, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::SeaOrmAuth;
use crate::db::{Change, unexpected};
use crate::entities::{api_key, organization};

fn scopes_to_text(scopes: PermissionSet) -> String {
    scopes.iter().map(Permission::as_str).collect::<Vec<_>>().join(" ")
}

fn key_to_domain(row: api_key::Model) -> anyhow::Result<ApiKey> {
    let scopes = row
        .scopes
        .split_whitespace()
        .map(|s| s.parse::<Permission>().context("stored scope"))
        .collect::<anyhow::Result<PermissionSet>>()?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.id),
        organization_id: OrganizationId::from_uuid(row.organization_id),
        name: row.name,
        prefix: row.prefix,
        scopes,
        created_by: row.created_by.map(UserId::from_uuid),
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
        created_at: row.created_at,
    })
}

/// Revokes every live key `creator` made in `organization` (they are leaving it), on `conn`.
pub(super) async fn revoke_created_by<C: sea_orm::ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    creator: UserId,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(at))
        .filter(api_key::Column::OrganizationId.eq(organization.as_uuid()))
        .filter(api_key::Column::CreatedBy.eq(creator.as_uuid()))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(conn)
        .await
        .map(|_| ())
}

#[async_trait]
impl ApiKeyRepository for SeaOrmAuth {
    async fn create(
        &self,
        scope: TenantScope,
        key: &ApiKey,
        secret_hash: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let txn = Change::begin(&self.db, "committing API key").await?;
        api_key::Entity::insert(api_key::ActiveModel {
            id: Set(key.id.as_uuid()),
            organization_id: Set(scope.organization_id().as_uuid()),
            name: Set(key.name.clone()),
            prefix: Set(key.prefix.clone()),
            secret_hash: Set(secret_hash.to_owned()),
            scopes: Set(scopes_to_text(key.scopes)),
            created_by: Set(key.created_by.map(|u| u.as_uuid())),
            expires_at: Set(key.expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(key.created_at),
        })
        .exec_without_returning(&*txn)
        .await
        .map_err(|e| unexpected(e, "inserting API key"))?;
        txn.commit(audit).await?;
        Ok(())
    }

    async fn list(&self, scope: TenantScope) -> anyhow::Result<Vec<ApiKey>> {
        let rows = api_key::Entity::find()
            .filter(api_key::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .order_by_desc(api_key::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing API keys"))?;
        rows.into_iter().map(key_to_domain).collect()
    }

    async fn get(&self, scope: TenantScope, id: ApiKeyId) -> anyhow::Result<Option<ApiKey>> {
        let row = api_key::Entity::find_by_id(id.as_uuid())
            .filter(api_key::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading API key"))?;
        row.map(key_to_domain).transpose()
    }

    async fn revoke(
        &self,
        scope: TenantScope,
        id: ApiKeyId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let txn = Change::begin(&self.db, "committing API key revocation").await?;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(at))
            .filter(api_key::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(api_key::Column::Id.eq(id.as_uuid()))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "revoking API key"))?;
        txn.commit(audit).await?;
        self.cache.invalidate_key(id);
        Ok(())
    }

    async fn rotate(
        &self,
        scope: TenantScope,
        id: ApiKeyId,
        prefix: &str,
        secret_hash: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let txn = Change::begin(&self.db, "committing API key rotation").await?;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::Prefix, Expr::value(prefix))
            .col_expr(api_key::Column::SecretHash, Expr::value(secret_hash))
            .filter(api_key::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(api_key::Column::Id.eq(id.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "rotating API key"))?;
        txn.commit(audit).await?;
        self.cache.invalidate_key(id);
        Ok(())
    }

    async fn find_by_prefix(&self, prefix: &str) -> anyhow::Result<Option<StoredApiKey>> {
        if let Some(hit) = self.cache.key(prefix) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let row = api_key::Entity::find()
            .filter(api_key::Column::Prefix.eq(prefix))
            .find_also_related(organization::Entity)
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading API key"))?;
        let found = match row {
            Some((key, Some(org))) => {
                let secret_hash = key.secret_hash.clone();
                Some(StoredApiKey {
                    key: key_to_domain(key)?,
                    secret_hash,
                    organization_active: org.is_active,
                })
            }
            _ => None,
        };
        self.cache.put_key(prefix, found.clone(), generation);
        Ok(found)
    }

    async fn touch(&self, id: ApiKeyId, at: DateTime<Utc>) -> anyhow::Result<()> {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
            .filter(api_key::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "recording API key use"))?;
        self.cache.invalidate_key(id);
        Ok(())
    }
}
