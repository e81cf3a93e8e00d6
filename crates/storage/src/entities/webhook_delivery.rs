//! `webhook_deliveries` table: one event on its way to one endpoint (the
//! webhook outbox); its id is the `webhook-id` of every attempt.

use sea_orm::entity::prelude::*;

/// A row of `webhook_deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// The delivery's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization whose event it is.
    pub organization_id: Uuid,
    /// The endpoint it goes to (`None`: a Slack notification to `url`).
    pub endpoint_id: Option<Uuid>,
    /// Where a Slack notification goes.
    pub url: Option<String>,
    /// The event type.
    pub event_type: String,
    /// The body: `{type, timestamp, data}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The worker attempting it.
    pub lease_owner: Option<String>,
    /// Until when that worker holds it.
    pub lease_expires_at: Option<DateTimeUtc>,
    /// The last HTTP status answered.
    pub last_status_code: Option<i32>,
    /// The last failure.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTimeUtc,
    /// When the endpoint accepted it.
    pub delivered_at: Option<DateTimeUtc>,
}

/// Relations of `webhook_deliveries`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
