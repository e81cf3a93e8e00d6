//! `users` table.

use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lowercased, unique email.
    #[sea_orm(unique)]
    pub email: String,
    /// Name.
    pub name: String,
    /// Optional unique handle.
    pub username: Option<String>,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Platform super admin.
    pub is_super_admin: bool,
    /// Last login.
    pub last_login_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// When the super admin disabled the account (`None`: enabled).
    pub disabled_at: Option<DateTimeUtc>,
    /// When the user proved the address is theirs (`None`: unverified).
    pub email_verified_at: Option<DateTimeUtc>,
}

/// Relations of `users`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
