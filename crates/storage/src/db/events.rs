//! Webhook events, written in the transaction of the change that causes them:
//! every audited change that is an event (`leadflow_delivery::events` decides
//! which, and what it carries) becomes one `webhook_deliveries` row per enabled
//! endpoint of its organization that subscribes to it. With no endpoint, an
//! event costs one indexed read and writes nothing; on PostgreSQL that read
//! travels with the audit entry's insert (`db::audit::insert_audit`).

// Without the `delivery` feature no event is published: the writers stay, unused.
#![cfg_attr(not(feature = "delivery"), allow(dead_code, unused_imports))]

use chrono::{DateTime, SecondsFormat, Utc};
use leadflow_kernel::AuditEntry;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait, QueryFilter as _, QuerySelect as _, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::entities::{webhook_delivery, webhook_endpoint};

/// The events `entry` causes (the delivery domain decides which, and what
/// they carry). Without the `delivery` feature there are no webhooks: none.
pub(crate) fn events_of(entry: &AuditEntry) -> Vec<(&'static str, Value)> {
    #[cfg(feature = "delivery")]
    return leadflow_delivery::events::events_of(entry);
    #[cfg(not(feature = "delivery"))]
    {
        let _ = entry;
        Vec::new()
    }
}

/// Publishes `events` (of `entry`, see [`events_of`]) on `conn`, the change's
/// transaction: to `endpoints` when the organization's enabled endpoints were
/// read already, else reading them.
pub(crate) async fn publish_events<C: ConnectionTrait>(
    conn: &C,
    entry: &AuditEntry,
    events: Vec<(&'static str, Value)>,
    endpoints: Option<&[(Uuid, Value)]>,
) -> Result<(), DbErr> {
    let Some(organization) = entry.organization_id.map(|o| o.as_uuid()) else { return Ok(()) };
    for (event_type, mut data) in events {
        match endpoints {
            Some(endpoints) => {
                publish_to(conn, organization, endpoints, event_type, &mut data, entry.created_at).await?;
            }
            None => publish(conn, organization, event_type, &mut data, entry.created_at).await?,
        }
    }
    Ok(())
}

/// Queues `event_type` with `data` to every enabled endpoint of `organization` that subscribes to it.
pub(crate) async fn publish<C: ConnectionTrait>(
    conn: &C,
    organization: Uuid,
    event_type: &str,
    data: &mut Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let endpoints: Vec<(Uuid, serde_json::Value)> = webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .column(webhook_endpoint::Column::Events)
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .into_tuple()
        .all(conn)
        .await?;
    publish_to(conn, organization, &endpoints, event_type, data, at).await
}

/// Queues `event_type` with `data` to those of `endpoints` (the enabled
/// endpoints of `organization`, with the events each subscribes to) that subscribe to it.
pub(crate) async fn publish_to<C: ConnectionTrait>(
    conn: &C,
    organization: Uuid,
    endpoints: &[(Uuid, serde_json::Value)],
    event_type: &str,
    data: &mut Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let subscribed: Vec<Uuid> = endpoints
        .iter()
        .filter(|(_, events)| {
            events.as_array().is_some_and(|a| a.iter().any(|e| e.as_str() == Some(event_type)))
        })
        .map(|(id, _)| *id)
        .collect();
    if subscribed.is_empty() {
        return Ok(());
    }
    let payload = json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data.take(),
    });
    webhook_delivery::Entity::insert_many(
        subscribed.into_iter().map(|endpoint| delivery_row(organization, endpoint, event_type, &payload, at)),
    )
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// A pending delivery of `payload` to `endpoint`, due at once.
pub(crate) fn delivery_row(
    organization: Uuid,
    endpoint: Uuid,
    event_type: &str,
    payload: &Value,
    at: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    pending(organization, Target::Endpoint(endpoint), event_type, payload, at)
}

/// A pending Slack notification of `organization` to the incoming webhook `url`, due at once.
pub(crate) fn slack_row(
    organization: Uuid,
    url: &str,
    data: &Value,
    at: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    pending(organization, Target::Slack(url), "slack.approval_requested", data, at)
}

/// Where a delivery row goes.
enum Target<'a> {
    /// A webhook endpoint of the organization.
    Endpoint(Uuid),
    /// A Slack incoming webhook.
    Slack(&'a str),
}

fn pending(
    organization: Uuid,
    target: Target<'_>,
    event_type: &str,
    payload: &Value,
    at: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    let (endpoint, url) = match target {
        Target::Endpoint(id) => (Some(id), None),
        Target::Slack(url) => (None, Some(url.to_owned())),
    };
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization),
        endpoint_id: Set(endpoint),
        url: Set(url),
        event_type: Set(event_type.to_owned()),
        payload: Set(payload.clone()),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(at)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        delivered_at: Set(None),
    }
}
