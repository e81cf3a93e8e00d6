//! `lead_originals` table: per organization and email, the lead that new
//! submissions of the email are duplicates of.

use sea_orm::entity::prelude::*;

/// A row of `lead_originals`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_originals")]
pub struct Model {
    /// Organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The email, as stored on leads.
    #[sea_orm(primary_key, auto_increment = false)]
    pub email: String,
    /// The original lead.
    pub lead_id: Uuid,
    /// When the original was submitted (the duplicate window counts from it).
    pub created_at: DateTimeUtc,
}

/// Relations of `lead_originals`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
