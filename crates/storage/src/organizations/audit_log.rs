//! The audit log reader of the organizations context, and the auth context's recorder.

use async_trait::async_trait;
use leadflow_kernel::{AuditActorKind, AuditEntry, KeysetPage, KeysetPaged, OrganizationId};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::Storage;
use crate::db::{keyset_page, unexpected};
use crate::entities::audit_log;

fn to_domain(row: audit_log::Model) -> AuditEntry {
    AuditEntry {
        id: row.id,
        organization_id: row.organization_id.map(OrganizationId::from_uuid),
        actor_kind: AuditActorKind::parse(&row.actor_type).unwrap_or(AuditActorKind::System),
        actor_id: row.actor_id,
        actor_email: row.actor_email,
        action: row.action,
        resource_type: row.resource_type,
        resource_id: row.resource_id,
        details: row.details,
        ip: row.ip,
        created_at: row.created_at,
    }
}

/// The audit log on SeaORM: reader and recorder.
#[derive(Clone)]
pub struct SeaOrmAuditLog {
    db: DatabaseConnection,
}

impl Storage {
    /// The audit log adapter.
    #[must_use]
    pub fn audit_log(&self) -> SeaOrmAuditLog {
        SeaOrmAuditLog { db: self.db.clone() }
    }
}

/// Which rows a page may contain.
pub(crate) enum Scope {
    Organization(OrganizationId),
    All,
}

/// Filters, as the storage layer sees them.
#[derive(Default)]
pub(crate) struct Filter<'a> {
    pub action: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub actor_id: Option<uuid::Uuid>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

impl SeaOrmAuditLog {
    pub(crate) async fn page(
        &self,
        scope: Scope,
        filter: Filter<'_>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<AuditEntry>> {
        use audit_log::Column as C;
        let mut query = audit_log::Entity::find();
        if let Scope::Organization(org) = scope {
            query = query.filter(C::OrganizationId.eq(org.as_uuid()));
        }
        if let Some(v) = filter.action {
            query = query.filter(C::Action.eq(v));
        }
        if let Some(v) = filter.resource_type {
            query = query.filter(C::ResourceType.eq(v));
        }
        if let Some(v) = filter.resource_id {
            query = query.filter(C::ResourceId.eq(v));
        }
        if let Some(v) = filter.actor_id {
            query = query.filter(C::ActorId.eq(v));
        }
        if let Some(v) = filter.from {
            query = query.filter(C::CreatedAt.gte(v));
        }
        if let Some(v) = filter.to {
            query = query.filter(C::CreatedAt.lt(v));
        }
        let (rows, next) = keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| {
            leadflow_kernel::Cursor { at: r.created_at, id: r.id }
        })
        .await
        .map_err(|e| unexpected(e, "reading the audit log"))?;
        Ok(KeysetPaged { items: rows.into_iter().map(to_domain).collect(), next })
    }
}

#[async_trait]
impl leadflow_organizations::AuditLogRepository for SeaOrmAuditLog {
    async fn page(
        &self,
        scope: leadflow_organizations::AuditScope,
        filter: &leadflow_organizations::AuditFilter,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<AuditEntry>> {
        let scope = match scope {
            leadflow_organizations::AuditScope::Organization(scope) => {
                Scope::Organization(scope.organization_id())
            }
            leadflow_organizations::AuditScope::AcrossOrganizations(_) => Scope::All,
        };
        let filter = Filter {
            action: filter.action.as_deref(),
            resource_type: filter.resource_type.as_deref(),
            resource_id: filter.resource_id.as_deref(),
            actor_id: filter.actor_id,
            from: filter.from,
            to: filter.to,
        };
        SeaOrmAuditLog::page(self, scope, filter, page).await
    }
}

#[cfg(feature = "auth")]
#[async_trait]
impl leadflow_auth::ports::AuditRecorder for SeaOrmAuditLog {
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        crate::db::audit::insert_audit(&self.db, entry)
            .await
            .map_err(|e| unexpected(e, "writing an audit entry"))
    }
}
