//! The encoding of a lead as a row of the `leads` table.

use anyhow::Context as _;
use leadflow_kernel::{EmailAddress, LeadId, OrganizationId, UserId};
use leadflow_leads::{Lead, LeadStatus, Qualification, QualificationCategory};
use sea_orm::Set;

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
