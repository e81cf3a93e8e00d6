//! [`WorkflowRepository`] on SeaORM: claiming due workflows under a lease,
//! fenced saves, and people's transitions, each with its effects on the lead.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, Cursor, KeysetPage, KeysetPaged, LeadId, PlatformScope, TenantScope};
use leadflow_leads::{LeadReview, Qualification, QualificationCategory, ReviewDecision};
use leadflow_workflows::ports::{LeadEffects, WorkflowFilter, WorkflowRepository};
use leadflow_workflows::{Category, LeadSnapshot, Workflow, WorkflowId, WorkflowStatus};
use sea_orm::sea_query::{Condition, Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::SeaOrmWorkflows;
use super::rows::{json, step_name, to_domain};
use crate::db::{Change, begin_write, keyset_page, unexpected};
use crate::entities::{lead, organization, workflow};
use crate::leads::record_review;

/// Sets every changeable column of `w` on the rows `filter` selects; returns rows changed.
async fn write<C: ConnectionTrait>(
    conn: &C,
    w: &Workflow,
    lease: Option<(&str, DateTime<Utc>)>,
    filter: Condition,
) -> Result<u64, DbErr> {
    use workflow::Column as C;
    let result = workflow::Entity::update_many()
        .col_expr(C::Status, Expr::value(w.status.as_str()))
        .col_expr(C::CurrentStep, Expr::value(w.current_step.map(step_name)))
        .col_expr(C::Steps, Expr::value(json(&w.steps)))
        .col_expr(C::Research, Expr::value(w.research.as_ref().map(json)))
        .col_expr(C::Qualification, Expr::value(w.qualification.as_ref().map(json)))
        .col_expr(C::EmailDraft, Expr::value(w.email_draft.as_ref().map(json)))
        .col_expr(C::Decision, Expr::value(w.decision.as_ref().map(json)))
        .col_expr(C::NextRunAt, Expr::value(w.next_run_at))
        .col_expr(C::LeaseOwner, Expr::value(lease.map(|(owner, _)| owner.to_owned())))
        .col_expr(C::LeaseExpiresAt, Expr::value(lease.map(|(_, until)| until)))
        .col_expr(C::LastError, Expr::value(w.last_error.clone()))
        .col_expr(C::UpdatedAt, Expr::value(w.updated_at))
        .col_expr(C::CompletedAt, Expr::value(w.completed_at))
        .filter(C::Id.eq(w.id.as_uuid()))
        .filter(filter)
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Writes a workflow's effects onto its lead through the leads context, which
/// decides what a review means for the lead. The workflow's category maps onto
/// the lead's one by one exhaustive match.
async fn apply_effects<C: ConnectionTrait>(
    conn: &C,
    w: &Workflow,
    effects: &LeadEffects,
) -> Result<(), DbErr> {
    let review = LeadReview {
        qualification: effects.qualification.as_ref().map(|q| Qualification {
            category: match q.category {
                Category::Qualified => QualificationCategory::Qualified,
                Category::FollowUp => QualificationCategory::FollowUp,
                Category::Support => QualificationCategory::Support,
                Category::Unqualified => QualificationCategory::Unqualified,
            },
            reason: q.reason.clone(),
            score: q.score,
        }),
        decision: effects
            .approved
            .map(|a| if a { ReviewDecision::Approved } else { ReviewDecision::Rejected }),
    };
    record_review(conn, w.organization_id, w.lead_id, &review, w.updated_at).await
}

async fn snapshots<C: ConnectionTrait>(
    conn: &C,
    workflows: &[Workflow],
) -> anyhow::Result<HashMap<LeadId, LeadSnapshot>> {
    let leads = lead::Entity::find()
        .filter(lead::Column::Id.is_in(workflows.iter().map(|w| w.lead_id.as_uuid())))
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading leads of workflows"))?;
    let organizations: HashMap<Uuid, organization::Model> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(leads.iter().map(|l| l.organization_id)))
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading organizations of workflows"))?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(leads
        .into_iter()
        .map(|l| {
            let org = organizations.get(&l.organization_id);
            let snapshot = LeadSnapshot {
                lead_id: LeadId::from_uuid(l.id),
                email: l.email,
                name: l.name,
                company: l.company,
                message: l.message,
                metadata: l.metadata,
                organization_name: org.map(|o| o.display_name.clone()).unwrap_or_default(),
                organization_settings: org.map(|o| o.settings.clone()).unwrap_or(serde_json::Value::Null),
                assignee_id: l.assignee_id.map(leadflow_kernel::UserId::from_uuid),
            };
            (snapshot.lead_id, snapshot)
        })
        .collect())
}

#[async_trait]
impl WorkflowRepository for SeaOrmWorkflows {
    async fn claim_due(
        &self,
        _platform: PlatformScope,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<(Workflow, leadflow_workflows::LeadSnapshot)>> {
        use workflow::Column as C;
        let txn = begin_write(&self.db).await?;
        // The literal predicate matches the partial index `idx_workflows_due`.
        let mut query = workflow::Entity::find()
            .filter(Expr::cust("status IN ('pending', 'running')"))
            .filter(C::NextRunAt.lte(now))
            .filter(Condition::any().add(C::LeaseExpiresAt.is_null()).add(C::LeaseExpiresAt.lt(now)))
            // A deactivated organization's workflows wait, due, until it is reactivated.
            .filter(
                C::OrganizationId.in_subquery(
                    Query::select()
                        .column(organization::Column::Id)
                        .from(organization::Entity)
                        .and_where(organization::Column::IsActive.eq(true))
                        .to_owned(),
                ),
            )
            .order_by_asc(C::NextRunAt)
            .limit(limit);
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // Several processes claim side by side: rows another claim holds are skipped.
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = query.all(&txn).await.map_err(|e| unexpected(e, "finding due workflows"))?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        workflow::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(worker))
            .col_expr(C::LeaseExpiresAt, Expr::value(lease_until))
            .filter(C::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "leasing workflows"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing claim"))?;
        let workflows = rows.into_iter().map(to_domain).collect::<anyhow::Result<Vec<_>>>()?;
        let mut leads = snapshots(&self.db, &workflows).await?;
        Ok(workflows.into_iter().filter_map(|w| leads.remove(&w.lead_id).map(|l| (w, l))).collect())
    }

    async fn save_step(
        &self,
        _platform: PlatformScope,
        w: &Workflow,
        worker: &str,
        lease_until: Option<DateTime<Utc>>,
        effects: &LeadEffects,
    ) -> anyhow::Result<bool> {
        // Fenced: only the lease holder writes, and never over a cancellation.
        let fence = Condition::all()
            .add(workflow::Column::LeaseOwner.eq(worker))
            .add(workflow::Column::Status.ne(WorkflowStatus::Cancelled.as_str()));
        let lease = lease_until.map(|until| (worker, until));
        // Ending the workflow is an event, written with the step that ends it.
        let ended = match w.status {
            WorkflowStatus::Completed => Some("workflow.completed"),
            WorkflowStatus::Failed => Some("workflow.failed"),
            _ => None,
        };
        if effects.qualification.is_none()
            && effects.approved.is_none()
            && effects.routing.is_none()
            && ended.is_none()
        {
            // One statement is atomic on its own: no transaction round trips.
            let changed =
                write(&self.db, w, lease, fence).await.map_err(|e| unexpected(e, "saving workflow step"))?;
            return Ok(changed == 1);
        }
        let txn = begin_write(&self.db).await?;
        let changed =
            write(&txn, w, lease, fence).await.map_err(|e| unexpected(e, "saving workflow step"))?;
        if changed != 1 {
            return Ok(false);
        }
        apply_effects(&txn, w, effects).await.map_err(|e| unexpected(e, "updating lead"))?;
        if let Some(routing) = &effects.routing {
            let written = crate::leads::apply_route(
                &txn,
                w.organization_id,
                w.lead_id,
                w.id,
                routing.effect,
                w.updated_at,
            )
            .await
            .map_err(|e| unexpected(e, "routing the lead"))?;
            // Audited (and sent as `lead.assigned`) only when it happened.
            if written {
                crate::db::audit::insert_audit(&txn, &routing.audit)
                    .await
                    .map_err(|e| unexpected(e, "writing the routing's audit entry"))?;
            }
        }
        if let Some(event) = ended {
            let data = serde_json::json!({
                "workflowId": w.id,
                "leadId": w.lead_id,
                "status": w.status.as_str(),
                "lastError": w.last_error,
            });
            crate::outbox::record_event(&txn, w.organization_id, event, data, Utc::now())
                .await
                .map_err(|e| unexpected(e, "recording the workflow's end"))?;
        }
        txn.commit().await.map_err(|e| unexpected(e, "committing workflow step"))?;
        Ok(true)
    }

    async fn release(&self, _platform: PlatformScope, worker: &str) -> anyhow::Result<()> {
        workflow::Entity::update_many()
            .col_expr(workflow::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(workflow::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(workflow::Column::LeaseOwner.eq(worker))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "releasing leases"))?;
        Ok(())
    }

    async fn get(&self, scope: TenantScope, id: WorkflowId) -> anyhow::Result<Option<Workflow>> {
        let row = workflow::Entity::find_by_id(id.as_uuid())
            .filter(workflow::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading workflow"))?;
        row.map(to_domain).transpose()
    }

    async fn page(
        &self,
        scope: TenantScope,
        filter: &WorkflowFilter,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Workflow>> {
        use workflow::Column as C;
        let mut query =
            workflow::Entity::find().filter(C::OrganizationId.eq(scope.organization_id().as_uuid()));
        if let Some(status) = filter.status {
            query = query.filter(C::Status.eq(status.as_str()));
        }
        if let Some(lead) = filter.lead_id {
            query = query.filter(C::LeadId.eq(lead.as_uuid()));
        }
        let (rows, next) = keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing workflows"))?;
        Ok(KeysetPaged { items: rows.into_iter().map(to_domain).collect::<anyhow::Result<_>>()?, next })
    }

    async fn transition(
        &self,
        scope: TenantScope,
        w: &Workflow,
        expected: WorkflowStatus,
        effects: &LeadEffects,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let txn = Change::begin(&self.db, "committing workflow change").await?;
        let guard = Condition::all()
            .add(workflow::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .add(workflow::Column::Status.eq(expected.as_str()));
        let changed = write(&*txn, w, None, guard).await.map_err(|e| unexpected(e, "changing workflow"))?;
        if changed != 1 {
            return Ok(false);
        }
        apply_effects(&*txn, w, effects).await.map_err(|e| unexpected(e, "updating lead"))?;
        txn.commit(audit).await?;
        Ok(true)
    }
}
