//! What a workflow's review writes onto its lead, decided by the leads
//! domain ([`LeadReview::status`]) and written here, by the table's owner.

use chrono::{DateTime, Utc};
use leadflow_kernel::{LeadId, OrganizationId};
use leadflow_leads::LeadReview;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::entities::lead;

/// Writes what a review decided (qualification, decision) onto a lead of
/// `organization`, on `conn` (the transaction of the workflow's change;
/// a bare id because the workers save steps across organizations).
pub(crate) async fn record_review<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    id: LeadId,
    review: &LeadReview,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if review.is_empty() {
        return Ok(());
    }
    let mut update = lead::Entity::update_many()
        .col_expr(lead::Column::UpdatedAt, Expr::value(at))
        .filter(lead::Column::Id.eq(id.as_uuid()))
        .filter(lead::Column::OrganizationId.eq(organization.as_uuid()));
    if let Some(q) = &review.qualification {
        update = update
            .col_expr(lead::Column::QualificationCategory, Expr::value(q.category.as_str()))
            .col_expr(lead::Column::QualificationReason, Expr::value(q.reason.clone()))
            .col_expr(lead::Column::QualificationScore, Expr::value(i16::from(q.score)));
    }
    if let Some(status) = review.status() {
        update = update.col_expr(lead::Column::Status, Expr::value(status.as_str()));
    }
    update.exec(conn).await.map(|_| ())
}
