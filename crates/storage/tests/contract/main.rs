//! Port-contract tests: every adapter of `leadflow-storage` against the
//! contract its port documents, on SQLite always and on PostgreSQL when
//! `LEADFLOW_TEST_POSTGRES_URL` is set. Each test runs on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod access;
mod audit;
mod auth;
mod billing;
mod delivery;
mod forms;
mod leads;
mod organizations;
mod routing;
mod subscriptions;
mod teams;
mod workflows;

use leadflow_storage::testing::{Engine, TestDatabase};
use leadflow_storage::{PoolSettings, Storage};

/// A migrated, empty store on `engine`, with the database that backs it.
pub async fn store(engine: Engine) -> Option<(Storage, TestDatabase)> {
    let db = TestDatabase::fresh(engine).await?;
    let storage = Storage::connect(&db.url, &PoolSettings::default()).await.unwrap();
    storage.migrate().await.unwrap();
    Some((storage, db))
}

/// The scope of `org`, as Leadflow's own platform work gets it.
pub fn scope(org: leadflow_kernel::OrganizationId) -> leadflow_kernel::TenantScope {
    platform().tenant(org)
}

/// The stored version (`updated_at`) of organization `id`, as a writer read it (now when there is none).
pub async fn version(
    storage: &Storage,
    id: leadflow_kernel::OrganizationId,
) -> chrono::DateTime<chrono::Utc> {
    use leadflow_organizations::OrganizationRepository as _;
    storage.organizations().get(scope(id)).await.unwrap().map_or_else(chrono::Utc::now, |o| o.updated_at)
}

/// The platform scope (the system actor's).
pub fn platform() -> leadflow_kernel::PlatformScope {
    leadflow_kernel::Actor::system().platform().expect("the system actor is the platform")
}

/// A throwaway audit entry by the system.
pub fn entry(org: Option<leadflow_kernel::OrganizationId>) -> leadflow_kernel::AuditEntry {
    leadflow_kernel::AuditEntry::new(
        &leadflow_kernel::Actor::system(),
        org,
        "test.change",
        "test",
        "x",
        chrono::Utc::now(),
    )
}

/// Declares each test once per engine: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! contract_tests {
    ($(async fn $name:ident($storage:ident: Storage) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($storage: leadflow_storage::Storage) $body

                #[tokio::test]
                async fn sqlite() {
                    let (storage, _db) = $crate::store(leadflow_storage::testing::Engine::Sqlite).await.unwrap();
                    run(storage).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let Some((storage, _db)) = $crate::store(leadflow_storage::testing::Engine::Postgres).await else {
                        return;
                    };
                    run(storage).await;
                }
            }
        )*
    };
}
