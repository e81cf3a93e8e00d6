//! Stripe behind the billing port: a small typed client over `reqwest` for
//! the four calls Leadflow makes (customer, Checkout Session, Billing Portal
//! session, cancel at period end), the webhook signature check
//! ([`signature`]) and the events it reads ([`events`]).
//!
//! Requests are form-encoded as Stripe's API takes them, with the secret key
//! as a bearer token. Creating a customer sends an `Idempotency-Key` derived
//! from the organization, so two first checkouts at once get one customer.

pub mod events;
pub mod signature;

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_subscriptions::PlanId;
use leadflow_subscriptions::billing::{
    BillingProvider, CheckoutRequest, EventRejected, NewCustomer, ProviderEvent,
};
use serde::Deserialize;

pub use events::PriceBook;

/// Stripe's API, unless `LEADFLOW_STRIPE_API_BASE` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// How Leadflow talks to Stripe.
#[derive(Clone)]
pub struct StripeSettings {
    /// The secret API key (`sk_…`).
    pub secret_key: String,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: String,
    /// The price of the starter plan (`price_…`).
    pub price_starter: Option<String>,
    /// The price of the pro plan.
    pub price_pro: Option<String>,
    /// The API's base URL (a local stand-in in tests).
    pub api_base: String,
    /// The integrator's front end: checkout and the portal return there.
    pub app_url: String,
    /// Timeout of each API call.
    pub timeout: Duration,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("secret_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("price_starter", &self.price_starter)
            .field("price_pro", &self.price_pro)
            .field("api_base", &self.api_base)
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

impl PriceBook for StripeSettings {
    fn plan_of(&self, price: &str) -> Option<PlanId> {
        if self.price_starter.as_deref() == Some(price) {
            Some(PlanId::Starter)
        } else if self.price_pro.as_deref() == Some(price) {
            Some(PlanId::Pro)
        } else {
            None
        }
    }
}

impl StripeSettings {
    fn price_of(&self, plan: PlanId) -> Option<&str> {
        match plan {
            PlanId::Starter => self.price_starter.as_deref(),
            PlanId::Pro => self.price_pro.as_deref(),
            PlanId::Enterprise => None,
        }
    }
}

/// The Stripe billing provider.
pub struct Stripe {
    settings: StripeSettings,
    client: reqwest::Client,
}

/// What Leadflow reads of the objects Stripe answers with.
#[derive(Deserialize)]
struct Created {
    id: String,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct StripeError {
    error: StripeErrorBody,
}

#[derive(Deserialize)]
struct StripeErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl Stripe {
    /// A client for `settings`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: StripeSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("leadflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the Stripe client")?;
        Ok(Self { settings, client })
    }

    /// POSTs a form to `path`; the object Stripe created.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<String>,
    ) -> anyhow::Result<Created> {
        let url = format!("{}{path}", self.settings.api_base.trim_end_matches('/'));
        let mut request = self.client.post(&url).bearer_auth(&self.settings.secret_key).form(form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.with_context(|| format!("calling Stripe: POST {path}"))?;
        let status = response.status();
        let body =
            response.bytes().await.with_context(|| format!("reading Stripe's answer to POST {path}"))?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<StripeError>(&body)
                .map(|e| {
                    format!("{}: {}", e.error.kind.unwrap_or_default(), e.error.message.unwrap_or_default())
                })
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
            anyhow::bail!("Stripe answered POST {path} with {status}: {detail}");
        }
        serde_json::from_slice(&body).with_context(|| format!("reading Stripe's answer to POST {path}"))
    }

    fn url_of(created: Created, what: &str) -> anyhow::Result<String> {
        created.url.with_context(|| format!("Stripe's {what} has no url"))
    }
}

#[async_trait]
impl BillingProvider for Stripe {
    fn sells(&self, plan: PlanId) -> bool {
        self.settings.price_of(plan).is_some()
    }

    async fn create_customer(&self, customer: &NewCustomer) -> anyhow::Result<String> {
        let organization = customer.organization.to_string();
        let mut form =
            vec![("name", customer.name.clone()), ("metadata[organization_id]", organization.clone())];
        if !customer.email.is_empty() {
            form.push(("email", customer.email.clone()));
        }
        let created =
            self.post("/v1/customers", &form, Some(format!("leadflow-customer-{organization}"))).await?;
        Ok(created.id)
    }

    async fn checkout(&self, request: &CheckoutRequest) -> anyhow::Result<String> {
        let price = self.settings.price_of(request.plan).context("the plan has no Stripe price")?;
        let organization = request.organization.to_string();
        let app = self.settings.app_url.trim_end_matches('/');
        let form = [
            ("mode", "subscription".to_owned()),
            ("customer", request.customer.clone()),
            ("line_items[0][price]", price.to_owned()),
            ("line_items[0][quantity]", "1".to_owned()),
            ("success_url", format!("{app}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}")),
            ("cancel_url", format!("{app}/billing?checkout=canceled")),
            ("client_reference_id", organization.clone()),
            ("metadata[organization_id]", organization.clone()),
            ("metadata[plan]", request.plan.as_str().to_owned()),
            ("subscription_data[metadata][organization_id]", organization),
        ];
        Self::url_of(self.post("/v1/checkout/sessions", &form, None).await?, "Checkout Session")
    }

    async fn portal(&self, customer: &str) -> anyhow::Result<String> {
        let app = self.settings.app_url.trim_end_matches('/');
        let form = [("customer", customer.to_owned()), ("return_url", format!("{app}/billing"))];
        Self::url_of(self.post("/v1/billing_portal/sessions", &form, None).await?, "Billing Portal session")
    }

    async fn set_cancel_at_period_end(&self, subscription: &str, cancel: bool) -> anyhow::Result<()> {
        let form = [("cancel_at_period_end", cancel.to_string())];
        self.post(&format!("/v1/subscriptions/{subscription}"), &form, None).await.map(|_| ())
    }

    fn read_event(
        &self,
        signature: Option<String>,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ProviderEvent, EventRejected> {
        signature::verify(signature.as_deref(), payload, &self.settings.webhook_secret, now)?;
        events::read(payload, &self.settings)
    }
}
