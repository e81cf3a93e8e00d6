//! `webhook_endpoints` table: where an organization's events are POSTed.

use sea_orm::entity::prelude::*;

/// A row of `webhook_endpoints`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    /// The endpoint's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization whose events it receives.
    pub organization_id: Uuid,
    /// The URL events are POSTed to.
    pub url: String,
    /// What the organization says it is for.
    pub description: Option<String>,
    /// The subscribed event types, a JSON array of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub events: Json,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why Leadflow disabled it (`gone`, `failing`).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<DateTimeUtc>,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it was last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of `webhook_endpoints`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
