//! `events` table: things that happened, for delivery (webhooks, later).

use sea_orm::entity::prelude::*;

/// A row of `events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Kind, e.g. `workflow.approval_requested`.
    pub kind: String,
    /// Payload.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    /// When.
    pub created_at: DateTimeUtc,
}

/// Relations of `events`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
