//! `usage_shards` table: usage of plans without a limit, spread over shards.

use sea_orm::entity::prelude::*;

/// A row of `usage_shards`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_shards")]
pub struct Model {
    /// Organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Meter.
    #[sea_orm(primary_key, auto_increment = false)]
    pub meter: String,
    /// Start of the period.
    #[sea_orm(primary_key, auto_increment = false)]
    pub period_start: DateTimeUtc,
    /// Shard number.
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i16,
    /// Used in this shard.
    pub used: i64,
}

/// Relations of `usage_shards`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
