//! The encoding of a workflow as a row of the `workflows` table (steps and
//! step outputs as JSON, statuses and steps as their names).

use anyhow::Context as _;
use leadflow_kernel::{LeadId, OrganizationId};
use leadflow_workflows::{Step, Workflow, WorkflowId, WorkflowStatus};
#[cfg(feature = "leads")]
use sea_orm::Set;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entities::workflow;

pub(super) fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn from_json<T: DeserializeOwned>(
    value: Option<serde_json::Value>,
    what: &'static str,
) -> anyhow::Result<Option<T>> {
    value.filter(|v| !v.is_null()).map(|v| serde_json::from_value(v).context(what)).transpose()
}

pub(super) fn step_name(step: Step) -> String {
    step.as_str().to_owned()
}

fn parse_step(raw: &str) -> anyhow::Result<Step> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).context("stored workflow step")
}

#[cfg(feature = "leads")]
fn to_row(w: &Workflow) -> workflow::ActiveModel {
    workflow::ActiveModel {
        id: Set(w.id.as_uuid()),
        organization_id: Set(w.organization_id.as_uuid()),
        lead_id: Set(w.lead_id.as_uuid()),
        status: Set(w.status.as_str().to_owned()),
        current_step: Set(w.current_step.map(step_name)),
        steps: Set(json(&w.steps)),
        research: Set(w.research.as_ref().map(json)),
        qualification: Set(w.qualification.as_ref().map(json)),
        email_draft: Set(w.email_draft.as_ref().map(json)),
        decision: Set(w.decision.as_ref().map(json)),
        next_run_at: Set(w.next_run_at),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(w.last_error.clone()),
        created_at: Set(w.created_at),
        updated_at: Set(w.updated_at),
        completed_at: Set(w.completed_at),
    }
}

pub(super) fn to_domain(r: workflow::Model) -> anyhow::Result<Workflow> {
    Ok(Workflow {
        id: WorkflowId::from_uuid(r.id),
        organization_id: OrganizationId::from_uuid(r.organization_id),
        lead_id: LeadId::from_uuid(r.lead_id),
        status: WorkflowStatus::parse(&r.status).context("stored workflow status")?,
        current_step: r.current_step.as_deref().map(parse_step).transpose()?,
        steps: serde_json::from_value(r.steps).context("stored workflow steps")?,
        research: from_json(r.research, "stored research")?,
        qualification: from_json(r.qualification, "stored qualification")?,
        email_draft: from_json(r.email_draft, "stored email draft")?,
        decision: from_json(r.decision, "stored decision")?,
        next_run_at: r.next_run_at,
        last_error: r.last_error,
        created_at: r.created_at,
        updated_at: r.updated_at,
        completed_at: r.completed_at,
    })
}

/// Stores a new workflow (inside the lead's submission).
#[cfg(feature = "leads")]
pub(crate) async fn insert_workflow<C: sea_orm::ConnectionTrait>(
    conn: &C,
    w: &Workflow,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::EntityTrait as _;
    workflow::Entity::insert(to_row(w)).exec_without_returning(conn).await.map(|_| ())
}
