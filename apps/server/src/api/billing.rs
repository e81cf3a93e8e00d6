//! `POST /api/v1/billing/stripe/webhook`: Stripe's events, signed. The body is
//! taken as the exact bytes Stripe sent, since the signature covers them.

use std::sync::Arc;

use bytes::Bytes;
use poem::web::Data;
use poem::{Request, RequestBody};
use poem_openapi::param::Header;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type as _;
use poem_openapi::{Object, OpenApi};

use crate::api::ApiTags;
use crate::problem::ApiResult;
use crate::state::AppState;

/// Operations of billing's provider callbacks.
pub struct BillingApi;

/// A Stripe event, as Stripe sends it (only what Leadflow reads is described).
#[derive(Object)]
#[oai(rename = "StripeEvent")]
pub struct StripeEventDoc {
    /// The event id (`evt_…`); each is processed once.
    #[oai(validator(max_length = 255))]
    pub id: String,
    /// The event type, such as `invoice.paid`.
    #[oai(rename = "type", validator(max_length = 255))]
    pub kind: String,
    /// When the event was created (Unix seconds): an event older than the last one applied changes nothing.
    pub created: i64,
    /// `{"object": {…}}`: the Checkout Session, subscription or invoice.
    pub data: serde_json::Value,
}

/// The raw JSON body of a signed event.
pub struct SignedJson(pub Bytes);

impl Payload for SignedJson {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        StripeEventDoc::schema_ref()
    }

    fn register(registry: &mut Registry) {
        StripeEventDoc::register(registry);
    }
}

impl ParsePayload for SignedJson {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(<Bytes as poem::FromRequest>::from_request(request, body).await?))
    }
}

poem_openapi::impl_apirequest_for_payload!(SignedJson,);

/// What became of a received event.
#[derive(Object)]
pub struct EventReceipt {
    /// Always `true`: the event was verified and stored.
    pub received: bool,
    /// `applied`, `unchanged`, `stale` (a newer event was applied), `duplicate`
    /// (processed before), `unknown_customer` or `ignored` (a type Leadflow does not act on).
    pub outcome: String,
}

#[OpenApi(tag = "ApiTags::Subscriptions")]
impl BillingApi {
    /// Receive a Stripe event (called by Stripe)
    ///
    /// Public, authenticated by the `Stripe-Signature` header: HMAC-SHA256 of
    /// `{t}.{raw body}` with the endpoint's signing secret, at most five
    /// minutes old. Each event id is processed once, even when Stripe delivers
    /// it twice at the same moment; an event older than the last one applied
    /// changes nothing. `checkout.session.completed`,
    /// `customer.subscription.created|updated|deleted`, `invoice.paid` and
    /// `invoice.payment_failed` change the subscription (audited with the
    /// `system` actor, sent as `subscription.updated`); other types are
    /// acknowledged. 400 for a bad signature; 403 `billing_not_configured`
    /// without Stripe.
    #[oai(path = "/api/v1/billing/stripe/webhook", method = "post", operation_id = "receiveStripeEvent")]
    async fn receive(
        &self,
        state: Data<&Arc<AppState>>,
        #[oai(name = "Stripe-Signature")] signature: Header<Option<String>>,
        body: SignedJson,
    ) -> ApiResult<Json<EventReceipt>> {
        let outcome = state.billing.receive(signature.0.as_deref(), &body.0).await?;
        tracing::info!(outcome = outcome.as_str(), "stripe event received");
        Ok(Json(EventReceipt { received: true, outcome: outcome.as_str().to_owned() }))
    }
}
