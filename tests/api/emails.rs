//! Email delivery over real SMTP and into files, and the emails API.

use std::time::Duration;

use leadflow_storage::testing::Engine;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Session, TestApp};
use crate::mailbox::{Mailbox, Mode};

const APP_URL: &str = "https://app.example.com";

async fn over_smtp(engine: Engine, mailbox: &Mailbox, workers: &str) -> Option<TestApp> {
    TestApp::spawn_with(
        engine,
        &[
            ("LEADFLOW_EMAIL_TRANSPORT", "smtp"),
            ("LEADFLOW_SMTP_URL", &mailbox.url),
            ("LEADFLOW_EMAIL_FROM", "Leadflow <noreply@leadflow.test>"),
            ("LEADFLOW_APP_URL", APP_URL),
            ("LEADFLOW_DELIVERY_WORKERS", "1"),
            ("LEADFLOW_WORKERS", workers),
        ],
    )
    .await
}

/// Polls `GET /emails` until `done` holds for the list (10 s at most).
async fn wait_emails(app: &TestApp, token: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..500 {
        let reply = app.get("/api/v1/emails", token).await.expect(200);
        let items = reply.body["data"].as_array().cloned().unwrap_or_default();
        if done(&items) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the emails never reached the expected state: {}", app.get("/api/v1/emails", token).await.text);
}

/// The text/plain part of a raw message (quoted-printable soft breaks undone).
fn text_part(raw: &str) -> String {
    let start = raw.find("Content-Type: text/plain").expect("a text/plain part");
    let rest = &raw[start..];
    let body = &rest[rest.find("\r\n\r\n").unwrap() + 4..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    body[..end].replace("=\r\n", "").replace("=3D", "=")
}

crate::on_both_engines!(
    an_invitation_arrives_over_smtp_once_with_a_working_link,
    a_transient_refusal_is_retried_later_and_a_permanent_one_fails_and_can_be_resent,
    approved_outreach_is_sent_over_smtp_exactly_once,
    emails_are_readable_only_inside_the_organization_and_with_the_permission,
    approvals_past_the_daily_outreach_cap_answer_402,
);

async fn approvals_past_the_daily_outreach_cap_answer_402(engine: Engine) {
    use leadflow_storage::entities::audit_log;
    use sea_orm::{ActiveModelTrait as _, Set};
    let Some(app) = TestApp::spawn_with(engine, &[("LEADFLOW_WORKERS", "2")]).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    let lead = json!({ "email": "sam@bigcorp.io", "name": "Sam Doe", "company": "BigCorp Inc.", "message": "We want a demo and pricing for 40 seats" });
    let reply = app.post("/api/v1/leads", Some(&owner.access), lead).await.expect(201);
    let workflow = reply.body["workflowId"].as_str().unwrap().to_owned();
    wait_workflow(&app, &owner, &workflow, "awaiting_approval").await;
    // A trialing organization has approved its 20 outreach emails today.
    let org = uuid::Uuid::parse_str(owner.org_id.as_deref().unwrap()).unwrap();
    for _ in 0..20 {
        audit_log::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organization_id: Set(Some(org)),
            actor_type: Set("user".into()),
            actor_id: Set(None),
            actor_email: Set(None),
            action: Set("workflow.approved".into()),
            resource_type: Set("workflow".into()),
            resource_id: Set(None),
            details: Set(json!({})),
            ip: Set(None),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(app.state.storage.connection())
        .await
        .unwrap();
    }
    let refused =
        app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&owner.access), json!({})).await;
    let refused = refused.expect_problem(402, "plan_limit_reached");
    assert!(refused.body["detail"].as_str().unwrap().contains("20"), "{}", refused.text);
    let still = app.get(&format!("/api/v1/workflows/{workflow}"), &owner.access).await.expect(200);
    assert_eq!(still.body["status"], "awaiting_approval");
    // The pro plan allows 1,000 a day.
    app.upgrade(&owner, "pro").await;
    app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&owner.access), json!({}))
        .await
        .expect(200);
}

async fn an_invitation_arrives_over_smtp_once_with_a_working_link(engine: Engine) {
    let mailbox = Mailbox::start(Mode::Accept);
    let Some(app) = over_smtp(engine, &mailbox, "0").await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    app.post("/api/v1/invitations", Some(&owner.access), json!({ "email": "new@acme.io", "role": "member" }))
        .await
        .expect(201);

    let message = &mailbox.wait_for_recipient("new@acme.io").await;
    assert!(message.header("subject").unwrap().contains("acme Inc"), "{}", message.data);
    assert!(message.data.contains("multipart/alternative"));
    assert!(message.data.contains("text/plain") && message.data.contains("text/html"));

    // The link carries the invitation's token, and the token works.
    let text = text_part(&message.data);
    let link_start = text.find(&format!("{APP_URL}/accept-invitation?token=")).expect("the link");
    let token: String = text[link_start..]
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() > 30, "{text}");
    let body =
        json!({ "email": "new@acme.io", "password": PASSWORD, "name": "New", "invitationToken": token });
    app.post("/api/v1/auth/register", None, body).await.expect(201);

    // The outbox shows it sent, with the Message-ID it carried and the token redacted.
    let emails = wait_emails(&app, &owner.access, |e| e.iter().any(|m| m["status"] == "sent")).await;
    let sent = &emails[0];
    assert_eq!(sent["kind"], "invitation");
    let message_id = sent["messageId"].as_str().unwrap();
    assert!(message_id.starts_with(sent["id"].as_str().unwrap()), "{message_id}");
    assert_eq!(message.header("message-id").unwrap(), format!("<{message_id}>"));
    assert!(sent["reply"].as_str().unwrap().starts_with("250"));
    assert!(sent["body"].as_str().unwrap().contains("token=[redacted]"));
    assert!(!sent["body"].as_str().unwrap().contains(&token));

    // Exactly once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mailbox.messages().iter().filter(|m| m.to == ["new@acme.io"]).count(), 1);
}

async fn a_transient_refusal_is_retried_later_and_a_permanent_one_fails_and_can_be_resent(engine: Engine) {
    let mailbox = Mailbox::start(Mode::Transient);
    let Some(app) = over_smtp(engine, &mailbox, "0").await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    app.post("/api/v1/invitations", Some(&owner.access), json!({ "email": "a@acme.io", "role": "member" }))
        .await
        .expect(201);
    // 451: pending again, one attempt made, the next in a minute.
    let emails = wait_emails(&app, &owner.access, |e| e.first().is_some_and(|m| m["attempts"] == 1)).await;
    let email = &emails[0];
    assert_eq!(email["status"], "pending");
    assert!(email["lastError"].as_str().unwrap().contains("451"), "{email}");
    let next: chrono::DateTime<chrono::Utc> = email["nextAttemptAt"].as_str().unwrap().parse().unwrap();
    let wait = next - chrono::Utc::now();
    assert!(wait > chrono::Duration::seconds(45) && wait <= chrono::Duration::seconds(61), "{wait}");
    // Not resendable while it waits.
    let id = email["id"].as_str().unwrap();
    app.post(&format!("/api/v1/emails/{id}/resend"), Some(&owner.access), json!({}))
        .await
        .expect_problem(409, "conflict");

    // 550: failed at once.
    mailbox.set_mode(Mode::Permanent);
    app.post("/api/v1/invitations", Some(&owner.access), json!({ "email": "b@acme.io", "role": "member" }))
        .await
        .expect(201);
    let emails = wait_emails(&app, &owner.access, |e| e.iter().any(|m| m["status"] == "failed")).await;
    let failed = emails.iter().find(|m| m["status"] == "failed").unwrap();
    assert_eq!(failed["recipient"], "b@acme.io");
    assert!(failed["lastError"].as_str().unwrap().contains("550"));

    // Resent by a person: audited, and it goes out once the server accepts.
    mailbox.set_mode(Mode::Accept);
    let id = failed["id"].as_str().unwrap();
    let resent =
        app.post(&format!("/api/v1/emails/{id}/resend"), Some(&owner.access), json!({})).await.expect(200);
    assert_eq!(resent.body["attempts"], 0);
    mailbox.wait_for_recipient("b@acme.io").await;
    let audit = app.get("/api/v1/audit-logs?action=email.resent", &owner.access).await.expect(200);
    assert_eq!(audit.body["data"][0]["resourceId"], id);
}

async fn approved_outreach_is_sent_over_smtp_exactly_once(engine: Engine) {
    let mailbox = Mailbox::start(Mode::Accept);
    let Some(app) = over_smtp(engine, &mailbox, "2").await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    let lead = json!({ "email": "sam@bigcorp.io", "name": "Sam Doe", "company": "BigCorp Inc.", "message": "We want a demo and pricing for 40 seats" });
    let reply = app.post("/api/v1/leads", Some(&owner.access), lead).await.expect(201);
    let workflow = reply.body["workflowId"].as_str().unwrap().to_owned();
    let lead_id = reply.body["lead"]["id"].as_str().unwrap().to_owned();
    wait_workflow(&app, &owner, &workflow, "awaiting_approval").await;
    app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&owner.access), json!({}))
        .await
        .expect(200);
    wait_workflow(&app, &owner, &workflow, "completed").await;

    mailbox.wait_for_recipient("sam@bigcorp.io").await;
    let emails = wait_emails(&app, &owner.access, |e| {
        e.iter().any(|m| m["kind"] == "outreach" && m["status"] == "sent")
    })
    .await;
    let outreach = emails.iter().find(|m| m["kind"] == "outreach").unwrap();
    assert_eq!(outreach["leadId"], lead_id);
    let filtered = app.get("/api/v1/emails?kind=outreach&status=sent", &owner.access).await.expect(200);
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mailbox.messages().iter().filter(|m| m.to == ["sam@bigcorp.io"]).count(), 1);
}

async fn wait_workflow(app: &TestApp, owner: &Session, workflow: &str, status: &str) {
    for _ in 0..500 {
        let reply = app.get(&format!("/api/v1/workflows/{workflow}"), &owner.access).await.expect(200);
        if reply.body["status"] == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("workflow {workflow} never reached {status}");
}

async fn emails_are_readable_only_inside_the_organization_and_with_the_permission(engine: Engine) {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let owner = app.register("owner@acme.io", Some("acme")).await;
    app.post("/api/v1/invitations", Some(&owner.access), json!({ "email": "x@acme.io", "role": "member" }))
        .await
        .expect(201);
    let list = app.get("/api/v1/emails", &owner.access).await.expect(200);
    let email = &list.body["data"][0];
    assert_eq!(email["status"], "pending");
    assert!(email["body"].as_str().unwrap().contains("token=[redacted]"), "{email}");
    let id = email["id"].as_str().unwrap();

    // Another organization's owner: 404 on read and resend, and an empty list.
    app.upgrade(&owner, "pro").await;
    let other = app.register("eve@evil.io", Some("evil")).await;
    app.get(&format!("/api/v1/emails/{id}"), &other.access).await.expect_problem(404, "not_found");
    app.post(&format!("/api/v1/emails/{id}/resend"), Some(&other.access), json!({}))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.get("/api/v1/emails", &other.access).await.expect(200).body["data"], json!([]));

    // A member has neither settings:manage nor leads:view_all: 403.
    let member = app.member(&owner, "mem@acme.io", "member").await;
    app.get("/api/v1/emails", &member.access).await.expect_problem(403, "forbidden");
    app.get(&format!("/api/v1/emails/{id}"), &member.access).await.expect_problem(403, "forbidden");
    // A manager reads outreach only: the invitation is hidden and forbidden.
    let manager = app.member(&owner, "man@acme.io", "manager").await;
    assert_eq!(app.get("/api/v1/emails", &manager.access).await.expect(200).body["data"], json!([]));
    app.get(&format!("/api/v1/emails/{id}"), &manager.access).await.expect_problem(403, "forbidden");
    app.post(&format!("/api/v1/emails/{id}/resend"), Some(&manager.access), json!({}))
        .await
        .expect_problem(403, "forbidden");

    // Bad filters are a clear 400.
    app.get("/api/v1/emails?status=lost", &owner.access).await.expect(400);
    app.get("/api/v1/emails/not-a-uuid", &owner.access).await.expect(400);
}
