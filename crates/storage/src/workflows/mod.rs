//! The workflows context's storage. This module owns the `workflows` table:
//! it alone writes it and knows its encodings. A workflow's effects on its
//! lead go through the leads module; its messages and events through the outbox.

#[cfg(feature = "workflows")]
mod delivery;
#[cfg(feature = "workflows")]
mod repository;
#[cfg(feature = "workflows")]
mod routing;
#[cfg(feature = "workflows")]
mod rows;

use std::collections::BTreeMap;

use leadflow_kernel::TenantScope;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

#[cfg(feature = "leads")]
pub(crate) use rows::insert_workflow;

use crate::db::count_by;
use crate::entities::workflow;

/// The workflows adapters, on one pool: the store, the outbox mailer and the
/// approval notifier.
#[cfg(feature = "workflows")]
#[derive(Clone)]
pub struct SeaOrmWorkflows {
    db: sea_orm::DatabaseConnection,
}

#[cfg(feature = "workflows")]
impl crate::Storage {
    /// The workflows adapters (store, outbox mailer, approval notifier).
    #[must_use]
    pub fn workflows(&self) -> SeaOrmWorkflows {
        SeaOrmWorkflows { db: self.db.clone() }
    }
}

/// How many of the scope's workflows are in each status (for the
/// organization's statistics).
pub(crate) async fn workflows_by_status<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let query = workflow::Entity::find()
        .filter(workflow::Column::OrganizationId.eq(scope.organization_id().as_uuid()));
    count_by(conn, query, workflow::Column::Status, workflow::Column::Id).await
}
