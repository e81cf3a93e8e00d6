//! What a workflow's `route` step writes on the lead, in the step's
//! transaction: an assignment (only of a lead still unassigned), or a
//! proposal a person decides.

use chrono::{DateTime, Utc};
use leadflow_kernel::{LeadId, OrganizationId, WorkflowId};
use leadflow_leads::proposals::ProposalStatus;
use leadflow_workflows::ports::RouteEffect;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::entities::{lead, routing_proposal};

/// Applies `effect` to the lead on `conn`; whether anything was written (an
/// assignment of a lead someone assigned meanwhile writes nothing).
pub(crate) async fn apply_route<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    lead_id: LeadId,
    workflow: WorkflowId,
    effect: RouteEffect,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    match effect {
        RouteEffect::Assign(user) => {
            let assigned = lead::Entity::update_many()
                .col_expr(lead::Column::AssigneeId, Expr::value(user.as_uuid()))
                .col_expr(lead::Column::UpdatedAt, Expr::value(at))
                .filter(lead::Column::OrganizationId.eq(organization.as_uuid()))
                .filter(lead::Column::Id.eq(lead_id.as_uuid()))
                .filter(lead::Column::AssigneeId.is_null())
                .exec(conn)
                .await?;
            Ok(assigned.rows_affected == 1)
        }
        RouteEffect::Propose { proposal, user, expires_at } => {
            routing_proposal::Entity::insert(routing_proposal::ActiveModel {
                id: Set(proposal),
                organization_id: Set(organization.as_uuid()),
                lead_id: Set(lead_id.as_uuid()),
                workflow_id: Set(Some(workflow.as_uuid())),
                user_id: Set(user.as_uuid()),
                status: Set(ProposalStatus::Pending.as_str().to_owned()),
                created_at: Set(at),
                expires_at: Set(expires_at),
                decided_by: Set(None),
                decided_at: Set(None),
            })
            .exec_without_returning(conn)
            .await?;
            Ok(true)
        }
    }
}
