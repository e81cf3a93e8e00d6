//! [`BillingRepository`] on SeaORM: the provider's customer and subscription
//! on the `subscriptions` row, and `billing_events`, which stores every
//! provider event id once (its primary key is what makes a second delivery
//! of an event, even at the same moment, change nothing).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, TenantScope};
use leadflow_subscriptions::Subscription;
use leadflow_subscriptions::SubscriptionStatus;
use leadflow_subscriptions::billing::ports::Applied;
use leadflow_subscriptions::billing::{BillingRepository, BillingUpdate, EventOutcome, EventRecord};
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use super::{SeaOrmSubscriptions, to_domain};
use crate::db::{Change, audit::insert_audit, begin_write, unexpected};
use crate::entities::{billing_event, organization, subscription};

/// Inserts the event unless its id is stored; whether it was new.
async fn insert_event<C: ConnectionTrait>(conn: &C, event: &EventRecord) -> anyhow::Result<bool> {
    let inserted = billing_event::Entity::insert(billing_event::ActiveModel {
        id: Set(event.id.clone()),
        event_type: Set(event.kind.clone()),
        organization_id: Set(event.organization.map(|o| o.as_uuid())),
        outcome: Set(event.outcome.as_str().to_owned()),
        received_at: Set(event.received_at),
    })
    .on_conflict(OnConflict::column(billing_event::Column::Id).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await
    .map_err(|e| unexpected(e, "storing a billing event"))?;
    Ok(inserted > 0)
}

#[async_trait]
impl BillingRepository for SeaOrmSubscriptions {
    async fn subscription(&self, scope: TenantScope) -> anyhow::Result<Option<Subscription>> {
        super::subscription_of(&self.db, scope).await
    }

    async fn organization_name(&self, scope: TenantScope) -> anyhow::Result<Option<String>> {
        organization::Entity::find_by_id(scope.organization_id().as_uuid())
            .select_only()
            .column(organization::Column::Name)
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading the organization's name"))
    }

    async fn keep_customer(&self, scope: TenantScope, customer: &str) -> anyhow::Result<String> {
        subscription::Entity::update_many()
            .col_expr(subscription::Column::ExternalCustomerId, Expr::value(customer))
            .filter(subscription::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(subscription::Column::ExternalCustomerId.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "keeping the billing customer"))?;
        let kept = super::subscription_of(&self.db, scope).await?.and_then(|s| s.external_customer_id);
        kept.ok_or_else(|| anyhow::anyhow!("the organization has no subscription to keep a customer on"))
    }

    async fn find_by_customer(&self, customer: &str) -> anyhow::Result<Option<Subscription>> {
        let row = subscription::Entity::find()
            .filter(subscription::Column::ExternalCustomerId.eq(customer))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "finding a billing customer"))?;
        row.map(to_domain).transpose()
    }

    async fn record_event(&self, event: &EventRecord) -> anyhow::Result<bool> {
        insert_event(&self.db, event).await
    }

    async fn apply_event(
        &self,
        scope: TenantScope,
        event: &EventRecord,
        occurred_at: DateTime<Utc>,
        update: &BillingUpdate,
        audit: &AuditEntry,
    ) -> anyhow::Result<Applied> {
        use subscription::Column as C;
        let txn = begin_write(&self.db).await?;
        // A second delivery of the event waits here for the first to commit,
        // then finds its id: it changes nothing.
        if !insert_event(&txn, event).await? {
            return Ok(Applied::Duplicate);
        }
        let mut change = subscription::Entity::update_many()
            .col_expr(C::BillingUpdatedAt, Expr::value(occurred_at))
            .col_expr(C::UpdatedAt, Expr::value(event.received_at));
        if let Some(plan) = update.plan {
            change = change.col_expr(C::Plan, Expr::value(plan.as_str()));
        }
        if let Some(status) = update.status {
            change = change.col_expr(C::Status, Expr::value(status.as_str())).col_expr(
                C::PastDueSince,
                if status == SubscriptionStatus::PastDue {
                    Expr::from(Func::coalesce([Expr::col(C::PastDueSince), Expr::value(occurred_at)]))
                } else {
                    Expr::value(Option::<DateTime<Utc>>::None)
                },
            );
            if status != SubscriptionStatus::Trialing {
                change = change.col_expr(C::TrialEndsAt, Expr::value(Option::<DateTime<Utc>>::None));
            }
        }
        if let Some(id) = &update.subscription_id {
            change = change.col_expr(C::ExternalSubscriptionId, Expr::value(id.as_str()));
        }
        if let Some(start) = update.period_start {
            change = change.col_expr(C::PeriodAnchor, Expr::value(start));
        }
        if let Some(cancel) = update.cancel_at_period_end {
            change = change.col_expr(C::CancelAtPeriodEnd, Expr::value(cancel));
        }
        let written = change
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            // Events arrive in any order: never go back in the provider's time.
            .filter(C::BillingUpdatedAt.is_null().or(C::BillingUpdatedAt.lte(occurred_at)))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "applying a billing event"))?
            .rows_affected;
        let outcome = if written == 0 {
            billing_event::Entity::update_many()
                .col_expr(billing_event::Column::Outcome, Expr::value(EventOutcome::Stale.as_str()))
                .filter(billing_event::Column::Id.eq(event.id.as_str()))
                .exec(&txn)
                .await
                .map_err(|e| unexpected(e, "marking a billing event stale"))?;
            Applied::Stale
        } else {
            insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing the audit entry"))?;
            Applied::Written
        };
        txn.commit().await.map_err(|e| unexpected(e, "committing a billing event"))?;
        Ok(outcome)
    }

    async fn set_cancel_at_period_end(
        &self,
        scope: TenantScope,
        cancel: bool,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let change = Change::begin(&self.db, "recording cancel at period end").await?;
        subscription::Entity::update_many()
            .col_expr(subscription::Column::CancelAtPeriodEnd, Expr::value(cancel))
            .col_expr(subscription::Column::UpdatedAt, Expr::value(at))
            .filter(subscription::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "recording cancel at period end"))?;
        change.commit(audit).await
    }
}
