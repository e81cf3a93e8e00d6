//! Contract of the delivery adapters: the email outbox (leases, outcomes
//! fenced by the lease, at most once for outreach), webhook endpoints, events
//! published with the audited change, and the webhook outbox.

use chrono::{Duration, Utc};
use leadflow_delivery::email::{EmailFilter, EmailOutcome};
use leadflow_delivery::ports::{EmailOutbox, WebhookOutbox, WebhookRepository};
use leadflow_delivery::webhooks::DeliveryOutcome;
use leadflow_delivery::{
    DeliveryAttempt, DeliveryStatus, EmailId, EmailKind, EmailStatus, WebhookEndpoint, WebhookEndpointId,
};
use leadflow_kernel::{KeysetPage, OrganizationId};
use leadflow_organizations::OrganizationRepository as _;
use leadflow_storage::Storage;
use leadflow_storage::entities::email_outbox;
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use serde_json::json;

use crate::auth::a_user;
use crate::contract_tests;
use crate::organizations::an_org;

async fn org(storage: &Storage, name: &str) -> OrganizationId {
    let owner = a_user(storage, &format!("owner@{name}.io")).await;
    let org = an_org(name);
    storage.organizations().create(&org, Some(owner.id), None, &crate::entry(None)).await.unwrap();
    org.id
}

/// Queues a message of `kind` directly (the contexts queue through their own adapters).
async fn queued(
    storage: &Storage,
    org: OrganizationId,
    kind: EmailKind,
    at: chrono::DateTime<Utc>,
) -> EmailId {
    let id = EmailId::new();
    email_outbox::ActiveModel {
        id: Set(id.as_uuid()),
        organization_id: Set(Some(org.as_uuid())),
        kind: Set(kind.as_str().into()),
        recipient: Set("sam@bigcorp.io".into()),
        subject: Set("s".into()),
        body: Set("b".into()),
        status: Set("pending".into()),
        created_at: Set(at),
        sent_at: Set(None),
        workflow_id: Set(None),
        secrets: Set(Some(json!({"token": "t0k"}))),
        invitation_id: Set(None),
        data: Set(Some(json!({"subject": "s", "body": "b"}))),
        attempts: Set(0),
        next_attempt_at: Set(Some(at)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        message_id: Set(None),
        last_error: Set(None),
        reply: Set(None),
    }
    .insert(storage.connection())
    .await
    .unwrap();
    id
}

/// An enabled endpoint of `org` subscribed to `events`.
pub async fn an_endpoint(storage: &Storage, org: OrganizationId, events: &[&str]) -> WebhookEndpointId {
    let now = Utc::now();
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::new(),
        organization_id: org,
        url: "https://hooks.example.com/in".into(),
        description: None,
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    storage
        .delivery()
        .create(
            crate::scope(org),
            &endpoint,
            &leadflow_delivery::webhooks::new_secret(),
            &crate::entry(Some(org)),
        )
        .await
        .unwrap();
    endpoint.id
}

fn page() -> KeysetPage {
    KeysetPage { limit: 50, after: None }
}

fn audited(org: OrganizationId, action: &str) -> leadflow_kernel::AuditEntry {
    leadflow_kernel::AuditEntry::new(
        &leadflow_kernel::Actor::system(),
        Some(org),
        action,
        "lead",
        "L1",
        Utc::now(),
    )
    .with_details(json!({"source": "test"}))
}

contract_tests! {
    async fn due_emails_are_leased_once_and_outcomes_are_fenced_by_the_lease(storage: Storage) {
        let org = org(&storage, "acme").await;
        let delivery = storage.delivery();
        let outbox: &dyn EmailOutbox = &delivery;
        let now = Utc::now();
        let a = queued(&storage, org, EmailKind::Invitation, now - Duration::seconds(2)).await;
        let later = queued(&storage, org, EmailKind::Invitation, now + Duration::hours(1)).await;

        let claimed = outbox.claim_due(crate::platform(), "w1", now, now + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.iter().map(|c| c.email.id).collect::<Vec<_>>(), [a]);
        assert_eq!(claimed[0].secrets, Some(json!({"token": "t0k"})));
        assert!(outbox.claim_due(crate::platform(), "w2", now, now + Duration::seconds(60), 10).await.unwrap().is_empty());

        let sent = EmailOutcome::Sent { reply: "250 OK".into(), message_id: "m@x".into(), body: "redacted".into() };
        assert!(!outbox.record(crate::platform(), a, "w2", &sent, now).await.unwrap(), "another worker's outcome is refused");
        assert!(outbox.record(crate::platform(), a, "w1", &sent, now).await.unwrap());
        let row = email_outbox::Entity::find_by_id(a.as_uuid()).one(storage.connection()).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.attempts, row.secrets), ("sent", 1, None));
        assert_eq!(row.message_id.as_deref(), Some("m@x"));
        assert!(!outbox.record(crate::platform(), a, "w1", &sent, now).await.unwrap(), "recorded once");

        let email = outbox.get(crate::scope(org), later).await.unwrap().unwrap();
        assert_eq!(email.status, EmailStatus::Pending);
        assert!(outbox.get(crate::scope(OrganizationId::new()), later).await.unwrap().is_none());
    }

    async fn an_interrupted_outreach_becomes_unknown_and_interrupted_mail_is_sent_again(storage: Storage) {
        let org = org(&storage, "acme").await;
        let delivery = storage.delivery();
        let outbox: &dyn EmailOutbox = &delivery;
        let now = Utc::now();
        let outreach = queued(&storage, org, EmailKind::Outreach, now - Duration::seconds(5)).await;
        let invitation = queued(&storage, org, EmailKind::Invitation, now - Duration::seconds(5)).await;
        // A worker leases both and dies (its lease runs out).
        let claimed = outbox.claim_due(crate::platform(), "dead", now, now + Duration::seconds(1), 10).await.unwrap();
        assert_eq!(claimed.len(), 2);

        let after = now + Duration::seconds(2);
        let again = outbox.claim_due(crate::platform(), "w2", after, after + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(again.iter().map(|c| c.email.id).collect::<Vec<_>>(), [invitation]);
        let lost = outbox.get(crate::scope(org), outreach).await.unwrap().unwrap();
        assert_eq!(lost.status, EmailStatus::Unknown);
        assert!(lost.last_error.unwrap().contains("may or may not"));

        // Resent by a person: due again with a fresh count, audited.
        assert!(outbox.resend(crate::scope(org), outreach, after, &crate::entry(Some(org))).await.unwrap());
        assert!(!outbox.resend(crate::scope(org), outreach, after, &crate::entry(Some(org))).await.unwrap(), "pending is not resendable");
        let due = outbox.claim_due(crate::platform(), "w3", after, after + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(due.iter().map(|c| c.email.id).collect::<Vec<_>>(), [outreach]);
        assert_eq!(due[0].email.attempts, 0);

        // A retry waits for its time; release gives transactional mail back, not outreach.
        let retry = EmailOutcome::Retry { error: "451".into(), at: after + Duration::minutes(1) };
        assert!(outbox.record(crate::platform(), invitation, "w2", &retry, after).await.unwrap());
        assert!(outbox.claim_due(crate::platform(), "w4", after, after + Duration::seconds(60), 10).await.unwrap().is_empty());
        outbox.release(crate::platform(), "w3").await.unwrap();
        assert_eq!(outbox.get(crate::scope(org), outreach).await.unwrap().unwrap().status, EmailStatus::Sending);
    }

    async fn the_email_list_filters_and_stays_in_its_organization(storage: Storage) {
        let (acme, globex) = (org(&storage, "acme").await, org(&storage, "globex").await);
        let delivery = storage.delivery();
        let outbox: &dyn EmailOutbox = &delivery;
        let now = Utc::now();
        queued(&storage, acme, EmailKind::Invitation, now).await;
        queued(&storage, acme, EmailKind::Outreach, now).await;
        queued(&storage, globex, EmailKind::Outreach, now).await;
        let all = outbox.page(crate::scope(acme), &EmailFilter::default(), page()).await.unwrap();
        assert_eq!(all.items.len(), 2);
        let outreach = outbox.page(crate::scope(acme), &EmailFilter { outreach_only: true, ..Default::default() }, page()).await.unwrap();
        assert_eq!(outreach.items.len(), 1);
        let invitations = outbox.page(crate::scope(acme), &EmailFilter { kind: Some(EmailKind::Invitation), status: Some(EmailStatus::Pending), ..Default::default() }, page()).await.unwrap();
        assert_eq!(invitations.items[0].kind, EmailKind::Invitation);
        let sent = outbox.page(crate::scope(acme), &EmailFilter { status: Some(EmailStatus::Sent), ..Default::default() }, page()).await.unwrap();
        assert!(sent.items.is_empty());
    }

    async fn audited_changes_publish_events_to_subscribed_enabled_endpoints_only(storage: Storage) {
        let (acme, globex) = (org(&storage, "acme").await, org(&storage, "globex").await);
        let leads = an_endpoint(&storage, acme, &["lead.created"]).await;
        let members = an_endpoint(&storage, acme, &["member.removed"]).await;
        let other = an_endpoint(&storage, globex, &["lead.created"]).await;
        let delivery = storage.delivery();
        let store: &dyn WebhookRepository = &delivery;
                use leadflow_auth::ports::AuditRecorder as _;
        storage.audit_log().record(&audited(acme, "lead.created")).await.unwrap();
        storage.audit_log().record(&audited(acme, "member.left")).await.unwrap();
        storage.audit_log().record(&audited(acme, "team.created")).await.unwrap();

        let to_leads = store.deliveries(crate::scope(acme), leads, None, page()).await.unwrap().items;
        assert_eq!(to_leads.len(), 1);
        assert_eq!(to_leads[0].payload["type"], "lead.created");
        assert_eq!(to_leads[0].payload["data"]["id"], "L1");
        assert_eq!(to_leads[0].payload["data"]["details"]["source"], "test");
        let to_members = store.deliveries(crate::scope(acme), members, None, page()).await.unwrap().items;
        assert_eq!(to_members[0].event_type, "member.removed");
        assert!(store.deliveries(crate::scope(globex), other, None, page()).await.unwrap().items.is_empty());
        // Another organization cannot read this endpoint's log.
        assert!(store.deliveries(crate::scope(globex), leads, None, page()).await.unwrap().items.is_empty());

        // Disabled: nothing more is queued for it.
        let mut endpoint = store.get(crate::scope(acme), leads).await.unwrap().unwrap();
        endpoint.enabled = false;
        assert!(store.update(crate::scope(acme), &endpoint, &crate::entry(Some(acme))).await.unwrap());
        storage.audit_log().record(&audited(acme, "lead.created")).await.unwrap();
        assert_eq!(store.deliveries(crate::scope(acme), leads, None, page()).await.unwrap().items.len(), 1);
        assert!(!store.update(crate::scope(globex), &endpoint, &crate::entry(Some(globex))).await.unwrap());
        assert!(!store.delete(crate::scope(globex), leads, &crate::entry(Some(globex))).await.unwrap());
        assert!(store.delete(crate::scope(acme), leads, &crate::entry(Some(acme))).await.unwrap());
        assert!(store.get(crate::scope(acme), leads).await.unwrap().is_none());
        assert_eq!(store.list(crate::scope(acme)).await.unwrap().len(), 1);
    }

    async fn webhook_deliveries_are_leased_once_and_their_outcome_moves_the_endpoint(storage: Storage) {
        let org = org(&storage, "acme").await;
        let id = an_endpoint(&storage, org, &["lead.created"]).await;
        let delivery = storage.delivery();
        let store: &dyn WebhookRepository = &delivery;
        let queue: &dyn WebhookOutbox = &delivery;
        let now = Utc::now();
        let first = store.enqueue(crate::scope(org), id, "webhook.test", json!({"n": 1}), now).await.unwrap();
        assert!(store.rotate_secret(crate::scope(org), id, &leadflow_delivery::webhooks::new_secret(), now + Duration::hours(24), &crate::entry(Some(org))).await.unwrap());

        let claimed = queue.claim_due(crate::platform(), "w1", now, now + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].1.secrets.len(), 2, "both secrets sign during a rotation");
        assert!(queue.claim_due(crate::platform(), "w2", now, now + Duration::seconds(60), 10).await.unwrap().is_empty());

        let failed = DeliveryAttempt { at: now, status_code: Some(500), latency_ms: 12, error: Some("500".into()) };
        let retry = DeliveryOutcome::Retry { at: now + Duration::seconds(5) };
        assert!(!queue.record(crate::platform(), &first, "w2", &failed, &retry).await.unwrap());
        assert!(queue.record(crate::platform(), &first, "w1", &failed, &retry).await.unwrap());
        assert!(store.get(crate::scope(org), id).await.unwrap().unwrap().failing_since.is_some());
        assert!(queue.claim_due(crate::platform(), "w1", now, now + Duration::seconds(60), 10).await.unwrap().is_empty());

        let at = now + Duration::seconds(6);
        let claimed = queue.claim_due(crate::platform(), "w1", at, at + Duration::seconds(60), 10).await.unwrap();
        let ok = DeliveryAttempt { at, status_code: Some(200), latency_ms: 3, error: None };
        assert!(queue.record(crate::platform(), &claimed[0].0, "w1", &ok, &DeliveryOutcome::Succeeded).await.unwrap());
        let log = store.deliveries(crate::scope(org), id, Some(DeliveryStatus::Succeeded), page()).await.unwrap().items;
        assert_eq!(log[0].attempts, 2);
        assert_eq!(log[0].log.iter().map(|a| a.status_code).collect::<Vec<_>>(), [Some(500), Some(200)]);
        assert!(store.get(crate::scope(org), id).await.unwrap().unwrap().failing_since.is_none());
        assert!(!store.retry_delivery(crate::scope(org), id, first.id, at, &crate::entry(Some(org))).await.unwrap(), "succeeded");

        // 410: failed, and the endpoint disabled as gone; a manual retry queues it again.
        let second = store.enqueue(crate::scope(org), id, "webhook.test", json!({"n": 2}), at).await.unwrap();
        let claimed = queue.claim_due(crate::platform(), "w1", at, at + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed[0].0.id, second.id);
        let gone = DeliveryAttempt { at, status_code: Some(410), latency_ms: 3, error: None };
        assert!(queue.record(crate::platform(), &second, "w1", &gone, &DeliveryOutcome::Gone).await.unwrap());
        let endpoint = store.get(crate::scope(org), id).await.unwrap().unwrap();
        assert!(!endpoint.enabled);
        assert_eq!(endpoint.disabled_reason.as_deref(), Some("gone"));
        // The admins (here: the owner) are told, once.
        let notices: Vec<_> = email_outbox::Entity::find().all(storage.connection()).await.unwrap().into_iter().filter(|e| e.kind == "webhook_disabled").collect();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].recipient, "owner@acme.io");
        assert!(notices[0].body.contains("https://hooks.example.com/in"), "{}", notices[0].body);
        assert!(store.retry_delivery(crate::scope(org), id, second.id, at, &crate::entry(Some(org))).await.unwrap());
        let again = queue.claim_due(crate::platform(), "w1", at, at + Duration::seconds(60), 10).await.unwrap();
        assert!(!again[0].1.enabled, "the worker learns the endpoint is disabled");
        queue.release(crate::platform(), "w1").await.unwrap();
        assert_eq!(queue.claim_due(crate::platform(), "w9", at, at + Duration::seconds(60), 10).await.unwrap().len(), 1);
    }
}
