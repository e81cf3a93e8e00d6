//! Lead workflows: qualification, approval, email, failures, retries, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use leadflow_server::state::StepOverrides;
use leadflow_storage::testing::Engine;
use leadflow_workflows::LeadSnapshot;
use leadflow_workflows::builtin::RuleResearcher;
use leadflow_workflows::ports::{Produced, Researcher, StepError};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};

const WORKERS: [(&str, &str); 1] = [("LEADFLOW_WORKERS", "2")];

pub(crate) fn qualified_lead() -> Value {
    json!({ "email": "sam@bigcorp.io", "name": "Sam Doe", "company": "BigCorp Inc.", "message": "We want a demo and pricing for 40 seats", "source": "website" })
}

fn unqualified_lead() -> Value {
    json!({ "email": "someone@gmail.com", "name": "Someone", "message": "hello" })
}

pub(crate) async fn submit(app: &TestApp, owner: &Session, body: Value) -> (String, String) {
    let reply = app.post("/api/v1/leads", Some(&owner.access), body).await.expect(201);
    (
        reply.body["lead"]["id"].as_str().unwrap().to_owned(),
        reply.body["workflowId"].as_str().unwrap().to_owned(),
    )
}

/// Polls the workflow until `done` holds (10 s at most).
pub(crate) async fn wait_for(
    app: &TestApp,
    token: &str,
    workflow: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..500 {
        let reply = app.get(&format!("/api/v1/workflows/{workflow}"), token).await.expect(200);
        if done(&reply.body) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("workflow {workflow} never reached the expected state");
}

pub(crate) fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |w| w["status"] == status
}

async fn outbox_emails(app: &TestApp, workflow: &str) -> Vec<(String, String)> {
    use leadflow_storage::entities::email_outbox;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    email_outbox::Entity::find()
        .filter(email_outbox::Column::WorkflowId.eq(uuid::Uuid::parse_str(workflow).unwrap()))
        .all(app.state.storage.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.subject, e.body))
        .collect()
}

async fn with_workers(engine: Engine) -> Option<TestApp> {
    TestApp::spawn_with(engine, &WORKERS).await
}

crate::on_both_engines!(
    a_qualified_lead_is_approved_emailed_once_and_completed,
    an_approval_may_keep_the_draft,
    a_rejected_lead_gets_no_email,
    an_unqualified_lead_completes_after_qualify,
    a_pending_workflow_is_cancelled_once,
    a_step_failing_twice_then_succeeding_is_retried_with_backoff,
    a_step_failing_for_good_fails_the_workflow_until_retried,
    another_organizations_workflows_are_not_found,
    only_approvers_decide_and_only_managers_cancel,
    a_subject_with_a_line_break_is_refused_and_changes_nothing,
    an_internal_step_failure_shows_tenants_a_category_and_logs_the_chain,
    a_deactivated_organizations_workflows_wait_until_it_is_reactivated,
);

async fn a_qualified_lead_is_approved_emailed_once_and_completed(engine: Engine) {
    let Some(app) = with_workers(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (lead, workflow) = submit(&app, &ada, qualified_lead()).await;

    let waiting = wait_for(&app, &ada.access, &workflow, status_is("awaiting_approval")).await;
    assert_eq!(waiting["currentStep"], "await_approval");
    assert_eq!(waiting["qualification"]["category"], "qualified");
    assert_eq!(waiting["research"]["company"], "BigCorp");
    assert_eq!(waiting["emailDraft"]["to"], "sam@bigcorp.io");
    let inbox = app.get("/api/v1/workflows?status=awaiting_approval", &ada.access).await.expect(200);
    assert_eq!(inbox.body["data"][0]["id"].as_str(), Some(workflow.as_str()));
    let qualified = app.get(&format!("/api/v1/leads/{lead}"), &ada.access).await.expect(200);
    assert_eq!(qualified.body["qualification"]["category"], "qualified");
    assert!(outbox_emails(&app, &workflow).await.is_empty(), "nothing is sent before approval");

    let approved = app
        .post(
            &format!("/api/v1/workflows/{workflow}/approve"),
            Some(&ada.access),
            json!({ "note": "go", "email": { "subject": "Edited subject", "body": "Edited body" } }),
        )
        .await
        .expect(200);
    assert_eq!(approved.body["decision"]["approved"], true);
    assert_eq!(approved.body["decision"]["note"], "go");
    // camelCase like every other wire name.
    assert!(
        approved.body["decision"]["byEmail"].is_string()
            && approved.body["decision"].get("by_email").is_none()
    );
    let done = wait_for(&app, &ada.access, &workflow, status_is("completed")).await;
    let steps: Vec<&str> =
        done["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["research", "qualify", "draft_email", "await_approval", "send_email"]);
    assert!(done["steps"].as_array().unwrap().iter().all(|s| s["status"] == "succeeded"));
    assert!(done["completedAt"].is_string());

    assert_eq!(
        outbox_emails(&app, &workflow).await,
        [("Edited subject".to_owned(), "Edited body".to_owned())]
    );
    assert_eq!(app.get(&format!("/api/v1/leads/{lead}"), &ada.access).await.body["status"], "approved");
    app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&ada.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(outbox_emails(&app, &workflow).await.len(), 1, "approving twice changes nothing");
    let log = app.get("/api/v1/audit-logs?action=workflow.approved", &ada.access).await.expect(200);
    assert_eq!(log.body["data"].as_array().unwrap().len(), 1);
}

async fn an_approval_may_keep_the_draft(engine: Engine) {
    let Some(app) = with_workers(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, qualified_lead()).await;
    let waiting = wait_for(&app, &ada.access, &workflow, status_is("awaiting_approval")).await;
    app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&ada.access), json!({}))
        .await
        .expect(200);
    wait_for(&app, &ada.access, &workflow, status_is("completed")).await;
    let sent = outbox_emails(&app, &workflow).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, waiting["emailDraft"]["subject"].as_str().unwrap());
}

async fn a_rejected_lead_gets_no_email(engine: Engine) {
    let Some(app) = with_workers(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (lead, workflow) = submit(&app, &ada, qualified_lead()).await;
    wait_for(&app, &ada.access, &workflow, status_is("awaiting_approval")).await;
    let rejected = app
        .post(
            &format!("/api/v1/workflows/{workflow}/reject"),
            Some(&ada.access),
            json!({ "note": "not now" }),
        )
        .await
        .expect(200);
    assert_eq!(rejected.body["status"], "completed");
    assert_eq!(rejected.body["decision"]["approved"], false);
    app.post(&format!("/api/v1/workflows/{workflow}/reject"), Some(&ada.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(outbox_emails(&app, &workflow).await.is_empty());
    assert_eq!(app.get(&format!("/api/v1/leads/{lead}"), &ada.access).await.body["status"], "rejected");
}

async fn an_unqualified_lead_completes_after_qualify(engine: Engine) {
    let Some(app) = with_workers(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (lead, workflow) = submit(&app, &ada, unqualified_lead()).await;
    let done = wait_for(&app, &ada.access, &workflow, status_is("completed")).await;
    assert_eq!(done["steps"].as_array().unwrap().len(), 2);
    assert_eq!(done["qualification"]["category"], "unqualified");
    assert!(done["emailDraft"].is_null());
    let lead = app.get(&format!("/api/v1/leads/{lead}"), &ada.access).await.expect(200);
    assert_eq!(lead.body["qualification"]["category"], "unqualified");
    assert_eq!(lead.body["status"], "pending");
    let stats = app
        .get(&format!("/api/v1/organizations/{}/stats", ada.org_id.as_ref().unwrap()), &ada.access)
        .await
        .expect(200);
    assert_eq!(stats.body["stats"]["workflowsByStatus"], json!({ "completed": 1 }));
}

async fn a_pending_workflow_is_cancelled_once(engine: Engine) {
    // No workers: the workflow stays pending.
    let Some(app) = TestApp::spawn(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, qualified_lead()).await;
    let pending = app.get(&format!("/api/v1/workflows/{workflow}"), &ada.access).await.expect(200);
    assert_eq!(
        (pending.body["status"].as_str(), pending.body["currentStep"].as_str()),
        (Some("pending"), Some("research"))
    );
    app.post(&format!("/api/v1/workflows/{workflow}/retry"), Some(&ada.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    let cancelled = app
        .post(&format!("/api/v1/workflows/{workflow}/cancel"), Some(&ada.access), json!({}))
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    app.post(&format!("/api/v1/workflows/{workflow}/cancel"), Some(&ada.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    app.post(&format!("/api/v1/workflows/{workflow}/approve"), Some(&ada.access), json!({}))
        .await
        .expect_problem(409, "conflict");
}

/// A researcher that fails its first `failures` calls, then does the real research.
struct Flaky {
    failures: u32,
    calls: AtomicU32,
}

#[async_trait]
impl Researcher for Flaky {
    async fn research(
        &self,
        lead: &LeadSnapshot,
    ) -> Result<Produced<leadflow_workflows::Research>, StepError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(StepError::new("research provider unavailable"));
        }
        RuleResearcher.research(lead).await
    }
}

async fn flaky_app(engine: Engine, failures: u32, max_attempts: &str) -> Option<TestApp> {
    let steps = StepOverrides {
        researcher: Some(Arc::new(Flaky { failures, calls: AtomicU32::new(0) })),
        ..Default::default()
    };
    TestApp::spawn_with_steps(
        engine,
        &[("LEADFLOW_WORKERS", "1"), ("LEADFLOW_WORKFLOW_MAX_ATTEMPTS", max_attempts)],
        steps,
    )
    .await
}

async fn a_step_failing_twice_then_succeeding_is_retried_with_backoff(engine: Engine) {
    let Some(app) = flaky_app(engine, 2, "3").await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, unqualified_lead()).await;
    let done = wait_for(&app, &ada.access, &workflow, status_is("completed")).await;
    let research = &done["steps"][0];
    assert_eq!((research["name"].as_str(), research["attempts"].as_u64()), (Some("research"), Some(3)));
    assert_eq!(research["status"], "succeeded");
    assert!(research["error"].is_null());
}

async fn a_step_failing_for_good_fails_the_workflow_until_retried(engine: Engine) {
    let Some(app) = flaky_app(engine, 2, "2").await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, unqualified_lead()).await;
    let failed = wait_for(&app, &ada.access, &workflow, status_is("failed")).await;
    assert_eq!(failed["lastError"], "research provider unavailable");
    assert_eq!(failed["steps"][0]["attempts"], 2);
    assert_eq!(failed["steps"][0]["status"], "failed");

    let retried = app
        .post(&format!("/api/v1/workflows/{workflow}/retry"), Some(&ada.access), json!({}))
        .await
        .expect(200);
    assert_eq!(retried.body["status"], "pending");
    let done = wait_for(&app, &ada.access, &workflow, status_is("completed")).await;
    assert_eq!(done["steps"][0]["status"], "succeeded");
    let log = app.get("/api/v1/audit-logs?action=workflow.retried", &ada.access).await.expect(200);
    assert_eq!(log.body["data"].as_array().unwrap().len(), 1);
}

async fn another_organizations_workflows_are_not_found(engine: Engine) {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let bob = app.register("bob@example.com", Some("globex")).await;
    let (_, workflow) = submit(&app, &bob, qualified_lead()).await;
    let base = format!("/api/v1/workflows/{workflow}");
    app.get(&base, &ada.access).await.expect_problem(404, "not_found");
    for action in ["approve", "reject", "cancel", "retry"] {
        app.post(&format!("{base}/{action}"), Some(&ada.access), json!({}))
            .await
            .expect_problem(404, "not_found");
    }
    let key = app.api_key(&ada, &["workflows:view_all", "workflows:cancel", "leads:approve"]).await;
    app.with_key(Method::GET, &base, &key, None).await.expect_problem(404, "not_found");
    app.with_key(Method::POST, &format!("{base}/cancel"), &key, Some(json!({})))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.get("/api/v1/workflows", &ada.access).await.body["data"], json!([]));
    assert_eq!(app.get(&base, &bob.access).await.expect(200).body["status"], "pending");
}

async fn only_approvers_decide_and_only_managers_cancel(engine: Engine) {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let member = app.member(&ada, "m@example.com", "member").await;
    let (_, workflow) = submit(&app, &ada, qualified_lead()).await;
    let base = format!("/api/v1/workflows/{workflow}");
    app.get(&base, &member.access).await.expect_problem(403, "forbidden");
    app.get("/api/v1/workflows", &member.access).await.expect_problem(403, "forbidden");
    for action in ["approve", "reject", "cancel", "retry"] {
        app.post(&format!("{base}/{action}"), Some(&member.access), json!({}))
            .await
            .expect_problem(403, "forbidden");
    }
    let form = app.api_key(&ada, &["leads:create"]).await;
    app.with_key(Method::GET, &base, &form, None).await.expect_problem(403, "forbidden");
    app.with_key(Method::POST, &format!("{base}/cancel"), &form, Some(json!({})))
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(app.get(&base, &ada.access).await.body["status"], "pending");
    app.get("/api/v1/workflows?status=lost", &ada.access).await.expect_problem(400, "validation_failed");
}

async fn a_deactivated_organizations_workflows_wait_until_it_is_reactivated(engine: Engine) {
    // No background workers: the test runs the worker passes itself.
    let Some(app) = TestApp::spawn(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, unqualified_lead()).await;
    let root = app.super_admin().await;
    let org = ada.org_id.clone().unwrap();
    app.delete(&format!("/api/v1/organizations/{org}"), &root.access).await.expect(200);

    assert_eq!(app.state.engine.run_once("test-worker").await.unwrap(), 0, "a suspended tenant's work waits");
    assert!(outbox_emails(&app, &workflow).await.is_empty());

    app.post(&format!("/api/v1/organizations/{org}/activate"), Some(&root.access), json!({}))
        .await
        .expect(200);
    while app.state.engine.run_once("test-worker").await.unwrap() > 0 {}
    wait_for(&app, &ada.access, &workflow, status_is("completed")).await;
}

async fn a_subject_with_a_line_break_is_refused_and_changes_nothing(engine: Engine) {
    let Some(app) = with_workers(engine).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, qualified_lead()).await;
    wait_for(&app, &ada.access, &workflow, status_is("awaiting_approval")).await;

    for subject in ["Hello\r\nBcc: victim@example.com", "Hello\nthere", "Tab\there"] {
        let refused = app
            .post(
                &format!("/api/v1/workflows/{workflow}/approve"),
                Some(&ada.access),
                json!({ "email": { "subject": subject, "body": "Body" } }),
            )
            .await
            .expect_problem(400, "validation_failed");
        assert_eq!(refused.body["errors"][0]["field"], "email.subject");
    }
    let still = app.get(&format!("/api/v1/workflows/{workflow}"), &ada.access).await.expect(200);
    assert_eq!(still.body["status"], "awaiting_approval");
    assert!(outbox_emails(&app, &workflow).await.is_empty());
}

/// A researcher whose failure is unexpected: a driver error, with details no tenant may read.
struct Leaky;

#[async_trait]
impl Researcher for Leaky {
    async fn research(&self, _: &LeadSnapshot) -> Result<Produced<leadflow_workflows::Research>, StepError> {
        let driver = anyhow::anyhow!("password authentication failed for user \"leadflow_internal\"");
        Err(driver.context("querying the research cache at db.internal:5432").into())
    }
}

async fn an_internal_step_failure_shows_tenants_a_category_and_logs_the_chain(engine: Engine) {
    let steps = StepOverrides { researcher: Some(Arc::new(Leaky)), ..Default::default() };
    let overrides = [("LEADFLOW_WORKERS", "1"), ("LEADFLOW_WORKFLOW_MAX_ATTEMPTS", "1")];
    let Some(app) = TestApp::spawn_with_steps(engine, &overrides, steps).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let (_, workflow) = submit(&app, &ada, unqualified_lead()).await;
    let failed = wait_for(&app, &ada.access, &workflow, status_is("failed")).await;
    assert_eq!(failed["lastError"], leadflow_workflows::ports::INTERNAL_STEP_ERROR);
    assert_eq!(failed["steps"][0]["error"], leadflow_workflows::ports::INTERNAL_STEP_ERROR);
    let shown = failed.to_string();
    assert!(!shown.contains("leadflow_internal") && !shown.contains("db.internal"), "{shown}");
    let log = crate::helpers::captured_logs();
    assert!(
        log.contains("db.internal:5432") && log.contains(&workflow),
        "the chain is logged with the workflow id"
    );
}
