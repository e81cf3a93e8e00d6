//! The subscriptions context's storage. This module owns the `subscriptions`,
//! `usage_counters` and `usage_shards` tables: it alone writes them and knows
//! their encodings. It applies the plan's rules that `leadflow-subscriptions`
//! decides ([`leadflow_subscriptions::MeterPolicy`]); it decides none itself.

#[cfg(feature = "subscriptions")]
mod billing;
#[cfg(feature = "subscriptions")]
mod repository;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use leadflow_kernel::{OrganizationId, TenantScope};
use leadflow_subscriptions::{Plan, PlanId, Subscription, SubscriptionStatus, USAGE_SHARDS, UsageMeter};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use crate::Storage;
use crate::db::unexpected;
use crate::entities::{subscription, usage_counter, usage_shard};

/// [`leadflow_subscriptions::SubscriptionRepository`] on SeaORM.
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
        past_due_since: row.past_due_since,
        external_subscription_id: row.external_subscription_id,
        cancel_at_period_end: row.cancel_at_period_end,
        billing_updated_at: row.billing_updated_at,
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
        past_due_since: Set(s.past_due_since),
        external_subscription_id: Set(s.external_subscription_id.clone()),
        cancel_at_period_end: Set(s.cancel_at_period_end),
        billing_updated_at: Set(s.billing_updated_at),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// The scope's subscription, read on `conn`.
pub(crate) async fn subscription_of<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
) -> anyhow::Result<Option<Subscription>> {
    let row = subscription::Entity::find_by_id(scope.organization_id().as_uuid())
        .one(conn)
        .await
        .map_err(|e| unexpected(e, "reading subscription"))?;
    row.map(to_domain).transpose()
}

/// The scope's subscription and, beside it in the same statement, the
/// organization's settings (`organizations.settings`): the lead submission
/// needs both and reads them in one round trip. `None` when the organization
/// has no subscription (its settings are then not read).
#[cfg(feature = "leads")]
pub(crate) async fn subscription_with_settings<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
) -> anyhow::Result<Option<(Subscription, Option<serde_json::Value>)>> {
    use sea_orm::sea_query::{ExprTrait as _, Query};

    use crate::entities::organization;

    /// The subscription row with the settings beside it.
    #[derive(sea_orm::FromQueryResult)]
    struct WithSettings {
        #[sea_orm(nested)]
        subscription: subscription::Model,
        organization_settings: Option<serde_json::Value>,
    }

    let org = scope.organization_id().as_uuid();
    let settings = Query::select()
        .column(organization::Column::Settings)
        .from(organization::Entity)
        .and_where(Expr::col((organization::Entity, organization::Column::Id)).eq(org))
        .to_owned();
    let row = subscription::Entity::find_by_id(org)
        .column_as(Expr::SubQuery(None, Box::new(settings.into())), "organization_settings")
        .into_model::<WithSettings>()
        .one(conn)
        .await
        .map_err(|e| unexpected(e, "reading the subscription and the organization's settings"))?;
    row.map(|r| Ok((to_domain(r.subscription)?, r.organization_settings))).transpose()
}

/// Reads the organization's plan terms inside a write transaction; on
/// PostgreSQL the subscription row is locked (`FOR UPDATE`), which serialises
/// every seat check of the organization. (On SQLite the `IMMEDIATE`
/// transaction already holds the write lock.)
///
/// It takes a bare id: besides the scoped ports it serves the acceptance of an
/// invitation, where the invitation's token is what grants the organization.
#[cfg(any(feature = "auth", feature = "subscriptions"))]
pub(crate) async fn lock_plan<C: ConnectionTrait>(
    txn: &C,
    organization: OrganizationId,
) -> anyhow::Result<Plan> {
    let mut query = subscription::Entity::find_by_id(organization.as_uuid());
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    let row = query.one(txn).await.map_err(|e| unexpected(e, "reading subscription"))?;
    Ok(Subscription::terms_of(row.map(to_domain).transpose()?.as_ref()))
}

/// Usage counted in the shards (plans without a limit) for a period.
async fn sharded_usage<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    meter: UsageMeter,
    period_start: DateTime<Utc>,
) -> anyhow::Result<u64> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both engines.
    let sum: Option<i64> = usage_shard::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(used), 0) AS BIGINT)"), "total")
        .filter(usage_shard::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
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
    scope: TenantScope,
    meter: UsageMeter,
    period_start: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let key = (scope.organization_id().as_uuid(), meter.as_str().to_owned(), period_start);
    let row =
        usage_counter::Entity::find_by_id(key).one(conn).await.map_err(|e| unexpected(e, "reading usage"))?;
    let counted = row.map_or(0, |r| u64::try_from(r.used).unwrap_or(0));
    Ok(counted + sharded_usage(conn, scope, meter, period_start).await?)
}

/// Counts one unit of `meter` for the scope as `policy` says, on `txn`.
///
/// A limited policy is one statement on the period's single counter: it
/// inserts the counter at 1 or adds one while under the limit (less what an
/// unlimited plan counted in the shards earlier in the period); the row lock it
/// takes orders concurrent writers, so exactly as many as are left see a row
/// written. Callers run it last in their transaction, so the lock is held only
/// until commit.
#[cfg(feature = "leads")]
pub(crate) async fn count_unit<C: ConnectionTrait>(
    txn: &C,
    scope: TenantScope,
    meter: UsageMeter,
    policy: leadflow_subscriptions::MeterPolicy,
) -> anyhow::Result<leadflow_subscriptions::MeterOutcome> {
    use leadflow_subscriptions::{MeterOutcome, MeterPolicy};
    use sea_orm::sea_query::{ExprTrait as _, OnConflict};
    let org = scope.organization_id().as_uuid();
    match policy {
        MeterPolicy::Closed => Ok(MeterOutcome::Closed),
        MeterPolicy::Unlimited { period, shards } => {
            use usage_shard::Column as C;
            // The low bits of a UUID v7's random part spread writes evenly enough.
            let shard = (uuid::Uuid::now_v7().as_u128() % u128::from(Ord::max(shards, 1))) as i16;
            let mut upsert = OnConflict::columns([C::OrganizationId, C::Meter, C::PeriodStart, C::Shard]);
            // An i64, like every statement of this text: PostgreSQL keeps the
            // parameter types of a prepared statement (see `add_to_meter`).
            upsert.value(C::Used, Expr::col((usage_shard::Entity, C::Used)).add(1_i64));
            usage_shard::Entity::insert(usage_shard::ActiveModel {
                organization_id: Set(org),
                meter: Set(meter.as_str().to_owned()),
                period_start: Set(period.start),
                shard: Set(shard),
                used: Set(1),
            })
            .on_conflict(upsert.to_owned())
            .exec_without_returning(txn)
            .await
            .map_err(|e| unexpected(e, "counting usage"))?;
            Ok(MeterOutcome::Counted)
        }
        MeterPolicy::Limited { period, limit } => {
            use usage_counter::Column as C;
            let spent = MeterOutcome::Spent { limit, resets_at: period.end };
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let sharded =
                i64::try_from(sharded_usage(txn, scope, meter, period.start).await?).unwrap_or(i64::MAX);
            if sharded >= limit {
                return Ok(spent);
            }
            let mut upsert = OnConflict::columns([C::OrganizationId, C::Meter, C::PeriodStart]);
            upsert
                .value(C::Used, Expr::col((usage_counter::Entity, C::Used)).add(1_i64))
                .action_and_where(Expr::col((usage_counter::Entity, C::Used)).lt(limit - sharded));
            let written = usage_counter::Entity::insert(usage_counter::ActiveModel {
                organization_id: Set(org),
                meter: Set(meter.as_str().to_owned()),
                period_start: Set(period.start),
                used: Set(1),
            })
            .on_conflict(upsert.to_owned())
            .exec_without_returning(txn)
            .await
            .map_err(|e| unexpected(e, "counting usage"))?;
            Ok(if written > 0 { MeterOutcome::Counted } else { spent })
        }
    }
}

/// Adds `amount` to `meter` for the period starting at `period_start`, in one
/// of the period's shards (a meter without a limit to enforce atomically, such
/// as the language-model tokens the workflow steps spend).
#[cfg(feature = "workflows")]
pub(crate) async fn add_to_meter<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    meter: UsageMeter,
    period_start: DateTime<Utc>,
    amount: u64,
) -> anyhow::Result<()> {
    use sea_orm::sea_query::{ExprTrait as _, OnConflict};
    use usage_shard::Column as C;
    // The same SQL text as counting one lead (`count_unit`), and sqlx caches
    // prepared statements by text with the parameter types of their first
    // use: the increment must be an i64 in both, or PostgreSQL refuses the
    // second with "incorrect binary data format".
    let amount = i64::try_from(amount).unwrap_or(i64::MAX);
    let shard = (uuid::Uuid::now_v7().as_u128() % u128::from(USAGE_SHARDS)) as i16;
    let mut upsert = OnConflict::columns([C::OrganizationId, C::Meter, C::PeriodStart, C::Shard]);
    upsert.value(C::Used, Expr::col((usage_shard::Entity, C::Used)).add(amount));
    usage_shard::Entity::insert(usage_shard::ActiveModel {
        organization_id: Set(scope.organization_id().as_uuid()),
        meter: Set(meter.as_str().to_owned()),
        period_start: Set(period_start),
        shard: Set(shard),
        used: Set(amount),
    })
    .on_conflict(upsert.to_owned())
    .exec_without_returning(conn)
    .await
    .map_err(|e| unexpected(e, "adding to a usage meter"))?;
    Ok(())
}

/// Changes the scope's plan on `txn`: active from now, the trial over.
pub(crate) async fn set_terms<C: ConnectionTrait>(
    txn: &C,
    scope: TenantScope,
    terms: &leadflow_subscriptions::Terms,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    subscription::Entity::update_many()
        .col_expr(subscription::Column::Plan, Expr::value(terms.plan.as_str()))
        .col_expr(subscription::Column::Status, Expr::value(terms.status.as_str()))
        .col_expr(subscription::Column::TrialEndsAt, Expr::value(terms.trial_ends_at))
        // Past due since the first change that made it so; cleared by any other status.
        .col_expr(
            subscription::Column::PastDueSince,
            if terms.status == SubscriptionStatus::PastDue {
                Expr::from(Func::coalesce([Expr::col(subscription::Column::PastDueSince), Expr::value(at)]))
            } else {
                Expr::value(Option::<DateTime<Utc>>::None)
            },
        )
        .col_expr(subscription::Column::UpdatedAt, Expr::value(at))
        .filter(subscription::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .exec(txn)
        .await
        .map(|_| ())
}
