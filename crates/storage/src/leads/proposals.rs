//! [`ProposalRepository`] on SeaORM: routing proposals, and the assignment
//! an accepted one makes, in one transaction.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{
    AuditEntry, Cursor, KeysetPage, KeysetPaged, LeadId, OrganizationId, TenantScope, UserId,
};
use leadflow_leads::proposals::{Proposal, ProposalRepository, ProposalStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::SeaOrmLeads;
use crate::db::{Change, keyset_page, unexpected};
use crate::entities::{lead, routing_proposal};

fn to_domain(r: routing_proposal::Model) -> anyhow::Result<Proposal> {
    Ok(Proposal {
        id: r.id,
        organization_id: OrganizationId::from_uuid(r.organization_id),
        lead_id: LeadId::from_uuid(r.lead_id),
        user_id: UserId::from_uuid(r.user_id),
        stored_status: ProposalStatus::parse(&r.status).context("stored proposal status")?,
        created_at: r.created_at,
        expires_at: r.expires_at,
        decided_by: r.decided_by.map(UserId::from_uuid),
        decided_at: r.decided_at,
    })
}

#[async_trait]
impl ProposalRepository for SeaOrmLeads {
    async fn proposals(
        &self,
        scope: TenantScope,
        status: Option<ProposalStatus>,
        now: DateTime<Utc>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Proposal>> {
        use routing_proposal::Column as C;
        let mut query =
            routing_proposal::Entity::find().filter(C::OrganizationId.eq(scope.organization_id().as_uuid()));
        query = match status {
            None => query,
            Some(ProposalStatus::Pending) => {
                query.filter(C::Status.eq(ProposalStatus::Pending.as_str())).filter(C::ExpiresAt.gt(now))
            }
            Some(ProposalStatus::Expired) => {
                query.filter(C::Status.eq(ProposalStatus::Pending.as_str())).filter(C::ExpiresAt.lte(now))
            }
            Some(decided) => query.filter(C::Status.eq(decided.as_str())),
        };
        let (rows, next) = keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing routing proposals"))?;
        Ok(KeysetPaged { items: rows.into_iter().map(to_domain).collect::<anyhow::Result<_>>()?, next })
    }

    async fn proposal(&self, scope: TenantScope, id: Uuid) -> anyhow::Result<Option<Proposal>> {
        let row = routing_proposal::Entity::find_by_id(id)
            .filter(routing_proposal::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading a routing proposal"))?;
        row.map(to_domain).transpose()
    }

    async fn decide_proposal(
        &self,
        scope: TenantScope,
        decided: &Proposal,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        use routing_proposal::Column as C;
        let org = scope.organization_id().as_uuid();
        let at = decided.decided_at.unwrap_or_else(Utc::now);
        let change = Change::begin(&self.db, "committing a routing decision").await?;
        // Only a pending, unexpired proposal is decided, once.
        let written = routing_proposal::Entity::update_many()
            .col_expr(C::Status, Expr::value(decided.stored_status.as_str()))
            .col_expr(C::DecidedBy, Expr::value(decided.decided_by.map(|u| u.as_uuid())))
            .col_expr(C::DecidedAt, Expr::value(at))
            .filter(C::OrganizationId.eq(org))
            .filter(C::Id.eq(decided.id))
            .filter(C::Status.eq(ProposalStatus::Pending.as_str()))
            .filter(C::ExpiresAt.gt(at))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "deciding a routing proposal"))?;
        if written.rows_affected != 1 {
            return Ok(false);
        }
        if decided.stored_status == ProposalStatus::Accepted {
            let assigned = lead::Entity::update_many()
                .col_expr(lead::Column::AssigneeId, Expr::value(decided.user_id.as_uuid()))
                .col_expr(lead::Column::UpdatedAt, Expr::value(at))
                .filter(lead::Column::OrganizationId.eq(org))
                .filter(lead::Column::Id.eq(decided.lead_id.as_uuid()))
                .exec(&*change)
                .await
                .map_err(|e| unexpected(e, "assigning a routed lead"))?;
            if assigned.rows_affected != 1 {
                return Ok(false);
            }
        }
        change.commit(audit).await?;
        Ok(true)
    }
}
