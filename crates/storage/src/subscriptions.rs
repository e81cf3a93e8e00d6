//! Adapter of the subscriptions context, and the seat and quota rules as
//! every adapter that must enforce them atomically applies them.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, OrganizationId};
use leadflow_subscriptions::{
    Plan, PlanId, Subscription, SubscriptionRepository, SubscriptionStatus, SubscriptionStoreError,
    UsageMeter,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};

use crate::audit::insert_audit;
use crate::entities::{invitation, membership, subscription, usage_counter, usage_shard};
use crate::{Storage, begin_write, unexpected};

/// [`SubscriptionRepository`] on SeaORM.
#[derive(Clone)]
pub struct SeaOrmSubscriptions {
    db: DatabaseConnection,
}

impl Storage {
    /// The subscriptions adapter.
    #[must_use]
    pub fn subscriptions(&self) -> SeaOrmSubscriptions {
        SeaOrmSubscriptions { db: self.db.clone() }
    }
}

pub(crate) fn to_domain(row: subscription::Model) -> anyhow::Result<Subscription> {
    Ok(Subscription {
        organization_id: OrganizationId::from_uuid(row.organization_id),
        plan: PlanId::parse(&row.plan).context("stored plan")?,
        stored_status: SubscriptionStatus::parse(&row.status).context("stored subscription status")?,
        trial_ends_at: row.trial_ends_at,
        period_anchor: row.period_anchor,
        external_customer_id: row.external_customer_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Stores a new subscription (inside the organization's creation).
pub(crate) async fn insert_subscription<C: ConnectionTrait>(conn: &C, s: &Subscription) -> Result<(), DbErr> {
    subscription::Entity::insert(subscription::ActiveModel {
        organization_id: Set(s.organization_id.as_uuid()),
        plan: Set(s.plan.as_str().to_owned()),
        status: Set(s.stored_status.as_str().to_owned()),
        trial_ends_at: Set(s.trial_ends_at),
        period_anchor: Set(s.period_anchor),
        external_customer_id: Set(s.external_customer_id.clone()),
        created_at: Set(s.created_at),
        updated_at: Set(s.updated_at),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// Reads the organization's subscription inside a write transaction; on
/// PostgreSQL the row is locked (`FOR UPDATE`), which serialises every seat
/// check of the organization. (On SQLite the `IMMEDIATE` transaction already
/// holds the write lock.)
pub(crate) async fn lock_subscription<C: ConnectionTrait>(
    txn: &C,
    organization: OrganizationId,
) -> anyhow::Result<Option<Subscription>> {
    let mut query = subscription::Entity::find_by_id(organization.as_uuid());
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    let row = query.one(txn).await.map_err(|e| unexpected(e, "reading subscription"))?;
    row.map(to_domain).transpose()
}

/// Members plus pending, unexpired invitations (other than those to `except_email`).
pub(crate) async fn seats_in_use<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    at: DateTime<Utc>,
    except_email: Option<&str>,
) -> anyhow::Result<u64> {
    let members = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization.as_uuid()))
        .count(conn)
        .await
        .map_err(|e| unexpected(e, "counting members"))?;
    let mut pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization.as_uuid()))
        .filter(invitation::Column::Status.eq("pending"))
        .filter(invitation::Column::ExpiresAt.gt(at));
    if let Some(email) = except_email {
        pending = pending.filter(invitation::Column::Email.ne(email));
    }
    let pending = pending.count(conn).await.map_err(|e| unexpected(e, "counting invitations"))?;
    Ok(members + pending)
}

/// The plan terms of an organization's subscription (starter when it has none).
#[cfg_attr(not(feature = "auth"), allow(dead_code))]
pub(crate) fn plan_of(subscription: Option<&Subscription>) -> Plan {
    subscription.map_or(PlanId::Starter, |s| s.plan).plan()
}

/// Usage counted in the shards (plans without a limit) for a period.
pub(crate) async fn sharded_usage<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    meter: UsageMeter,
    period_start: DateTime<Utc>,
) -> anyhow::Result<u64> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both engines.
    let sum: Option<i64> = usage_shard::Entity::find()
        .select_only()
        .column_as(sea_orm::sea_query::Expr::cust("CAST(COALESCE(SUM(used), 0) AS BIGINT)"), "total")
        .filter(usage_shard::Column::OrganizationId.eq(organization.as_uuid()))
        .filter(usage_shard::Column::Meter.eq(meter.as_str()))
        .filter(usage_shard::Column::PeriodStart.eq(period_start))
        .into_tuple()
        .one(conn)
        .await
        .map_err(|e| unexpected(e, "reading sharded usage"))?;
    Ok(sum.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// Usage of a meter in the period starting at `period_start`: the exact
/// counter (limited plans) plus the shards (unlimited plans).
pub(crate) async fn used<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    meter: UsageMeter,
    period_start: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let row =
        usage_counter::Entity::find_by_id((organization.as_uuid(), meter.as_str().to_owned(), period_start))
            .one(conn)
            .await
            .map_err(|e| unexpected(e, "reading usage"))?;
    let counted = row.map_or(0, |r| u64::try_from(r.used).unwrap_or(0));
    Ok(counted + sharded_usage(conn, organization, meter, period_start).await?)
}

#[async_trait]
impl SubscriptionRepository for SeaOrmSubscriptions {
    async fn get(&self, organization: OrganizationId) -> anyhow::Result<Option<Subscription>> {
        let row = subscription::Entity::find_by_id(organization.as_uuid())
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading subscription"))?;
        row.map(to_domain).transpose()
    }

    async fn change_plan(
        &self,
        organization: OrganizationId,
        plan: PlanId,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), SubscriptionStoreError> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        lock_subscription(&txn, organization).await?;
        let people = seats_in_use(&txn, organization, at, None).await?;
        let terms = plan.plan();
        if !terms.seats_allow(people) {
            return Err(SubscriptionStoreError::TooManySeats {
                people,
                limit: terms.seat_limit.unwrap_or(0),
            });
        }
        subscription::Entity::update_many()
            .col_expr(subscription::Column::Plan, Expr::value(plan.as_str()))
            .col_expr(subscription::Column::Status, Expr::value(SubscriptionStatus::Active.as_str()))
            .col_expr(subscription::Column::TrialEndsAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(subscription::Column::UpdatedAt, Expr::value(at))
            .filter(subscription::Column::OrganizationId.eq(organization.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "changing plan"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing plan change"))?;
        Ok(())
    }

    async fn used(
        &self,
        organization: OrganizationId,
        meter: UsageMeter,
        period_start: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        used(&self.db, organization, meter, period_start).await
    }

    async fn seats_used(&self, organization: OrganizationId, at: DateTime<Utc>) -> anyhow::Result<u64> {
        seats_in_use(&self.db, organization, at, None).await
    }
}
