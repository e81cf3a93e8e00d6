//! Routing: the `route` step assigns qualified leads (round robin fair under
//! concurrency), or proposes an assignee that a person accepts or rejects
//! once, before the proposal expires.

use std::collections::HashMap;
use std::time::Duration;

use leadflow_storage::testing::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};

async fn routing_app(engine: Engine, routing: Value) -> Option<(TestApp, Session)> {
    let app = TestApp::spawn_with(engine, &[("LEADFLOW_WORKERS", "2")]).await?;
    let owner = app.register("ada@acme.io", Some("acme")).await;
    app.upgrade(&owner, "pro").await;
    let path = format!("/api/v1/organizations/{}", owner.org_id.as_ref().unwrap());
    app.patch(&path, &owner.access, json!({ "settings": { "routing": routing } })).await.expect(200);
    Some((app, owner))
}

fn lead(n: usize) -> Value {
    json!({ "email": format!("buyer{n}@bigcorp{n}.io"), "name": "Sam Doe", "company": "BigCorp", "message": "We want a demo and pricing for 40 seats" })
}

/// Polls `path` until `done` holds (20 s at most).
async fn until(app: &TestApp, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let reply = app.get(path, token).await.expect(200);
        if done(&reply.body) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never reached the expected state: {}", app.get(path, token).await.text);
}

crate::on_both_engines!(
    round_robin_shares_concurrent_leads_evenly_and_audits_each_assignment,
    proposals_are_decided_once_before_they_expire,
    manual_routing_has_no_route_step,
);

async fn round_robin_shares_concurrent_leads_evenly_and_audits_each_assignment(engine: Engine) {
    let Some((app, owner)) = routing_app(engine, json!({ "mode": "auto", "strategy": "round_robin" })).await
    else {
        return;
    };
    let mut members = vec![owner.user_id.clone()];
    for name in ["ben", "cleo", "dan"] {
        members.push(app.member(&owner, &format!("{name}@acme.io"), "member").await.user_id);
    }
    let key = app.api_key(&owner, &["leads:create"]).await;
    let replies = futures_util::future::join_all(
        (0..100).map(|n| app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead(n)))),
    )
    .await;
    assert!(
        replies.iter().all(|r| r.status.as_u16() == 201),
        "{:?}",
        replies.iter().find(|r| r.status.as_u16() != 201)
    );

    let all_assigned = |page: &Value| {
        page["data"]
            .as_array()
            .is_some_and(|d| d.len() == 100 && d.iter().all(|l| l["assigneeId"].is_string()))
    };
    let leads = until(&app, &owner.access, "/api/v1/leads?limit=100", all_assigned).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for l in leads["data"].as_array().unwrap() {
        *counts.entry(l["assigneeId"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(members.iter().all(|m| counts.get(m) == Some(&25)), "{counts:?}");

    // Each assignment is audited by the system (and sent as lead.assigned).
    let log = app.get("/api/v1/audit-logs?action=lead.assigned&limit=100", &owner.access).await.expect(200);
    let entries = log.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 100);
    assert!(entries.iter().all(|e| e["actor"]["type"] == "system" && e["details"]["by"] == "routing"));
    // A workflow shows its route step.
    let workflows = app.get("/api/v1/workflows?limit=1", &owner.access).await.expect(200);
    let steps: Vec<_> = workflows.body["data"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(&steps[..3], ["research", "qualify", "route"]);
}

async fn proposals_are_decided_once_before_they_expire(engine: Engine) {
    let Some((app, owner)) =
        routing_app(engine, json!({ "mode": "propose", "strategy": "least_loaded" })).await
    else {
        return;
    };
    let rep = app.member(&owner, "rep@acme.io", "member").await;
    let manager = app.member(&owner, "manager@acme.io", "manager").await;
    let key = app.api_key(&owner, &["leads:create"]).await;
    for n in 0..3 {
        app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead(n))).await.expect(201);
    }
    let pending = until(&app, &owner.access, "/api/v1/routing/proposals?status=pending", |p| {
        p["data"].as_array().is_some_and(|d| d.len() == 3)
    })
    .await;
    let proposals: Vec<Value> = pending["data"].as_array().unwrap().clone();
    let id = |i: usize| proposals[i]["id"].as_str().unwrap().to_owned();
    let lead_of = |i: usize| proposals[i]["leadId"].as_str().unwrap().to_owned();
    // Nothing is assigned until someone decides.
    assert!(
        app.get(&format!("/api/v1/leads/{}", lead_of(0)), &owner.access).await.body["assigneeId"].is_null()
    );

    // Permission and tenancy.
    app.get("/api/v1/routing/proposals", &rep.access).await.expect_problem(403, "forbidden");
    app.post(&format!("/api/v1/routing/proposals/{}/accept", id(0)), Some(&rep.access), json!({}))
        .await
        .expect_problem(403, "forbidden");
    let bob = app.register("bob@globex.io", Some("globex")).await;
    app.post(&format!("/api/v1/routing/proposals/{}/accept", id(0)), Some(&bob.access), json!({}))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.get("/api/v1/routing/proposals", &bob.access).await.expect(200).body["data"], json!([]));
    app.post(
        &format!("/api/v1/routing/proposals/{}/accept", uuid::Uuid::now_v7()),
        Some(&manager.access),
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");

    // Accept one: the lead is assigned to the proposed member, once.
    let accepted = app
        .post(&format!("/api/v1/routing/proposals/{}/accept", id(0)), Some(&manager.access), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (accepted.body["status"].as_str(), accepted.body["decidedBy"].as_str()),
        (Some("accepted"), Some(manager.user_id.as_str()))
    );
    let assigned = app.get(&format!("/api/v1/leads/{}", lead_of(0)), &owner.access).await.expect(200);
    assert_eq!(assigned.body["assigneeId"], proposals[0]["userId"]);
    app.post(&format!("/api/v1/routing/proposals/{}/accept", id(0)), Some(&manager.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    app.post(&format!("/api/v1/routing/proposals/{}/reject", id(0)), Some(&manager.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    let log = app.get("/api/v1/audit-logs?action=lead.assigned", &owner.access).await.expect(200);
    assert_eq!(log.body["data"][0]["actor"]["email"], "manager@acme.io");

    // Reject another: it stays unassigned.
    app.post(&format!("/api/v1/routing/proposals/{}/reject", id(1)), Some(&owner.access), json!({}))
        .await
        .expect(200);
    assert!(
        app.get(&format!("/api/v1/leads/{}", lead_of(1)), &owner.access).await.body["assigneeId"].is_null()
    );

    // The third expires after seven days.
    // (The only one still pending; ids are blobs on SQLite, so select by status.)
    let past = if engine == Engine::Sqlite {
        "'2000-01-01 00:00:00+00:00'"
    } else {
        "created_at - interval '1 second'"
    };
    app.sql(&format!("UPDATE routing_proposals SET expires_at = {past} WHERE status = 'pending'")).await;
    app.post(&format!("/api/v1/routing/proposals/{}/accept", id(2)), Some(&owner.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    let listed = |status: &str| {
        let path = format!("/api/v1/routing/proposals?status={status}");
        let app = &app;
        let token = owner.access.clone();
        async move { app.get(&path, &token).await.expect(200).body["data"].as_array().unwrap().len() }
    };
    assert_eq!(
        (
            listed("accepted").await,
            listed("rejected").await,
            listed("expired").await,
            listed("pending").await
        ),
        (1, 1, 1, 0)
    );
    app.get("/api/v1/routing/proposals?status=maybe", &owner.access).await.expect(400);
}

async fn manual_routing_has_no_route_step(engine: Engine) {
    let Some((app, owner)) = routing_app(engine, json!({ "mode": "manual" })).await else { return };
    let reply = app.post("/api/v1/leads", Some(&owner.access), lead(1)).await.expect(201);
    let workflow = reply.body["workflowId"].as_str().unwrap().to_owned();
    let done = until(&app, &owner.access, &format!("/api/v1/workflows/{workflow}"), |w| {
        w["status"] == "awaiting_approval"
    })
    .await;
    let steps: Vec<_> =
        done["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(steps, ["research", "qualify", "draft_email", "await_approval"]);
    assert!(
        app.get(&format!("/api/v1/leads/{}", reply.body["lead"]["id"].as_str().unwrap()), &owner.access)
            .await
            .body["assigneeId"]
            .is_null()
    );
}
