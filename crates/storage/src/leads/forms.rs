//! [`FormRepository`] on SeaORM: the `lead_forms` table.

use anyhow::Context as _;
use async_trait::async_trait;
use leadflow_kernel::{AuditEntry, OrganizationId, TenantScope};
use leadflow_leads::forms::{FormRepository, LeadForm};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::SeaOrmLeads;
use crate::db::{Change, unexpected};
use crate::entities::lead_form;

fn to_domain(r: lead_form::Model) -> anyhow::Result<LeadForm> {
    Ok(LeadForm {
        id: r.id,
        organization_id: OrganizationId::from_uuid(r.organization_id),
        name: r.name,
        key: r.key,
        allowed_origins: serde_json::from_value(r.allowed_origins).context("stored allowed origins")?,
        redirect_url: r.redirect_url,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

#[async_trait]
impl FormRepository for SeaOrmLeads {
    async fn forms(&self, scope: TenantScope) -> anyhow::Result<Vec<LeadForm>> {
        use lead_form::Column as C;
        lead_form::Entity::find()
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Id)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "listing forms"))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn form(&self, scope: TenantScope, id: Uuid) -> anyhow::Result<Option<LeadForm>> {
        use lead_form::Column as C;
        lead_form::Entity::find()
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(C::Id.eq(id))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading a form"))?
            .map(to_domain)
            .transpose()
    }

    async fn form_by_key(&self, key: &str) -> anyhow::Result<Option<LeadForm>> {
        lead_form::Entity::find()
            .filter(lead_form::Column::Key.eq(key))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading a form by its key"))?
            .map(to_domain)
            .transpose()
    }

    async fn insert_form(&self, form: &LeadForm, audit: &AuditEntry) -> anyhow::Result<()> {
        let change = Change::begin(&self.db, "creating a form").await?;
        lead_form::Entity::insert(lead_form::ActiveModel {
            id: Set(form.id),
            organization_id: Set(form.organization_id.as_uuid()),
            name: Set(form.name.clone()),
            key: Set(form.key.clone()),
            allowed_origins: Set(serde_json::to_value(&form.allowed_origins)?),
            redirect_url: Set(form.redirect_url.clone()),
            created_at: Set(form.created_at),
            updated_at: Set(form.updated_at),
        })
        .exec_without_returning(&*change)
        .await
        .map_err(|e| unexpected(e, "inserting a form"))?;
        change.commit(audit).await
    }

    async fn update_form(
        &self,
        scope: TenantScope,
        form: &LeadForm,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        use lead_form::Column as C;
        let change = Change::begin(&self.db, "changing a form").await?;
        let written = lead_form::Entity::update_many()
            .col_expr(C::Name, Expr::value(form.name.clone()))
            .col_expr(C::Key, Expr::value(form.key.clone()))
            .col_expr(C::AllowedOrigins, Expr::value(serde_json::to_value(&form.allowed_origins)?))
            .col_expr(C::RedirectUrl, Expr::value(form.redirect_url.clone()))
            .col_expr(C::UpdatedAt, Expr::value(form.updated_at))
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(C::Id.eq(form.id))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "changing a form"))?;
        if written.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }

    async fn delete_form(&self, scope: TenantScope, id: Uuid, audit: &AuditEntry) -> anyhow::Result<bool> {
        use lead_form::Column as C;
        let change = Change::begin(&self.db, "deleting a form").await?;
        let deleted = lead_form::Entity::delete_many()
            .filter(C::OrganizationId.eq(scope.organization_id().as_uuid()))
            .filter(C::Id.eq(id))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "deleting a form"))?;
        if deleted.rows_affected != 1 {
            return Ok(false);
        }
        change.commit(audit).await?;
        Ok(true)
    }
}
