//! `audit_logs` table: append-only.

use sea_orm::entity::prelude::*;

/// A row of `audit_logs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization (none for platform-level entries).
    pub organization_id: Option<Uuid>,
    /// `user`, `api_key` or `system`.
    pub actor_type: String,
    /// The actor's id.
    pub actor_id: Option<Uuid>,
    /// The actor's email or key name.
    pub actor_email: Option<String>,
    /// Action.
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Details.
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Json,
    /// Client address.
    pub ip: Option<String>,
    /// Time.
    pub created_at: DateTimeUtc,
}

/// Relations of `audit_logs`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
