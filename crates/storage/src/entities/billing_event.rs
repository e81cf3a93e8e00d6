//! `billing_events` table: every billing provider event received, once.

use sea_orm::entity::prelude::*;

/// A row of `billing_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "billing_events")]
pub struct Model {
    /// The provider's event id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The provider's event type.
    pub event_type: String,
    /// The organization it concerned, when known.
    pub organization_id: Option<Uuid>,
    /// What became of it (`applied`, `stale`, …).
    pub outcome: String,
    /// When it was received.
    pub received_at: DateTimeUtc,
}

/// Relations of `billing_events`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
