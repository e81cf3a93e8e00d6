//! Adapter of the leads context: [`SeaOrmLeads`] (the lead repository, the
//! submission unit of work and the directory of who may work leads).

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, Cursor, EmailAddress, KeysetPage, KeysetPaged, OrganizationId, UserId};
use leadflow_leads::ports::{
    IdempotencyClaim, LeadRepository, LeadWorkers, QuotaOutcome, SubmissionUnit, SubmissionUnits,
};
use leadflow_leads::{
    Lead, LeadFilter, LeadId, LeadStats, LeadStatus, Qualification, QualificationCategory, Visibility,
};
use leadflow_subscriptions::{MeterPolicy, UsageMeter};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _, Func, LikeExpr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Select, Set,
};
use uuid::Uuid;

use crate::audit::insert_audit;
use crate::entities::{
    idempotency_key, lead, membership, subscription, team, team_member, usage_counter, usage_shard,
};
use crate::workflows::insert_workflow;
use crate::{Storage, begin_write, unexpected};

/// The leads adapters, on one pool.
#[derive(Clone)]
pub struct SeaOrmLeads {
    db: DatabaseConnection,
}

impl Storage {
    /// The leads adapter.
    #[must_use]
    pub fn leads(&self) -> SeaOrmLeads {
        SeaOrmLeads { db: self.db.clone() }
    }
}

fn to_row(l: &Lead) -> lead::ActiveModel {
    lead::ActiveModel {
        id: Set(l.id.as_uuid()),
        organization_id: Set(l.organization_id.as_uuid()),
        email: Set(l.email.as_ref().to_owned()),
        name: Set(l.name.clone()),
        company: Set(l.company.clone()),
        phone: Set(l.phone.clone()),
        message: Set(l.message.clone()),
        source: Set(l.source.clone()),
        metadata: Set(serde_json::Value::Object(l.metadata.clone())),
        status: Set(l.status.as_str().to_owned()),
        qualification_category: Set(l.qualification.as_ref().map(|q| q.category.as_str().to_owned())),
        qualification_reason: Set(l.qualification.as_ref().map(|q| q.reason.clone())),
        qualification_score: Set(l.qualification.as_ref().map(|q| i16::from(q.score))),
        assignee_id: Set(l.assignee_id.map(|u| u.as_uuid())),
        created_at: Set(l.created_at),
        updated_at: Set(l.updated_at),
    }
}

fn to_domain(r: lead::Model) -> anyhow::Result<Lead> {
    let qualification =
        match (r.qualification_category.as_deref(), r.qualification_reason, r.qualification_score) {
            (Some(category), reason, score) => Some(Qualification {
                category: QualificationCategory::parse(category).context("stored qualification")?,
                reason: reason.unwrap_or_default(),
                score: u8::try_from(score.unwrap_or(0)).unwrap_or(0),
            }),
            _ => None,
        };
    Ok(Lead {
        id: LeadId::from_uuid(r.id),
        organization_id: OrganizationId::from_uuid(r.organization_id),
        email: EmailAddress::parse(&r.email).context("stored lead email")?,
        name: r.name,
        company: r.company,
        phone: r.phone,
        message: r.message,
        source: r.source,
        metadata: match r.metadata {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
        status: LeadStatus::parse(&r.status).context("stored lead status")?,
        qualification,
        assignee_id: r.assignee_id.map(UserId::from_uuid),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// The leads of `organization` that `visibility` allows and `filter` selects.
fn visible(
    organization: OrganizationId,
    filter: &LeadFilter,
    visibility: &Visibility,
) -> Select<lead::Entity> {
    use lead::Column as C;
    let mut query = lead::Entity::find().filter(C::OrganizationId.eq(organization.as_uuid()));
    if let Visibility::AssignedTo(users) = visibility {
        query = query.filter(C::AssigneeId.is_in(users.iter().map(|u| u.as_uuid())));
    }
    if let Some(status) = filter.status {
        query = query.filter(C::Status.eq(status.as_str()));
    }
    if let Some(category) = filter.qualification {
        query = query.filter(C::QualificationCategory.eq(category.as_str()));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(C::AssigneeId.eq(assignee.as_uuid()));
    }
    if let Some(users) = &filter.assignees_in {
        query = query.filter(C::AssigneeId.is_in(users.iter().map(|u| u.as_uuid())));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(C::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        query = query.filter(C::CreatedAt.lt(to));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let like = |col: C| {
            Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(Condition::any().add(like(C::Email)).add(like(C::Name)).add(like(C::Company)));
    }
    query
}

async fn count_by<Col: ColumnTrait>(
    db: &DatabaseConnection,
    query: Select<lead::Entity>,
    column: Col,
) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
    let rows: Vec<(Option<String>, i64)> = query
        .select_only()
        .column(column)
        .column_as(lead::Column::Id.count(), "count")
        .group_by(column)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| unexpected(e, "counting leads"))?;
    Ok(rows
        .into_iter()
        .map(|(k, n)| (k.unwrap_or_else(|| "none".into()), u64::try_from(n).unwrap_or(0)))
        .collect())
}

#[async_trait]
impl LeadRepository for SeaOrmLeads {
    async fn get(
        &self,
        org: OrganizationId,
        id: LeadId,
        visibility: &Visibility,
    ) -> anyhow::Result<Option<Lead>> {
        let row = visible(org, &LeadFilter::default(), visibility)
            .filter(lead::Column::Id.eq(id.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading lead"))?;
        row.map(to_domain).transpose()
    }

    async fn page(
        &self,
        org: OrganizationId,
        filter: &LeadFilter,
        visibility: &Visibility,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Lead>> {
        use lead::Column as C;
        let query = visible(org, filter, visibility);
        let (rows, next) = crate::keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing leads"))?;
        Ok(KeysetPaged { items: rows.into_iter().map(to_domain).collect::<anyhow::Result<_>>()?, next })
    }

    async fn update(&self, l: &Lead, audit: &AuditEntry) -> anyhow::Result<()> {
        let mut row = to_row(l);
        row.id = sea_orm::ActiveValue::Unchanged(l.id.as_uuid());
        row.organization_id = sea_orm::ActiveValue::Unchanged(l.organization_id.as_uuid());
        row.created_at = sea_orm::ActiveValue::NotSet;
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        // The primary key is the lead id; the repository only hands out leads of
        // the caller's organization, and `lead.organization_id` never changes.
        sea_orm::ActiveModelTrait::update(row, &txn).await.map_err(|e| unexpected(e, "updating lead"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing lead"))?;
        Ok(())
    }

    async fn delete(&self, org: OrganizationId, id: LeadId, audit: &AuditEntry) -> anyhow::Result<()> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        lead::Entity::delete_many()
            .filter(lead::Column::OrganizationId.eq(org.as_uuid()))
            .filter(lead::Column::Id.eq(id.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "deleting lead"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing lead deletion"))?;
        Ok(())
    }

    async fn workflow_of(&self, org: OrganizationId, id: LeadId) -> anyhow::Result<Option<Uuid>> {
        let found: Option<Uuid> = crate::entities::workflow::Entity::find()
            .select_only()
            .column(crate::entities::workflow::Column::Id)
            .filter(crate::entities::workflow::Column::OrganizationId.eq(org.as_uuid()))
            .filter(crate::entities::workflow::Column::LeadId.eq(id.as_uuid()))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading the lead's workflow"))?;
        Ok(found)
    }

    async fn stats(&self, org: OrganizationId, visibility: &Visibility) -> anyhow::Result<LeadStats> {
        let all = LeadFilter::default();
        let by_status = count_by(&self.db, visible(org, &all, visibility), lead::Column::Status).await?;
        let by_qualification =
            count_by(&self.db, visible(org, &all, visibility), lead::Column::QualificationCategory).await?;
        Ok(LeadStats { total: by_status.values().sum(), by_status, by_qualification })
    }
}

#[async_trait]
impl LeadWorkers for SeaOrmLeads {
    async fn is_member(&self, org: OrganizationId, user: UserId) -> anyhow::Result<bool> {
        let found = membership::Entity::find_by_id((org.as_uuid(), user.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading membership"))?;
        Ok(found.is_some())
    }

    async fn led_by(&self, org: OrganizationId, leader: UserId) -> anyhow::Result<Vec<UserId>> {
        let teams: Vec<Uuid> = team::Entity::find()
            .select_only()
            .column(team::Column::Id)
            .filter(team::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team::Column::LeaderId.eq(leader.as_uuid()))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading led teams"))?;
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<Uuid> = team_member::Entity::find()
            .select_only()
            .column(team_member::Column::UserId)
            .distinct()
            .filter(team_member::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team_member::Column::TeamId.is_in(teams))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading team members"))?;
        Ok(users.into_iter().map(UserId::from_uuid).collect())
    }

    async fn team_members(&self, org: OrganizationId, team: Uuid) -> anyhow::Result<Vec<UserId>> {
        let users: Vec<Uuid> = team_member::Entity::find()
            .select_only()
            .column(team_member::Column::UserId)
            .filter(team_member::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team_member::Column::TeamId.eq(team))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading team members"))?;
        Ok(users.into_iter().map(UserId::from_uuid).collect())
    }
}

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
        let meter = UsageMeter::Leads;
        // The subscriptions context decides how the lead counts; this applies it.
        let (period, limit) = match subscription.lead_policy(at) {
            MeterPolicy::Closed => return Ok(QuotaOutcome::Closed),
            MeterPolicy::Unlimited { period, shards } => {
                // Count in one of several shard rows, so that concurrent
                // submissions of one organization do not queue on one row.
                let shard = i16::try_from(Uuid::now_v7().as_u128() % u128::from(std::cmp::max(shards, 1)))
                    .unwrap_or(0);
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
            }
            MeterPolicy::Limited { period, limit } => (period, limit),
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
