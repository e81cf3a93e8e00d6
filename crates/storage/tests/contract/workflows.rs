//! Contract of the workflow store, the outbox mailer and the notifier.

use chrono::{Duration, Utc};
use leadflow_kernel::{Clock as _, OrganizationId, SystemClock};
use leadflow_leads::ports::SubmissionUnits;
use leadflow_leads::{Lead, LeadInput};
use leadflow_organizations::OrganizationRepository;
use leadflow_storage::Storage;
use leadflow_workflows::model::StepOutcome;
use leadflow_workflows::ports::{ApprovalNotifier, LeadEffects, Mailer, WorkflowFilter, WorkflowRepository};
use leadflow_workflows::{EmailDraft, Research, WorkflowId, WorkflowStatus};
use sea_orm::{EntityTrait as _, PaginatorTrait as _};

use crate::auth::a_user;
use crate::contract_tests;
use crate::organizations::an_org;

pub(crate) async fn org(storage: &Storage) -> OrganizationId {
    let owner = a_user(storage, "owner@acme.io").await;
    let org = an_org("acme");
    storage
        .organizations()
        .create(&org, Some(owner.id), Some("enterprise".into()), &crate::entry(None))
        .await
        .unwrap();
    org.id
}

/// Submits `n` leads, each with its workflow; returns the workflow ids.
pub(crate) async fn submit(storage: &Storage, org: OrganizationId, n: usize) -> Vec<WorkflowId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let lead = Lead::new(
            org,
            LeadInput {
                email: format!("l{i}@bigcorp.io"),
                name: "L".into(),
                message: "demo".into(),
                ..Default::default()
            },
            SystemClock.now(),
        )
        .unwrap();
        let mut unit = storage.leads().begin().await.unwrap();
        unit.take_quota(crate::scope(org), lead.created_at).await.unwrap();
        unit.insert_lead(crate::scope(org), &lead).await.unwrap();
        ids.push(unit.start_workflow(crate::scope(org), &lead).await.unwrap());
        unit.commit().await.unwrap();
    }
    ids
}

pub(crate) fn later(ms: i64) -> chrono::DateTime<Utc> {
    SystemClock.now() + Duration::milliseconds(ms)
}

contract_tests! {
    async fn due_workflows_are_leased_to_one_worker_at_a_time(storage: Storage) {
        let org = org(&storage).await;
        let ids = submit(&storage, org, 15).await;
        let claims = ["w1", "w2", "w3"].map(|worker| {
            let store = storage.workflows();
            tokio::spawn(async move { store.claim_due(crate::platform(), worker, SystemClock.now(), later(60_000), 10).await.unwrap() })
        });
        let mut seen = Vec::new();
        for claim in claims {
            for (workflow, lead) in claim.await.unwrap() {
                assert_eq!(lead.lead_id, workflow.lead_id);
                assert_eq!(lead.organization_name, "acme Display");
                seen.push(workflow.id);
            }
        }
        seen.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(seen, expected, "every due workflow leased exactly once");
        assert!(storage.workflows().claim_due(crate::platform(), "w4", SystemClock.now(), later(60_000), 10).await.unwrap().is_empty());
    }

    async fn an_expired_lease_is_taken_over_and_the_old_holder_is_fenced_off(storage: Storage) {
        let org = org(&storage).await;
        submit(&storage, org, 1).await;
        let store = storage.workflows();
        let (mut stale, _) = store.claim_due(crate::platform(), "dead", SystemClock.now(), later(50), 1).await.unwrap().remove(0);
        tokio::time::sleep(std::time::Duration::from_millis(80)).await;
        let (mut fresh, _) = store.claim_due(crate::platform(), "alive", SystemClock.now(), later(60_000), 1).await.unwrap().remove(0);
        assert_eq!(fresh.id, stale.id);

        fresh.begin_step(SystemClock.now()).unwrap();
        fresh.complete_step(StepOutcome::Researched(Research::default()), "alive", SystemClock.now()).unwrap();
        assert!(store.save_step(crate::platform(), &fresh, "alive", Some(later(60_000)), &LeadEffects::default()).await.unwrap());

        stale.begin_step(SystemClock.now()).unwrap();
        stale.fail_step("late", 5, Duration::seconds(1), SystemClock.now()).unwrap();
        assert!(!store.save_step(crate::platform(), &stale, "dead", None, &LeadEffects::default()).await.unwrap(), "the dead worker cannot overwrite");
        let read = store.get(crate::scope(org), fresh.id).await.unwrap().unwrap();
        assert_eq!(read.steps[0].worker.as_deref(), Some("alive"));
        assert!(read.last_error.is_none());
    }

    async fn a_cancelled_workflow_fences_off_its_worker_and_people_transition_by_status(storage: Storage) {
        let org = org(&storage).await;
        submit(&storage, org, 1).await;
        let store = storage.workflows();
        let (mut running, _) = store.claim_due(crate::platform(), "w1", SystemClock.now(), later(60_000), 1).await.unwrap().remove(0);
        let mut cancelled = running.clone();
        cancelled.cancel(SystemClock.now()).unwrap();
        assert!(store.transition(crate::scope(org), &cancelled, WorkflowStatus::Pending, &LeadEffects::default(), &crate::entry(Some(org))).await.unwrap());
        assert!(!store.transition(crate::scope(org), &cancelled, WorkflowStatus::Pending, &LeadEffects::default(), &crate::entry(Some(org))).await.unwrap());

        running.begin_step(SystemClock.now()).unwrap();
        running.complete_step(StepOutcome::Researched(Research::default()), "w1", SystemClock.now()).unwrap();
        assert!(!store.save_step(crate::platform(), &running, "w1", None, &LeadEffects::default()).await.unwrap());
        assert_eq!(store.get(crate::scope(org), running.id).await.unwrap().unwrap().status, WorkflowStatus::Cancelled);
        assert!(store.get(crate::scope(OrganizationId::new()), running.id).await.unwrap().is_none());
    }

    async fn released_leases_are_due_again_and_pages_filter(storage: Storage) {
        let org = org(&storage).await;
        submit(&storage, org, 3).await;
        let store = storage.workflows();
        assert_eq!(store.claim_due(crate::platform(), "w1", SystemClock.now(), later(60_000), 10).await.unwrap().len(), 3);
        store.release(crate::platform(), "w1").await.unwrap();
        assert_eq!(store.claim_due(crate::platform(), "w2", SystemClock.now(), later(60_000), 10).await.unwrap().len(), 3);
        let page = store.page(crate::scope(org), &WorkflowFilter { status: Some(WorkflowStatus::Pending), lead_id: None }, leadflow_kernel::KeysetPage::new(Some(2), None).unwrap()).await.unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(page.next.is_some());
    }

    async fn the_outbox_sends_at_most_once_per_workflow_and_approval_requests_are_recorded(storage: Storage) {
        let org = org(&storage).await;
        let id = submit(&storage, org, 1).await[0];
        let store = storage.workflows();
        let workflow = store.get(crate::scope(org), id).await.unwrap().unwrap();
        let email = EmailDraft { to: "sam@bigcorp.io".into(), subject: "Hi".into(), body: "Hello".into() };
        for _ in 0..3 {
            store.send(&workflow, &email).await.unwrap();
        }
        let sent = leadflow_storage::entities::email_outbox::Entity::find().count(storage.connection()).await.unwrap();
        assert_eq!(sent, 1);
        // The approval request is an event: one delivery per endpoint that subscribes to it.
        crate::delivery::an_endpoint(&storage, org, &["workflow.approval_requested"]).await;
        crate::delivery::an_endpoint(&storage, org, &["lead.created"]).await;
        store.approval_requested(&workflow).await.unwrap();
        let events = leadflow_storage::entities::webhook_delivery::Entity::find().all(storage.connection()).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, "workflow.approval_requested");
        assert_eq!(events[0].payload["data"]["workflowId"], serde_json::json!(workflow.id));
        // The owner may approve: one approval email, to them; no Slack URL set, no Slack row.
        let approvals: Vec<_> = leadflow_storage::entities::email_outbox::Entity::find().all(storage.connection()).await.unwrap()
            .into_iter().filter(|e| e.kind == "approval_request").collect();
        assert_eq!(approvals.len(), 1);
        assert_eq!(approvals[0].recipient, "owner@acme.io");
        // A trialing organization may approve 20 a day, whatever its plan.
        use leadflow_workflows::ports::OutreachLimits as _;
        let today = store.today(crate::scope(org), Utc::now()).await.unwrap();
        assert_eq!((today.limit, today.used), (Some(20), 0));
    }

    async fn a_deactivated_organizations_workflows_are_not_claimed_until_reactivated(storage: Storage) {
        let org = org(&storage).await;
        submit(&storage, org, 2).await;
        let repo = storage.organizations();
        let mut acme = repo.get(crate::scope(org)).await.unwrap().unwrap();
        acme.is_active = false;
        repo.update(crate::scope(org), &acme, crate::version(&storage, org).await, &crate::entry(None)).await.unwrap();
        let store = storage.workflows();
        assert!(store.claim_due(crate::platform(), "w1", SystemClock.now(), later(60_000), 10).await.unwrap().is_empty());
        acme.is_active = true;
        repo.update(crate::scope(org), &acme, crate::version(&storage, org).await, &crate::entry(None)).await.unwrap();
        assert_eq!(store.claim_due(crate::platform(), "w1", SystemClock.now(), later(60_000), 10).await.unwrap().len(), 2);
    }
}
