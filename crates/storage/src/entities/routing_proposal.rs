//! `routing_proposals` table: a proposed assignee for a lead, awaiting a decision.

use sea_orm::entity::prelude::*;

/// A row of `routing_proposals`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_proposals")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// The lead.
    pub lead_id: Uuid,
    /// The workflow whose route step proposed it.
    pub workflow_id: Option<Uuid>,
    /// The member proposed.
    pub user_id: Uuid,
    /// `pending`, `accepted` or `rejected` (expiry is read from `expires_at`).
    pub status: String,
    /// Creation.
    pub created_at: DateTimeUtc,
    /// Expiry.
    pub expires_at: DateTimeUtc,
    /// Who decided.
    pub decided_by: Option<Uuid>,
    /// When.
    pub decided_at: Option<DateTimeUtc>,
}

/// Relations of `routing_proposals`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
