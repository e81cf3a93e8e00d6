//! `/api/v1/webhooks`: endpoints that receive the organization's events,
//! signed by the Standard Webhooks specification, with their delivery log.

use crate::api::text::Cursor;
use std::sync::Arc;

use leadflow_delivery::webhooks::{EVENT_TYPES, EndpointInput};
use leadflow_delivery::{
    DeliveryStatus, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId,
};
use leadflow_kernel::KeysetPage;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::api::dto::NoContent;
use crate::api::dto::{KeysetPagination, maybe};
use crate::problem::ApiResult;
use crate::security::TenantAuth;
use crate::state::AppState;

/// Operations of the Webhooks tag.
pub struct WebhooksApi;

/// An event type an endpoint can subscribe to (`GET /webhooks/event-types` describes each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "WebhookEventType")]
pub enum WebhookEventTypeDto {
    /// `lead.created`.
    #[oai(rename = "lead.created")]
    LeadCreated,
    /// `lead.updated`.
    #[oai(rename = "lead.updated")]
    LeadUpdated,
    /// `lead.assigned`.
    #[oai(rename = "lead.assigned")]
    LeadAssigned,
    /// `lead.deleted`.
    #[oai(rename = "lead.deleted")]
    LeadDeleted,
    /// `workflow.approval_requested`.
    #[oai(rename = "workflow.approval_requested")]
    WorkflowApprovalRequested,
    /// `workflow.completed`.
    #[oai(rename = "workflow.completed")]
    WorkflowCompleted,
    /// `workflow.failed`.
    #[oai(rename = "workflow.failed")]
    WorkflowFailed,
    /// `member.added`.
    #[oai(rename = "member.added")]
    MemberAdded,
    /// `member.removed`.
    #[oai(rename = "member.removed")]
    MemberRemoved,
    /// `member.role_changed`.
    #[oai(rename = "member.role_changed")]
    MemberRoleChanged,
    /// `invitation.created`.
    #[oai(rename = "invitation.created")]
    InvitationCreated,
    /// `invitation.accepted`.
    #[oai(rename = "invitation.accepted")]
    InvitationAccepted,
    /// `subscription.updated`.
    #[oai(rename = "subscription.updated")]
    SubscriptionUpdated,
    /// `organization.updated`.
    #[oai(rename = "organization.updated")]
    OrganizationUpdated,
}

impl WebhookEventTypeDto {
    /// Every event type.
    pub const ALL: [Self; 14] = [
        Self::LeadCreated,
        Self::LeadUpdated,
        Self::LeadAssigned,
        Self::LeadDeleted,
        Self::WorkflowApprovalRequested,
        Self::WorkflowCompleted,
        Self::WorkflowFailed,
        Self::MemberAdded,
        Self::MemberRemoved,
        Self::MemberRoleChanged,
        Self::InvitationCreated,
        Self::InvitationAccepted,
        Self::SubscriptionUpdated,
        Self::OrganizationUpdated,
    ];

    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LeadCreated => "lead.created",
            Self::LeadUpdated => "lead.updated",
            Self::LeadAssigned => "lead.assigned",
            Self::LeadDeleted => "lead.deleted",
            Self::WorkflowApprovalRequested => "workflow.approval_requested",
            Self::WorkflowCompleted => "workflow.completed",
            Self::WorkflowFailed => "workflow.failed",
            Self::MemberAdded => "member.added",
            Self::MemberRemoved => "member.removed",
            Self::MemberRoleChanged => "member.role_changed",
            Self::InvitationCreated => "invitation.created",
            Self::InvitationAccepted => "invitation.accepted",
            Self::SubscriptionUpdated => "subscription.updated",
            Self::OrganizationUpdated => "organization.updated",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

fn names(events: &[WebhookEventTypeDto]) -> Vec<String> {
    events.iter().map(|e| e.as_str().to_owned()).collect()
}

/// A webhook endpoint.
#[derive(Object)]
#[oai(rename = "WebhookEndpoint", rename_all = "camelCase")]
pub struct EndpointDto {
    /// The endpoint's id.
    pub id: Uuid,
    /// Where events are POSTed (`https://`).
    pub url: String,
    /// What the endpoint is for.
    #[oai(nullable)]
    pub description: Option<String>,
    /// The event types it receives.
    pub events: Vec<WebhookEventTypeDto>,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Why Leadflow disabled it: `gone` (it answered 410) or `failing` (every attempt failed for 5 days).
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; cleared by a success.
    #[oai(nullable)]
    pub failing_since: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<WebhookEndpoint> for EndpointDto {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.as_uuid(),
            url: e.url,
            description: e.description,
            events: e.events.iter().filter_map(|name| WebhookEventTypeDto::parse(name)).collect(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A new endpoint and its signing secret.
#[derive(Object)]
#[oai(rename = "WebhookEndpointWithSecret")]
pub struct EndpointWithSecretDto {
    /// The endpoint, as listed from now on.
    pub endpoint: EndpointDto,
    /// The signing secret (`whsec_` + base64), shown in this response only.
    pub secret: String,
}

/// A new signing secret.
#[derive(Object)]
#[oai(rename = "WebhookSecret")]
pub struct SecretDto {
    /// The new secret, shown in this response only; the previous one keeps signing for 24 hours.
    pub secret: String,
}

/// What an endpoint is created with.
#[derive(Object)]
#[oai(rename = "CreateWebhookEndpoint")]
pub struct CreateBody {
    /// Where events are POSTed: an `https://` URL whose host resolves to public addresses.
    #[oai(deserialize_with = "crate::api::dto::strict", validator(min_length = 8, max_length = 2048))]
    pub url: String,
    /// The event types to receive (see `GET /webhooks/event-types`).
    #[oai(validator(min_items = 1, max_items = 14))]
    pub events: Vec<WebhookEventTypeDto>,
    /// What the endpoint is for.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 500))]
    pub description: Option<String>,
}

/// What an endpoint's change holds; absent fields stay as they are.
#[derive(Object)]
#[oai(rename = "UpdateWebhookEndpoint")]
pub struct UpdateBody {
    /// A new URL.
    #[oai(
        deserialize_with = "crate::api::dto::strict",
        nullable,
        validator(min_length = 8, max_length = 2048)
    )]
    pub url: Option<String>,
    /// New event types.
    #[oai(nullable, validator(min_items = 1, max_items = 14))]
    pub events: Option<Vec<WebhookEventTypeDto>>,
    /// A new description; `null` clears it.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 500))]
    pub description: MaybeUndefined<String>,
    /// `false` pauses deliveries; `true` resumes them (and clears why Leadflow disabled it).
    #[oai(nullable)]
    pub enabled: Option<bool>,
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename = "WebhookDeliveryStatus", rename_all = "snake_case")]
pub enum DeliveryStatusDto {
    /// Waiting for its first or next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up: retries spent, the endpoint answered 410, or it is disabled.
    Failed,
}

impl From<DeliveryStatusDto> for DeliveryStatus {
    fn from(s: DeliveryStatusDto) -> Self {
        match s {
            DeliveryStatusDto::Pending => Self::Pending,
            DeliveryStatusDto::Succeeded => Self::Succeeded,
            DeliveryStatusDto::Failed => Self::Failed,
        }
    }
}

impl From<DeliveryStatus> for DeliveryStatusDto {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Succeeded => Self::Succeeded,
            DeliveryStatus::Failed => Self::Failed,
        }
    }
}

/// One attempt of a delivery.
#[derive(Object)]
#[oai(rename = "WebhookAttempt", rename_all = "camelCase")]
pub struct AttemptDto {
    /// When it started.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The HTTP status the endpoint answered; absent when it did not answer.
    #[oai(nullable)]
    pub status_code: Option<u16>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: u32,
    /// Why it failed.
    #[oai(nullable)]
    pub error: Option<String>,
}

/// One event on its way to one endpoint.
#[derive(Object)]
#[oai(rename = "WebhookDelivery", rename_all = "camelCase")]
pub struct DeliveryDto {
    /// The delivery's id.
    pub id: Uuid,
    /// The `webhook-id` header of every attempt (`msg_…`).
    pub webhook_id: String,
    /// The event type.
    pub event_type: String,
    /// The body POSTed: `{type, timestamp, data}`.
    pub payload: serde_json::Value,
    /// Where it is.
    pub status: DeliveryStatusDto,
    /// How many delivery attempts were made.
    pub attempts: u32,
    /// When the next attempt is due.
    #[oai(nullable)]
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The last HTTP status answered.
    #[oai(nullable)]
    pub last_status_code: Option<u16>,
    /// The last failure.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the endpoint accepted it.
    #[oai(nullable)]
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Every attempt, oldest first.
    pub log: Vec<AttemptDto>,
}

impl From<WebhookDelivery> for DeliveryDto {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id.as_uuid(),
            webhook_id: d.message_id(),
            event_type: d.event_type,
            payload: d.payload,
            status: d.status.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            log: d
                .log
                .into_iter()
                .map(|a| AttemptDto {
                    at: a.at,
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                })
                .collect(),
        }
    }
}

/// A page of deliveries.
#[derive(Object)]
#[oai(rename = "WebhookDeliveryPage")]
pub struct DeliveryPage {
    /// The items of this page, newest first.
    pub data: Vec<DeliveryDto>,
    /// Where the next page starts.
    pub pagination: KeysetPagination,
}

/// The event types an endpoint can subscribe to.
#[derive(Object)]
#[oai(rename = "WebhookEventTypes")]
pub struct EventTypesDto {
    /// Every event type.
    pub data: Vec<String>,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Created; the secret is in this response only.
    #[oai(status = 201)]
    Created(Json<EndpointWithSecretDto>),
}

#[derive(ApiResponse)]
enum QueuedResponse {
    /// Queued; the dispatcher sends it within moments.
    #[oai(status = 202)]
    Queued(Json<DeliveryDto>),
}

#[derive(ApiResponse)]
enum RetryResponse {
    /// Due again at once.
    #[oai(status = 202)]
    Queued,
}

#[OpenApi(prefix_path = "/api/v1/webhooks", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Create a webhook endpoint (`settings:manage`); the secret is shown once
    #[oai(path = "/", method = "post", operation_id = "createWebhookEndpoint")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        body: Json<CreateBody>,
    ) -> ApiResult<CreateResponse> {
        let body = body.0;
        let input = EndpointInput {
            url: Some(body.url),
            events: Some(names(&body.events)),
            description: Some(body.description),
            enabled: None,
        };
        let (endpoint, secret) = state.webhooks.create(auth.actor(), input).await?;
        Ok(CreateResponse::Created(Json(EndpointWithSecretDto { endpoint: endpoint.into(), secret })))
    }

    /// List the organization's webhook endpoints, newest first (`settings:manage`)
    #[oai(path = "/", method = "get", operation_id = "listWebhookEndpoints")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<Vec<EndpointDto>>> {
        Ok(Json(state.webhooks.list(auth.actor()).await?.into_iter().map(Into::into).collect()))
    }

    /// The event types an endpoint can subscribe to
    #[oai(path = "/event-types", method = "get", operation_id = "listWebhookEventTypes")]
    async fn event_types(&self, _auth: TenantAuth) -> ApiResult<Json<EventTypesDto>> {
        Ok(Json(EventTypesDto { data: EVENT_TYPES.iter().map(|s| (*s).to_owned()).collect() }))
    }

    /// Get a webhook endpoint (`settings:manage`)
    #[oai(path = "/:id", method = "get", operation_id = "getWebhookEndpoint")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<EndpointDto>> {
        Ok(Json(state.webhooks.get(auth.actor(), WebhookEndpointId::from_uuid(id.0)).await?.into()))
    }

    /// Change a webhook endpoint (`settings:manage`)
    #[oai(path = "/:id", method = "patch", operation_id = "updateWebhookEndpoint")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: Json<UpdateBody>,
    ) -> ApiResult<Json<EndpointDto>> {
        let body = body.0;
        let input = EndpointInput {
            url: body.url,
            events: body.events.as_deref().map(names),
            description: maybe(body.description),
            enabled: body.enabled,
        };
        Ok(Json(state.webhooks.update(auth.actor(), WebhookEndpointId::from_uuid(id.0), input).await?.into()))
    }

    /// Delete a webhook endpoint and its delivery log (`settings:manage`)
    #[oai(path = "/:id", method = "delete", operation_id = "deleteWebhookEndpoint")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        state.webhooks.delete(auth.actor(), WebhookEndpointId::from_uuid(id.0)).await?;
        Ok(NoContent::Done)
    }

    /// Replace the signing secret (`settings:manage`); the previous one keeps signing for 24 hours
    #[oai(path = "/:id/rotate-secret", method = "post", operation_id = "rotateWebhookSecret")]
    async fn rotate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<SecretDto>> {
        let secret = state.webhooks.rotate_secret(auth.actor(), WebhookEndpointId::from_uuid(id.0)).await?;
        Ok(Json(SecretDto { secret }))
    }

    /// Send a `webhook.test` event to this endpoint (`settings:manage`)
    #[oai(path = "/:id/test", method = "post", operation_id = "testWebhookEndpoint")]
    async fn test(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<QueuedResponse> {
        let delivery = state.webhooks.test(auth.actor(), WebhookEndpointId::from_uuid(id.0)).await?;
        Ok(QueuedResponse::Queued(Json(delivery.into())))
    }

    /// The endpoint's deliveries with every attempt, newest first (`settings:manage`)
    #[oai(path = "/:id/deliveries", method = "get", operation_id = "listWebhookDeliveries")]
    async fn deliveries(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// Only deliveries in this status.
        status: Query<Option<DeliveryStatusDto>>,
        /// 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The `nextCursor` of the previous page.
        #[oai(validator(custom = "crate::api::text::Conforms"))]
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<Json<DeliveryPage>> {
        let page = KeysetPage::new(limit.0, cursor.0.as_deref())?;
        let result = state
            .webhooks
            .deliveries(auth.actor(), WebhookEndpointId::from_uuid(id.0), status.0.map(Into::into), page)
            .await?;
        Ok(Json(DeliveryPage {
            data: result.items.into_iter().map(Into::into).collect(),
            pagination: KeysetPagination { limit: page.limit, next_cursor: result.next.map(|c| c.encode()) },
        }))
    }

    /// Deliver again now (`settings:manage`); a failed delivery starts a new retry schedule
    #[oai(path = "/:id/deliveries/:deliveryId/retry", method = "post", operation_id = "retryWebhookDelivery")]
    async fn retry(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "deliveryId")] delivery_id: Path<Uuid>,
    ) -> ApiResult<RetryResponse> {
        state
            .webhooks
            .retry(
                auth.actor(),
                WebhookEndpointId::from_uuid(id.0),
                WebhookDeliveryId::from_uuid(delivery_id.0),
            )
            .await?;
        Ok(RetryResponse::Queued)
    }
}
