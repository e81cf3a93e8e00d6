//! The throttles' counters in the database (the `login_throttle` table), so
//! every process sharing it enforces one budget: the login throttle and the
//! action budget (registrations, invitations, password changes). The rules
//! are the auth domain's ([`ThrottlePolicy::decide`], `ActionLimits`); this
//! module only counts.

use async_trait::async_trait;
use chrono::Utc;
use leadflow_auth::throttle::{
    ActionBudget, FailureCount, LoginThrottle, ThrottleKeys, ThrottlePolicy, ThrottleVerdict,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::db::{begin_write, unexpected};
use crate::entities::login_throttle;

/// [`LoginThrottle`] on SeaORM.
#[derive(Clone)]
pub struct SeaOrmLoginThrottle {
    db: DatabaseConnection,
    policy: ThrottlePolicy,
}

impl crate::Storage {
    /// The login throttle, counting in the database under `policy`.
    #[must_use]
    pub fn login_throttle(&self, policy: ThrottlePolicy) -> SeaOrmLoginThrottle {
        SeaOrmLoginThrottle { db: self.db.clone(), policy }
    }
}

impl SeaOrmLoginThrottle {
    fn cutoff(&self) -> chrono::DateTime<Utc> {
        FailureCount::expired_before(self.policy.window, Utc::now())
    }

    async fn counts(&self, keys: &ThrottleKeys) -> anyhow::Result<Vec<login_throttle::Model>> {
        login_throttle::Entity::find()
            .filter(login_throttle::Column::Key.is_in(keys.all()))
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading login failures"))
    }

    async fn record_failure(&self, keys: &ThrottleKeys) -> anyhow::Result<()> {
        use login_throttle::Column as C;
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        // A counter whose window ended starts again from this failure.
        login_throttle::Entity::delete_many()
            .filter(C::Key.is_in(keys.all()))
            .filter(C::Since.lt(self.cutoff()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "resetting expired login failures"))?;
        let rows = keys.all().into_iter().map(|key| login_throttle::ActiveModel {
            key: Set(key),
            failures: Set(1),
            since: Set(now),
        });
        let mut upsert = OnConflict::column(C::Key);
        upsert.value(C::Failures, Expr::col((login_throttle::Entity, C::Failures)).add(1));
        login_throttle::Entity::insert_many(rows)
            .on_conflict(upsert.to_owned())
            .exec_without_returning(&txn)
            .await
            .map_err(|e| unexpected(e, "counting a login failure"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing a login failure"))
    }
}

#[async_trait]
impl LoginThrottle for SeaOrmLoginThrottle {
    async fn check(&self, account: &str, ip: Option<String>) -> ThrottleVerdict {
        let keys = ThrottleKeys::of(account, ip.as_deref());
        let counts = match self.counts(&keys).await {
            Ok(counts) => counts,
            Err(e) => {
                // The password check that follows is the protection that remains.
                tracing::warn!(error = format!("{e:#}"), "login throttle unavailable");
                return ThrottleVerdict::Allow;
            }
        };
        let of = |key: &str| {
            counts
                .iter()
                .find(|c| c.key == key)
                .map(|c| FailureCount { failures: u32::try_from(c.failures).unwrap_or(0), since: c.since })
        };
        self.policy.decide(of(&keys.pair), keys.ip.as_deref().and_then(of), of(&keys.account), Utc::now())
    }

    async fn failure(&self, account: &str, ip: Option<String>) {
        if let Err(e) = self.record_failure(&ThrottleKeys::of(account, ip.as_deref())).await {
            tracing::warn!(error = format!("{e:#}"), "login failure not counted");
        }
    }

    async fn success(&self, account: &str, ip: Option<String>) {
        let keys = ThrottleKeys::of(account, ip.as_deref());
        let cleared = login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::Key.is_in([keys.pair, keys.account]))
            .exec(&self.db)
            .await;
        if let Err(e) = cleared {
            tracing::warn!(error = %e, "login failures not cleared");
        }
    }

    async fn forget_expired(&self) -> u64 {
        login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::Since.lt(self.cutoff()))
            .exec(&self.db)
            .await
            .map_or(0, |r| r.rows_affected)
    }
}

#[async_trait]
impl ActionBudget for SeaOrmLoginThrottle {
    async fn spend(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<(), std::time::Duration> {
        use login_throttle::Column as C;
        let now = Utc::now();
        let counted = async {
            let txn = begin_write(&self.db).await?;
            login_throttle::Entity::delete_many()
                .filter(C::Key.eq(key))
                .filter(C::Since.lte(FailureCount::expired_before(window, now)))
                .exec(&txn)
                .await
                .map_err(|e| unexpected(e, "resetting an expired budget"))?;
            let mut upsert = OnConflict::column(C::Key);
            upsert.value(C::Failures, Expr::col((login_throttle::Entity, C::Failures)).add(1));
            login_throttle::Entity::insert(login_throttle::ActiveModel {
                key: Set(key.to_owned()),
                failures: Set(1),
                since: Set(now),
            })
            .on_conflict(upsert.to_owned())
            .exec_without_returning(&txn)
            .await
            .map_err(|e| unexpected(e, "counting an action"))?;
            let row = login_throttle::Entity::find_by_id(key.to_owned())
                .one(&txn)
                .await
                .map_err(|e| unexpected(e, "reading a budget"))?;
            txn.commit().await.map_err(|e| unexpected(e, "committing an action's count"))?;
            anyhow::Ok(row)
        };
        match counted.await {
            Ok(Some(row)) if u32::try_from(row.failures).unwrap_or(u32::MAX) > limit => {
                Err(FailureCount { failures: limit, since: row.since }.retry_after(window, now))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                // Counting failed: the action goes ahead (its own checks remain).
                tracing::warn!(error = format!("{e:#}"), "action budget unavailable");
                Ok(())
            }
        }
    }
}
/// Public form submissions are counted per form and address in the same
/// table as every other action budget.
#[cfg(feature = "leads")]
#[async_trait]
impl leadflow_leads::forms::SubmissionBudget for SeaOrmLoginThrottle {
    async fn spend(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<(), std::time::Duration> {
        ActionBudget::spend(self, key, limit, window).await
    }
}
