//! The submission unit of work on one transaction: idempotency key, lead,
//! workflow, audit entry and quota, each written by the module that owns its table.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, LeadId, TenantScope, WorkflowId};
use leadflow_leads::Lead;
use leadflow_leads::ports::{IdempotencyClaim, QuotaOutcome, SubmissionUnit, SubmissionUnits};
use leadflow_subscriptions::{MeterOutcome, Subscription, UsageMeter};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, IdenStatic as _, QueryFilter, QuerySelect, Set,
};

use super::rows::{from_json, to_json};
use super::{SeaOrmLeads, to_row};
use crate::db::audit::insert_audit;
use crate::db::{begin_write, unexpected};
use crate::entities::{idempotency_key, lead, lead_original, organization};
use crate::subscriptions::{count_unit, subscription_of, subscription_with_settings};
use crate::workflows::insert_workflow;

/// One lead submission inside one database transaction.
pub struct SeaOrmSubmission {
    txn: DatabaseTransaction,
    /// The organization's subscription, once read (it is read with the
    /// organization's settings, in the same statement: one round trip less).
    subscription: Option<Option<Subscription>>,
}

impl SeaOrmSubmission {
    /// The scope's subscription: the one read with the settings, or read now.
    async fn subscription(&mut self, scope: TenantScope) -> anyhow::Result<Option<Subscription>> {
        match self.subscription.take() {
            Some(read) => Ok(read),
            None => subscription_of(&self.txn, scope).await,
        }
    }
}

#[async_trait]
impl SubmissionUnits for SeaOrmLeads {
    async fn begin(&self) -> anyhow::Result<Box<dyn SubmissionUnit>> {
        Ok(Box::new(SeaOrmSubmission { txn: begin_write(&self.db).await?, subscription: None }))
    }
}

#[async_trait]
impl SubmissionUnit for SeaOrmSubmission {
    async fn claim_idempotency_key(
        &mut self,
        scope: TenantScope,
        key: &str,
        fingerprint: &str,
        lead: &Lead,
        expired_before: DateTime<Utc>,
    ) -> anyhow::Result<IdempotencyClaim> {
        use idempotency_key::Column as C;
        let org = scope.organization_id().as_uuid();
        // An expired key is free again, even before the workers purge it.
        idempotency_key::Entity::delete_many()
            .filter(C::OrganizationId.eq(org))
            .filter(C::Key.eq(key))
            .filter(C::CreatedAt.lt(expired_before))
            .exec(&self.txn)
            .await
            .map_err(|e| unexpected(e, "freeing an expired idempotency key"))?;
        // ON CONFLICT DO NOTHING waits for a concurrent holder of the key to
        // finish, then either inserts (it rolled back) or skips (it committed).
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            organization_id: Set(org),
            key: Set(key.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            lead_id: Set(lead.id.as_uuid()),
            created_at: Set(lead.created_at),
            response: Set(Some(to_json(lead)?)),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&self.txn)
        .await
        .map_err(|e| unexpected(e, "claiming idempotency key"))?;
        if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
            return Ok(IdempotencyClaim::New);
        }
        let first = idempotency_key::Entity::find_by_id((org, key.to_owned()))
            .one(&self.txn)
            .await
            .map_err(|e| unexpected(e, "reading idempotency key"))?
            .context("idempotency key vanished")?;
        Ok(IdempotencyClaim::Replay {
            fingerprint: first.fingerprint,
            lead: LeadId::from_uuid(first.lead_id),
            first: first.response.map(from_json).transpose()?.map(Box::new),
        })
    }

    async fn take_quota(&mut self, scope: TenantScope, at: DateTime<Utc>) -> anyhow::Result<QuotaOutcome> {
        // The subscriptions context decides how the lead counts; its storage applies it.
        let Some(subscription) = self.subscription(scope).await? else {
            return Ok(QuotaOutcome::Closed);
        };
        let counted = count_unit(&self.txn, scope, UsageMeter::Leads, subscription.lead_policy(at)).await?;
        Ok(match counted {
            MeterOutcome::Counted => QuotaOutcome::Taken,
            MeterOutcome::Spent { limit, resets_at } => QuotaOutcome::Spent { limit, resets_at },
            MeterOutcome::Closed => QuotaOutcome::Closed,
        })
    }

    async fn organization_settings(&mut self, scope: TenantScope) -> anyhow::Result<serde_json::Value> {
        // The subscription the quota needs later, and the settings, in one statement.
        if let Some((subscription, settings)) = subscription_with_settings(&self.txn, scope).await? {
            self.subscription = Some(Some(subscription));
            return Ok(settings.unwrap_or_default());
        }
        // No subscription (the quota will say so): the settings alone.
        self.subscription = Some(None);
        let settings: Option<serde_json::Value> =
            organization::Entity::find_by_id(scope.organization_id().as_uuid())
                .select_only()
                .column(organization::Column::Settings)
                .into_tuple()
                .one(&self.txn)
                .await
                .map_err(|e| unexpected(e, "reading the organization's settings"))?;
        Ok(settings.unwrap_or_default())
    }

    async fn claim_original(
        &mut self,
        scope: TenantScope,
        l: &Lead,
        window_start: DateTime<Utc>,
    ) -> anyhow::Result<Option<LeadId>> {
        use lead_original::Column as C;
        use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait as _, OnConflict};
        // One statement on the (organization, email) row: insert it, or take
        // it over when its original is older than the window, else keep it.
        // Concurrent submissions of one email queue on that row, so exactly
        // one of them becomes the original.
        let expired = Expr::col((lead_original::Entity, C::CreatedAt)).lt(window_start);
        let keep_or_take = |column: C| {
            CaseStatement::new()
                .case(expired.clone(), Expr::cust(format!("excluded.{}", column.as_str())))
                .finally(Expr::col((lead_original::Entity, column)))
        };
        let mut upsert = OnConflict::columns([C::OrganizationId, C::Email]);
        upsert.value(C::LeadId, keep_or_take(C::LeadId)).value(C::CreatedAt, keep_or_take(C::CreatedAt));
        let original = lead_original::Entity::insert(lead_original::ActiveModel {
            organization_id: Set(scope.organization_id().as_uuid()),
            email: Set(l.email.as_ref().to_owned()),
            lead_id: Set(l.id.as_uuid()),
            created_at: Set(l.created_at),
        })
        .on_conflict(upsert.to_owned())
        .exec_with_returning(&self.txn)
        .await
        .map_err(|e| unexpected(e, "claiming the original of an email"))?;
        Ok((original.lead_id != l.id.as_uuid()).then(|| LeadId::from_uuid(original.lead_id)))
    }

    async fn accepts_leads(&mut self, scope: TenantScope, at: DateTime<Utc>) -> anyhow::Result<bool> {
        // The subscriptions context decides; its storage reads the row.
        Ok(self.subscription(scope).await?.is_some_and(|s| s.accepts_leads(at)))
    }

    async fn insert_lead(&mut self, scope: TenantScope, l: &Lead) -> anyhow::Result<()> {
        // The scope decides the tenant, whatever the value says.
        let mut row = to_row(l);
        row.organization_id = Set(scope.organization_id().as_uuid());
        lead::Entity::insert(row)
            .exec_without_returning(&self.txn)
            .await
            .map_err(|e| unexpected(e, "inserting lead"))?;
        Ok(())
    }

    async fn start_workflow(&mut self, scope: TenantScope, l: &Lead) -> anyhow::Result<WorkflowId> {
        let workflow = leadflow_workflows::Workflow::new(scope.organization_id(), l.id, l.created_at);
        insert_workflow(&self.txn, &workflow).await.map_err(|e| unexpected(e, "starting workflow"))?;
        Ok(workflow.id)
    }

    async fn record(&mut self, entry: &AuditEntry) -> anyhow::Result<()> {
        insert_audit(&self.txn, entry).await.map_err(|e| unexpected(e, "writing audit entry"))
    }

    async fn commit(self: Box<Self>) -> anyhow::Result<()> {
        self.txn.commit().await.map_err(|e| unexpected(e, "committing submission"))
    }
}
