//! Routing proposals: an assignee proposed for a lead (by its workflow's
//! `route` step, when the organization routes in `propose` mode) that a
//! person with `leads:edit` accepts — the lead is assigned — or rejects,
//! within seven days; after that the proposal is expired.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{
    Actor, AuditEntry, Clock, KeysetPage, KeysetPaged, OrganizationId, Permission, TenantScope, UserId,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::LeadError;
use crate::model::LeadId;

/// Where a proposal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalStatus {
    /// Awaiting a decision.
    Pending,
    /// Accepted: the lead was assigned.
    Accepted,
    /// Rejected.
    Rejected,
    /// Not decided in time.
    Expired,
}

impl ProposalStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Accepted, Self::Rejected, Self::Expired];

    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    /// Reads a name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A proposed assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// The lead.
    pub lead_id: LeadId,
    /// The member proposed.
    pub user_id: UserId,
    /// The stored status (see [`Proposal::status`]).
    pub stored_status: ProposalStatus,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// After this, a pending proposal is expired.
    pub expires_at: DateTime<Utc>,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

impl Proposal {
    /// The status at `now`: a pending proposal past its expiry is expired.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> ProposalStatus {
        match self.stored_status {
            ProposalStatus::Pending if self.expires_at <= now => ProposalStatus::Expired,
            s => s,
        }
    }
}

/// The store of proposals.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProposalRepository: Send + Sync {
    /// A keyset page of the scope's proposals, newest first, in `status` at `now`.
    ///
    /// # Errors
    /// When the store fails.
    async fn proposals(
        &self,
        scope: TenantScope,
        status: Option<ProposalStatus>,
        now: DateTime<Utc>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Proposal>>;

    /// One proposal of the scope.
    ///
    /// # Errors
    /// When the store fails.
    async fn proposal(&self, scope: TenantScope, id: Uuid) -> anyhow::Result<Option<Proposal>>;

    /// Records `decided` (accepted or rejected) — only while the stored
    /// proposal is pending and unexpired at its `decided_at` — and, when
    /// accepted, assigns its lead to the proposed member; writes `audit`; in
    /// one transaction.
    ///
    /// # Errors
    /// When the store fails. MUST answer `Ok(false)` (and write nothing) when
    /// it was decided meanwhile, expired, or its lead is gone.
    async fn decide_proposal(
        &self,
        scope: TenantScope,
        decided: &Proposal,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;
}

/// The proposal use cases.
pub struct ProposalService {
    proposals: Arc<dyn ProposalRepository>,
    clock: Arc<dyn Clock>,
}

impl ProposalService {
    /// The service on its ports.
    pub fn new(proposals: Arc<dyn ProposalRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { proposals, clock }
    }

    fn scope(actor: &Actor) -> Result<TenantScope, LeadError> {
        let scope = actor.tenant_scope().ok_or(LeadError::NoOrganization)?;
        actor.require(Permission::LeadsEdit)?;
        Ok(scope)
    }

    /// The organization's proposals (`leads:edit`), newest first.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        status: Option<ProposalStatus>,
        page: KeysetPage,
    ) -> Result<KeysetPaged<Proposal>, LeadError> {
        let scope = Self::scope(actor)?;
        Ok(self.proposals.proposals(scope, status, self.clock.now(), page).await?)
    }

    /// Accepts (the lead is assigned to the proposed member) or rejects a
    /// pending proposal (`leads:edit`). Audited: `lead.assigned` (sent to
    /// webhooks) or `lead.assignment_rejected`.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `NotFound`, `Conflict` (decided or expired), `Unexpected`.
    pub async fn decide(&self, actor: &Actor, id: Uuid, accept: bool) -> Result<Proposal, LeadError> {
        let scope = Self::scope(actor)?;
        let mut proposal = self.proposals.proposal(scope, id).await?.ok_or(LeadError::NotFound)?;
        let now = self.clock.now();
        match proposal.status(now) {
            ProposalStatus::Pending => {}
            ProposalStatus::Expired => return Err(LeadError::Conflict("the proposal expired")),
            _ => return Err(LeadError::Conflict("the proposal was already decided")),
        }
        proposal.stored_status = if accept { ProposalStatus::Accepted } else { ProposalStatus::Rejected };
        proposal.decided_by = actor.user_id();
        proposal.decided_at = Some(now);
        let audit = if accept {
            AuditEntry::in_scope(actor, scope, "lead.assigned", "lead", proposal.lead_id, now)
                .with_details(json!({ "to": proposal.user_id, "proposalId": proposal.id }))
        } else {
            AuditEntry::in_scope(actor, scope, "lead.assignment_rejected", "lead", proposal.lead_id, now)
                .with_details(json!({ "proposed": proposal.user_id, "proposalId": proposal.id }))
        };
        if !self.proposals.decide_proposal(scope, &proposal, &audit).await? {
            return Err(LeadError::Conflict("the proposal was decided meanwhile, or its lead is gone"));
        }
        Ok(proposal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadflow_kernel::{MockClock, Role};

    fn proposal(org: OrganizationId, expires_in: chrono::Duration) -> Proposal {
        let now = Utc::now();
        Proposal {
            id: Uuid::now_v7(),
            organization_id: org,
            lead_id: LeadId::new(),
            user_id: UserId::new(),
            stored_status: ProposalStatus::Pending,
            created_at: now,
            expires_at: now + expires_in,
            decided_by: None,
            decided_at: None,
        }
    }

    fn service(repo: MockProposalRepository) -> ProposalService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        ProposalService::new(Arc::new(repo), Arc::new(clock))
    }

    #[tokio::test]
    async fn accepting_assigns_once_and_expired_or_decided_proposals_are_conflicts() {
        let org = OrganizationId::new();
        let fresh = proposal(org, chrono::Duration::days(7));
        let old = proposal(org, -chrono::Duration::seconds(1));
        let (fresh_id, old_id) = (fresh.id, old.id);
        let mut repo = MockProposalRepository::new();
        repo.expect_proposal()
            .returning(move |_, id| Ok(Some(if id == fresh_id { fresh.clone() } else { old.clone() })));
        repo.expect_decide_proposal()
            .withf(|_, p, a| {
                p.stored_status == ProposalStatus::Accepted
                    && p.decided_by.is_some()
                    && a.action == "lead.assigned"
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        let svc = service(repo);
        let manager = Actor::user(UserId::new(), "m@acme.io", Some(org), Some(Role::Manager), false);
        let member = Actor::user(UserId::new(), "r@acme.io", Some(org), Some(Role::Member), false);
        assert!(matches!(svc.decide(&member, fresh_id, true).await, Err(LeadError::Forbidden(_))));
        assert!(matches!(svc.decide(&manager, old_id, true).await, Err(LeadError::Conflict(_))));
        let accepted = svc.decide(&manager, fresh_id, true).await.unwrap();
        assert_eq!(accepted.status(Utc::now()), ProposalStatus::Accepted);
    }
}
