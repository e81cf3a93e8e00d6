//! The webhook adapters: endpoints and their delivery log for people, and the
//! webhook outbox for the dispatcher (leases, `SKIP LOCKED` on PostgreSQL,
//! outcomes fenced by the lease).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use leadflow_delivery::ports::{WebhookOutbox, WebhookRepository};
use leadflow_delivery::webhooks::{DeliveryOutcome, DeliveryTarget};
use leadflow_delivery::{
    DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId,
};
use leadflow_kernel::{
    AuditEntry, Cursor, KeysetPage, KeysetPaged, OrganizationId, PlatformScope, TenantScope,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait as _, DatabaseBackend, EntityTrait,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::SeaOrmDelivery;
use crate::db::events::delivery_row;
use crate::db::{Change, begin_write, keyset_page, unexpected};
use crate::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};

fn endpoint_to_domain(row: webhook_endpoint::Model) -> WebhookEndpoint {
    WebhookEndpoint {
        id: WebhookEndpointId::from_uuid(row.id),
        organization_id: OrganizationId::from_uuid(row.organization_id),
        url: row.url,
        description: row.description,
        events: serde_json::from_value(row.events).unwrap_or_default(),
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        failing_since: row.failing_since,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn delivery_to_domain(row: webhook_delivery::Model) -> anyhow::Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: WebhookDeliveryId::from_uuid(row.id),
        organization_id: OrganizationId::from_uuid(row.organization_id),
        endpoint_id: row.endpoint_id.map(WebhookEndpointId::from_uuid),
        status: DeliveryStatus::parse(&row.status)
            .ok_or_else(|| anyhow::anyhow!("unknown delivery status {:?}", row.status))?,
        event_type: row.event_type,
        payload: row.payload,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        last_status_code: row.last_status_code.and_then(|c| u16::try_from(c).ok()),
        last_error: row.last_error,
        created_at: row.created_at,
        delivered_at: row.delivered_at,
        log: Vec::new(),
    })
}

fn endpoint_in(scope: TenantScope, id: WebhookEndpointId) -> Condition {
    Condition::all()
        .add(webhook_endpoint::Column::Id.eq(id.as_uuid()))
        .add(webhook_endpoint::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
}

#[async_trait]
impl WebhookRepository for SeaOrmDelivery {
    async fn create(
        &self,
        scope: TenantScope,
        e: &WebhookEndpoint,
        secret: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let change = Change::begin(&self.db, "creating a webhook endpoint").await?;
        webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
            id: Set(e.id.as_uuid()),
            organization_id: Set(scope.organization_id().as_uuid()),
            url: Set(e.url.clone()),
            description: Set(e.description.clone()),
            events: Set(json!(e.events)),
            secret: Set(secret.to_owned()),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            enabled: Set(e.enabled),
            disabled_reason: Set(None),
            failing_since: Set(None),
            created_at: Set(e.created_at),
            updated_at: Set(e.updated_at),
        })
        .exec_without_returning(&*change)
        .await
        .map_err(|err| unexpected(err, "inserting a webhook endpoint"))?;
        change.commit(audit).await
    }

    async fn list(&self, scope: TenantScope) -> anyhow::Result<Vec<WebhookEndpoint>> {
        let rows = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .order_by_desc(webhook_endpoint::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing webhook endpoints"))?;
        Ok(rows.into_iter().map(endpoint_to_domain).collect())
    }

    async fn get(
        &self,
        scope: TenantScope,
        id: WebhookEndpointId,
    ) -> anyhow::Result<Option<WebhookEndpoint>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(endpoint_in(scope, id))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading a webhook endpoint"))?
            .map(endpoint_to_domain))
    }

    async fn update(
        &self,
        scope: TenantScope,
        e: &WebhookEndpoint,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        use webhook_endpoint::Column as E;
        let change = Change::begin(&self.db, "changing a webhook endpoint").await?;
        let result = webhook_endpoint::Entity::update_many()
            .col_expr(E::Url, Expr::value(e.url.clone()))
            .col_expr(E::Description, Expr::value(e.description.clone()))
            .col_expr(E::Events, Expr::value(json!(e.events)))
            .col_expr(E::Enabled, Expr::value(e.enabled))
            .col_expr(E::DisabledReason, Expr::value(e.disabled_reason.clone()))
            .col_expr(E::FailingSince, Expr::value(e.failing_since))
            .col_expr(E::UpdatedAt, Expr::value(e.updated_at))
            .filter(endpoint_in(scope, e.id))
            .exec(&*change)
            .await
            .map_err(|err| unexpected(err, "changing a webhook endpoint"))?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }

    async fn delete(
        &self,
        scope: TenantScope,
        id: WebhookEndpointId,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let change = Change::begin(&self.db, "deleting a webhook endpoint").await?;
        // Its deliveries and their attempts go by the foreign keys' cascade.
        let result = webhook_endpoint::Entity::delete_many()
            .filter(endpoint_in(scope, id))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "deleting a webhook endpoint"))?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }

    async fn rotate_secret(
        &self,
        scope: TenantScope,
        id: WebhookEndpointId,
        secret: &str,
        previous_until: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        use webhook_endpoint::Column as E;
        let change = Change::begin(&self.db, "rotating a webhook secret").await?;
        let result = webhook_endpoint::Entity::update_many()
            .col_expr(E::PreviousSecret, Expr::col(E::Secret))
            .col_expr(E::PreviousSecretExpiresAt, Expr::value(previous_until))
            .col_expr(E::Secret, Expr::value(secret))
            .col_expr(E::UpdatedAt, Expr::value(audit.created_at))
            .filter(endpoint_in(scope, id))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "rotating a webhook secret"))?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }

    async fn enqueue(
        &self,
        scope: TenantScope,
        endpoint: WebhookEndpointId,
        event_type: &str,
        data: serde_json::Value,
        now: DateTime<Utc>,
    ) -> anyhow::Result<WebhookDelivery> {
        let payload = json!({
            "type": event_type,
            "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        });
        let row =
            delivery_row(scope.organization_id().as_uuid(), endpoint.as_uuid(), event_type, &payload, now);
        let model = row.insert(&self.db).await.map_err(|e| unexpected(e, "queueing a webhook delivery"))?;
        delivery_to_domain(model)
    }

    async fn deliveries(
        &self,
        scope: TenantScope,
        endpoint: WebhookEndpointId,
        status: Option<DeliveryStatus>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<WebhookDelivery>> {
        use webhook_delivery::Column as D;
        let mut query = webhook_delivery::Entity::find()
            .filter(D::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(D::EndpointId.eq(endpoint.as_uuid()));
        if let Some(status) = status {
            query = query.filter(D::Status.eq(status.as_str()));
        }
        let (rows, next) = keyset_page(&self.db, query, (D::CreatedAt, D::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing webhook deliveries"))?;
        let mut items = rows.into_iter().map(delivery_to_domain).collect::<anyhow::Result<Vec<_>>>()?;
        // The page's attempts in one query, not one per delivery.
        let attempts = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(webhook_attempt::Column::DeliveryId.is_in(items.iter().map(|d| d.id.as_uuid())))
            .order_by_asc(webhook_attempt::Column::AttemptedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading webhook attempts"))?;
        let mut by_delivery: HashMap<Uuid, Vec<DeliveryAttempt>> = HashMap::new();
        for a in attempts {
            by_delivery.entry(a.delivery_id).or_default().push(DeliveryAttempt {
                at: a.attempted_at,
                status_code: a.status_code.and_then(|c| u16::try_from(c).ok()),
                latency_ms: u32::try_from(a.latency_ms).unwrap_or(0),
                error: a.error,
            });
        }
        for d in &mut items {
            d.log = by_delivery.remove(&d.id.as_uuid()).unwrap_or_default();
        }
        Ok(KeysetPaged { items, next })
    }

    async fn retry_delivery(
        &self,
        scope: TenantScope,
        endpoint: WebhookEndpointId,
        delivery: WebhookDeliveryId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        use webhook_delivery::Column as D;
        let change = Change::begin(&self.db, "retrying a webhook delivery").await?;
        let result = webhook_delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value(DeliveryStatus::Pending.as_str()))
            .col_expr(D::Attempts, Expr::value(0))
            .col_expr(D::NextAttemptAt, Expr::value(now))
            .filter(D::Id.eq(delivery.as_uuid()))
            .filter(D::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(D::EndpointId.eq(endpoint.as_uuid()))
            .filter(D::Status.ne(DeliveryStatus::Succeeded.as_str()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "retrying a webhook delivery"))?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }
}

/// Queues a `webhook_disabled` email to each member of `organization` who
/// manages its settings, on `txn`.
async fn tell_admins<C: sea_orm::ConnectionTrait>(
    txn: &C,
    organization: OrganizationId,
    endpoint: WebhookEndpointId,
    reason: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let url: Option<String> = webhook_endpoint::Entity::find_by_id(endpoint.as_uuid())
        .select_only()
        .column(webhook_endpoint::Column::Url)
        .into_tuple()
        .one(txn)
        .await
        .map_err(|e| unexpected(e, "reading the disabled endpoint"))?;
    let scope = leadflow_kernel::Actor::system()
        .platform()
        .ok_or_else(|| anyhow::anyhow!("the system actor acts across organizations"))?
        .tenant(organization);
    for (_, email, _, role) in crate::auth::members_with_roles(txn, scope).await? {
        if !leadflow_delivery::approvals::told_of_disabled_endpoints(role.permissions()) {
            continue;
        }
        let message = super::QueuedEmail {
            id: Uuid::now_v7(),
            organization: Some(organization),
            kind: leadflow_delivery::EmailKind::WebhookDisabled,
            recipient: &email,
            data: json!({ "url": url, "endpointId": endpoint, "reason": reason }),
            at,
            workflow: None,
            secrets: None,
            invitation: None,
        };
        super::queue_email(txn, message)
            .await
            .map_err(|e| unexpected(e, "queueing the endpoint's notice"))?;
    }
    Ok(())
}

#[async_trait]
impl WebhookOutbox for SeaOrmDelivery {
    async fn claim_due(
        &self,
        _platform: PlatformScope,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<(WebhookDelivery, DeliveryTarget)>> {
        use webhook_delivery::Column as D;
        let txn = begin_write(&self.db).await?;
        // The literal predicate matches the partial index `idx_webhook_deliveries_due`.
        let mut query = webhook_delivery::Entity::find()
            .filter(Expr::cust("status = 'pending'"))
            .filter(D::NextAttemptAt.lte(now))
            .filter(Condition::any().add(D::LeaseExpiresAt.is_null()).add(D::LeaseExpiresAt.lt(now)))
            .order_by_asc(D::NextAttemptAt)
            .limit(limit);
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = query.all(&txn).await.map_err(|e| unexpected(e, "finding due webhook deliveries"))?;
        if rows.is_empty() {
            txn.commit().await.map_err(|e| unexpected(e, "committing webhook claim"))?;
            return Ok(Vec::new());
        }
        webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseOwner, Expr::value(worker))
            .col_expr(D::LeaseExpiresAt, Expr::value(lease_until))
            .filter(D::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "leasing webhook deliveries"))?;
        let mut endpoint_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.endpoint_id).collect();
        endpoint_ids.sort_unstable();
        endpoint_ids.dedup();
        let endpoints: HashMap<Uuid, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
            .all(&txn)
            .await
            .map_err(|e| unexpected(e, "reading webhook endpoints"))?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        txn.commit().await.map_err(|e| unexpected(e, "committing webhook claim"))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(endpoint_id) = row.endpoint_id else {
                // A Slack notification: unsigned, to its own URL.
                let target = DeliveryTarget {
                    url: row.url.clone().unwrap_or_default(),
                    secrets: Vec::new(),
                    enabled: true,
                    failing_since: None,
                    slack: true,
                };
                claimed.push((delivery_to_domain(row)?, target));
                continue;
            };
            let Some(endpoint) = endpoints.get(&endpoint_id) else { continue };
            let mut secrets = vec![endpoint.secret.clone()];
            if let (Some(previous), Some(until)) =
                (&endpoint.previous_secret, endpoint.previous_secret_expires_at)
                && until > now
            {
                secrets.push(previous.clone());
            }
            let target = DeliveryTarget {
                url: endpoint.url.clone(),
                secrets,
                enabled: endpoint.enabled,
                failing_since: endpoint.failing_since,
                slack: false,
            };
            claimed.push((delivery_to_domain(row)?, target));
        }
        Ok(claimed)
    }

    async fn record(
        &self,
        _platform: PlatformScope,
        delivery: &WebhookDelivery,
        worker: &str,
        attempt: &DeliveryAttempt,
        outcome: &DeliveryOutcome,
    ) -> anyhow::Result<bool> {
        use webhook_delivery::Column as D;
        use webhook_endpoint::Column as E;
        let txn = begin_write(&self.db).await?;
        let (status, next) = match outcome {
            DeliveryOutcome::Succeeded => (DeliveryStatus::Succeeded, None),
            DeliveryOutcome::Retry { at } => (DeliveryStatus::Pending, Some(*at)),
            DeliveryOutcome::Failed | DeliveryOutcome::Gone | DeliveryOutcome::Exhausted => {
                (DeliveryStatus::Failed, None)
            }
        };
        let mut update = webhook_delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value(status.as_str()))
            .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
            .col_expr(D::NextAttemptAt, Expr::value(next))
            .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(D::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::LastStatusCode, Expr::value(attempt.status_code.map(i32::from)))
            .col_expr(D::LastError, Expr::value(attempt.error.clone()));
        if status == DeliveryStatus::Succeeded {
            update = update.col_expr(D::DeliveredAt, Expr::value(attempt.at));
        }
        let result = update
            .filter(D::Id.eq(delivery.id.as_uuid()))
            .filter(D::LeaseOwner.eq(worker))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "recording a webhook attempt"))?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(delivery.organization_id.as_uuid()),
            delivery_id: Set(delivery.id.as_uuid()),
            attempted_at: Set(attempt.at),
            status_code: Set(attempt.status_code.map(i32::from)),
            latency_ms: Set(i32::try_from(attempt.latency_ms).unwrap_or(i32::MAX)),
            error: Set(attempt.error.clone()),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| unexpected(e, "logging a webhook attempt"))?;
        let Some(endpoint_id) = delivery.endpoint_id else {
            // A Slack notification moves no endpoint.
            txn.commit().await.map_err(|e| unexpected(e, "committing a Slack attempt"))?;
            return Ok(true);
        };
        let endpoint = webhook_endpoint::Entity::update_many().filter(E::Id.eq(endpoint_id.as_uuid()));
        let endpoint = match outcome {
            DeliveryOutcome::Succeeded => endpoint
                .col_expr(E::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(E::FailingSince.is_not_null()),
            DeliveryOutcome::Retry { .. } | DeliveryOutcome::Failed => {
                endpoint.col_expr(E::FailingSince, Expr::value(attempt.at)).filter(E::FailingSince.is_null())
            }
            DeliveryOutcome::Gone | DeliveryOutcome::Exhausted => endpoint
                .col_expr(E::Enabled, Expr::value(false))
                .col_expr(
                    E::DisabledReason,
                    Expr::value(if *outcome == DeliveryOutcome::Gone { "gone" } else { "failing" }),
                )
                .col_expr(E::UpdatedAt, Expr::value(attempt.at))
                .filter(E::Enabled.eq(true)),
        };
        let changed =
            endpoint.exec(&txn).await.map_err(|e| unexpected(e, "updating the webhook endpoint's health"))?;
        if matches!(outcome, DeliveryOutcome::Gone | DeliveryOutcome::Exhausted) && changed.rows_affected == 1
        {
            // Disabled by this attempt (once, however many deliveries failed at once): tell the admins.
            let reason = if *outcome == DeliveryOutcome::Gone { "gone" } else { "failing" };
            tell_admins(&txn, delivery.organization_id, endpoint_id, reason, attempt.at).await?;
        }
        txn.commit().await.map_err(|e| unexpected(e, "committing a webhook attempt"))?;
        Ok(true)
    }

    async fn release(&self, _platform: PlatformScope, worker: &str) -> anyhow::Result<()> {
        use webhook_delivery::Column as D;
        webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(D::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(D::LeaseOwner.eq(worker))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "releasing webhook leases"))?;
        Ok(())
    }
}
