//! Plans, the subscription, usage and seats.

use reqwest::Method;
use serde_json::json;

use crate::http_tests;

http_tests! {
    async fn the_catalogue_is_public_and_new_organizations_start_a_starter_trial(app: TestApp) {
        let plans = app.call(Method::GET, "/api/v1/plans", None, None).await.expect(200);
        assert_eq!(plans.body["data"], json!([
            { "id": "starter", "name": "Starter", "priceCents": 4900, "currency": "USD", "leadLimit": 100, "seatLimit": 3, "llmTokenBudget": 200_000 },
            { "id": "pro", "name": "Pro", "priceCents": 19900, "currency": "USD", "leadLimit": 1000, "seatLimit": 10, "llmTokenBudget": 2_000_000 },
            { "id": "enterprise", "name": "Enterprise", "priceCents": null, "currency": "USD", "leadLimit": null, "seatLimit": null, "llmTokenBudget": null },
        ]));

        let ada = app.register("ada@example.com", Some("acme")).await;
        let sub = app.get("/api/v1/subscription", &ada.access).await.expect(200);
        assert_eq!(sub.body["plan"], "starter");
        assert_eq!(sub.body["status"], "trialing");
        assert_eq!(sub.body["organizationId"].as_str(), ada.org_id.as_deref());
        assert!(sub.body["trialEndsAt"].is_string() && sub.body["currentPeriodEnd"].is_string());
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"], json!({ "used": 0, "limit": 100, "remaining": 100 }));
        assert_eq!(usage.body["seats"], json!({ "used": 1, "limit": 3, "remaining": 2 }));
    }

    async fn plan_changes_need_billing_rights_and_are_audited(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org = ada.org_id.clone().unwrap();
        let manager = app.member(&ada, "m@example.com", "manager").await;
        app.call(Method::PUT, "/api/v1/subscription", Some(&manager.access), Some(json!({ "plan": "pro" }))).await.expect_problem(403, "forbidden");
        // No billing provider: an owner cannot grant themselves a plan.
        let refused = app.call(Method::PUT, "/api/v1/subscription", Some(&ada.access), Some(json!({ "plan": "enterprise" }))).await.expect_problem(403, "forbidden");
        assert!(refused.body["detail"].as_str().unwrap().contains("platform administrator"), "{}", refused.text);
        let path = format!("/api/v1/admin/organizations/{org}/subscription");
        app.call(Method::PUT, &path, Some(&ada.access), Some(json!({ "plan": "pro" }))).await.expect_problem(403, "forbidden");
        let root = app.super_admin().await;
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "gold" }))).await.expect(400);
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "pro", "status": "trialing" }))).await.expect_problem(400, "validation_failed");
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "pro", "trialEndsAt": "2030-01-01T00:00:00Z" }))).await.expect_problem(400, "validation_failed");
        app.call(Method::PUT, &format!("/api/v1/admin/organizations/{}/subscription", uuid::Uuid::now_v7()), Some(&root.access), Some(json!({ "plan": "pro" }))).await.expect_problem(404, "not_found");
        let changed = app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "pro" }))).await.expect(200);
        assert_eq!((changed.body["plan"].as_str(), changed.body["status"].as_str()), (Some("pro"), Some("active")));
        assert!(changed.body["trialEndsAt"].is_null());
        let log = app.get("/api/v1/audit-logs?action=subscription.plan_changed", &ada.access).await.expect(200);
        assert_eq!(log.body["data"][0]["details"], json!({ "from": "starter", "to": "pro", "status": "active", "trialEndsAt": null }));
        assert_eq!(log.body["data"][0]["actor"]["email"], "root@leadflow.test");
        // Status and trial end too: a longer trial on enterprise.
        let trial = app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "enterprise", "status": "trialing", "trialEndsAt": "2099-01-01T00:00:00Z" }))).await.expect(200);
        assert_eq!((trial.body["plan"].as_str(), trial.body["status"].as_str()), (Some("enterprise"), Some("trialing")));
        assert!(trial.body["trialEndsAt"].as_str().unwrap().starts_with("2099-01-01"));

        let key = app.api_key(&ada, &["leads:create"]).await;
        app.with_key(Method::GET, "/api/v1/subscription", &key, None).await.expect_problem(403, "forbidden");
        let billing_key = app.api_key(&ada, &["settings:billing"]).await;
        app.with_key(Method::GET, "/api/v1/subscription/usage", &billing_key, None).await.expect(200);
        // Plan changes are for signed-in users.
        app.with_key(Method::PUT, "/api/v1/subscription", &billing_key, Some(json!({ "plan": "starter" }))).await.expect_problem(403, "forbidden");

        // Each organization sees its own subscription only.
        let bob = app.register("bob@example.com", Some("globex")).await;
        let bobs = app.get("/api/v1/subscription", &bob.access).await.expect(200);
        assert_eq!((bobs.body["plan"].as_str(), bobs.body["organizationId"].as_str()), (Some("starter"), bob.org_id.as_deref()));
    }

    async fn seats_are_enforced_on_invite_and_on_downgrade(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        for email in ["a@example.com", "b@example.com"] {
            app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": email, "role": "member" })).await.expect(201);
        }
        let refused = app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "c@example.com", "role": "member" })).await.expect_problem(402, "plan_limit_reached");
        assert!(refused.body["detail"].as_str().unwrap().contains('3'));
        app.upgrade(&ada, "pro").await;
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "c@example.com", "role": "member" })).await.expect(201);
        let root = app.super_admin().await;
        let path = format!("/api/v1/admin/organizations/{}/subscription", ada.org_id.clone().unwrap());
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "starter" }))).await.expect_problem(409, "conflict");
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["seats"], json!({ "used": 4, "limit": 10, "remaining": 6 }));
    }

    async fn concurrent_invitations_take_exactly_the_seats_left(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await; // 10 seats, the owner holds one: 9 left
        let attempts = (0..30).map(|i| {
            let (app, token) = (&app, ada.access.clone());
            async move { app.post("/api/v1/invitations", Some(&token), json!({ "email": format!("p{i}@example.com"), "role": "member" })).await.status.as_u16() }
        });
        let statuses = futures_util::future::join_all(attempts).await;
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 9, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 21, "{statuses:?}");
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["seats"]["used"], 10);
    }

    async fn the_super_admin_creates_organizations_on_any_plan_and_filters_by_tier(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.post("/api/v1/organizations", Some(&ada.access), json!({ "name": "sneaky", "plan": "enterprise" })).await.expect_problem(403, "forbidden");
        let root = app.super_admin().await;
        let big = app.post("/api/v1/organizations", Some(&root.access), json!({ "name": "bigco", "plan": "enterprise" })).await.expect(201);
        let listed = app.get("/api/v1/organizations?tier=enterprise", &root.access).await.expect(200);
        assert_eq!(listed.body["pagination"]["total"], 1);
        assert_eq!(listed.body["data"][0]["id"], big.body["id"]);
        app.get("/api/v1/organizations?tier=gold", &root.access).await.expect_problem(400, "validation_failed");
        let overview = app.get("/api/v1/admin/overview", &root.access).await.expect(200);
        assert_eq!(overview.body["organizationsPerPlan"], json!({ "enterprise": 1, "starter": 1 }));
        let _ = ada;
    }

    async fn an_inactive_subscription_takes_no_leads_but_its_data_stays_readable(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let root = app.super_admin().await;
        let path = format!("/api/v1/admin/organizations/{}/subscription", ada.org_id.clone().unwrap());
        let lead = |n: u32| json!({ "email": format!("l{n}@bigcorp.io"), "name": "L", "message": "hello" });
        app.post("/api/v1/leads", Some(&ada.access), lead(1)).await.expect(201);
        // Past due from now: still within the 7-day grace.
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "starter", "status": "past_due" }))).await.expect(200);
        app.post("/api/v1/leads", Some(&ada.access), lead(2)).await.expect(201);
        // A trial that ended ten days ago is past due beyond its grace.
        let ended = (chrono::Utc::now() - chrono::Duration::days(10)).to_rfc3339();
        let sub = app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "starter", "status": "trialing", "trialEndsAt": ended }))).await.expect(200);
        assert_eq!(sub.body["status"], "past_due");
        app.post("/api/v1/leads", Some(&ada.access), lead(3)).await.expect_problem(402, "subscription_inactive");
        // Reading and exporting still work.
        let leads = app.get("/api/v1/leads", &ada.access).await.expect(200);
        assert_eq!(leads.body["data"].as_array().unwrap().len(), 2);
        app.get("/api/v1/leads/export", &ada.access).await.expect(200);
        // Canceled: no leads either; back in force on a plan: leads again.
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "starter", "status": "canceled" }))).await.expect(200);
        app.post("/api/v1/leads", Some(&ada.access), lead(4)).await.expect_problem(402, "subscription_inactive");
        // A repeat of a lead (a duplicate, which takes no quota unit) is refused too.
        app.post("/api/v1/leads", Some(&ada.access), lead(1)).await.expect_problem(402, "subscription_inactive");
        app.call(Method::PUT, &path, Some(&root.access), Some(json!({ "plan": "pro" }))).await.expect(200);
        app.post("/api/v1/leads", Some(&ada.access), lead(5)).await.expect(201);
    }
}
