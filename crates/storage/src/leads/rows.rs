//! The encoding of a lead as a row of the `leads` table.

use anyhow::Context as _;
use leadflow_kernel::{EmailAddress, LeadId, OrganizationId, UserId};
use leadflow_leads::{Creator, CreatorKind, Lead, LeadStatus, Qualification, QualificationCategory};
use sea_orm::{ActiveModelTrait as _, IntoActiveModel as _};

use crate::entities::lead;

/// The row of `l`.
pub(crate) fn to_model(l: &Lead) -> lead::Model {
    lead::Model {
        id: l.id.as_uuid(),
        organization_id: l.organization_id.as_uuid(),
        email: l.email.as_ref().to_owned(),
        name: l.name.clone(),
        company: l.company.clone(),
        phone: l.phone.clone(),
        message: l.message.clone(),
        source: l.source.clone(),
        metadata: serde_json::Value::Object(l.metadata.clone()),
        status: l.status.as_str().to_owned(),
        qualification_category: l.qualification.as_ref().map(|q| q.category.as_str().to_owned()),
        qualification_reason: l.qualification.as_ref().map(|q| q.reason.clone()),
        qualification_score: l.qualification.as_ref().map(|q| i16::from(q.score)),
        assignee_id: l.assignee_id.map(|u| u.as_uuid()),
        created_at: l.created_at,
        updated_at: l.updated_at,
        created_by_type: l.created_by.map(|c| c.kind.as_str().to_owned()),
        created_by_id: l.created_by.and_then(|c| c.id),
        duplicate_of: l.duplicate_of.map(|d| d.as_uuid()),
    }
}

/// The row of `l`, every column set (for an insert or a full update).
pub(crate) fn to_row(l: &Lead) -> lead::ActiveModel {
    to_model(l).into_active_model().reset_all()
}

/// `l` as the JSON an idempotency key keeps for its replay.
pub(crate) fn to_json(l: &Lead) -> anyhow::Result<serde_json::Value> {
    serde_json::to_value(to_model(l)).context("encoding the lead for its replay")
}

/// A lead kept by [`to_json`].
pub(crate) fn from_json(value: serde_json::Value) -> anyhow::Result<Lead> {
    to_domain(serde_json::from_value(value).context("stored replay of a lead")?)
}

/// The lead of row `r`.
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
        created_by: r
            .created_by_type
            .as_deref()
            .map(|kind| {
                CreatorKind::parse(kind)
                    .map(|kind| Creator { kind, id: r.created_by_id })
                    .context("stored lead creator")
            })
            .transpose()?,
        duplicate_of: r.duplicate_of.map(LeadId::from_uuid),
    })
}
