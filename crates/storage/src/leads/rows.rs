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

/// A row of `leads` decoded by position straight from the driver's row.
///
/// sea-orm's derived decoding looks every column up by name and, for each
/// `NULL` of an optional column, builds an error carrying the column's name
/// formatted with `Debug` before turning it into `None`; on a page of 50
/// leads with their empty optional columns that showed in the profile.
/// Reads of leads (one lead, a page) decode through this type; a prefixed
/// select takes sea-orm's own path.
pub(crate) struct LeadRow(pub(crate) lead::Model);

/// The columns of `leads` in the order `lead::Entity::find()` selects them.
const COLUMNS: [&str; 19] = [
    "id",
    "organization_id",
    "email",
    "name",
    "company",
    "phone",
    "message",
    "source",
    "metadata",
    "status",
    "qualification_category",
    "qualification_reason",
    "qualification_score",
    "assignee_id",
    "created_at",
    "updated_at",
    "created_by_type",
    "created_by_id",
    "duplicate_of",
];

/// `lead::Model` from a driver row, column by position.
macro_rules! decode_lead {
    ($row:expr) => {{
        use sea_orm::sqlx::Row as _;
        let row = $row;
        let decode = |e: sea_orm::sqlx::Error| sea_orm::DbErr::Type(format!("decoding a lead: {e}"));
        lead::Model {
            id: row.try_get(0).map_err(decode)?,
            organization_id: row.try_get(1).map_err(decode)?,
            email: row.try_get(2).map_err(decode)?,
            name: row.try_get(3).map_err(decode)?,
            company: row.try_get(4).map_err(decode)?,
            phone: row.try_get(5).map_err(decode)?,
            message: row.try_get(6).map_err(decode)?,
            source: row.try_get(7).map_err(decode)?,
            metadata: row.try_get(8).map_err(decode)?,
            status: row.try_get(9).map_err(decode)?,
            qualification_category: row.try_get(10).map_err(decode)?,
            qualification_reason: row.try_get(11).map_err(decode)?,
            qualification_score: row.try_get(12).map_err(decode)?,
            assignee_id: row.try_get(13).map_err(decode)?,
            created_at: row.try_get(14).map_err(decode)?,
            updated_at: row.try_get(15).map_err(decode)?,
            created_by_type: row.try_get(16).map_err(decode)?,
            created_by_id: row.try_get(17).map_err(decode)?,
            duplicate_of: row.try_get(18).map_err(decode)?,
        }
    }};
}

impl sea_orm::FromQueryResult for LeadRow {
    fn from_query_result(res: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        use sea_orm::sqlx::Row as _;
        if pre.is_empty() {
            if let Some(row) = res.try_as_pg_row().filter(|row| row.len() == COLUMNS.len()) {
                return Ok(Self(decode_lead!(row)));
            }
            if let Some(row) = res.try_as_sqlite_row().filter(|row| row.len() == COLUMNS.len()) {
                return Ok(Self(decode_lead!(row)));
            }
        }
        <lead::Model as sea_orm::FromQueryResult>::from_query_result(res, pre).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic as _, Iterable as _};

    use super::COLUMNS;
    use crate::entities::lead;

    #[test]
    fn the_positional_decoding_follows_the_entity_s_column_order() {
        let columns: Vec<&str> = lead::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(columns, COLUMNS);
    }
}
