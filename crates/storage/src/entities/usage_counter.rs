//! `usage_counters` table: one row per organization, meter and period.

use sea_orm::entity::prelude::*;

/// A row of `usage_counters`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_counters")]
pub struct Model {
    /// Organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Meter (`leads`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub meter: String,
    /// Start of the period.
    #[sea_orm(primary_key, auto_increment = false)]
    pub period_start: DateTimeUtc,
    /// Used so far.
    pub used: i64,
}

/// Relations of `usage_counters`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
