//! Webhooks: endpoints, events written with the change, Standard Webhooks
//! signatures checked by the reference implementation, retries, 410, timeouts,
//! the SSRF guard, secret rotation, the delivery log, isolation.

use std::time::Duration;

use leadflow_storage::testing::Engine;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};
use crate::receiver::{Answer, Receiver, verify};

async fn delivering(engine: Engine, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![("LEADFLOW_DELIVERY_WORKERS", "1"), ("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true")];
    env.extend_from_slice(extra);
    TestApp::spawn_with(engine, &env).await
}

async fn endpoint(app: &TestApp, owner: &Session, url: &str, events: &[&str]) -> (String, String) {
    let reply = app
        .post("/api/v1/webhooks", Some(&owner.access), json!({ "url": url, "events": events }))
        .await
        .expect(201);
    (
        reply.body["endpoint"]["id"].as_str().unwrap().to_owned(),
        reply.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, owner: &Session, endpoint: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/webhooks/{endpoint}/deliveries"), &owner.access).await.expect(200).body["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn wait_deliveries(
    app: &TestApp,
    owner: &Session,
    endpoint: &str,
    done: impl Fn(&[Value]) -> bool,
    secs: u64,
) -> Vec<Value> {
    for _ in 0..secs * 50 {
        let items = deliveries(app, owner, endpoint).await;
        if done(&items) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("deliveries never reached the expected state: {:?}", deliveries(app, owner, endpoint).await);
}

crate::on_both_engines!(
    a_lead_event_is_delivered_signed_and_retried_with_the_same_id,
    a_410_disables_the_endpoint_and_a_hang_times_out,
    private_addresses_are_refused_at_connection_time,
    a_rotated_secret_signs_alongside_the_old_one,
    endpoints_are_isolated_and_need_settings_manage,
    bad_endpoints_are_refused_and_change_nothing,
);

async fn a_lead_event_is_delivered_signed_and_retried_with_the_same_id(engine: Engine) {
    let receiver = Receiver::start(&[Answer::Status(500)]).await;
    let Some(app) = delivering(engine, &[]).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    let (id, secret) = endpoint(&app, &owner, &receiver.url, &["lead.created", "member.role_changed"]).await;
    let lead = app
        .post(
            "/api/v1/leads",
            Some(&owner.access),
            json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "hello" }),
        )
        .await
        .expect(201);
    let lead_id = lead.body["lead"]["id"].as_str().unwrap();

    // 500 first, then (5 s later, by the schedule) 200: two requests, one webhook-id.
    let hits = receiver.wait_for(2, 20).await;
    assert_eq!(hits[0].id, hits[1].id);
    assert!(hits[0].id.starts_with("msg_"));
    for hit in &hits {
        verify(&secret, hit).unwrap();
    }
    assert!(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &hits[0]).is_err());
    let body: Value = serde_json::from_str(&hits[1].body).unwrap();
    assert_eq!(body["type"], "lead.created");
    assert_eq!(body["data"]["id"], lead_id);
    assert_eq!(body["data"]["organizationId"], owner.org_id.clone().unwrap());

    // The log: succeeded after two attempts, each with its status and latency.
    let items =
        wait_deliveries(&app, &owner, &id, |d| d.first().is_some_and(|d| d["status"] == "succeeded"), 5)
            .await;
    assert_eq!(items.len(), 1);
    let log = items[0]["log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["statusCode"], 500);
    assert_eq!(log[1]["statusCode"], 200);
    assert_eq!(items[0]["webhookId"], hits[0].id.as_str());
    let endpoint = app.get(&format!("/api/v1/webhooks/{id}"), &owner.access).await.expect(200);
    assert_eq!(endpoint.body["failingSince"], Value::Null);

    // Not subscribed: no delivery. A test event goes to this endpoint only.
    app.patch(
        &format!("/api/v1/organizations/{}", owner.org_id.clone().unwrap()),
        &owner.access,
        json!({ "displayName": "Acme 2" }),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/webhooks/{id}/test"), Some(&owner.access), json!({})).await.expect(202);
    let hits = receiver.wait_for(3, 5).await;
    let test: Value = serde_json::from_str(&hits[2].body).unwrap();
    assert_eq!(test["type"], "webhook.test");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 3);

    // A manual retry of a succeeded delivery is a conflict; of an unknown one, 404-ish conflict.
    let delivery = items[0]["id"].as_str().unwrap();
    app.post(&format!("/api/v1/webhooks/{id}/deliveries/{delivery}/retry"), Some(&owner.access), json!({}))
        .await
        .expect_problem(409, "conflict");
}

async fn a_410_disables_the_endpoint_and_a_hang_times_out(engine: Engine) {
    let gone = Receiver::start(&[Answer::Status(410)]).await;
    let hanging = Receiver::start(&[Answer::Hang]).await;
    let Some(app) = delivering(engine, &[("LEADFLOW_WEBHOOK_TIMEOUT_SECS", "1")]).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    let (gone_id, _) = endpoint(&app, &owner, &gone.url, &["lead.created"]).await;
    let (hang_id, _) = endpoint(&app, &owner, &hanging.url, &["lead.created"]).await;
    app.post(
        "/api/v1/leads",
        Some(&owner.access),
        json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "hi" }),
    )
    .await
    .expect(201);

    let items =
        wait_deliveries(&app, &owner, &gone_id, |d| d.first().is_some_and(|d| d["status"] == "failed"), 10)
            .await;
    assert_eq!(items[0]["lastStatusCode"], 410);
    let disabled = app.get(&format!("/api/v1/webhooks/{gone_id}"), &owner.access).await.expect(200);
    assert_eq!(disabled.body["enabled"], false);
    assert_eq!(disabled.body["disabledReason"], "gone");
    // The owner is told (the email waits in the outbox: this server sends none).
    let notices = app.get("/api/v1/emails?kind=webhook_disabled", &owner.access).await.expect(200);
    assert_eq!(notices.body["data"].as_array().unwrap().len(), 1, "{}", notices.text);
    assert_eq!(notices.body["data"][0]["recipient"], "owner@acme.io");
    let items =
        wait_deliveries(&app, &owner, &hang_id, |d| d.iter().any(|d| d["lastError"].is_string()), 10).await;
    let timed_out = items.iter().find(|d| d["lastError"].is_string()).unwrap();
    assert_eq!(timed_out["status"], "pending");
    assert!(timed_out["lastError"].as_str().unwrap().contains("timed out"), "{timed_out}");
    assert_eq!(timed_out["log"][0]["statusCode"], Value::Null);
    let failing = app.get(&format!("/api/v1/webhooks/{hang_id}"), &owner.access).await.expect(200);
    assert!(failing.body["failingSince"].is_string());

    // Disabled: the next event is not delivered to it.
    app.post(
        "/api/v1/leads",
        Some(&owner.access),
        json!({ "email": "kim@bigcorp.io", "name": "Kim", "message": "hi" }),
    )
    .await
    .expect(201);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gone.hits().len(), 1);
    // Enabled again by a person: the reason is cleared.
    let enabled = app
        .patch(&format!("/api/v1/webhooks/{gone_id}"), &owner.access, json!({ "enabled": true }))
        .await
        .expect(200);
    assert_eq!(enabled.body["disabledReason"], Value::Null);
}

async fn private_addresses_are_refused_at_connection_time(engine: Engine) {
    let receiver = Receiver::start(&[]).await;
    let Some(app) = TestApp::spawn_with(engine, &[("LEADFLOW_DELIVERY_WORKERS", "1")]).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    // Plain http is refused outright.
    app.post(
        "/api/v1/webhooks",
        Some(&owner.access),
        json!({ "url": receiver.url, "events": ["lead.created"] }),
    )
    .await
    .expect_problem(400, "validation_failed");
    // An address literal and names that resolve to loopback pass the URL check, and are refused when connecting.
    let port = receiver.url.rsplit(':').next().unwrap().trim_end_matches("/hooks").to_owned();
    for url in [
        format!("https://127.0.0.1:{port}/hooks"),
        format!("https://localhost:{port}/hooks"),
        "https://169.254.169.254/latest".to_owned(),
        "https://10.0.0.1/x".to_owned(),
    ] {
        let (id, _) = endpoint(&app, &owner, &url, &["lead.created"]).await;
        app.post(&format!("/api/v1/webhooks/{id}/test"), Some(&owner.access), json!({})).await.expect(202);
        let items =
            wait_deliveries(&app, &owner, &id, |d| d.first().is_some_and(|d| d["attempts"] == 1), 10).await;
        let error = items[0]["lastError"].as_str().unwrap();
        assert!(error.contains("refused"), "{url}: {error}");
    }
    assert!(receiver.hits().is_empty());
}

async fn a_rotated_secret_signs_alongside_the_old_one(engine: Engine) {
    let receiver = Receiver::start(&[]).await;
    let Some(app) = delivering(engine, &[]).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    let (id, old) = endpoint(&app, &owner, &receiver.url, &["lead.created"]).await;
    let rotated = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), Some(&owner.access), json!({}))
        .await
        .expect(200);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    app.post(&format!("/api/v1/webhooks/{id}/test"), Some(&owner.access), json!({})).await.expect(202);
    let hits = receiver.wait_for(1, 10).await;
    assert_eq!(hits[0].signature.split(' ').count(), 2, "{}", hits[0].signature);
    verify(&new, &hits[0]).unwrap();
    verify(&old, &hits[0]).unwrap();
    let audit = app.get("/api/v1/audit-logs?action=webhook.secret_rotated", &owner.access).await.expect(200);
    assert_eq!(audit.body["data"][0]["resourceId"], id);
    assert!(!audit.text.contains(&new) && !audit.text.contains(&old));
}

async fn endpoints_are_isolated_and_need_settings_manage(engine: Engine) {
    let Some(app) = delivering(engine, &[]).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    let (id, secret) = endpoint(&app, &owner, "https://hooks.example.com/in", &["lead.created"]).await;
    let listed = app.get("/api/v1/webhooks", &owner.access).await.expect(200);
    assert_eq!(listed.body[0]["id"], id.as_str());
    assert!(!listed.text.contains(&secret), "the secret is shown once");

    let other = app.register("eve@evil.io", Some("evil")).await;
    for (method, path) in [
        ("GET", format!("/api/v1/webhooks/{id}")),
        ("PATCH", format!("/api/v1/webhooks/{id}")),
        ("DELETE", format!("/api/v1/webhooks/{id}")),
        ("POST", format!("/api/v1/webhooks/{id}/rotate-secret")),
        ("POST", format!("/api/v1/webhooks/{id}/test")),
        ("GET", format!("/api/v1/webhooks/{id}/deliveries")),
        ("POST", format!("/api/v1/webhooks/{id}/deliveries/{}/retry", uuid::Uuid::now_v7())),
    ] {
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        app.call(method.parse().unwrap(), &path, Some(&other.access), body)
            .await
            .expect_problem(404, "not_found");
    }
    assert_eq!(app.get("/api/v1/webhooks", &other.access).await.expect(200).body, json!([]));

    let manager = app.member(&owner, "man@acme.io", "manager").await;
    app.get("/api/v1/webhooks", &manager.access).await.expect_problem(403, "forbidden");
    app.get(&format!("/api/v1/webhooks/{id}"), &manager.access).await.expect_problem(403, "forbidden");
    app.post(
        "/api/v1/webhooks",
        Some(&manager.access),
        json!({ "url": "https://x.example.com", "events": ["lead.created"] }),
    )
    .await
    .expect_problem(403, "forbidden");
    app.delete(&format!("/api/v1/webhooks/{id}"), &manager.access).await.expect_problem(403, "forbidden");

    app.delete(&format!("/api/v1/webhooks/{id}"), &owner.access).await.expect(204);
    app.get(&format!("/api/v1/webhooks/{id}"), &owner.access).await.expect_problem(404, "not_found");
}

async fn bad_endpoints_are_refused_and_change_nothing(engine: Engine) {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    for body in [
        json!({ "url": "https://hooks.example.com", "events": ["lead.exploded"] }),
        json!({ "url": "ftp://hooks.example.com", "events": ["lead.created"] }),
        json!({ "url": "https://user:pw@hooks.example.com", "events": ["lead.created"] }),
        json!({ "url": "https://hooks.example.com", "events": [] }),
        json!({ "url": "https://hooks.example.com", "events": ["lead.created", "lead.created"] }),
    ] {
        app.post("/api/v1/webhooks", Some(&owner.access), body).await.expect(400);
    }
    assert_eq!(app.get("/api/v1/webhooks", &owner.access).await.expect(200).body, json!([]));
    let types = app.get("/api/v1/webhooks/event-types", &owner.access).await.expect(200);
    assert!(types.body["data"].as_array().unwrap().iter().any(|t| t == "workflow.approval_requested"));
}

mod approvals_reach_the_approvers_by_email_and_slack {
    use super::*;
    use crate::mailbox::{Mailbox, Mode};

    async fn run(engine: Engine) {
        let mailbox = Mailbox::start(Mode::Accept);
        let slack = Receiver::start(&[]).await;
        let hooks = Receiver::start(&[]).await;
        let Some(app) = delivering(
            engine,
            &[
                ("LEADFLOW_WORKERS", "2"),
                ("LEADFLOW_EMAIL_TRANSPORT", "smtp"),
                ("LEADFLOW_SMTP_URL", &mailbox.url),
                ("LEADFLOW_APP_URL", "https://app.example.com"),
            ],
        )
        .await
        else {
            return;
        };
        let owner = app.register("owner@acme.io", Some("acme")).await;
        let org = owner.org_id.clone().unwrap();
        app.upgrade(&owner, "pro").await;
        app.member(&owner, "manager@acme.io", "manager").await;
        app.member(&owner, "member@acme.io", "member").await;
        app.patch(
            &format!("/api/v1/organizations/{org}"),
            &owner.access,
            json!({ "settings": { "notifications": { "slackWebhookUrl": slack.url } } }),
        )
        .await
        .expect(200);
        let (_, secret) =
            endpoint(&app, &owner, &hooks.url, &["workflow.approval_requested", "workflow.completed"]).await;

        let lead = json!({ "email": "sam@bigcorp.io", "name": "Sam Doe", "company": "BigCorp Inc.", "message": "We want a demo and pricing for 40 seats" });
        let reply = app.post("/api/v1/leads", Some(&owner.access), lead).await.expect(201);
        let workflow = reply.body["workflowId"].as_str().unwrap().to_owned();
        let lead_id = reply.body["lead"]["id"].as_str().unwrap().to_owned();

        // Every approver (owner, manager) is emailed, the member is not.
        let approval = |to: &'static str| {
            move |m: &crate::mailbox::Received| {
                m.to == [to] && m.header("subject").is_some_and(|s| s.contains("Approve"))
            }
        };
        let to_owner = mailbox.wait_until(approval("owner@acme.io")).await;
        let to_manager = mailbox.wait_until(approval("manager@acme.io")).await;
        for message in [&to_owner, &to_manager] {
            assert!(message.header("subject").unwrap().contains("Sam Doe"), "{}", message.data);
            assert!(
                message
                    .data
                    .replace("=\r\n", "")
                    .contains(&format!("https://app.example.com/leads/{lead_id}"))
            );
        }
        // Slack gets a Block Kit message with the link; the endpoint gets the event, signed.
        let posted = slack.wait_for(1, 10).await;
        let message: Value = serde_json::from_str(&posted[0].body).unwrap();
        assert_eq!(
            message["blocks"][3]["elements"][0]["url"],
            format!("https://app.example.com/leads/{lead_id}")
        );
        assert!(posted[0].signature.is_empty(), "Slack messages are not signed");
        let event = hooks.wait_for(1, 10).await;
        verify(&secret, &event[0]).unwrap();
        let body: Value = serde_json::from_str(&event[0].body).unwrap();
        assert_eq!(body["type"], "workflow.approval_requested");
        assert_eq!(body["data"]["workflowId"], workflow.as_str());

        app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&owner.access), json!({}))
            .await
            .expect(200);
        let events = hooks.wait_for(2, 10).await;
        let done: Value = serde_json::from_str(&events[1].body).unwrap();
        assert_eq!(done["type"], "workflow.completed");
        assert_eq!(done["data"]["status"], "completed");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!mailbox.messages().iter().any(approval("member@acme.io")));
    }

    #[tokio::test]
    async fn sqlite() {
        run(Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(Engine::Postgres).await;
    }
}
