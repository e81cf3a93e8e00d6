//! [`SubscriptionRepository`] on SeaORM.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, TenantScope};
use leadflow_subscriptions::{
    Subscription, SubscriptionRepository, SubscriptionStoreError, Terms, UsageMeter,
};

use super::{SeaOrmSubscriptions, lock_plan, used};
use crate::auth::seats_in_use;
use crate::db::{Change, unexpected};

#[async_trait]
impl SubscriptionRepository for SeaOrmSubscriptions {
    async fn get(&self, scope: TenantScope) -> anyhow::Result<Option<Subscription>> {
        super::subscription_of(&self.db, scope).await
    }

    async fn change_plan(
        &self,
        scope: TenantScope,
        terms: &Terms,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), SubscriptionStoreError> {
        let plan = terms.plan;
        let change = Change::begin(&self.db, "committing plan change").await?;
        lock_plan(&*change, scope.organization_id()).await?;
        let people = seats_in_use(&*change, scope.organization_id(), at, None).await?;
        let offer = plan.plan();
        if !offer.seats_allow(people) {
            return Err(SubscriptionStoreError::TooManySeats {
                people,
                limit: offer.seat_limit.unwrap_or(0),
            });
        }
        super::set_terms(&*change, scope, terms, at).await.map_err(|e| unexpected(e, "changing plan"))?;
        change.commit(audit).await?;
        Ok(())
    }

    async fn used(
        &self,
        scope: TenantScope,
        meter: UsageMeter,
        period_start: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        used(&self.db, scope, meter, period_start).await
    }

    async fn seats_used(&self, scope: TenantScope, at: DateTime<Utc>) -> anyhow::Result<u64> {
        seats_in_use(&self.db, scope.organization_id(), at, None).await
    }
}
