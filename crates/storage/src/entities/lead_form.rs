//! `lead_forms` table: an organization's public web forms.

use sea_orm::entity::prelude::*;

/// A row of `lead_forms`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_forms")]
pub struct Model {
    /// The form's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization it submits leads to.
    pub organization_id: Uuid,
    /// Its name.
    pub name: String,
    /// The publishable key (unique across organizations).
    pub key: String,
    /// The allowed browser origins, a JSON array of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub allowed_origins: Json,
    /// Where a plain HTML form's visitor goes afterwards.
    pub redirect_url: Option<String>,
    /// Creation.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Relations of `lead_forms`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
