//! Account tokens (`user_tokens`): password reset and email verification.
//! Issuing one queues its email in the same transaction; spending one is
//! atomic with what it allows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::invitations::OutboxEmail;
use leadflow_auth::model::{IssuedToken, PasswordHash, StoredToken, TokenPurpose};
use leadflow_auth::ports::UserTokenRepository;
use leadflow_delivery::EmailKind;
use leadflow_kernel::{AuditEntry, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set};

use super::SeaOrmAuth;
use super::sessions::revoke_all_of_user;
use crate::db::{Change, unexpected};
use crate::entities::{user, user_token};
use crate::outbox::{QueuedEmail, queue_email};

/// Spends the unused, unexpired token `token_hash` of `user` on `conn`; whether it was.
async fn spend<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let spent = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(now))
        .filter(user_token::Column::TokenHash.eq(token_hash))
        .filter(user_token::Column::UserId.eq(user.as_uuid()))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await
        .map_err(|e| unexpected(e, "spending an account token"))?;
    Ok(spent.rows_affected == 1)
}

/// Stores `token` (the user's unused tokens of its purpose stop working) and
/// queues `email`, on `txn` (the caller commits).
pub(super) async fn issue_on<C: ConnectionTrait>(
    txn: &C,
    token: &IssuedToken,
    email: &OutboxEmail,
) -> anyhow::Result<()> {
    // A new link replaces the previous ones of the same purpose.
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(token.created_at))
        .filter(user_token::Column::UserId.eq(token.user_id.as_uuid()))
        .filter(user_token::Column::Purpose.eq(token.purpose.as_str()))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(txn)
        .await
        .map_err(|e| unexpected(e, "replacing account tokens"))?;
    user_token::Entity::insert(user_token::ActiveModel {
        id: Set(token.id),
        user_id: Set(token.user_id.as_uuid()),
        purpose: Set(token.purpose.as_str().to_owned()),
        token_hash: Set(token.token_hash.clone()),
        expires_at: Set(token.expires_at),
        used_at: Set(None),
        created_at: Set(token.created_at),
    })
    .exec_without_returning(txn)
    .await
    .map_err(|e| unexpected(e, "storing an account token"))?;
    let kind = EmailKind::parse(&email.kind)
        .ok_or_else(|| anyhow::anyhow!("unknown email kind {:?}", email.kind))?;
    queue_email(
        txn,
        QueuedEmail {
            id: email.id,
            organization: email.organization_id,
            kind,
            recipient: &email.recipient,
            data: email.data.clone(),
            at: email.created_at,
            workflow: None,
            secrets: Some(serde_json::json!(email.secrets)),
            invitation: None,
        },
    )
    .await
    .map_err(|e| unexpected(e, "queueing an account email"))
}

#[async_trait]
impl UserTokenRepository for SeaOrmAuth {
    async fn issue(&self, token: &IssuedToken, email: &OutboxEmail) -> anyhow::Result<()> {
        let txn = crate::db::begin_write(&self.db).await?;
        issue_on(&txn, token, email).await?;
        txn.commit().await.map_err(|e| unexpected(e, "committing an account token"))
    }

    async fn find(&self, token_hash: &str) -> anyhow::Result<Option<StoredToken>> {
        let Some(row) = user_token::Entity::find()
            .filter(user_token::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading an account token"))?
        else {
            return Ok(None);
        };
        Ok(Some(StoredToken {
            user_id: UserId::from_uuid(row.user_id),
            purpose: TokenPurpose::parse(&row.purpose)
                .ok_or_else(|| anyhow::anyhow!("unknown token purpose {:?}", row.purpose))?,
            expires_at: row.expires_at,
            used_at: row.used_at,
        }))
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        user: UserId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let change = Change::begin(&self.db, "committing a password reset").await?;
        if !spend(&*change, token_hash, user, now).await? {
            return Ok(false);
        }
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash.as_phc()))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user.as_uuid()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "storing password hash"))?;
        revoke_all_of_user(&*change, user, now)
            .await
            .map_err(|e| unexpected(e, "revoking refresh tokens"))?;
        change.commit(audit).await?;
        self.cache.invalidate_user(user);
        Ok(true)
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let change = Change::begin(&self.db, "committing an email verification").await?;
        if !spend(&*change, token_hash, user, now).await? {
            return Ok(false);
        }
        user::Entity::update_many()
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user.as_uuid()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "marking the address verified"))?;
        change.commit(audit).await?;
        self.cache.invalidate_user(user);
        Ok(true)
    }
}
