//! `/api/v1/audit-logs`: who changed what.

use crate::api::text::Cursor;
use std::sync::Arc;

use leadflow_kernel::{AuditEntry, KeysetPage, OrganizationId, ValidationErrors};
use leadflow_organizations::AuditFilter;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::KeysetPagination;
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// Operations of the Audit tag.
pub struct AuditApi;

/// Who made a change.
#[derive(Object)]
pub struct AuditActorDto {
    /// `user`, `api_key` or `system`.
    #[oai(rename = "type")]
    pub kind: String,
    /// The user's or key's id.
    #[oai(nullable)]
    pub id: Option<Uuid>,
    /// The user's email, or the key's name.
    #[oai(nullable)]
    pub email: Option<String>,
}

/// One audit entry.
#[derive(Object)]
#[oai(rename = "AuditEntry", rename_all = "camelCase")]
pub struct AuditEntryDto {
    /// The audit entry's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The organization (none for platform-level entries).
    #[oai(nullable)]
    pub organization_id: Option<Uuid>,
    /// Who did it: a user, an API key, a form or Leadflow itself.
    pub actor: AuditActorDto,
    /// What happened, as `resource.verb` (e.g. `member.role_changed`).
    pub action: String,
    /// Kind of resource.
    pub resource_type: String,
    /// The id of the resource changed, if it has one.
    #[oai(nullable)]
    pub resource_id: Option<String>,
    /// Context (never secrets).
    pub details: serde_json::Value,
    /// The client's IP address, when the change came over HTTP.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// When it happened.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            organization_id: e.organization_id.map(|o| o.as_uuid()),
            actor: AuditActorDto {
                kind: e.actor_kind.as_str().to_owned(),
                id: e.actor_id,
                email: e.actor_email,
            },
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            details: e.details,
            ip: e.ip,
            created_at: e.created_at,
        }
    }
}

/// A page of audit entries.
#[derive(Object)]
pub struct AuditPage {
    /// The items of this page, newest first.
    pub data: Vec<AuditEntryDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

#[OpenApi(prefix_path = "/api/v1/audit-logs", tag = "ApiTags::Audit")]
impl AuditApi {
    /// Read the audit log (`audit:view`)
    ///
    /// Newest first, keyset-paginated. The super admin may read any
    /// organization's log with `organizationId`, or every entry without it.
    #[oai(path = "/", method = "get", operation_id = "listAuditLogs")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        /// Exact action, e.g. `member.role_changed` (at most 64 characters).
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
        /// Exact resource type, e.g. `lead` (at most 64 characters).
        #[oai(name = "resourceType", validator(max_length = 64))]
        resource_type: Query<Option<String>>,
        /// Exact resource id (at most 64 characters).
        #[oai(name = "resourceId", validator(max_length = 64))]
        resource_id: Query<Option<String>>,
        #[oai(name = "actorId")] actor_id: Query<Option<Uuid>>,
        /// Entries at or after this time.
        from: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// Entries before this time.
        to: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// Super admin only: the organization to read.
        #[oai(name = "organizationId")]
        organization_id: Query<Option<Uuid>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<AuditPage>> {
        let mut errors = ValidationErrors::new();
        for (field, value) in
            [("action", &action.0), ("resourceType", &resource_type.0), ("resourceId", &resource_id.0)]
        {
            if value.as_ref().is_some_and(|v| v.chars().count() > 64) {
                errors.push(field, "must be at most 64 characters");
            }
        }
        let page =
            errors.check("cursor", KeysetPage::new(limit.0, cursor.0.as_deref()).map_err(|e| e.to_string()));
        let Some(page) = page else { return Err(errors.into()) };
        errors.into_result()?;
        let filter = AuditFilter {
            action: action.0,
            resource_type: resource_type.0,
            resource_id: resource_id.0,
            actor_id: actor_id.0,
            from: from.0,
            to: to.0,
        };
        let result = state
            .audit
            .list(auth.actor(), filter, organization_id.0.map(OrganizationId::from_uuid), page)
            .await?;
        Ok(Json(AuditPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }
}
