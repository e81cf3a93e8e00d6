//! The leads context's storage. This module owns the `leads` and
//! `idempotency_keys` tables: it is the only one that writes them and the only
//! one that knows their encodings. Other contexts change a lead through the
//! `pub(crate)` functions here, in their own transaction.

#[cfg(feature = "leads")]
mod repository;
#[cfg(feature = "leads")]
mod submission;
#[cfg(feature = "leads")]
mod workers;

#[cfg(feature = "auth")]
use leadflow_kernel::{TenantScope, UserId};
#[cfg(feature = "auth")]
use sea_orm::sea_query::Expr;
#[cfg(feature = "auth")]
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

#[cfg(feature = "auth")]
use crate::entities::lead;

/// The leads adapters, on one pool: the lead repository, the submission unit
/// of work and the directory of who may work leads.
#[cfg(feature = "leads")]
#[derive(Clone)]
pub struct SeaOrmLeads {
    db: sea_orm::DatabaseConnection,
}

#[cfg(feature = "leads")]
impl crate::Storage {
    /// The leads adapter.
    #[must_use]
    pub fn leads(&self) -> SeaOrmLeads {
        SeaOrmLeads { db: self.db.clone() }
    }
}

/// Unassigns every lead of the scope's organization assigned to `user` (who
/// is leaving it), on `conn`.
#[cfg(feature = "auth")]
pub(crate) async fn unassign_all<C: ConnectionTrait>(conn: &C, scope: TenantScope, user: UserId) -> Result<(), DbErr> {
    lead::Entity::update_many()
        .col_expr(lead::Column::AssigneeId, Expr::value(Option::<uuid::Uuid>::None))
        .filter(lead::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .filter(lead::Column::AssigneeId.eq(user.as_uuid()))
        .exec(conn)
        .await
        .map(|_| ())
}

#[cfg(any(feature = "leads", feature = "workflows"))]
pub(crate) use codecs::*;

#[cfg(any(feature = "leads", feature = "workflows"))]
mod codecs {
    use anyhow::Context as _;
    use chrono::{DateTime, Utc};
    use leadflow_kernel::{EmailAddress, LeadId, OrganizationId, TenantScope, UserId};
    use leadflow_leads::{Lead, LeadReview, LeadStatus, Qualification, QualificationCategory};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

    use crate::entities::lead;

pub(crate) fn to_row(l: &Lead) -> lead::ActiveModel {
    lead::ActiveModel {
        id: Set(l.id.as_uuid()),
        organization_id: Set(l.organization_id.as_uuid()),
        email: Set(l.email.as_ref().to_owned()),
        name: Set(l.name.clone()),
        company: Set(l.company.clone()),
        phone: Set(l.phone.clone()),
        message: Set(l.message.clone()),
        source: Set(l.source.clone()),
        metadata: Set(serde_json::Value::Object(l.metadata.clone())),
        status: Set(l.status.as_str().to_owned()),
        qualification_category: Set(l.qualification.as_ref().map(|q| q.category.as_str().to_owned())),
        qualification_reason: Set(l.qualification.as_ref().map(|q| q.reason.clone())),
        qualification_score: Set(l.qualification.as_ref().map(|q| i16::from(q.score))),
        assignee_id: Set(l.assignee_id.map(|u| u.as_uuid())),
        created_at: Set(l.created_at),
        updated_at: Set(l.updated_at),
    }
}

pub(crate) fn to_domain(r: lead::Model) -> anyhow::Result<Lead> {
    let qualification =
        match (r.qualification_category.as_deref(), r.qualification_reason, r.qualification_score) {
            (Some(category), reason, score) => Some(Qualification {
                category: QualificationCategory::parse(category).context("stored qualification")?,
                reason: reason.unwrap_or_default(),
                score: u8::try_from(score.unwrap_or(0)).unwrap_or(0),
            }),
            _ => None,
        };
    Ok(Lead {
        id: LeadId::from_uuid(r.id),
        organization_id: OrganizationId::from_uuid(r.organization_id),
        email: EmailAddress::parse(&r.email).context("stored lead email")?,
        name: r.name,
        company: r.company,
        phone: r.phone,
        message: r.message,
        source: r.source,
        metadata: match r.metadata {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
        status: LeadStatus::parse(&r.status).context("stored lead status")?,
        qualification,
        assignee_id: r.assignee_id.map(UserId::from_uuid),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

    /// Writes what a review decided (qualification, decision) onto a lead of
    /// the scope's organization, on `conn`.
    pub(crate) async fn record_review<C: ConnectionTrait>(
        conn: &C,
        scope: TenantScope,
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
            .filter(lead::Column::OrganizationId.eq(scope.organization_id().as_uuid()));
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
}
