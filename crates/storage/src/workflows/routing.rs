//! [`Router`] on SeaORM: an organization's members (or one team's) with their
//! open leads, and its round-robin counter.

use async_trait::async_trait;
use leadflow_kernel::{TeamId, TenantScope, UserId};
use leadflow_workflows::ports::Router;
use leadflow_workflows::routing::Candidate;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use super::SeaOrmWorkflows;
use crate::db::unexpected;
use crate::entities::{lead, membership, routing_cursor, team_member};

#[async_trait]
impl Router for SeaOrmWorkflows {
    async fn candidates(&self, scope: TenantScope, team: Option<TeamId>) -> anyhow::Result<Vec<Candidate>> {
        let org = scope.organization_id().as_uuid();
        let members: Vec<uuid::Uuid> = match team {
            Some(team) => {
                team_member::Entity::find()
                    .select_only()
                    .column(team_member::Column::UserId)
                    .filter(team_member::Column::OrganizationId.eq(org))
                    .filter(team_member::Column::TeamId.eq(team.as_uuid()))
                    .into_tuple()
                    .all(&self.db)
                    .await
            }
            None => {
                membership::Entity::find()
                    .select_only()
                    .column(membership::Column::UserId)
                    .filter(membership::Column::OrganizationId.eq(org))
                    .into_tuple()
                    .all(&self.db)
                    .await
            }
        }
        .map_err(|e| unexpected(e, "reading the routing candidates"))?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        // Open leads per member, in one grouped query.
        let open: Vec<(uuid::Uuid, i64)> = lead::Entity::find()
            .select_only()
            .column(lead::Column::AssigneeId)
            .column_as(Expr::col(lead::Column::Id).count(), "open")
            .filter(lead::Column::OrganizationId.eq(org))
            .filter(lead::Column::Status.eq(leadflow_leads::LeadStatus::Pending.as_str()))
            .filter(lead::Column::AssigneeId.is_in(members.clone()))
            .group_by(lead::Column::AssigneeId)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "counting open leads"))?;
        Ok(members
            .into_iter()
            .map(|user| Candidate {
                user: UserId::from_uuid(user),
                open_leads: open
                    .iter()
                    .find(|(u, _)| *u == user)
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0)),
            })
            .collect())
    }

    async fn next_ticket(&self, scope: TenantScope) -> anyhow::Result<u64> {
        use routing_cursor::Column as C;
        // One statement on the organization's row: concurrent callers queue
        // on it and each gets the next number.
        let mut upsert = OnConflict::column(C::OrganizationId);
        upsert.value(C::Next, Expr::col((routing_cursor::Entity, C::Next)).add(1));
        let row = routing_cursor::Entity::insert(routing_cursor::ActiveModel {
            organization_id: Set(scope.organization_id().as_uuid()),
            next: Set(1),
        })
        .on_conflict(upsert.to_owned())
        .exec_with_returning(&self.db)
        .await
        .map_err(|e| unexpected(e, "taking a round-robin ticket"))?;
        Ok(u64::try_from(row.next - 1).unwrap_or(0))
    }
}
