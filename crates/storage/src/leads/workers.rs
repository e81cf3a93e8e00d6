//! [`LeadWorkers`] on SeaORM: who may work the scope's leads (members, team leads).

use async_trait::async_trait;
use leadflow_kernel::{TeamId, TenantScope, UserId};
use leadflow_leads::ports::LeadWorkers;

use super::SeaOrmLeads;
use crate::auth::is_member;
use crate::organizations::{led_by, team_members};

#[async_trait]
impl LeadWorkers for SeaOrmLeads {
    async fn is_member(&self, scope: TenantScope, user: UserId) -> anyhow::Result<bool> {
        is_member(&self.db, scope, user).await
    }

    async fn led_by(&self, scope: TenantScope, leader: UserId) -> anyhow::Result<Vec<UserId>> {
        led_by(&self.db, scope, leader).await
    }

    async fn team_members(&self, scope: TenantScope, team: TeamId) -> anyhow::Result<Vec<UserId>> {
        team_members(&self.db, scope, team).await
    }
}
