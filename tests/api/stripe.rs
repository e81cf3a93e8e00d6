//! A local Stripe stand-in on 127.0.0.1 (selected with
//! `LEADFLOW_STRIPE_API_BASE`): it answers customer, Checkout Session,
//! Billing Portal session and subscription updates with Stripe's documented
//! JSON shapes, records every request (path, bearer key, `Idempotency-Key`,
//! the form fields), and replays a customer for a repeated idempotency key as
//! Stripe does. Events are signed here as Stripe signs them, independently of
//! Leadflow's verifier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Form, Json, Path};
use poem::{EndpointExt as _, Request, Route, handler};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Reply, TestApp, read};

pub const SECRET_KEY: &str = "sk_test_leadflow";
pub const WEBHOOK_SECRET: &str = "whsec_test_leadflow";
pub const PRICE_STARTER: &str = "price_starter_monthly";
pub const PRICE_PRO: &str = "price_pro_monthly";
pub const APP_URL: &str = "https://app.acme.test";

/// One request Stripe received.
#[derive(Clone, Debug)]
pub struct StripeRequest {
    /// `/v1/customers`, …
    pub path: String,
    /// The `Authorization` header.
    pub authorization: String,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    /// The form fields, in order.
    pub form: Vec<(String, String)>,
}

impl StripeRequest {
    /// The value of the form field `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<StripeRequest>>>,
    customers: Arc<Mutex<HashMap<String, String>>>,
}

fn record(req: &Request, form: Vec<(String, String)>, shared: &Shared) -> usize {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut requests = shared.requests.lock().unwrap();
    requests.push(StripeRequest {
        path: req.uri().path().to_owned(),
        authorization: header("authorization").unwrap_or_default(),
        idempotency_key: header("idempotency-key"),
        form,
    });
    requests.len()
}

fn field(form: &[(String, String)], key: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[handler]
fn customers(req: &Request, Form(form): Form<Vec<(String, String)>>, shared: Data<&Shared>) -> Json<Value> {
    let n = record(req, form.clone(), &shared);
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let id = shared.customers.lock().unwrap().entry(key).or_insert_with(|| format!("cus_test_{n}")).clone();
    let field = |k: &str| field(&form, k);
    Json(json!({
        "id": id, "object": "customer", "livemode": false, "created": 1_700_000_000,
        "name": field("name"), "email": field("email"),
        "metadata": { "organization_id": field("metadata[organization_id]") },
    }))
}

#[handler]
fn checkout_sessions(
    req: &Request,
    Form(form): Form<Vec<(String, String)>>,
    shared: Data<&Shared>,
) -> Json<Value> {
    let n = record(req, form.clone(), &shared);
    let field = |k: &str| field(&form, k);
    Json(json!({
        "id": format!("cs_test_{n}"), "object": "checkout.session", "livemode": false,
        "mode": field("mode"), "customer": field("customer"), "status": "open", "payment_status": "unpaid",
        "client_reference_id": field("client_reference_id"),
        "success_url": field("success_url"), "cancel_url": field("cancel_url"),
        "url": format!("https://checkout.stripe.com/c/pay/cs_test_{n}"),
    }))
}

#[handler]
fn portal_sessions(
    req: &Request,
    Form(form): Form<Vec<(String, String)>>,
    shared: Data<&Shared>,
) -> Json<Value> {
    let n = record(req, form.clone(), &shared);
    let field = |k: &str| field(&form, k);
    Json(json!({
        "id": format!("bps_test_{n}"), "object": "billing_portal.session", "livemode": false,
        "customer": field("customer"), "return_url": field("return_url"),
        "url": format!("https://billing.stripe.com/p/session/test_{n}"),
    }))
}

#[handler]
fn subscription(
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
    shared: Data<&Shared>,
) -> Json<Value> {
    record(req, form.clone(), &shared);
    let cancel = form.iter().any(|(k, v)| k == "cancel_at_period_end" && v == "true");
    Json(json!({ "id": id, "object": "subscription", "status": "active", "cancel_at_period_end": cancel }))
}

/// The running stand-in.
pub struct StripeStandIn {
    /// `http://127.0.0.1:port`: `LEADFLOW_STRIPE_API_BASE`.
    pub api_base: String,
    shared: Shared,
}

impl StripeStandIn {
    pub async fn start() -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let shared = Shared::default();
        let app = Route::new()
            .at("/v1/customers", poem::post(customers))
            .at("/v1/checkout/sessions", poem::post(checkout_sessions))
            .at("/v1/billing_portal/sessions", poem::post(portal_sessions))
            .at("/v1/subscriptions/:id", poem::post(subscription))
            .data(shared.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self { api_base: format!("http://{addr}"), shared }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<StripeRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<StripeRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// The server environment that bills through this stand-in.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LEADFLOW_STRIPE_SECRET_KEY", SECRET_KEY.into()),
            ("LEADFLOW_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("LEADFLOW_STRIPE_PRICE_STARTER", PRICE_STARTER.into()),
            ("LEADFLOW_STRIPE_PRICE_PRO", PRICE_PRO.into()),
            ("LEADFLOW_STRIPE_API_BASE", self.api_base.clone()),
            ("LEADFLOW_APP_URL", APP_URL.into()),
        ]
    }
}

/// A Stripe event envelope.
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id, "object": "event", "api_version": "2024-06-20", "created": created, "livemode": false,
        "pending_webhooks": 1, "request": { "id": null, "idempotency_key": null },
        "type": kind, "data": { "object": object },
    })
}

/// A subscription object (the shape of API version 2024-06-20).
pub fn subscription_object(
    id: &str,
    customer: &str,
    status: &str,
    price: &str,
    period_start: i64,
    cancel_at_period_end: bool,
) -> Value {
    json!({
        "id": id, "object": "subscription", "customer": customer, "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "current_period_start": period_start, "current_period_end": period_start + 30 * 86_400,
        "metadata": {},
        "items": { "object": "list", "data": [ { "id": "si_test", "object": "subscription_item",
            "price": { "id": price, "object": "price", "recurring": { "interval": "month" } } } ] },
    })
}

/// The `Stripe-Signature` header for `payload` at `timestamp`, computed as
/// Stripe documents it: HMAC-SHA256 of `"{t}.{payload}"` keyed with the secret.
pub fn signature(payload: &str, secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `payload` to the webhook with `signature` (none when `None`).
pub async fn deliver_raw(app: &TestApp, payload: &str, signature: Option<String>) -> Reply {
    let mut request = app
        .client
        .post(format!("{}/api/v1/billing/stripe/webhook", app.base))
        .header("content-type", "application/json; charset=utf-8")
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    read(request.send().await.unwrap()).await
}

/// Delivers `event` signed now with the test secret, as Stripe would.
pub async fn deliver(app: &TestApp, event: &Value) -> Reply {
    let payload = event.to_string();
    let now = chrono::Utc::now().timestamp();
    deliver_raw(app, &payload, Some(signature(&payload, WEBHOOK_SECRET, now))).await
}
