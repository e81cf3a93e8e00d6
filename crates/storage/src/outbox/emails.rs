//! The email outbox adapter: leases for the dispatcher (`SKIP LOCKED` on
//! PostgreSQL), outcomes fenced by the lease, pages and resends for people.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_delivery::email::{EmailFilter, EmailOutcome};
use leadflow_delivery::ports::EmailOutbox;
use leadflow_delivery::{Email, EmailId, EmailKind, EmailStatus, OutgoingEmail};
use leadflow_kernel::{
    AuditEntry, Cursor, KeysetPage, KeysetPaged, OrganizationId, PlatformScope, TenantScope,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, DatabaseBackend, EntityTrait, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use super::SeaOrmDelivery;
use crate::db::{Change, begin_write, keyset_page, unexpected};
use crate::entities::email_outbox::{self, Column as C};

fn to_domain(row: email_outbox::Model) -> anyhow::Result<Email> {
    let lead_id = row
        .data
        .as_ref()
        .and_then(|d| d.get("leadId"))
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok());
    Ok(Email {
        id: EmailId::from_uuid(row.id),
        organization_id: row.organization_id.map(OrganizationId::from_uuid),
        kind: EmailKind::parse(&row.kind)
            .ok_or_else(|| anyhow::anyhow!("unknown email kind {:?}", row.kind))?,
        recipient: row.recipient,
        subject: row.subject,
        body: row.body,
        status: EmailStatus::parse(&row.status)
            .ok_or_else(|| anyhow::anyhow!("unknown email status {:?}", row.status))?,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        reply: row.reply,
        message_id: row.message_id,
        lead_id,
        created_at: row.created_at,
        sent_at: row.sent_at,
    })
}

#[async_trait]
impl EmailOutbox for SeaOrmDelivery {
    async fn claim_due(
        &self,
        _platform: PlatformScope,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<OutgoingEmail>> {
        let txn = begin_write(&self.db).await?;
        // Outreach left `sending` by a worker that died: its fate is unknown, and it is never sent again.
        email_outbox::Entity::update_many()
            .col_expr(C::Status, Expr::value(EmailStatus::Unknown.as_str()))
            .col_expr(
                C::LastError,
                Expr::value("the sending worker stopped mid-send; the message may or may not have left"),
            )
            .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(Expr::cust("status IN ('pending', 'sending')"))
            .filter(C::NextAttemptAt.lte(now))
            .filter(C::Status.eq(EmailStatus::Sending.as_str()))
            .filter(C::Kind.eq(EmailKind::Outreach.as_str()))
            .filter(C::LeaseExpiresAt.lt(now))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "marking interrupted outreach unknown"))?;
        // Due: pending and time, or transactional mail whose sender died (at least once).
        // The literal predicate matches the partial index `idx_email_outbox_due`.
        let mut query = email_outbox::Entity::find()
            .filter(Expr::cust("status IN ('pending', 'sending')"))
            .filter(C::NextAttemptAt.lte(now))
            .filter(Condition::any().add(C::Status.eq(EmailStatus::Pending.as_str())).add(
                Condition::all().add(C::Kind.ne(EmailKind::Outreach.as_str())).add(C::LeaseExpiresAt.lt(now)),
            ))
            .order_by_asc(C::NextAttemptAt)
            .limit(limit);
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = query.all(&txn).await.map_err(|e| unexpected(e, "finding due emails"))?;
        if rows.is_empty() {
            txn.commit().await.map_err(|e| unexpected(e, "committing email claim"))?;
            return Ok(Vec::new());
        }
        email_outbox::Entity::update_many()
            .col_expr(C::Status, Expr::value(EmailStatus::Sending.as_str()))
            .col_expr(C::LeaseOwner, Expr::value(worker))
            .col_expr(C::LeaseExpiresAt, Expr::value(lease_until))
            .filter(C::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "leasing emails"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing email claim"))?;
        rows.into_iter()
            .map(|row| {
                let data = row.data.clone().unwrap_or(serde_json::Value::Null);
                let secrets = row.secrets.clone();
                Ok(OutgoingEmail { email: to_domain(row)?, data, secrets })
            })
            .collect()
    }

    async fn record(
        &self,
        _platform: PlatformScope,
        id: EmailId,
        worker: &str,
        outcome: &EmailOutcome,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut update = email_outbox::Entity::update_many()
            .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
            .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None));
        update = match outcome {
            EmailOutcome::Sent { reply, message_id, body } => update
                .col_expr(C::Status, Expr::value(EmailStatus::Sent.as_str()))
                .col_expr(C::SentAt, Expr::value(now))
                .col_expr(C::Reply, Expr::value(reply.clone()))
                .col_expr(C::MessageId, Expr::value(message_id.clone()))
                .col_expr(C::Body, Expr::value(body.clone()))
                .col_expr(C::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(C::LastError, Expr::value(Option::<String>::None))
                // Delivered: its secrets are of no further use here.
                .col_expr(C::Secrets, Expr::value(Option::<serde_json::Value>::None)),
            EmailOutcome::Retry { error, at } => update
                .col_expr(C::Status, Expr::value(EmailStatus::Pending.as_str()))
                .col_expr(C::NextAttemptAt, Expr::value(*at))
                .col_expr(C::LastError, Expr::value(error.clone())),
            EmailOutcome::Failed { error } => update
                .col_expr(C::Status, Expr::value(EmailStatus::Failed.as_str()))
                .col_expr(C::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(C::LastError, Expr::value(error.clone())),
            EmailOutcome::Unknown { error } => update
                .col_expr(C::Status, Expr::value(EmailStatus::Unknown.as_str()))
                .col_expr(C::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(C::LastError, Expr::value(error.clone())),
        };
        let result = update
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::LeaseOwner.eq(worker))
            .filter(C::Status.eq(EmailStatus::Sending.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "recording an email's outcome"))?;
        Ok(result.rows_affected == 1)
    }

    async fn release(&self, _platform: PlatformScope, worker: &str) -> anyhow::Result<()> {
        // Only transactional mail goes back to `pending`: an outreach message
        // still `sending` here was not finished, and its lease is left to run
        // out so that it becomes `unknown`.
        email_outbox::Entity::update_many()
            .col_expr(C::Status, Expr::value(EmailStatus::Pending.as_str()))
            .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(C::LeaseOwner.eq(worker))
            .filter(C::Status.eq(EmailStatus::Sending.as_str()))
            .filter(C::Kind.ne(EmailKind::Outreach.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "releasing email leases"))?;
        Ok(())
    }

    async fn page(
        &self,
        scope: TenantScope,
        filter: &EmailFilter,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Email>> {
        let mut query =
            email_outbox::Entity::find().filter(C::OrganizationId.eq(scope.organization_id().as_uuid()));
        if let Some(status) = filter.status {
            query = query.filter(C::Status.eq(status.as_str()));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(C::Kind.eq(kind.as_str()));
        }
        if filter.outreach_only {
            query = query.filter(C::Kind.eq(EmailKind::Outreach.as_str()));
        }
        let (rows, next) = keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing emails"))?;
        Ok(KeysetPaged { items: rows.into_iter().map(to_domain).collect::<anyhow::Result<_>>()?, next })
    }

    async fn get(&self, scope: TenantScope, id: EmailId) -> anyhow::Result<Option<Email>> {
        email_outbox::Entity::find_by_id(id.as_uuid())
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading an email"))?
            .map(to_domain)
            .transpose()
    }

    async fn resend(
        &self,
        scope: TenantScope,
        id: EmailId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let change = Change::begin(&self.db, "resending an email").await?;
        let result = email_outbox::Entity::update_many()
            .col_expr(C::Status, Expr::value(EmailStatus::Pending.as_str()))
            .col_expr(C::Attempts, Expr::value(0))
            .col_expr(C::NextAttemptAt, Expr::value(now))
            .col_expr(C::LastError, Expr::value(Option::<String>::None))
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(C::Status.is_in([EmailStatus::Failed.as_str(), EmailStatus::Unknown.as_str()]))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "resending an email"))?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }
}
