//! Database schema of Leadflow, as sea-orm migrations.
//!
//! Rules every migration keeps: each tenant table carries `organization_id`
//! with a foreign key that cascades from `organizations` and indexes that lead
//! with it; an applied migration is never edited (add a new one). Run them with
//! `leadflow migrate up|down|status`, or let `leadflow serve` apply them.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_identity_and_organizations;
mod m20261126_000002_access_management;
mod m20261126_000003_subscriptions_and_leads;
mod m20261126_000004_workflows;
mod m20261126_000005_usage_shards;
mod m20261201_000006_idempotent_responses;
mod m20261201_000007_disabled_users;
mod m20261201_000008_login_throttle;
mod m20261201_000009_outbox_secrets;
mod m20261201_000010_delivery;
mod m20261201_000011_past_due_since;
mod m20261201_000012_billing;
mod m20261201_000013_lead_origin;
mod m20261201_000014_routing;
mod m20261201_000015_lead_forms;

/// Every migration of Leadflow, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_identity_and_organizations::Migration),
            Box::new(m20261126_000002_access_management::Migration),
            Box::new(m20261126_000003_subscriptions_and_leads::Migration),
            Box::new(m20261126_000004_workflows::Migration),
            Box::new(m20261126_000005_usage_shards::Migration),
            Box::new(m20261201_000006_idempotent_responses::Migration),
            Box::new(m20261201_000007_disabled_users::Migration),
            Box::new(m20261201_000008_login_throttle::Migration),
            Box::new(m20261201_000009_outbox_secrets::Migration),
            Box::new(m20261201_000010_delivery::Migration),
            Box::new(m20261201_000011_past_due_since::Migration),
            Box::new(m20261201_000012_billing::Migration),
            Box::new(m20261201_000013_lead_origin::Migration),
            Box::new(m20261201_000014_routing::Migration),
            Box::new(m20261201_000015_lead_forms::Migration),
        ]
    }
}
