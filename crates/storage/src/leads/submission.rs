/// One lead submission inside one database transaction.
pub struct SeaOrmSubmission {
    txn: DatabaseTransaction,
}

#[async_trait]
impl SubmissionUnits for SeaOrmLeads {
    async fn begin(&self) -> anyhow::Result<Box<dyn SubmissionUnit>> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        Ok(Box::new(SeaOrmSubmission { txn }))
    }
}

#[async_trait]
impl SubmissionUnit for SeaOrmSubmission {
    async fn claim_idempotency_key(
        &mut self,
        org: OrganizationId,
        key: &str,
        fingerprint: &str,
        lead: LeadId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<IdempotencyClaim> {
        // ON CONFLICT DO NOTHING waits for a concurrent holder of the key to
        // finish, then either inserts (it rolled back) or skips (it committed).
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            organization_id: Set(org.as_uuid()),
            key: Set(key.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            lead_id: Set(lead.as_uuid()),
            created_at: Set(at),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&self.txn)
        .await
        .map_err(|e| unexpected(e, "claiming idempotency key"))?;
        if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
            return Ok(IdempotencyClaim::New);
        }
        let first = idempotency_key::Entity::find_by_id((org.as_uuid(), key.to_owned()))
            .one(&self.txn)
            .await
            .map_err(|e| unexpected(e, "reading idempotency key"))?
            .context("idempotency key vanished")?;
        Ok(IdempotencyClaim::Replay {
            fingerprint: first.fingerprint,
            lead: LeadId::from_uuid(first.lead_id),
        })
    }

    async fn take_quota(&mut self, org: OrganizationId, at: DateTime<Utc>) -> anyhow::Result<QuotaOutcome> {
        use usage_counter::Column as C;
        let row = subscription::Entity::find_by_id(org.as_uuid())
            .one(&self.txn)
            .await
            .map_err(|e| unexpected(e, "reading subscription"))?;
        let Some(subscription) = row.map(crate::subscriptions::to_domain).transpose()? else {
            return Ok(QuotaOutcome::Closed);
        };
        if !subscription.accepts_leads(at) {
            return Ok(QuotaOutcome::Closed);
        }
        let period = subscription.period(at);
        let limit = subscription.plan.plan().lead_limit;
        let meter = UsageMeter::Leads;
        let Some(limit) = limit else {
            // No limit: count in one of several shard rows, so that concurrent
            // submissions of one organization do not queue on one row.
            let shard = i16::try_from(rand_shard()).unwrap_or(0);
            let mut upsert = OnConflict::columns([
                usage_shard::Column::OrganizationId,
                usage_shard::Column::Meter,
                usage_shard::Column::PeriodStart,
                usage_shard::Column::Shard,
            ]);
            upsert.value(
                usage_shard::Column::Used,
                Expr::col((usage_shard::Entity, usage_shard::Column::Used)).add(1),
            );
            usage_shard::Entity::insert(usage_shard::ActiveModel {
                organization_id: Set(org.as_uuid()),
                meter: Set(meter.as_str().to_owned()),
                period_start: Set(period.start),
                shard: Set(shard),
                used: Set(1),
            })
            .on_conflict(upsert.to_owned())
            .exec_without_returning(&self.txn)
            .await
            .map_err(|e| unexpected(e, "counting usage"))?;
            return Ok(QuotaOutcome::Taken);
        };
        // A limit: one statement on the period's single counter is the quota.
        // It inserts the counter at 1 or adds one while under the limit (less
        // what an unlimited plan counted in the shards earlier in the period);
        // the row lock it takes orders concurrent submissions, so exactly as
        // many as are left see a row written. It runs last in the unit, so the
        // lock is held only until commit.
        let limit_i64 = i64::try_from(limit).unwrap_or(i64::MAX);
        let sharded =
            i64::try_from(crate::subscriptions::sharded_usage(&self.txn, org, meter, period.start).await?)
                .unwrap_or(i64::MAX);
        if sharded >= limit_i64 {
            return Ok(QuotaOutcome::Spent { limit, resets_at: period.end });
        }
        let mut upsert = OnConflict::columns([C::OrganizationId, C::Meter, C::PeriodStart]);
        upsert
            .value(C::Used, Expr::col((usage_counter::Entity, C::Used)).add(1))
            .action_and_where(Expr::col((usage_counter::Entity, C::Used)).lt(limit_i64 - sharded));
        let written = usage_counter::Entity::insert(usage_counter::ActiveModel {
            organization_id: Set(org.as_uuid()),
            meter: Set(meter.as_str().to_owned()),
            period_start: Set(period.start),
            used: Set(1),
        })
        .on_conflict(upsert.to_owned())
        .exec_without_returning(&self.txn)
        .await
        .map_err(|e| unexpected(e, "counting usage"))?;
        Ok(if written > 0 {
            QuotaOutcome::Taken
        } else {
            QuotaOutcome::Spent { limit, resets_at: period.end }
        })
    }

    async fn insert_lead(&mut self, l: &Lead) -> anyhow::Result<()> {
        lead::Entity::insert(to_row(l))
            .exec_without_returning(&self.txn)
            .await
            .map_err(|e| unexpected(e, "inserting lead"))?;
        Ok(())
    }

    async fn start_workflow(&mut self, l: &Lead) -> anyhow::Result<Uuid> {
        let workflow = leadflow_workflows::Workflow::new(l.organization_id, l.id.as_uuid(), l.created_at);
        insert_workflow(&self.txn, &workflow).await.map_err(|e| unexpected(e, "starting workflow"))?;
        Ok(workflow.id.as_uuid())
    }

    async fn record(&mut self, entry: &AuditEntry) -> anyhow::Result<()> {
        insert_audit(&self.txn, entry).await.map_err(|e| unexpected(e, "writing audit entry"))
    }

    async fn commit(self: Box<Self>) -> anyhow::Result<()> {
        self.txn.commit().await.map_err(|e| unexpected(e, "committing submission"))
    }
}

/// A shard for an unlimited plan's usage row.
fn rand_shard() -> u64 {
    // The low bits of a UUID v7's random part spread writes evenly enough.
    (Uuid::now_v7().as_u128() as u64) % u64::try_from(crate::subscriptions::USAGE_SHARDS).unwrap_or(1)
}
