//! `invitations` table.

use sea_orm::entity::prelude::*;

/// A row of `invitations` (only the token's hash is stored).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Invited email (lowercased).
    pub email: String,
    /// Role to grant.
    pub role: String,
    /// Hex SHA-256 of the token.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// `pending`, `accepted` or `revoked`.
    pub status: String,
    /// Inviter.
    pub invited_by: Option<Uuid>,
    /// Expiry.
    pub expires_at: DateTimeUtc,
    /// Acceptance time.
    pub accepted_at: Option<DateTimeUtc>,
    /// Accepting user.
    pub accepted_by: Option<Uuid>,
    /// Revocation time.
    pub revoked_at: Option<DateTimeUtc>,
    /// Creation.
    pub created_at: DateTimeUtc,
}

/// Relations of `invitations`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
