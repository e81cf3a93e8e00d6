//! `routing_cursors` table: each organization's round-robin counter.

use sea_orm::entity::prelude::*;

/// A row of `routing_cursors`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_cursors")]
pub struct Model {
    /// Organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The next ticket, plus one.
    pub next: i64,
}

/// Relations of `routing_cursors`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
