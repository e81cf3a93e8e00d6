//! `webhook_attempts` table: the delivery log, one row per POST.

use sea_orm::entity::prelude::*;

/// A row of `webhook_attempts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    /// The attempt's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization whose event it is.
    pub organization_id: Uuid,
    /// The delivery attempted.
    pub delivery_id: Uuid,
    /// When the attempt started.
    pub attempted_at: DateTimeUtc,
    /// The HTTP status answered, if any.
    pub status_code: Option<i32>,
    /// How long it took, in milliseconds.
    pub latency_ms: i32,
    /// Why it failed.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
}

/// Relations of `webhook_attempts`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
