//! Ports of delivery: the two outboxes (stores) and the two ways out
//! (an email transport, an HTTP sender).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{AuditEntry, KeysetPage, KeysetPaged, PlatformScope, TenantScope};

use crate::email::{Email, EmailFilter, EmailId, EmailOutcome, OutgoingEmail};
use crate::webhooks::{
    DeliveryAttempt, DeliveryOutcome, DeliveryStatus, DeliveryTarget, WebhookDelivery, WebhookDeliveryId,
    WebhookEndpoint, WebhookEndpointId,
};

/// The email outbox.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EmailOutbox: Send + Sync {
    /// Leases up to `limit` due messages of every organization to `worker`
    /// until `lease_until`, marking them `sending`. A message left `sending`
    /// by a worker whose lease ran out is due again when it is transactional,
    /// and becomes `unknown` when it is outreach (it is never sent twice).
    ///
    /// # Errors
    /// When the store fails. MUST never lease one message to two workers at once.
    async fn claim_due(
        &self,
        platform: PlatformScope,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<OutgoingEmail>>;

    /// Records how a leased message left (or did not), only while `worker`
    /// holds its lease; a sent message forgets its secrets.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when the lease was lost.
    async fn record(
        &self,
        platform: PlatformScope,
        id: EmailId,
        worker: &str,
        outcome: &EmailOutcome,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Gives `worker`'s unfinished leases back (at shutdown).
    ///
    /// # Errors
    /// When the store fails.
    async fn release(&self, platform: PlatformScope, worker: &str) -> anyhow::Result<()>;

    /// A newest-first page of the organization's messages.
    ///
    /// # Errors
    /// When the store fails.
    async fn page(
        &self,
        scope: TenantScope,
        filter: &EmailFilter,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Email>>;

    /// One message of the organization.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, scope: TenantScope, id: EmailId) -> anyhow::Result<Option<Email>>;

    /// Makes a `failed` or `unknown` message due again now (attempts start
    /// over) and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when it is no longer failed or unknown.
    async fn resend(
        &self,
        scope: TenantScope,
        id: EmailId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;
}

/// A rendered message on its way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The stable `Message-ID` (without angle brackets).
    pub message_id: String,
    /// The recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The message's kind, for transports that file messages.
    pub kind: &'static str,
}

/// Why a message did not leave.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// It surely did not leave and may later (no connection, SMTP 4xx).
    #[error("transient: {0}")]
    Transient(String),
    /// It will never leave (SMTP 5xx, an invalid address).
    #[error("permanent: {0}")]
    Permanent(String),
    /// The conversation broke off after the message may have been accepted.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

/// A way for email to leave (SMTP, files, nowhere).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EmailTransport: Send + Sync {
    /// Sends one message; answers the server's reply.
    ///
    /// # Errors
    /// Classified by what is known of the message's fate.
    async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError>;

    /// Whether messages really leave (`none` keeps them in the outbox, unsent).
    fn delivers(&self) -> bool {
        true
    }
}

/// Webhook endpoints and their delivery logs, per organization.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Creates an endpoint with its secret and writes `audit`.
    ///
    /// # Errors
    /// When the store fails.
    async fn create(
        &self,
        scope: TenantScope,
        endpoint: &WebhookEndpoint,
        secret: &str,
        audit: &AuditEntry,
    ) -> anyhow::Result<()>;

    /// The organization's endpoints, newest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn list(&self, scope: TenantScope) -> anyhow::Result<Vec<WebhookEndpoint>>;

    /// One endpoint.
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, scope: TenantScope, id: WebhookEndpointId)
    -> anyhow::Result<Option<WebhookEndpoint>>;

    /// Saves a changed endpoint and writes `audit`.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when it no longer exists.
    async fn update(
        &self,
        scope: TenantScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Deletes an endpoint with its deliveries and writes `audit`.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when it did not exist.
    async fn delete(
        &self,
        scope: TenantScope,
        id: WebhookEndpointId,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Replaces the secret; the old one keeps signing until `previous_until`.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when it does not exist.
    async fn rotate_secret(
        &self,
        scope: TenantScope,
        id: WebhookEndpointId,
        secret: &str,
        previous_until: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Queues one delivery of `event_type` with `data` to one endpoint (the test event).
    ///
    /// # Errors
    /// When the store fails.
    async fn enqueue(
        &self,
        scope: TenantScope,
        endpoint: WebhookEndpointId,
        event_type: &str,
        data: serde_json::Value,
        now: DateTime<Utc>,
    ) -> anyhow::Result<WebhookDelivery>;

    /// A newest-first page of an endpoint's deliveries with their attempts.
    ///
    /// # Errors
    /// When the store fails.
    async fn deliveries(
        &self,
        scope: TenantScope,
        endpoint: WebhookEndpointId,
        status: Option<DeliveryStatus>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<WebhookDelivery>>;

    /// Makes a delivery due again now (a failed one starts a new schedule) and writes `audit`.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when there is no such delivery or it already succeeded.
    async fn retry_delivery(
        &self,
        scope: TenantScope,
        endpoint: WebhookEndpointId,
        delivery: WebhookDeliveryId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;
}

/// The webhook outbox, as the workers see it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookOutbox: Send + Sync {
    /// Leases up to `limit` due deliveries of every organization to `worker`
    /// until `lease_until`, with where each goes.
    ///
    /// # Errors
    /// When the store fails. MUST never lease one delivery to two workers at once.
    async fn claim_due(
        &self,
        platform: PlatformScope,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<(WebhookDelivery, DeliveryTarget)>>;

    /// Logs `attempt` and applies `outcome` to the delivery and its endpoint
    /// (a success clears `failing_since`, a failure sets it if unset, `Gone`
    /// and `Exhausted` disable the endpoint), only while `worker` holds the lease.
    ///
    /// # Errors
    /// When the store fails. Answers `Ok(false)` when the lease was lost.
    async fn record(
        &self,
        platform: PlatformScope,
        delivery: &WebhookDelivery,
        worker: &str,
        attempt: &DeliveryAttempt,
        outcome: &DeliveryOutcome,
    ) -> anyhow::Result<bool>;

    /// Gives `worker`'s leases back (at shutdown).
    ///
    /// # Errors
    /// When the store fails.
    async fn release(&self, platform: PlatformScope, worker: &str) -> anyhow::Result<()>;
}

/// One HTTP POST and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostResult {
    /// The status answered (`None`: no answer — refused, timed out, blocked).
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// How long it took.
    pub latency_ms: u32,
}

/// POSTs JSON to URLs that must resolve to public addresses.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `body` with `headers` to `url`; a redirect is not followed.
    async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> PostResult;
}
