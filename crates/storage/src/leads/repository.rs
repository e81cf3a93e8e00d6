//! [`LeadRepository`] on SeaORM: reads within a visibility, changes and statistics.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{
    AuditEntry, Cursor, KeysetPage, KeysetPaged, LeadId, PlatformScope, TenantScope, WorkflowId,
};
use leadflow_leads::ports::LeadRepository;
use leadflow_leads::{Lead, LeadFilter, LeadStats, Visibility};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Select};

use super::rows::LeadRow;
use super::{SeaOrmLeads, to_domain, to_row};
use crate::db::{Change, contains_any, count_by, keyset_page_as, unexpected};
use crate::entities::{idempotency_key, lead, workflow};

/// The leads of `organization` that `visibility` allows and `filter` selects.
fn visible(scope: TenantScope, filter: &LeadFilter, visibility: &Visibility) -> Select<lead::Entity> {
    use lead::Column as C;
    let mut query = lead::Entity::find().filter(C::OrganizationId.eq(scope.organization_id().as_uuid()));
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
    if let Some(original) = filter.duplicate_of {
        query = query.filter(C::DuplicateOf.eq(original.as_uuid()));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(contains_any(&[C::Email, C::Name, C::Company], search));
    }
    query
}

#[async_trait]
impl LeadRepository for SeaOrmLeads {
    async fn purge_idempotency_keys(
        &self,
        _platform: PlatformScope,
        before: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let purged = idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::CreatedAt.lt(before))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "purging expired idempotency keys"))?;
        Ok(purged.rows_affected)
    }

    async fn get(
        &self,
        scope: TenantScope,
        id: LeadId,
        visibility: &Visibility,
    ) -> anyhow::Result<Option<Lead>> {
        let row = visible(scope, &LeadFilter::default(), visibility)
            .filter(lead::Column::Id.eq(id.as_uuid()))
            .into_model::<LeadRow>()
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading lead"))?;
        row.map(|r| to_domain(r.0)).transpose()
    }

    async fn page(
        &self,
        scope: TenantScope,
        filter: &LeadFilter,
        visibility: &Visibility,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Lead>> {
        use lead::Column as C;
        let query = visible(scope, filter, visibility);
        let (rows, next) = keyset_page_as(&self.db, query, (C::CreatedAt, C::Id), page, |r: &LeadRow| {
            Cursor { at: r.0.created_at, id: r.0.id }
        })
        .await
        .map_err(|e| unexpected(e, "listing leads"))?;
        Ok(KeysetPaged {
            items: rows.into_iter().map(|r| to_domain(r.0)).collect::<anyhow::Result<_>>()?,
            next,
        })
    }

    async fn update(
        &self,
        scope: TenantScope,
        l: &Lead,
        read_at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let mut row = to_row(l);
        row.id = sea_orm::ActiveValue::NotSet;
        row.organization_id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let change = Change::begin(&self.db, "committing lead").await?;
        // Written by tenant and id, and only over the version that was read:
        // a lead of another organization, or a change made since, is never overwritten.
        let written = lead::Entity::update_many()
            .set(row)
            .filter(lead::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(lead::Column::Id.eq(l.id.as_uuid()))
            .filter(lead::Column::UpdatedAt.eq(read_at))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "updating lead"))?;
        if written.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }

    async fn merge(
        &self,
        scope: TenantScope,
        original: &Lead,
        read_at: DateTime<Utc>,
        duplicate: LeadId,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let mut row = to_row(original);
        row.id = sea_orm::ActiveValue::NotSet;
        row.organization_id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let org = scope.organization_id().as_uuid();
        let change = Change::begin(&self.db, "committing lead merge").await?;
        let removed = lead::Entity::delete_many()
            .filter(lead::Column::OrganizationId.eq(org))
            .filter(lead::Column::Id.eq(duplicate.as_uuid()))
            .filter(lead::Column::DuplicateOf.eq(original.id.as_uuid()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "deleting the merged duplicate"))?;
        let written = lead::Entity::update_many()
            .set(row)
            .filter(lead::Column::OrganizationId.eq(org))
            .filter(lead::Column::Id.eq(original.id.as_uuid()))
            .filter(lead::Column::UpdatedAt.eq(read_at))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "updating the original of a merge"))?;
        if removed.rows_affected != 1 || written.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }

    async fn delete(&self, scope: TenantScope, id: LeadId, audit: &AuditEntry) -> anyhow::Result<()> {
        let change = Change::begin(&self.db, "committing lead deletion").await?;
        lead::Entity::delete_many()
            .filter(lead::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(lead::Column::Id.eq(id.as_uuid()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "deleting lead"))?;
        // The next submission of its email starts afresh as an original.
        super::forget_original(&*change, scope, id).await?;
        change.commit(audit).await
    }

    async fn workflow_of(&self, scope: TenantScope, id: LeadId) -> anyhow::Result<Option<WorkflowId>> {
        let found: Option<uuid::Uuid> = workflow::Entity::find()
            .select_only()
            .column(workflow::Column::Id)
            .filter(workflow::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(workflow::Column::LeadId.eq(id.as_uuid()))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading the lead's workflow"))?;
        Ok(found.map(WorkflowId::from_uuid))
    }

    async fn stats(&self, scope: TenantScope, visibility: &Visibility) -> anyhow::Result<LeadStats> {
        let all = LeadFilter::default();
        let by_status =
            count_by(&self.db, visible(scope, &all, visibility), lead::Column::Status, lead::Column::Id)
                .await?;
        let by_qualification = count_by(
            &self.db,
            visible(scope, &all, visibility),
            lead::Column::QualificationCategory,
            lead::Column::Id,
        )
        .await?;
        Ok(LeadStats { total: by_status.values().sum(), by_status, by_qualification })
    }
}
