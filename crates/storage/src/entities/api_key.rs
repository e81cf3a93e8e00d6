//! `api_keys` table.

use sea_orm::entity::prelude::*;

/// A row of `api_keys` (only the secret's hash is stored).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Name.
    pub name: String,
    /// Public prefix, unique.
    #[sea_orm(unique)]
    pub prefix: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Space-separated permission names.
    pub scopes: String,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// Expiry.
    pub expires_at: Option<DateTimeUtc>,
    /// Last use (to the minute).
    pub last_used_at: Option<DateTimeUtc>,
    /// Revocation.
    pub revoked_at: Option<DateTimeUtc>,
    /// Creation.
    pub created_at: DateTimeUtc,
}

/// Relations of `api_keys`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The organization.
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
