//! `leads` table.

use sea_orm::entity::prelude::*;

/// A row of `leads` (also kept as JSON by an idempotency key, for its replay).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Contact email.
    pub email: String,
    /// Contact name.
    pub name: String,
    /// Company.
    pub company: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Message.
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// Source.
    pub source: Option<String>,
    /// Metadata object.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    /// Status.
    pub status: String,
    /// Qualification category.
    pub qualification_category: Option<String>,
    /// Qualification reason.
    #[sea_orm(column_type = "Text", nullable)]
    pub qualification_reason: Option<String>,
    /// Qualification score.
    pub qualification_score: Option<i16>,
    /// Assignee.
    pub assignee_id: Option<Uuid>,
    /// Submission time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Who submitted it: `user`, `api_key` or `system` (older rows: none).
    #[serde(default)]
    pub created_by_type: Option<String>,
    /// The submitting user's or key's id.
    #[serde(default)]
    pub created_by_id: Option<Uuid>,
    /// The original lead this one repeats.
    #[serde(default)]
    pub duplicate_of: Option<Uuid>,
}

/// Relations of `leads`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
