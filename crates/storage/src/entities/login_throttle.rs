//! `login_throttle` table: failed sign-ins per key since its window started.

use sea_orm::entity::prelude::*;

/// A row of `login_throttle`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    /// `pair:<account>|<address>`, `ip:<address>` or `account:<account>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Failures in the window.
    pub failures: i32,
    /// When the window started.
    pub since: DateTimeUtc,
}

/// Relations of `login_throttle`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
