//! Public web forms: managed with `settings:manage`, isolated per
//! organization; a website posts leads with the publishable key, from its
//! allowed origins only (CORS), behind the honeypot and a per-address budget;
//! a plain HTML form is sent on to its thank-you page.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, read};
use crate::http_tests;

const SITE: &str = "https://www.acme.example";

fn a_visitor(n: usize) -> Value {
    json!({ "email": format!("visitor{n}@bigcorp.example"), "name": "Sam Doe", "company": "BigCorp", "message": "We want a demo" })
}

async fn create_form(app: &TestApp, token: &str) -> Value {
    let body = json!({ "name": "Contact page", "allowedOrigins": [SITE], "redirectUrl": "https://www.acme.example/thanks" });
    app.post("/api/v1/forms", Some(token), body).await.expect(201).body
}

async fn post_form(app: &TestApp, key: &str, origin: Option<&str>, body: Value) -> Reply {
    let mut request = app.client.post(format!("{}/api/v1/forms/{key}/submissions", app.base)).json(&body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    read(request.send().await.unwrap()).await
}

async fn lead_count(app: &TestApp, token: &str) -> u64 {
    app.get("/api/v1/leads/stats", token).await.expect(200).body["total"].as_u64().unwrap()
}

http_tests! {
    async fn forms_are_managed_with_settings_manage_and_stay_in_their_organization(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let member = app.member(&ada, "max@example.com", "member").await;

        let form = create_form(&app, &ada.access).await;
        let id = form["id"].as_str().unwrap();
        let key = form["formKey"].as_str().unwrap();
        assert!(key.starts_with("pf_") && key.len() == 35, "{key}");
        assert_eq!(form["allowedOrigins"], json!([SITE]));
        assert_eq!(app.get("/api/v1/forms", &ada.access).await.expect(200).body["data"][0]["id"], id);

        // Bad input is a problem and creates nothing.
        for (bad, field) in [
            (json!({ "name": "X", "allowedOrigins": ["www.acme.example/path"] }), "allowedOrigins"),
            (json!({ "name": "X", "redirectUrl": "javascript:alert(1)" }), "redirectUrl"),
            (json!({ "name": "X", "allowedOrigins": ["https://acme.example/", "ftp://acme.example"] }), "allowedOrigins"),
        ] {
            let problem = app.post("/api/v1/forms", Some(&ada.access), bad).await.expect_problem(400, "validation_failed");
            assert_eq!(problem.body["errors"][0]["field"], field, "{}", problem.text);
        }
        assert_eq!(app.get("/api/v1/forms", &ada.access).await.body["data"].as_array().unwrap().len(), 1);

        // Another organization's token: not found, and its list is empty.
        let path = format!("/api/v1/forms/{id}");
        app.get(&path, &bob.access).await.expect_problem(404, "not_found");
        app.call(Method::PUT, &path, Some(&bob.access), Some(json!({ "name": "Hijacked" }))).await.expect_problem(404, "not_found");
        app.post(&format!("{path}/rotate-key"), Some(&bob.access), json!({})).await.expect_problem(404, "not_found");
        app.delete(&path, &bob.access).await.expect_problem(404, "not_found");
        assert_eq!(app.get("/api/v1/forms", &bob.access).await.expect(200).body["data"], json!([]));

        // A member lacks settings:manage.
        app.get("/api/v1/forms", &member.access).await.expect_problem(403, "forbidden");
        app.post("/api/v1/forms", Some(&member.access), json!({ "name": "Mine" })).await.expect_problem(403, "forbidden");
        app.delete(&path, &member.access).await.expect_problem(403, "forbidden");

        // Changes, rotation (the old key stops at once) and deletion.
        let changed = app
            .call(Method::PUT, &path, Some(&ada.access), Some(json!({ "name": "Pricing page", "allowedOrigins": [SITE, "http://localhost:3000"] })))
            .await
            .expect(200);
        assert_eq!(changed.body["name"], "Pricing page");
        assert!(changed.body["redirectUrl"].is_null());
        assert_eq!(changed.body["formKey"], key);
        let rotated = app.post(&format!("{path}/rotate-key"), Some(&ada.access), json!({})).await.expect(200);
        let new_key = rotated.body["formKey"].as_str().unwrap();
        assert_ne!(new_key, key);
        post_form(&app, key, None, a_visitor(1)).await.expect_problem(404, "not_found");
        post_form(&app, new_key, None, a_visitor(1)).await.expect(202);
        app.delete(&path, &ada.access).await.expect(204);
        post_form(&app, new_key, None, a_visitor(2)).await.expect_problem(404, "not_found");
        assert_eq!(lead_count(&app, &ada.access).await, 1, "the form's lead stays");

        let log = app.get("/api/v1/audit-logs?resourceType=form", &ada.access).await.expect(200);
        let actions: Vec<&str> = log.body["data"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(actions.contains(&"form.created") && actions.contains(&"form.updated") && actions.contains(&"form.deleted"), "{actions:?}");
    }

    async fn a_website_submits_from_its_allowed_origins_only(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let form = create_form(&app, &ada.access).await;
        let key = form["formKey"].as_str().unwrap();

        // The browser's preflight: allowed for the form's origin, refused for another.
        let preflight = |origin: &'static str| {
            app.client
                .request(Method::OPTIONS, format!("{}/api/v1/forms/{key}/submissions", app.base))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
        };
        let allowed = read(preflight(SITE).await.unwrap()).await.expect(204);
        assert_eq!(allowed.headers["access-control-allow-origin"], SITE);
        assert_eq!(allowed.headers["access-control-allow-methods"], "POST");
        assert!(allowed.headers["access-control-allow-headers"].to_str().unwrap().contains("content-type"));
        let refused = read(preflight("https://evil.example").await.unwrap()).await.expect_problem(403, "origin_not_allowed");
        assert!(refused.headers.get("access-control-allow-origin").is_none());

        // The submission: received, readable by the page, a lead created by the form.
        let reply = post_form(&app, key, Some(SITE), a_visitor(1)).await.expect(202);
        assert_eq!(reply.body, json!({ "received": true }));
        assert_eq!(reply.headers["access-control-allow-origin"], SITE);
        let leads = app.get("/api/v1/leads", &ada.access).await.expect(200);
        let lead = &leads.body["data"][0];
        assert_eq!(lead["email"], "visitor1@bigcorp.example");
        assert_eq!(lead["createdBy"], json!({ "type": "form", "id": form["id"] }));
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"]["used"], 1);

        // Another site, an unknown key, bad input: problems, nothing stored.
        post_form(&app, key, Some("https://evil.example"), a_visitor(2)).await.expect_problem(403, "origin_not_allowed");
        post_form(&app, "pf_unknown", Some(SITE), a_visitor(2)).await.expect_problem(404, "not_found");
        post_form(&app, key, Some(SITE), json!({ "email": "nope", "name": "", "message": "" })).await.expect_problem(400, "validation_failed");
        assert_eq!(lead_count(&app, &ada.access).await, 1);
    }

    async fn the_honeypot_html_forms_and_the_per_address_budget(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let form = create_form(&app, &ada.access).await;
        let key = form["formKey"].as_str().unwrap();
        let url = format!("{}/api/v1/forms/{key}/submissions", app.base);

        // A plain HTML form is sent on to the thank-you page.
        let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let html = [("email", "visitor@bigcorp.example"), ("name", "Sam Doe"), ("message", "Call me")];
        let sent = no_redirects.post(&url).header("origin", SITE).form(&html).send().await.unwrap();
        assert_eq!(sent.status(), 303);
        assert_eq!(sent.headers()["location"], "https://www.acme.example/thanks");
        assert_eq!(lead_count(&app, &ada.access).await, 1);

        // A bot filling the honeypot is answered like anyone, and stores nothing.
        let mut bot = a_visitor(9);
        bot["website"] = json!("http://spam.example");
        let reply = post_form(&app, key, Some(SITE), bot.clone()).await.expect(202);
        assert_eq!(reply.body, json!({ "received": true }));
        assert_eq!(lead_count(&app, &ada.access).await, 1);
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"]["used"], 1);

        // 20 submissions per address and form in 10 minutes (two are spent above); then 429.
        for _ in 0..18 {
            post_form(&app, key, Some(SITE), bot.clone()).await.expect(202);
        }
        let throttled = post_form(&app, key, Some(SITE), a_visitor(3)).await.expect_problem(429, "rate_limited");
        let wait: u64 = throttled.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(wait > 0 && wait <= 600, "{wait}");
        assert_eq!(lead_count(&app, &ada.access).await, 1);
        // Another form of the same organization has its own budget.
        let other = create_form(&app, &ada.access).await;
        post_form(&app, other["formKey"].as_str().unwrap(), Some(SITE), a_visitor(4)).await.expect(202);
    }

    async fn the_api_has_no_honeypot_any_more(app: TestApp) {
        // POST /leads answers 201 only: the field is not part of the API and is ignored.
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let mut lead = a_visitor(1);
        lead["website"] = json!("http://spam.example");
        app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead)).await.expect(201);
        assert_eq!(lead_count(&app, &ada.access).await, 1);
    }
}
