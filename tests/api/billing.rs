//! Billing through Stripe, against the local stand-in: checkout, the portal,
//! cancel and resume, signed events applied once and in Stripe's time order,
//! and the whole lifecycle with its audit trail and outgoing webhooks.

use chrono::Utc;
use leadflow_storage::testing::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};
use crate::receiver::Receiver;
use crate::stripe::{
    APP_URL, PRICE_PRO, SECRET_KEY, StripeStandIn, WEBHOOK_SECRET, deliver, deliver_raw, event, signature,
    subscription_object,
};

const DAY: i64 = 86_400;

async fn billing_app(engine: Engine, stripe: &StripeStandIn, extra: &[(&str, &str)]) -> Option<TestApp> {
    let env = stripe.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend_from_slice(extra);
    TestApp::spawn_with(engine, &pairs).await
}

fn lead(n: u32) -> Value {
    json!({ "email": format!("l{n}@bigcorp.io"), "name": "L", "message": "hello" })
}

async fn subscription(app: &TestApp, owner: &Session) -> Value {
    app.get("/api/v1/subscription", &owner.access).await.expect(200).body
}

async fn checkout(app: &TestApp, owner: &Session, plan: &str) -> String {
    let reply = app
        .post("/api/v1/subscription/checkout", Some(&owner.access), json!({ "plan": plan }))
        .await
        .expect(200);
    reply.body["url"].as_str().unwrap().to_owned()
}

/// An organization whose owner started a checkout of `plan`: its owner, id and Stripe customer.
async fn checked_out(app: &TestApp, plan: &str) -> (Session, String, String) {
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let org = owner.org_id.clone().unwrap();
    checkout(app, &owner, plan).await;
    let customer = subscription(app, &owner).await["externalCustomerId"].as_str().unwrap().to_owned();
    (owner, org, customer)
}

fn completed_checkout(id: &str, customer: &str, org: &str, plan: &str, created: i64) -> Value {
    event(
        id,
        "checkout.session.completed",
        created,
        json!({
            "id": "cs_test_done", "object": "checkout.session", "mode": "subscription", "status": "complete",
            "payment_status": "paid", "customer": customer, "subscription": "sub_test_1",
            "client_reference_id": org, "metadata": { "organization_id": org, "plan": plan },
        }),
    )
}

fn invoice(id: &str, kind: &str, customer: &str, created: i64) -> Value {
    let status = if kind == "invoice.paid" { "paid" } else { "open" };
    event(
        id,
        kind,
        created,
        json!({
            "id": format!("in_{id}"), "object": "invoice", "customer": customer, "subscription": "sub_test_1",
            "status": status, "billing_reason": "subscription_cycle",
        }),
    )
}

async fn outcome(app: &TestApp, event: &Value) -> String {
    deliver(app, event).await.expect(200).body["outcome"].as_str().unwrap().to_owned()
}

crate::on_both_engines!(
    checkout_and_portal_send_stripe_the_price_customer_metadata_and_return_urls,
    the_whole_lifecycle_runs_on_stripe_events,
    signatures_are_verified_as_stripe_documents_them,
    each_event_is_processed_once_even_when_delivered_twice_at_once,
    events_out_of_order_never_move_the_subscription_back,
    without_stripe_billing_is_the_administrators,
);

async fn checkout_and_portal_send_stripe_the_price_customer_metadata_and_return_urls(engine: Engine) {
    let stripe = StripeStandIn::start().await;
    let Some(app) = billing_app(engine, &stripe, &[]).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let org = owner.org_id.clone().unwrap();
    let manager = app.member(&owner, "manager@acme.io", "manager").await;

    // Billing rights, a plan Stripe sells; nothing reaches Stripe otherwise.
    app.post("/api/v1/subscription/checkout", Some(&manager.access), json!({ "plan": "pro" }))
        .await
        .expect_problem(403, "forbidden");
    app.post("/api/v1/subscription/portal", Some(&manager.access), json!({}))
        .await
        .expect_problem(403, "forbidden");
    app.post("/api/v1/subscription/checkout", Some(&owner.access), json!({ "plan": "enterprise" }))
        .await
        .expect_problem(400, "validation_failed");
    app.post("/api/v1/subscription/checkout", Some(&owner.access), json!({ "plan": "gold" }))
        .await
        .expect(400);
    app.post("/api/v1/subscription/cancel", Some(&owner.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    assert!(stripe.requests().is_empty(), "{:?}", stripe.requests());

    let first = checkout(&app, &owner, "pro").await;
    let second = checkout(&app, &owner, "starter").await;
    assert!(first.starts_with("https://checkout.stripe.com/c/pay/cs_test_") && first != second);
    let portal = app.post("/api/v1/subscription/portal", Some(&owner.access), json!({})).await.expect(200);
    assert!(portal.body["url"].as_str().unwrap().starts_with("https://billing.stripe.com/p/session/"));

    // The customer was created once, named after the organization, and kept.
    let customers = stripe.requests_to("/v1/customers");
    assert_eq!(customers.len(), 1, "{customers:?}");
    assert_eq!(customers[0].authorization, format!("Bearer {SECRET_KEY}"));
    assert_eq!(customers[0].field("name"), Some("acme"));
    assert_eq!(customers[0].field("email"), Some("ada@acme.io"));
    assert_eq!(customers[0].field("metadata[organization_id]"), Some(org.as_str()));
    assert_eq!(customers[0].idempotency_key.as_deref(), Some(format!("leadflow-customer-{org}").as_str()));
    let customer = subscription(&app, &owner).await["externalCustomerId"].as_str().unwrap().to_owned();
    assert!(customer.starts_with("cus_test_"));

    let sessions = stripe.requests_to("/v1/checkout/sessions");
    assert_eq!(sessions.len(), 2);
    let pro = &sessions[0];
    assert_eq!(pro.field("mode"), Some("subscription"));
    assert_eq!(pro.field("customer"), Some(customer.as_str()));
    assert_eq!(pro.field("line_items[0][price]"), Some(PRICE_PRO));
    assert_eq!(pro.field("line_items[0][quantity]"), Some("1"));
    assert_eq!(pro.field("client_reference_id"), Some(org.as_str()));
    assert_eq!(pro.field("metadata[organization_id]"), Some(org.as_str()));
    assert_eq!(pro.field("metadata[plan]"), Some("pro"));
    assert_eq!(pro.field("subscription_data[metadata][organization_id]"), Some(org.as_str()));
    assert_eq!(
        pro.field("success_url"),
        Some(format!("{APP_URL}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}").as_str())
    );
    assert_eq!(pro.field("cancel_url"), Some(format!("{APP_URL}/billing?checkout=canceled").as_str()));
    assert_eq!(sessions[1].field("line_items[0][price]"), Some(crate::stripe::PRICE_STARTER));
    let portals = stripe.requests_to("/v1/billing_portal/sessions");
    assert_eq!(portals[0].field("customer"), Some(customer.as_str()));
    assert_eq!(portals[0].field("return_url"), Some(format!("{APP_URL}/billing").as_str()));

    // Nothing changed before Stripe says the checkout completed.
    let sub = subscription(&app, &owner).await;
    assert_eq!((sub["plan"].as_str(), sub["status"].as_str()), (Some("starter"), Some("trialing")));

    // Another organization gets its own customer; it never sees this one.
    let other = app.register("bob@other.io", Some("other")).await;
    checkout(&app, &other, "pro").await;
    let theirs = subscription(&app, &other).await["externalCustomerId"].as_str().unwrap().to_owned();
    assert_ne!(theirs, customer);
    assert_eq!(stripe.requests_to("/v1/customers").len(), 2);
    // An event about their customer changes their subscription, not ours.
    let now = Utc::now().timestamp();
    let theirs_event = completed_checkout("evt_other", &theirs, other.org_id.as_deref().unwrap(), "pro", now);
    assert_eq!(outcome(&app, &theirs_event).await, "applied");
    assert_eq!(subscription(&app, &owner).await["plan"], "starter");
    assert_eq!(subscription(&app, &other).await["plan"], "pro");
    // Plans are not set directly, even with Stripe.
    app.call(Method::PUT, "/api/v1/subscription", Some(&owner.access), Some(json!({ "plan": "pro" })))
        .await
        .expect_problem(403, "forbidden");
}

async fn the_whole_lifecycle_runs_on_stripe_events(engine: Engine) {
    let stripe = StripeStandIn::start().await;
    let receiver = Receiver::start(&[]).await;
    let extra = [("LEADFLOW_DELIVERY_WORKERS", "1"), ("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true")];
    let Some(app) = billing_app(engine, &stripe, &extra).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let org = owner.org_id.clone().unwrap();
    app.post(
        "/api/v1/webhooks",
        Some(&owner.access),
        json!({ "url": receiver.url, "events": ["subscription.updated"] }),
    )
    .await
    .expect(201);

    // Trial → checkout → active on pro.
    assert_eq!(subscription(&app, &owner).await["status"], "trialing");
    checkout(&app, &owner, "pro").await;
    let customer = subscription(&app, &owner).await["externalCustomerId"].as_str().unwrap().to_owned();
    let now = Utc::now().timestamp();
    let started = now - 20 * DAY;
    assert_eq!(outcome(&app, &completed_checkout("evt_1", &customer, &org, "pro", started)).await, "applied");
    let created = subscription_object("sub_test_1", &customer, "active", PRICE_PRO, started, false);
    assert_eq!(
        outcome(&app, &event("evt_2", "customer.subscription.created", started, created)).await,
        "applied"
    );
    let sub = subscription(&app, &owner).await;
    assert_eq!((sub["plan"].as_str(), sub["status"].as_str()), (Some("pro"), Some("active")));
    assert_eq!(sub["externalSubscriptionId"], "sub_test_1");
    assert!(sub["trialEndsAt"].is_null());
    // Usage periods follow Stripe's: the first began when the subscription did.
    let period_start =
        chrono::DateTime::parse_from_rfc3339(sub["currentPeriodStart"].as_str().unwrap()).unwrap();
    assert_eq!(period_start.timestamp(), started);
    assert_eq!(
        app.get("/api/v1/subscription/usage", &owner.access).await.expect(200).body["leads"]["limit"],
        1000
    );
    app.post("/api/v1/leads", Some(&owner.access), lead(1)).await.expect(201);

    // invoice.payment_failed (8 days ago) → past_due, and its 7-day grace is over → 402.
    assert_eq!(
        outcome(&app, &invoice("evt_3", "invoice.payment_failed", &customer, now - 8 * DAY)).await,
        "applied"
    );
    assert_eq!(subscription(&app, &owner).await["status"], "past_due");
    app.post("/api/v1/leads", Some(&owner.access), lead(2))
        .await
        .expect_problem(402, "subscription_inactive");
    app.get("/api/v1/leads", &owner.access).await.expect(200);

    // invoice.paid → active: leads again.
    assert_eq!(outcome(&app, &invoice("evt_4", "invoice.paid", &customer, now - DAY)).await, "applied");
    assert_eq!(subscription(&app, &owner).await["status"], "active");
    app.post("/api/v1/leads", Some(&owner.access), lead(3)).await.expect(201);

    // Cancel at period end (through Stripe), take it back, cancel again.
    let canceling = app.post("/api/v1/subscription/cancel", Some(&owner.access), json!({})).await.expect(200);
    assert_eq!(
        (canceling.body["cancelAtPeriodEnd"].as_bool(), canceling.body["status"].as_str()),
        (Some(true), Some("active"))
    );
    let resumed = app.post("/api/v1/subscription/resume", Some(&owner.access), json!({})).await.expect(200);
    assert_eq!(resumed.body["cancelAtPeriodEnd"], false);
    app.post("/api/v1/subscription/cancel", Some(&owner.access), json!({})).await.expect(200);
    let updates = stripe.requests_to("/v1/subscriptions/sub_test_1");
    let flags: Vec<_> = updates.iter().map(|r| r.field("cancel_at_period_end").unwrap().to_owned()).collect();
    assert_eq!(flags, ["true", "false", "true"]);
    // Stripe confirms what Leadflow already shows: nothing to change.
    let confirming = subscription_object("sub_test_1", &customer, "active", PRICE_PRO, started, true);
    assert_eq!(
        outcome(&app, &event("evt_5", "customer.subscription.updated", now - 60, confirming)).await,
        "unchanged"
    );
    app.post("/api/v1/leads", Some(&owner.access), lead(4)).await.expect(201);

    // The period ends: canceled → 402; reads and export still work.
    let ended = subscription_object("sub_test_1", &customer, "canceled", PRICE_PRO, started, true);
    assert_eq!(outcome(&app, &event("evt_6", "customer.subscription.deleted", now, ended)).await, "applied");
    assert_eq!(subscription(&app, &owner).await["status"], "canceled");
    app.post("/api/v1/leads", Some(&owner.access), lead(5))
        .await
        .expect_problem(402, "subscription_inactive");
    assert_eq!(
        app.get("/api/v1/leads", &owner.access).await.expect(200).body["data"].as_array().unwrap().len(),
        3
    );
    app.get("/api/v1/leads/export", &owner.access).await.expect(200);
    app.post("/api/v1/subscription/resume", Some(&owner.access), json!({}))
        .await
        .expect_problem(409, "conflict");

    // The audit trail: each applied event by the system, the requests by the owner.
    let log = app
        .get("/api/v1/audit-logs?action=subscription.billing_updated&limit=50", &owner.access)
        .await
        .expect(200);
    let entries = log.body["data"].as_array().unwrap();
    let events: Vec<_> = entries.iter().map(|e| e["details"]["event"]["id"].as_str().unwrap()).collect();
    assert_eq!(events, ["evt_6", "evt_4", "evt_3", "evt_2", "evt_1"]);
    assert!(entries.iter().all(|e| e["actor"]["type"] == "system"), "{entries:?}");
    assert_eq!(entries[2]["details"]["changes"]["status"], json!({ "from": "active", "to": "past_due" }));
    assert_eq!(entries[4]["details"]["changes"]["plan"], json!({ "from": "starter", "to": "pro" }));
    let requested =
        app.get("/api/v1/audit-logs?action=subscription.cancel_scheduled", &owner.access).await.expect(200);
    assert_eq!(requested.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(requested.body["data"][0]["actor"]["email"], "ada@acme.io");

    // Every change went out as subscription.updated: 5 events, 2 cancels, 1 resume.
    let hits = receiver.wait_for(8, 20).await;
    let bodies: Vec<Value> = hits.iter().map(|h| serde_json::from_str(&h.body).unwrap()).collect();
    assert!(bodies.iter().all(|b| b["type"] == "subscription.updated"), "{bodies:?}");
    assert!(bodies.iter().any(|b| b["data"]["details"]["event"]["id"] == "evt_6"));
}

async fn signatures_are_verified_as_stripe_documents_them(engine: Engine) {
    let stripe = StripeStandIn::start().await;
    let Some(app) = billing_app(engine, &stripe, &[]).await else { return };
    let (owner, org, customer) = checked_out(&app, "pro").await;
    let now = Utc::now().timestamp();
    let payload = completed_checkout("evt_sig", &customer, &org, "pro", now).to_string();

    let refused = [
        None,
        Some(signature(&payload, "whsec_someone_else", now)),
        Some(signature(&format!("{payload} "), WEBHOOK_SECRET, now)),
        Some(signature(&payload, WEBHOOK_SECRET, now - 301)),
        Some(format!("t={now}")),
        Some("garbage".to_owned()),
    ];
    for header in refused {
        let reply = deliver_raw(&app, &payload, header.clone()).await;
        reply.expect_problem(400, "invalid_signature");
    }
    assert_eq!(subscription(&app, &owner).await["plan"], "starter");
    let log =
        app.get("/api/v1/audit-logs?action=subscription.billing_updated", &owner.access).await.expect(200);
    assert_eq!(log.body["data"], json!([]));

    // Several v1 signatures (a secret being rolled): any one may match; a
    // timestamp within the tolerance is fine.
    let good = signature(&payload, WEBHOOK_SECRET, now - 200);
    let rolled = format!(
        "{},v1={},v0=ignored",
        signature(&payload, "whsec_old", now - 200),
        good.split_once("v1=").unwrap().1
    );
    let reply = deliver_raw(&app, &payload, Some(rolled)).await.expect(200);
    assert_eq!(reply.body, json!({ "received": true, "outcome": "applied" }));
    assert_eq!(subscription(&app, &owner).await["plan"], "pro");
    // Signed but not an event: 400, no change.
    let junk = "{\"hello\":1}";
    deliver_raw(&app, junk, Some(signature(junk, WEBHOOK_SECRET, now)))
        .await
        .expect_problem(400, "validation_failed");
    // A genuine event of another type is acknowledged.
    let other = event("evt_charge", "charge.succeeded", now, json!({ "id": "ch_1", "customer": customer }));
    assert_eq!(outcome(&app, &other).await, "ignored");
}

async fn each_event_is_processed_once_even_when_delivered_twice_at_once(engine: Engine) {
    let stripe = StripeStandIn::start().await;
    let Some(app) = billing_app(engine, &stripe, &[]).await else { return };
    let (owner, org, customer) = checked_out(&app, "pro").await;
    let now = Utc::now().timestamp();

    let done = completed_checkout("evt_once", &customer, &org, "pro", now - 100);
    assert_eq!(outcome(&app, &done).await, "applied");
    // Replayed later (Stripe retries until it sees a 2xx): acknowledged, nothing changes.
    assert_eq!(outcome(&app, &done).await, "duplicate");

    // Two deliveries of one event at the same moment, several times over.
    for round in 0..5 {
        let failed =
            invoice(&format!("evt_race_{round}"), "invoice.payment_failed", &customer, now - 60 + 10 * round);
        let paid =
            invoice(&format!("evt_race_paid_{round}"), "invoice.paid", &customer, now - 55 + 10 * round);
        for event in [failed, paid] {
            let (a, b) = tokio::join!(deliver(&app, &event), deliver(&app, &event));
            let mut outcomes = [a.expect(200).body["outcome"].clone(), b.expect(200).body["outcome"].clone()];
            outcomes.sort_by_key(std::string::ToString::to_string);
            assert_eq!(outcomes, [json!("applied"), json!("duplicate")], "round {round}");
        }
    }
    let log = app
        .get("/api/v1/audit-logs?action=subscription.billing_updated&limit=50", &owner.access)
        .await
        .expect(200);
    assert_eq!(log.body["data"].as_array().unwrap().len(), 11);
    assert_eq!(subscription(&app, &owner).await["status"], "active");
}

async fn events_out_of_order_never_move_the_subscription_back(engine: Engine) {
    let stripe = StripeStandIn::start().await;
    let Some(app) = billing_app(engine, &stripe, &[]).await else { return };
    let (owner, org, customer) = checked_out(&app, "starter").await;
    let now = Utc::now().timestamp();
    assert_eq!(
        outcome(&app, &completed_checkout("evt_a", &customer, &org, "starter", now - 300)).await,
        "applied"
    );

    // Stripe sends the later change (upgraded to pro, then past due) before the earlier one.
    let later = subscription_object("sub_test_1", &customer, "past_due", PRICE_PRO, now - 300, false);
    let earlier = subscription_object(
        "sub_test_1",
        &customer,
        "active",
        crate::stripe::PRICE_STARTER,
        now - 300,
        false,
    );
    assert_eq!(
        outcome(&app, &event("evt_c", "customer.subscription.updated", now - 100, later)).await,
        "applied"
    );
    assert_eq!(
        outcome(&app, &event("evt_b", "customer.subscription.updated", now - 200, earlier)).await,
        "stale"
    );
    let sub = subscription(&app, &owner).await;
    assert_eq!((sub["plan"].as_str(), sub["status"].as_str()), (Some("pro"), Some("past_due")));
    // An event of no known customer is acknowledged and changes nothing.
    let stranger = invoice("evt_d", "invoice.paid", "cus_nobody", now);
    assert_eq!(outcome(&app, &stranger).await, "unknown_customer");
    assert_eq!(subscription(&app, &owner).await["status"], "past_due");
}

async fn without_stripe_billing_is_the_administrators(engine: Engine) {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    for path in [
        "/api/v1/subscription/checkout",
        "/api/v1/subscription/portal",
        "/api/v1/subscription/cancel",
        "/api/v1/subscription/resume",
    ] {
        let reply = app.post(path, Some(&owner.access), json!({ "plan": "pro" })).await;
        reply.expect_problem(403, "billing_not_configured");
    }
    let payload = event("evt_1", "invoice.paid", 1, json!({ "customer": "cus_1", "subscription": "sub_1" }))
        .to_string();
    deliver_raw(&app, &payload, Some(signature(&payload, WEBHOOK_SECRET, Utc::now().timestamp())))
        .await
        .expect_problem(403, "billing_not_configured");
    // API keys cannot start a checkout (sessions only).
    let key = app.api_key(&owner, &["settings:billing"]).await;
    app.with_key(Method::POST, "/api/v1/subscription/checkout", &key, Some(json!({ "plan": "pro" })))
        .await
        .expect_problem(403, "forbidden");
}
