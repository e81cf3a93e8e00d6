//! Contract of routing: candidates and their open leads, round-robin tickets
//! handed out once under concurrency, the route step's effects written with
//! the step, and proposals decided once before they expire.

use chrono::{Duration, Utc};
use leadflow_kernel::{Actor, AuditEntry, KeysetPage, LeadId, UserId};
use leadflow_kernel::{Clock as _, SystemClock};
use leadflow_leads::LeadFilter;
use leadflow_leads::Visibility;
use leadflow_leads::ports::{LeadRepository as _, LeadWorkers as _};
use leadflow_leads::proposals::{ProposalRepository, ProposalStatus};
use leadflow_workflows::ports::{LeadEffects, RouteEffect, Router, Routing, WorkflowRepository};

use crate::contract_tests;
use crate::workflows::{later, org, submit};

fn routing(effect: RouteEffect, lead: LeadId) -> Routing {
    let org = None;
    Routing { effect, audit: AuditEntry::new(&Actor::system(), org, "test.routed", "lead", lead, Utc::now()) }
}

contract_tests! {
    async fn tickets_are_handed_out_once_and_candidates_count_open_leads(storage: Storage) {
        let acme = org(&storage).await;
        let router = storage.workflows();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let router = storage.workflows();
                tokio::spawn(async move { router.next_ticket(crate::scope(acme)).await.unwrap() })
            })
            .collect();
        let mut tickets = Vec::new();
        for task in tasks {
            tickets.push(task.await.unwrap());
        }
        tickets.sort_unstable();
        assert_eq!(tickets, (0..20).collect::<Vec<u64>>());
        let candidates = router.candidates(crate::scope(acme), None).await.unwrap();
        assert_eq!(candidates.len(), 1, "the owner");
        assert_eq!(candidates[0].open_leads, 0);
        assert!(storage.leads().is_member(crate::scope(acme), candidates[0].user).await.unwrap());
        assert!(router.candidates(crate::scope(acme), Some(leadflow_kernel::TeamId::new())).await.unwrap().is_empty());
    }

    async fn the_route_step_assigns_only_unassigned_leads_and_proposals_are_decided_once(storage: Storage) {
        let acme = org(&storage).await;
        let owner = storage.workflows().candidates(crate::scope(acme), None).await.unwrap()[0].user;
        submit(&storage, acme, 3).await;
        let store = storage.workflows();
        let claimed = store.claim_due(crate::platform(), "w1", SystemClock.now(), later(60_000), 10).await.unwrap();
        assert_eq!(claimed.len(), 3);
        // Assign: written with the step, and counted as the member's open lead.
        let (w, _) = &claimed[0];
        let effects = LeadEffects { routing: Some(routing(RouteEffect::Assign(owner), w.lead_id)), ..LeadEffects::default() };
        assert!(store.save_step(crate::platform(), w, "w1", Some(later(60_000)), &effects).await.unwrap());
        let lead = storage.leads().get(crate::scope(acme), w.lead_id, &Visibility::All).await.unwrap().unwrap();
        assert_eq!(lead.assignee_id, Some(owner));
        assert_eq!(store.candidates(crate::scope(acme), None).await.unwrap()[0].open_leads, 1);
        // A lead assigned meanwhile keeps its assignee.
        let other = UserId::new();
        let effects = LeadEffects { routing: Some(routing(RouteEffect::Assign(other), w.lead_id)), ..LeadEffects::default() };
        assert!(store.save_step(crate::platform(), w, "w1", Some(later(60_000)), &effects).await.unwrap());
        assert_eq!(storage.leads().get(crate::scope(acme), w.lead_id, &Visibility::All).await.unwrap().unwrap().assignee_id, Some(owner));

        // Propose: a pending proposal, decided once.
        let now = Utc::now();
        let mut ids = Vec::new();
        for (w, _) in &claimed[1..] {
            let proposal = uuid::Uuid::now_v7();
            ids.push(proposal);
            let effect = RouteEffect::Propose { proposal, user: owner, expires_at: now + Duration::days(7) };
            let effects = LeadEffects { routing: Some(routing(effect, w.lead_id)), ..LeadEffects::default() };
            assert!(store.save_step(crate::platform(), w, "w1", Some(later(60_000)), &effects).await.unwrap());
        }
        let leads = storage.leads();
        let page = leads.proposals(crate::scope(acme), Some(ProposalStatus::Pending), now, KeysetPage::new(Some(10), None).unwrap()).await.unwrap();
        assert_eq!(page.items.len(), 2);
        let mut accepted = leads.proposal(crate::scope(acme), ids[0]).await.unwrap().unwrap();
        accepted.stored_status = ProposalStatus::Accepted;
        accepted.decided_by = Some(owner);
        accepted.decided_at = Some(now);
        assert!(leads.decide_proposal(crate::scope(acme), &accepted, &crate::entry(Some(acme))).await.unwrap());
        assert!(!leads.decide_proposal(crate::scope(acme), &accepted, &crate::entry(Some(acme))).await.unwrap(), "decided once");
        let assigned = leads.page(crate::scope(acme), &LeadFilter { assignee_id: Some(owner), ..LeadFilter::default() }, &Visibility::All, KeysetPage::new(Some(10), None).unwrap()).await.unwrap();
        assert_eq!(assigned.items.len(), 2);
        // Past its expiry, a proposal is expired and cannot be decided.
        let mut late = leads.proposal(crate::scope(acme), ids[1]).await.unwrap().unwrap();
        late.stored_status = ProposalStatus::Rejected;
        late.decided_at = Some(now + Duration::days(8));
        assert!(!leads.decide_proposal(crate::scope(acme), &late, &crate::entry(Some(acme))).await.unwrap());
        let expired = leads.proposals(crate::scope(acme), Some(ProposalStatus::Expired), now + Duration::days(8), KeysetPage::new(Some(10), None).unwrap()).await.unwrap();
        assert_eq!(expired.items.len(), 1);
        // Another organization sees none of them.
        let other = crate::organizations::an_org("globex");
        leadflow_organizations::OrganizationRepository::create(&storage.organizations(), &other, None, None, &crate::entry(None)).await.unwrap();
        assert!(leads.proposal(crate::scope(other.id), ids[0]).await.unwrap().is_none());
        let theirs = leads.proposals(crate::scope(other.id), None, now, KeysetPage::new(Some(10), None).unwrap()).await.unwrap();
        assert!(theirs.items.is_empty());
    }
}
