//! Refresh tokens: the `refresh_tokens` table, rotated once and revoked by family.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::ports::{RefreshTokenRecord, RefreshTokenRepository};
use leadflow_kernel::{OrganizationId, RefreshTokenId, SessionFamilyId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::SeaOrmAuth;
use crate::db::{begin_write, unexpected};
use crate::entities::refresh_token;
/// Revokes every live refresh token of `user`, on `conn`.
pub(super) async fn revoke_all_of_user<C: ConnectionTrait>(
    conn: &C,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    revoke_where(conn, refresh_token::Column::UserId.eq(user.as_uuid()), at).await
}

/// Revokes the live tokens `which` selects, on `conn` (a write transaction).
///
/// On PostgreSQL the live rows are locked first, in a statement of their own:
/// a rotation in flight holds its token's row, so this waits for it to commit
/// and the `UPDATE` that follows (a new statement, a new snapshot) also sees
/// the token that rotation inserted. Without it, a refresh committing after a
/// logout or a password change could leave a live token. A rotation that
/// comes second finds its token revoked and fails. (SQLite's `IMMEDIATE`
/// transactions already run one at a time.)
async fn revoke_where<C: ConnectionTrait>(
    conn: &C,
    which: sea_orm::sea_query::SimpleExpr,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::QuerySelect as _;
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let _locked: Vec<uuid::Uuid> = refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::Id)
            .filter(which.clone())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .lock_exclusive()
            .into_tuple()
            .all(conn)
            .await?;
    }
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(which)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await
        .map(|_| ())
}

/// Revokes the live refresh tokens of `user` in `organization` (they left it), on `conn`.
pub(super) async fn revoke_sessions_in<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let which = refresh_token::Column::OrganizationId
        .eq(organization.as_uuid())
        .and(refresh_token::Column::UserId.eq(user.as_uuid()));
    revoke_where(conn, which, at).await
}

fn token_to_domain(row: refresh_token::Model) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: RefreshTokenId::from_uuid(row.id),
        family_id: SessionFamilyId::from_uuid(row.family_id),
        user_id: UserId::from_uuid(row.user_id),
        organization_id: row.organization_id.map(OrganizationId::from_uuid),
        token_hash: row.token_hash,
        created_at: row.created_at,
        expires_at: row.expires_at,
        used_at: row.used_at,
        revoked_at: row.revoked_at,
    }
}

fn token_row(t: &RefreshTokenRecord) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        id: Set(t.id.as_uuid()),
        family_id: Set(t.family_id.as_uuid()),
        user_id: Set(t.user_id.as_uuid()),
        organization_id: Set(t.organization_id.map(|o| o.as_uuid())),
        token_hash: Set(t.token_hash.clone()),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        used_at: Set(t.used_at),
        revoked_at: Set(t.revoked_at),
    }
}

#[async_trait]
impl RefreshTokenRepository for SeaOrmAuth {
    async fn insert(&self, token: &RefreshTokenRecord) -> anyhow::Result<()> {
        refresh_token::Entity::insert(token_row(token))
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| unexpected(e, "inserting refresh token"))?;
        Ok(())
    }

    async fn find_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<RefreshTokenRecord>> {
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading refresh token"))?;
        Ok(row.map(token_to_domain))
    }

    async fn rotate(
        &self,
        used: RefreshTokenId,
        next: &RefreshTokenRecord,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let txn = begin_write(&self.db).await?;
        // The conditional update is the race arbiter: of two concurrent
        // rotations of one token, exactly one sees rows_affected = 1.
        let marked = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(at))
            .filter(refresh_token::Column::Id.eq(used.as_uuid()))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "marking refresh token used"))?;
        if marked.rows_affected != 1 {
            return Ok(false);
        }
        refresh_token::Entity::insert(token_row(next))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| unexpected(e, "inserting rotated refresh token"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing rotation"))?;
        Ok(true)
    }

    async fn revoke_family(&self, family_id: SessionFamilyId, at: DateTime<Utc>) -> anyhow::Result<()> {
        let txn = begin_write(&self.db).await?;
        revoke_where(&txn, refresh_token::Column::FamilyId.eq(family_id.as_uuid()), at)
            .await
            .map_err(|e| unexpected(e, "revoking refresh token family"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing the family's revocation"))
    }
}
