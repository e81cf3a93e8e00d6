//! Adapter of the organizations context: [`SeaOrmOrganizations`].

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use leadflow_kernel::{
    AuditEntry, EmailAddress, OffsetPage, OrganizationId, Paged, PlatformScope, Role, TenantScope, UserId,
    ValidationErrors,
};
use leadflow_organizations::model::UsageSummary;
use leadflow_organizations::model::{DisplayName, Phone};
use leadflow_organizations::{
    ListScope, Organization, OrganizationFilter, OrganizationName, OrganizationRepository, OrganizationSort,
    OrganizationStats, PlatformOverview, RepositoryError, Settings,
};
use leadflow_subscriptions::{PlanId, Subscription, UsageMeter};
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

use crate::AccessCache;
use crate::Storage;
use crate::auth::{add_member, people_counts, seats_in_use};
use crate::db::count_by;
use crate::db::{Change, unexpected, unique_violation};
use crate::entities::{
    api_key, invitation, lead, membership, organization, subscription, team, user, workflow,
};
use crate::leads::leads_by_status;
use crate::subscriptions::{insert_subscription, subscription_of, used};
use crate::workflows::workflows_by_status;

/// [`OrganizationRepository`] on SeaORM.
pub struct SeaOrmOrganizations {
    db: DatabaseConnection,
    cache: Arc<AccessCache>,
}

impl Storage {
    /// The organizations adapter.
    #[must_use]
    pub fn organizations(&self) -> SeaOrmOrganizations {
        SeaOrmOrganizations { db: self.db.clone(), cache: self.cache.clone() }
    }
}

fn to_row(org: &Organization) -> organization::ActiveModel {
    organization::ActiveModel {
        id: Set(org.id.as_uuid()),
        name: Set(org.name.as_ref().to_owned()),
        display_name: Set(org.display_name.as_ref().to_owned()),
        email: Set(org.email.as_ref().map(|e| e.as_ref().to_owned())),
        phone: Set(org.phone.as_ref().map(|p| p.as_ref().to_owned())),
        is_active: Set(org.is_active),
        settings: Set(org.settings.to_value()),
        created_by: Set(org.created_by.map(|u| u.as_uuid())),
        created_at: Set(org.created_at),
        updated_at: Set(org.updated_at),
    }
}

/// Reads a stored row back into the domain type, re-checking its invariants.
pub(crate) fn to_domain(row: organization::Model) -> anyhow::Result<Organization> {
    Ok(Organization {
        id: OrganizationId::from_uuid(row.id),
        name: OrganizationName::parse(&row.name).context("stored organization name")?,
        display_name: DisplayName::parse(&row.display_name).context("stored display name")?,
        email: row.email.as_deref().map(EmailAddress::parse).transpose().context("stored email")?,
        phone: row.phone.as_deref().map(Phone::parse).transpose().context("stored phone")?,
        is_active: row.is_active,
        settings: Settings::parse(row.settings).context("stored settings")?,
        created_by: row.created_by.map(UserId::from_uuid),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Inserts an organization, its owner membership (with `owner`) and its
/// subscription (a trial of `plan`, per the subscriptions context), on `conn`
/// (a pool or an open transaction). Every way of creating an organization
/// goes through here.
pub(crate) async fn insert_organization<C: ConnectionTrait>(
    conn: &C,
    org: &Organization,
    owner: Option<UserId>,
    plan: PlanId,
) -> Result<(), RepositoryError> {
    organization::Entity::insert(to_row(org)).exec_without_returning(conn).await.map_err(|e| {
        match unique_violation(&e) {
            Some(_) => RepositoryError::NameTaken(org.name.as_ref().to_owned()),
            None => unexpected(e, "inserting organization").into(),
        }
    })?;
    if let Some(owner) = owner {
        add_member(conn, org.id, owner, Role::Owner, org.created_at)
            .await
            .map_err(|e| unexpected(e, "inserting owner membership"))?;
    }
    insert_subscription(conn, &Subscription::start_trial(org.id, plan, org.created_at))
        .await
        .map_err(|e| unexpected(e, "starting subscription"))?;
    Ok(())
}

fn filtered(scope: ListScope, filter: &OrganizationFilter) -> Select<organization::Entity> {
    let mut query = organization::Entity::find();
    if let ListScope::Only(only) = scope {
        query = query.filter(organization::Column::Id.eq(only.organization_id().as_uuid()));
    }
    if let Some(active) = filter.is_active {
        query = query.filter(organization::Column::IsActive.eq(active));
    }
    if let Some(tier) = &filter.tier {
        query = query.filter(
            organization::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(subscription::Column::OrganizationId)
                    .from(subscription::Entity)
                    .and_where(Expr::col(subscription::Column::Plan).eq(tier.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let like = |col: organization::Column| {
            Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(like(organization::Column::Name).or(like(organization::Column::DisplayName)));
    }
    query
}

impl SeaOrmOrganizations {
    async fn top_by_leads(&self, n: u64) -> Result<Vec<(OrganizationId, String, u64)>, RepositoryError> {
        let rows: Vec<(uuid::Uuid, i64)> = lead::Entity::find()
            .select_only()
            .column(lead::Column::OrganizationId)
            .column_as(lead::Column::Id.count(), "count")
            .group_by(lead::Column::OrganizationId)
            .order_by_desc(Expr::col(sea_orm::sea_query::Alias::new("count")))
            .limit(n)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "ranking organizations"))?;
        let names: BTreeMap<uuid::Uuid, String> = organization::Entity::find()
            .filter(organization::Column::Id.is_in(rows.iter().map(|(id, _)| *id)))
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading organizations"))?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        Ok(rows
            .into_iter()
            .map(|(id, n)| {
                (
                    OrganizationId::from_uuid(id),
                    names.get(&id).cloned().unwrap_or_default(),
                    u64::try_from(n).unwrap_or(0),
                )
            })
            .collect())
    }
}

/// Counts rows of a tenant table, grouped or not, for statistics.
async fn count<E>(
    db: &DatabaseConnection,
    query: Select<E>,
    what: &'static str,
) -> Result<u64, RepositoryError>
where
    E: EntityTrait,
    E::Model: Sync,
{
    query.count(db).await.map_err(|e| unexpected(e, what).into())
}

#[async_trait]
impl OrganizationRepository for SeaOrmOrganizations {
    async fn create(
        &self,
        org: &Organization,
        owner: Option<UserId>,
        plan: Option<String>,
        audit: &AuditEntry,
    ) -> Result<(), RepositoryError> {
        let plan = match plan {
            None => PlanId::Starter,
            Some(name) => PlanId::parse(&name)
                .map_err(|e| RepositoryError::Invalid(ValidationErrors::single("plan", e.to_string())))?,
        };
        let txn = Change::begin(&self.db, "committing organization").await?;
        insert_organization(&*txn, org, owner, plan).await?;
        txn.commit(audit).await?;
        Ok(())
    }

    async fn get(&self, scope: TenantScope) -> Result<Option<Organization>, RepositoryError> {
        let row = organization::Entity::find_by_id(scope.organization_id().as_uuid())
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading organization"))?;
        Ok(row.map(to_domain).transpose()?)
    }

    async fn list(
        &self,
        scope: ListScope,
        filter: &OrganizationFilter,
        page: OffsetPage,
    ) -> Result<Paged<Organization>, RepositoryError> {
        let total = count(&self.db, filtered(scope, filter), "counting organizations").await?;
        let (column, order) = match filter.sort {
            OrganizationSort::CreatedDesc => (organization::Column::CreatedAt, sea_orm::Order::Desc),
            OrganizationSort::CreatedAsc => (organization::Column::CreatedAt, sea_orm::Order::Asc),
            OrganizationSort::NameAsc => (organization::Column::Name, sea_orm::Order::Asc),
            OrganizationSort::NameDesc => (organization::Column::Name, sea_orm::Order::Desc),
        };
        let rows = filtered(scope, filter)
            .order_by(column, order.clone())
            .order_by(organization::Column::Id, order)
            .limit(page.limit)
            .offset(page.offset)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing organizations"))?;
        let items = rows.into_iter().map(to_domain).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Paged { items, total, page })
    }

    async fn update(
        &self,
        scope: TenantScope,
        org: &Organization,
        read_at: chrono::DateTime<chrono::Utc>,
        audit: &AuditEntry,
    ) -> Result<(), RepositoryError> {
        let mut row = to_row(org);
        row.id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        row.created_by = sea_orm::ActiveValue::NotSet;
        let txn = Change::begin(&self.db, "committing organization update").await?;
        // Only the version that was read is overwritten: a change made since
        // (a deactivation, another edit) moved `updated_at` and is kept.
        let result = organization::Entity::update_many()
            .set(row)
            .filter(organization::Column::Id.eq(scope.organization_id().as_uuid()))
            .filter(organization::Column::UpdatedAt.eq(read_at))
            .exec(&*txn)
            .await;
        match result {
            Ok(r) if r.rows_affected == 1 => {}
            Ok(_) => {
                let exists = organization::Entity::find_by_id(scope.organization_id().as_uuid())
                    .one(&*txn)
                    .await
                    .map_err(|e| unexpected(e, "reading organization"))?
                    .is_some();
                return Err(if exists { RepositoryError::Changed } else { RepositoryError::NotFound });
            }
            Err(e) => {
                return match unique_violation(&e) {
                    Some(_) => Err(RepositoryError::NameTaken(org.name.as_ref().to_owned())),
                    None => Err(unexpected(e, "updating organization").into()),
                };
            }
        }
        txn.commit(audit).await?;
        self.cache.invalidate_organization(scope.organization_id());
        Ok(())
    }

    async fn delete_with_all_data(
        &self,
        scope: TenantScope,
        audit: &AuditEntry,
    ) -> Result<(), RepositoryError> {
        // Every tenant table references organizations with ON DELETE CASCADE,
        // so one statement removes the organization and all its rows; the
        // platform-level entry that records it is written in the same transaction.
        let txn = Change::begin(&self.db, "committing organization deletion").await?;
        let result = organization::Entity::delete_by_id(scope.organization_id().as_uuid())
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "deleting organization"))?;
        if result.rows_affected == 0 {
            return Err(RepositoryError::NotFound);
        }
        txn.commit(audit).await?;
        self.cache.invalidate_organization(scope.organization_id());
        Ok(())
    }

    async fn stats(&self, scope: TenantScope) -> Result<OrganizationStats, RepositoryError> {
        // Each count is asked of the table's owner, which knows its encodings.
        let now = chrono::Utc::now();
        let people = people_counts(&self.db, scope, now).await?;
        let total_teams = count(
            &self.db,
            team::Entity::find().filter(team::Column::OrganizationId.eq(scope.organization_id().as_uuid())),
            "counting teams",
        )
        .await?;
        let leads_by_status = leads_by_status(&self.db, scope).await?;
        let workflows_by_status = workflows_by_status(&self.db, scope).await?;
        let usage = match subscription_of(&self.db, scope).await? {
            Some(s) => {
                let plan = s.plan.plan();
                let period = s.period(now);
                Some(UsageSummary {
                    plan: s.plan.as_str().to_owned(),
                    leads_used: used(&self.db, scope, UsageMeter::Leads, period.start).await?,
                    leads_limit: plan.lead_limit,
                    seats_used: seats_in_use(&self.db, scope.organization_id(), now, None).await?,
                    seats_limit: plan.seat_limit,
                })
            }
            None => None,
        };
        Ok(OrganizationStats {
            total_workflows: workflows_by_status.values().sum(),
            workflows_by_status,
            total_leads: leads_by_status.values().sum(),
            leads_by_status,
            usage,
            total_members: people.members_by_role.values().sum(),
            members_by_role: people.members_by_role,
            pending_invitations: people.pending_invitations,
            active_api_keys: people.active_api_keys,
            total_teams,
        })
    }

    async fn overview_across_organizations(
        &self,
        _platform: PlatformScope,
    ) -> Result<PlatformOverview, RepositoryError> {
        let by_active: Vec<(bool, i64)> = organization::Entity::find()
            .select_only()
            .column(organization::Column::IsActive)
            .column_as(organization::Column::Id.count(), "count")
            .group_by(organization::Column::IsActive)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "counting organizations"))?;
        let count_of = |active: bool| {
            by_active.iter().find(|(a, _)| *a == active).map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
        };
        let now = chrono::Utc::now();
        Ok(PlatformOverview {
            active_organizations: count_of(true),
            inactive_organizations: count_of(false),
            total_users: count(&self.db, user::Entity::find(), "counting users").await?,
            total_memberships: count(&self.db, membership::Entity::find(), "counting memberships").await?,
            pending_invitations: count(
                &self.db,
                invitation::Entity::find()
                    .filter(invitation::Column::Status.eq("pending"))
                    .filter(invitation::Column::ExpiresAt.gt(now)),
                "counting invitations",
            )
            .await?,
            active_api_keys: count(
                &self.db,
                api_key::Entity::find()
                    .filter(api_key::Column::RevokedAt.is_null())
                    .filter(api_key::Column::ExpiresAt.is_null().or(api_key::Column::ExpiresAt.gt(now))),
                "counting API keys",
            )
            .await?,
            total_teams: count(&self.db, team::Entity::find(), "counting teams").await?,
            leads_by_status: count_by(&self.db, lead::Entity::find(), lead::Column::Status, lead::Column::Id)
                .await?,
            organizations_per_plan: count_by(
                &self.db,
                subscription::Entity::find(),
                subscription::Column::Plan,
                subscription::Column::OrganizationId,
            )
            .await?,
            top_organizations: self.top_by_leads(10).await?,
            workflows_by_status: count_by(
                &self.db,
                workflow::Entity::find(),
                workflow::Column::Status,
                workflow::Column::Id,
            )
            .await?,
        })
    }
}
