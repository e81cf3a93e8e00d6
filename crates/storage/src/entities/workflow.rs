//! `workflows` table: one row per lead.

use sea_orm::entity::prelude::*;

/// A row of `workflows`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflows")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Lead (unique).
    #[sea_orm(unique)]
    pub lead_id: Uuid,
    /// Status.
    pub status: String,
    /// Current step.
    pub current_step: Option<String>,
    /// Step records (JSON array).
    #[sea_orm(column_type = "JsonBinary")]
    pub steps: Json,
    /// Research result.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub research: Option<Json>,
    /// Qualification result.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub qualification: Option<Json>,
    /// Email draft.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub email_draft: Option<Json>,
    /// Decision.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub decision: Option<Json>,
    /// When due.
    pub next_run_at: Option<DateTimeUtc>,
    /// Leasing worker.
    pub lease_owner: Option<String>,
    /// Lease expiry.
    pub lease_expires_at: Option<DateTimeUtc>,
    /// Last step error.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// Creation.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// End.
    pub completed_at: Option<DateTimeUtc>,
}

/// Relations of `workflows`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
