//! `/api/v1/leads`: capture, read, change, assign, count and export leads.

use crate::api::text::{Cursor, Email, FreeText, IdempotencyKey, Prose};
use std::collections::BTreeMap;
use std::sync::Arc;

use leadflow_kernel::{KeysetPage, TeamId, UserId};
use leadflow_leads::{
    Creator, CreatorKind, Lead, LeadChanges, LeadFilter, LeadId, LeadInput, LeadStatus,
    QualificationCategory, Submission,
};
use poem::Body;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::{KeysetPagination, etag, if_match, maybe};
use crate::api::payload::Serialized;
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// A lead with its version.
#[derive(ApiResponse)]
pub enum VersionedLead {
    /// The lead.
    #[oai(status = 200)]
    Ok(Serialized<LeadDto>, #[oai(header = "ETag")] String),
}

impl From<leadflow_leads::Lead> for VersionedLead {
    fn from(lead: leadflow_leads::Lead) -> Self {
        let tag = etag(lead.updated_at);
        Self::Ok(Serialized(lead.into()), tag)
    }
}

/// Operations of the Leads tag.
pub struct LeadsApi;

/// A lead's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum LeadStatusDto {
    /// Submitted, not yet decided.
    Pending,
    /// Outreach approved.
    Approved,
    /// Outreach rejected.
    Rejected,
}

impl From<LeadStatus> for LeadStatusDto {
    fn from(s: LeadStatus) -> Self {
        match s {
            LeadStatus::Pending => Self::Pending,
            LeadStatus::Approved => Self::Approved,
            LeadStatus::Rejected => Self::Rejected,
        }
    }
}

impl From<LeadStatusDto> for LeadStatus {
    fn from(s: LeadStatusDto) -> Self {
        match s {
            LeadStatusDto::Pending => Self::Pending,
            LeadStatusDto::Approved => Self::Approved,
            LeadStatusDto::Rejected => Self::Rejected,
        }
    }
}

/// A qualification category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum QualificationCategoryDto {
    /// Worth outreach now.
    Qualified,
    /// Worth outreach later.
    FollowUp,
    /// A support request.
    Support,
    /// Not a lead.
    Unqualified,
}

impl From<QualificationCategory> for QualificationCategoryDto {
    fn from(c: QualificationCategory) -> Self {
        match c {
            QualificationCategory::Qualified => Self::Qualified,
            QualificationCategory::FollowUp => Self::FollowUp,
            QualificationCategory::Support => Self::Support,
            QualificationCategory::Unqualified => Self::Unqualified,
        }
    }
}

impl From<QualificationCategoryDto> for QualificationCategory {
    fn from(c: QualificationCategoryDto) -> Self {
        match c {
            QualificationCategoryDto::Qualified => Self::Qualified,
            QualificationCategoryDto::FollowUp => Self::FollowUp,
            QualificationCategoryDto::Support => Self::Support,
            QualificationCategoryDto::Unqualified => Self::Unqualified,
        }
    }
}

/// How a lead was qualified.
#[derive(Object, serde::Serialize)]
pub struct QualificationDto {
    /// The qualification category.
    pub category: QualificationCategoryDto,
    /// Why the lead got this category and score.
    pub reason: String,
    /// 0 to 100.
    pub score: u8,
}

/// A lead.
#[derive(Object, serde::Serialize)]
#[oai(rename = "Lead", rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct LeadDto {
    /// The lead's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The organization the lead belongs to.
    pub organization_id: Uuid,
    /// Contact email (lowercased).
    pub email: String,
    /// The lead's name.
    pub name: String,
    /// The lead's company, if given.
    #[oai(nullable)]
    pub company: Option<String>,
    /// The lead's phone number, if given.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// What the lead wrote.
    pub message: String,
    /// Where it came from.
    #[oai(nullable)]
    pub source: Option<String>,
    /// Free-form data (a JSON object).
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Where the lead is: pending, approved or rejected.
    pub status: LeadStatusDto,
    /// Qualification, once its workflow has qualified it.
    #[oai(nullable)]
    pub qualification: Option<QualificationDto>,
    /// The member working it.
    #[oai(nullable)]
    pub assignee_id: Option<Uuid>,
    /// When the lead was submitted.
    #[serde(serialize_with = "crate::api::payload::rfc3339")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the lead last changed.
    #[serde(serialize_with = "crate::api::payload::rfc3339")]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Who submitted it (`null` for leads older than the record).
    #[oai(nullable)]
    pub created_by: Option<CreatedByDto>,
    /// The original lead this one repeats (same email within the duplicate
    /// window): it started no workflow and did not count against the quota.
    #[oai(nullable)]
    pub duplicate_of: Option<Uuid>,
}

/// The kind of principal that submitted a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CreatorKindDto {
    /// A signed-in user.
    User,
    /// An API key (a tool or an integration).
    ApiKey,
    /// A public web form (`POST /forms/{formKey}/submissions`).
    Form,
    /// Leadflow itself (demo data).
    System,
}

/// Who submitted a lead.
#[derive(Object, serde::Serialize)]
#[oai(rename = "CreatedBy")]
pub struct CreatedByDto {
    /// `user`, `api_key`, `form` or `system`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: CreatorKindDto,
    /// The user's, API key's or form's id (`null` for `system`).
    #[oai(nullable)]
    pub id: Option<Uuid>,
}

impl From<Creator> for CreatedByDto {
    fn from(c: Creator) -> Self {
        Self {
            kind: match c.kind {
                CreatorKind::User => CreatorKindDto::User,
                CreatorKind::ApiKey => CreatorKindDto::ApiKey,
                CreatorKind::Form => CreatorKindDto::Form,
                CreatorKind::System => CreatorKindDto::System,
            },
            id: c.id,
        }
    }
}

/// Which original a duplicate is folded into.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct MergeBody {
    /// The duplicate's original (its `duplicateOf`).
    pub into_id: Uuid,
}

impl From<Lead> for LeadDto {
    fn from(l: Lead) -> Self {
        Self {
            id: l.id.as_uuid(),
            organization_id: l.organization_id.as_uuid(),
            email: l.email.as_ref().to_owned(),
            name: l.name,
            company: l.company,
            phone: l.phone,
            message: l.message,
            source: l.source,
            metadata: l.metadata.into_iter().collect(),
            status: l.status.into(),
            qualification: l.qualification.map(|q| QualificationDto {
                category: q.category.into(),
                reason: q.reason,
                score: q.score,
            }),
            assignee_id: l.assignee_id.map(|u| u.as_uuid()),
            created_at: l.created_at,
            updated_at: l.updated_at,
            created_by: l.created_by.map(Into::into),
            duplicate_of: l.duplicate_of.map(|d| d.as_uuid()),
        }
    }
}

/// A lead submission.
#[derive(Object)]
pub struct SubmitLeadBody {
    /// The contact email address.
    #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Email,
    /// Contact name, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200, custom = "crate::api::text::Conforms"))]
    pub name: Prose,
    /// Company, at most 200 characters.
    #[oai(nullable, validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub company: Option<FreeText>,
    /// Phone, at most 32 characters.
    #[oai(nullable, validator(max_length = 32, custom = "crate::api::text::Conforms"))]
    pub phone: Option<FreeText>,
    /// Their message, 1–5000 characters.
    #[oai(validator(min_length = 1, max_length = 5000, custom = "crate::api::text::Conforms"))]
    pub message: Prose,
    /// Where it came from, at most 100 characters.
    #[oai(nullable, validator(max_length = 100, custom = "crate::api::text::Conforms"))]
    pub source: Option<FreeText>,
    /// Free-form data, a JSON object of at most 16 KiB.
    #[oai(nullable)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
}

/// A submitted lead.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SubmittedDto {
    /// The lead in question.
    pub lead: LeadDto,
    /// Its processing workflow (`GET /workflows/{id}`).
    #[oai(nullable)]
    pub workflow_id: Option<Uuid>,
}

#[derive(ApiResponse)]
enum SubmitResponse {
    /// Stored, quota counted. A retry with the same `Idempotency-Key` and body gets this same answer.
    #[oai(status = 201)]
    Created(Json<SubmittedDto>),
}

/// Changes to a lead; absent fields stay, `null` clears an optional one.
#[derive(Object)]
pub struct UpdateLeadBody {
    /// The lead's new email address.
    #[oai(nullable, validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Option<Email>,
    /// The lead's new name.
    #[oai(nullable, validator(min_length = 1, max_length = 200, custom = "crate::api::text::Conforms"))]
    pub name: Option<Prose>,
    /// New company, or `null`.
    #[oai(nullable, validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub company: MaybeUndefined<FreeText>,
    /// New phone, or `null`.
    #[oai(nullable, validator(max_length = 32, custom = "crate::api::text::Conforms"))]
    pub phone: MaybeUndefined<FreeText>,
    /// The lead's new message.
    #[oai(nullable, validator(min_length = 1, max_length = 5000, custom = "crate::api::text::Conforms"))]
    pub message: Option<Prose>,
    /// New source, or `null`.
    #[oai(nullable, validator(max_length = 100, custom = "crate::api::text::Conforms"))]
    pub source: MaybeUndefined<FreeText>,
    /// New metadata (replaces the object).
    #[oai(nullable)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
}

/// An assignment.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AssignBody {
    /// A member of the organization, or `null` to unassign.
    #[oai(nullable)]
    pub assignee_id: Option<Uuid>,
}

/// A page of leads.
#[derive(Object, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadPage {
    /// The items of this page, newest first.
    pub data: Vec<LeadDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

/// Lead counts.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct LeadStatsDto {
    /// How many leads match the filters.
    pub total: u64,
    /// How many leads are in each status.
    pub by_status: BTreeMap<String, u64>,
    /// Per qualification category (`none`: not yet qualified).
    pub by_qualification: BTreeMap<String, u64>,
}

#[derive(ApiResponse)]
enum ExportResponse {
    /// The leads as CSV (RFC 4180), streamed; formula-like cells are prefixed with `'`.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

#[derive(ApiResponse)]
enum DeleteResponse {
    /// Deleted.
    #[oai(status = 204)]
    Deleted,
}

fn object(map: BTreeMap<String, serde_json::Value>) -> serde_json::Value {
    serde_json::Value::Object(map.into_iter().collect())
}

/// The list filters shared by `GET /leads`, `/leads/stats` and `/leads/export`.
#[allow(clippy::too_many_arguments)]
fn filter(
    status: Option<LeadStatusDto>,
    qualification: Option<QualificationCategoryDto>,
    assignee_id: Option<Uuid>,
    search: Option<String>,
    created_from: Option<chrono::DateTime<chrono::Utc>>,
    created_to: Option<chrono::DateTime<chrono::Utc>>,
) -> LeadFilter {
    LeadFilter {
        status: status.map(Into::into),
        qualification: qualification.map(Into::into),
        assignee_id: assignee_id.map(UserId::from_uuid),
        assignees_in: None,
        search,
        created_from,
        created_to,
        duplicate_of: None,
    }
}

#[OpenApi(prefix_path = "/api/v1/leads", tag = "ApiTags::Leads")]
impl LeadsApi {
    /// Submit a lead (`leads:create`; users or API keys)
    ///
    /// Checks the plan's monthly quota, stores the lead, counts the usage and
    /// writes the audit entry, all or nothing: 402 `plan_limit_reached` when
    /// the quota is spent (the detail gives the limit and the reset time).
    /// Send an `Idempotency-Key` to make retries safe: the same key and body
    /// return the first answer without a second lead or a second count; the
    /// same key with another body is 409.
    #[oai(path = "/", method = "post", operation_id = "submitLead")]
    async fn submit(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        /// 1–255 visible ASCII characters; a retry with the same key and body answers the first response.
        #[oai(name = "Idempotency-Key", validator(custom = "crate::api::text::Conforms"))]
        idempotency_key: Header<Option<IdempotencyKey>>,
        body: Json<SubmitLeadBody>,
    ) -> ApiResult<SubmitResponse> {
        let body = body.0;
        let input = LeadInput {
            email: body.email.into(),
            name: body.name.into(),
            company: body.company.map(String::from),
            phone: body.phone.map(String::from),
            message: body.message.into(),
            source: body.source.map(String::from),
            metadata: body.metadata.map(object),
        };
        let Submission { lead, workflow_id, .. } =
            state.leads.submit(auth.actor(), input, idempotency_key.0.as_deref()).await?;
        Ok(SubmitResponse::Created(Json(SubmittedDto {
            lead: (*lead).into(),
            workflow_id: workflow_id.map(|w| w.as_uuid()),
        })))
    }

    /// List leads, newest first
    ///
    /// With `leads:view_all`, every lead; with `leads:view_assigned` only, the
    /// leads assigned to oneself and to the members of the teams one leads.
    /// Keyset-paginated: pass `nextCursor` as `cursor` (stable while new leads arrive).
    #[oai(path = "/", method = "get", operation_id = "listLeads")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        status: Query<Option<LeadStatusDto>>,
        qualification: Query<Option<QualificationCategoryDto>>,
        #[oai(name = "assigneeId")] assignee_id: Query<Option<Uuid>>,
        /// Only leads assigned to the members of this team.
        #[oai(name = "teamId")]
        team_id: Query<Option<Uuid>>,
        /// Case-insensitive part of the email, name or company.
        search: Query<Option<String>>,
        #[oai(name = "createdFrom")] created_from: Query<Option<chrono::DateTime<chrono::Utc>>>,
        #[oai(name = "createdTo")] created_to: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// Only the duplicates of this lead.
        #[oai(name = "duplicateOf")]
        duplicate_of: Query<Option<Uuid>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Serialized<LeadPage>> {
        let page = KeysetPage::new(limit.0, cursor.0.as_deref())?;
        let mut filter =
            filter(status.0, qualification.0, assignee_id.0, search.0, created_from.0, created_to.0);
        filter.duplicate_of = duplicate_of.0.map(LeadId::from_uuid);
        let result = state.leads.list(auth.actor(), filter, team_id.0.map(TeamId::from_uuid), page).await?;
        Ok(Serialized(LeadPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }

    /// Lead counts by status and qualification
    ///
    /// Organization-wide with `analytics:view_all`; of one's own leads with `analytics:view_own`.
    #[oai(path = "/stats", method = "get", operation_id = "leadStats")]
    async fn stats(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<LeadStatsDto>> {
        let stats = state.leads.stats(auth.actor()).await?;
        Ok(Json(LeadStatsDto {
            total: stats.total,
            by_status: stats.by_status,
            by_qualification: stats.by_qualification,
        }))
    }

    /// Export leads as CSV (`leads:export`)
    ///
    /// Takes the filters of `GET /leads`. Streamed in batches, so memory stays
    /// flat for any number of leads.
    #[oai(path = "/export", method = "get", operation_id = "exportLeads")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        status: Query<Option<LeadStatusDto>>,
        qualification: Query<Option<QualificationCategoryDto>>,
        #[oai(name = "assigneeId")] assignee_id: Query<Option<Uuid>>,
        #[oai(name = "teamId")] team_id: Query<Option<Uuid>>,
        search: Query<Option<String>>,
        #[oai(name = "createdFrom")] created_from: Query<Option<chrono::DateTime<chrono::Utc>>>,
        #[oai(name = "createdTo")] created_to: Query<Option<chrono::DateTime<chrono::Utc>>>,
    ) -> ApiResult<ExportResponse> {
        let filter = filter(status.0, qualification.0, assignee_id.0, search.0, created_from.0, created_to.0);
        let export = state.leads.export(auth.actor(), filter, team_id.0.map(TeamId::from_uuid)).await?;
        let chunks = futures_util::stream::unfold(Some(export), |export| async move {
            let mut export = export?;
            match export.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), Some(export))),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "lead export failed midway");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        });
        Ok(ExportResponse::Csv(
            Binary(Body::from_bytes_stream(chunks)),
            "attachment; filename=\"leads.csv\"".to_owned(),
        ))
    }

    /// Get a lead
    ///
    /// A lead the caller may not see answers 404, as if it did not exist.
    /// The `ETag` names this version, for `If-Match` on a later `PATCH`.
    #[oai(path = "/:id", method = "get", operation_id = "getLead")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<VersionedLead> {
        Ok(VersionedLead::from(state.leads.get(auth.actor(), LeadId::from_uuid(id.0)).await?))
    }

    /// Update a lead (`leads:edit`)
    ///
    /// Only the fields sent change; a concurrent change to others (a
    /// workflow's decision, an assignment) is kept. With `If-Match: <ETag>`
    /// the change applies only to that version (412 otherwise).
    #[oai(path = "/:id", method = "patch", operation_id = "updateLead")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// The `ETag` of the version this change is meant for.
        #[oai(name = "If-Match")]
        version: Header<Option<String>>,
        body: Json<UpdateLeadBody>,
    ) -> ApiResult<VersionedLead> {
        let if_version = if_match(version.0.as_deref())?;
        let body = body.0;
        let changes = LeadChanges {
            email: body.email.map(String::from),
            name: body.name.map(String::from),
            company: maybe(body.company.map_value(String::from)),
            phone: maybe(body.phone.map_value(String::from)),
            message: body.message.map(String::from),
            source: maybe(body.source.map_value(String::from)),
            metadata: body.metadata.map(object),
        };
        Ok(VersionedLead::from(
            state.leads.update(auth.actor(), LeadId::from_uuid(id.0), changes, if_version).await?,
        ))
    }

    /// Delete a lead (`leads:delete`)
    #[oai(path = "/:id", method = "delete", operation_id = "deleteLead")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<DeleteResponse> {
        state.leads.delete(auth.actor(), LeadId::from_uuid(id.0)).await?;
        Ok(DeleteResponse::Deleted)
    }

    /// Fold a duplicate into its original (`leads:edit`)
    ///
    /// The duplicate's submission (name, company, phone, message, source,
    /// metadata, time) is kept on the original under
    /// `metadata.mergedSubmissions`, a company or phone the original lacks is
    /// taken from it, and the duplicate is deleted. Audited as `lead.merged`.
    /// 400 when `intoId` is not the lead's `duplicateOf`.
    #[oai(path = "/:id/merge", method = "post", operation_id = "mergeLead")]
    async fn merge(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: Json<MergeBody>,
    ) -> ApiResult<Json<LeadDto>> {
        let into = LeadId::from_uuid(body.0.into_id);
        Ok(Json(state.leads.merge(auth.actor(), LeadId::from_uuid(id.0), into).await?.into()))
    }

    /// Assign a lead to a member, or unassign it (`leads:edit`)
    #[oai(path = "/:id/assign", method = "post", operation_id = "assignLead")]
    async fn assign(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: Json<AssignBody>,
    ) -> ApiResult<Json<LeadDto>> {
        let assignee = body.0.assignee_id.map(UserId::from_uuid);
        Ok(Json(state.leads.assign(auth.actor(), LeadId::from_uuid(id.0), assignee).await?.into()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::api::payload::assert_same_json;

    fn lead(nanos: u32, full: bool) -> LeadDto {
        let at = chrono::Utc.timestamp_opt(1_764_633_600, nanos).single().expect("a time");
        LeadDto {
            id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            email: "sam@bigcorp.example".into(),
            name: "Sam \"the\" Doe\n".into(),
            company: full.then(|| "BigCorp".into()),
            phone: full.then(|| "+1 555 0100".into()),
            message: "Hello — ünïcode and \u{7f}".into(),
            source: full.then(|| "web".into()),
            metadata: if full {
                BTreeMap::from([
                    ("n".into(), serde_json::json!(1.5)),
                    ("nested".into(), serde_json::json!({"a": [1, null]})),
                ])
            } else {
                BTreeMap::new()
            },
            status: LeadStatusDto::Approved,
            qualification: full.then(|| QualificationDto {
                category: QualificationCategoryDto::FollowUp,
                reason: "later".into(),
                score: 55,
            }),
            assignee_id: full.then(Uuid::now_v7),
            created_at: at,
            updated_at: at + chrono::Duration::nanoseconds(1),
            created_by: full
                .then_some(CreatedByDto { kind: CreatorKindDto::ApiKey, id: Some(Uuid::now_v7()) }),
            duplicate_of: full.then(Uuid::now_v7),
        }
    }

    #[test]
    fn a_lead_is_answered_by_serde_exactly_as_poem_openapi_would() {
        for nanos in [0, 123_000_000, 123_456_000, 123_456_789] {
            for full in [true, false] {
                assert_same_json(&lead(nanos, full));
            }
        }
        let page = LeadPage {
            data: vec![lead(5_000, true), lead(0, false)],
            pagination: KeysetPagination { limit: 50, next_cursor: Some("A".repeat(32)) },
        };
        assert_same_json(&page);
        assert_same_json(&LeadPage {
            data: vec![],
            pagination: KeysetPagination { limit: 1, next_cursor: None },
        });
    }
}
