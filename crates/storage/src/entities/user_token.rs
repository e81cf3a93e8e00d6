//! `user_tokens` table: single-use tokens of an account (password reset,
//! email verification), stored as SHA-256 hashes.

use sea_orm::entity::prelude::*;

/// A row of `user_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_tokens")]
pub struct Model {
    /// The token's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account it acts on.
    pub user_id: Uuid,
    /// `password_reset` or `email_verification`.
    pub purpose: String,
    /// SHA-256 of the token, hex (the token itself is only in the email).
    pub token_hash: String,
    /// After this it is refused.
    pub expires_at: DateTimeUtc,
    /// When it was used (single use).
    pub used_at: Option<DateTimeUtc>,
    /// When it was issued.
    pub created_at: DateTimeUtc,
}

/// Relations of `user_tokens`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
