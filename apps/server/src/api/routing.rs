//! `/api/v1/routing/proposals`: proposed assignees awaiting a decision.

use crate::api::text::Cursor;
use std::sync::Arc;

use leadflow_kernel::KeysetPage;
use leadflow_leads::proposals::{Proposal, ProposalStatus};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::KeysetPagination;
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// Operations of the Routing tag.
pub struct RoutingApi;

/// Where a proposal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ProposalStatusDto {
    /// Awaiting a decision.
    Pending,
    /// Accepted: the lead was assigned.
    Accepted,
    /// Rejected.
    Rejected,
    /// Not decided within seven days.
    Expired,
}

impl From<ProposalStatusDto> for ProposalStatus {
    fn from(s: ProposalStatusDto) -> Self {
        match s {
            ProposalStatusDto::Pending => Self::Pending,
            ProposalStatusDto::Accepted => Self::Accepted,
            ProposalStatusDto::Rejected => Self::Rejected,
            ProposalStatusDto::Expired => Self::Expired,
        }
    }
}

impl From<ProposalStatus> for ProposalStatusDto {
    fn from(s: ProposalStatus) -> Self {
        match s {
            ProposalStatus::Pending => Self::Pending,
            ProposalStatus::Accepted => Self::Accepted,
            ProposalStatus::Rejected => Self::Rejected,
            ProposalStatus::Expired => Self::Expired,
        }
    }
}

/// A proposed assignee for a lead.
#[derive(Object)]
#[oai(rename = "RoutingProposal", rename_all = "camelCase")]
pub struct ProposalDto {
    /// The proposal's id.
    pub id: Uuid,
    /// The lead in question.
    pub lead_id: Uuid,
    /// The member proposed.
    pub user_id: Uuid,
    /// Where it is (a pending proposal expires after seven days).
    pub status: ProposalStatusDto,
    /// When the route step proposed it.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it expires unless decided.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Who accepted or rejected it.
    #[oai(nullable)]
    pub decided_by: Option<Uuid>,
    /// When it happened.
    #[oai(nullable)]
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Proposal> for ProposalDto {
    fn from(p: Proposal) -> Self {
        Self {
            id: p.id,
            lead_id: p.lead_id.as_uuid(),
            user_id: p.user_id.as_uuid(),
            status: p.status(chrono::Utc::now()).into(),
            created_at: p.created_at,
            expires_at: p.expires_at,
            decided_by: p.decided_by.map(|u| u.as_uuid()),
            decided_at: p.decided_at,
        }
    }
}

/// A page of proposals.
#[derive(Object)]
pub struct ProposalPage {
    /// The items of this page, newest first.
    pub data: Vec<ProposalDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

#[OpenApi(prefix_path = "/api/v1/routing/proposals", tag = "ApiTags::Routing")]
impl RoutingApi {
    /// List routing proposals (`leads:edit`), newest first
    ///
    /// Made by a workflow's `route` step when the organization routes in
    /// `propose` mode (`settings.routing.mode`). Keyset-paginated.
    #[oai(path = "/", method = "get", operation_id = "listRoutingProposals")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        status: Query<Option<ProposalStatusDto>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<ProposalPage>> {
        let page = KeysetPage::new(limit.0, cursor.0.as_deref())?;
        let result = state.proposals.list(auth.actor(), status.0.map(Into::into), page).await?;
        Ok(Json(ProposalPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }

    /// Accept a proposal: the lead is assigned (`leads:edit`)
    ///
    /// Audited as `lead.assigned` and sent to webhooks. 409 when it was
    /// decided already or expired.
    #[oai(path = "/:id/accept", method = "post", operation_id = "acceptRoutingProposal")]
    async fn accept(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ProposalDto>> {
        Ok(Json(state.proposals.decide(auth.actor(), id.0, true).await?.into()))
    }

    /// Reject a proposal (`leads:edit`)
    ///
    /// The lead stays unassigned. Audited as `lead.assignment_rejected`. 409
    /// when it was decided already or expired.
    #[oai(path = "/:id/reject", method = "post", operation_id = "rejectRoutingProposal")]
    async fn reject(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ProposalDto>> {
        Ok(Json(state.proposals.decide(auth.actor(), id.0, false).await?.into()))
    }
}
