//! The webhook model: endpoints, their secrets, deliveries (one per event and
//! endpoint; the delivery id is the Standard Webhooks `webhook-id`) and the
//! log of attempts, with the retry schedule and the disabling rules of SPEC §5.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::{OrganizationId, ValidationErrors};
use rand::RngCore as _;
use serde_json::Value;

leadflow_kernel::typed_id!(
    /// Identifies a webhook endpoint.
    WebhookEndpointId
);
leadflow_kernel::typed_id!(
    /// Identifies a delivery: the same `webhook-id` on every attempt.
    WebhookDeliveryId
);

/// The event types an endpoint can subscribe to.
pub const EVENT_TYPES: [&str; 14] = [
    "lead.created",
    "lead.updated",
    "lead.assigned",
    "lead.deleted",
    "workflow.approval_requested",
    "workflow.completed",
    "workflow.failed",
    "member.added",
    "member.removed",
    "member.role_changed",
    "invitation.created",
    "invitation.accepted",
    "subscription.updated",
    "organization.updated",
];

/// The event `POST /webhooks/{id}/test` sends (to that endpoint only, whatever it subscribes to).
pub const TEST_EVENT: &str = "webhook.test";

/// The waits before the 2nd … 8th attempt of a delivery (SPEC §5).
pub const WEBHOOK_RETRY_SCHEDULE: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// An endpoint failing for this long without a success is disabled.
pub const DISABLE_AFTER_FAILING_FOR: Duration = Duration::days(5);

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// When to try again after failed attempt `attempts` (1-based), or `None`: give up.
#[must_use]
pub fn webhook_retry_delay(attempts: u32) -> Option<Duration> {
    WEBHOOK_RETRY_SCHEDULE.get(usize::try_from(attempts.checked_sub(1)?).ok()?).copied()
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
#[must_use]
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A receiver of an organization's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: WebhookEndpointId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Where events are POSTed.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Why it was disabled by Leadflow (`gone`: it answered 410; `failing`: it failed for 5 days).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (`None` after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// What an endpoint is created or changed with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointInput {
    /// Where events go.
    pub url: Option<String>,
    /// The event types.
    pub events: Option<Vec<String>>,
    /// What it is for (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Turn it on or off (on again clears `disabled_reason` and `failing_since`).
    pub enabled: Option<bool>,
}

/// Checks an endpoint's URL: absolute `https` (or `http` when private
/// addresses are allowed, for tests and local development), a host, no
/// credentials, at most 2,048 characters. Where the host resolves is checked
/// at every connection, by the sender.
///
/// # Errors
/// The field's message.
pub fn check_url(url: &str, allow_insecure: bool) -> Result<(), &'static str> {
    if url.len() > 2048 {
        return Err("must be at most 2048 characters");
    }
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://").filter(|_| allow_insecure) {
        rest
    } else {
        return Err("must be an https:// URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err("must name a host, without credentials");
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters");
    }
    Ok(())
}

/// Checks a list of event types: 1–20 known types, no repeats.
///
/// # Errors
/// The field's message.
pub fn check_events(events: &[String]) -> Result<(), String> {
    if events.is_empty() || events.len() > EVENT_TYPES.len() {
        return Err(format!("must list 1 to {} event types", EVENT_TYPES.len()));
    }
    if let Some(unknown) = events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        return Err(format!("unknown event type {unknown:?}; known: {}", EVENT_TYPES.join(", ")));
    }
    let mut seen = events.to_vec();
    seen.sort();
    seen.dedup();
    if seen.len() != events.len() {
        return Err("lists an event type twice".to_owned());
    }
    Ok(())
}

/// Validates an endpoint's input (`creating`: url and events are required).
///
/// # Errors
/// Every invalid field.
pub fn validate(input: &EndpointInput, creating: bool, allow_insecure: bool) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    match &input.url {
        Some(url) => {
            if let Err(e) = check_url(url, allow_insecure) {
                errors.push("url", e);
            }
        }
        None if creating => errors.push("url", "is required"),
        None => {}
    }
    match &input.events {
        Some(events) => {
            if let Err(e) = check_events(events) {
                errors.push("events", e);
            }
        }
        None if creating => errors.push("events", "is required"),
        None => {}
    }
    if let Some(Some(d)) = &input.description
        && d.chars().count() > 500
    {
        errors.push("description", "must be at most 500 characters");
    }
    errors.into_result()
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up (retries spent, the endpoint answered 410 or was disabled).
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Succeeded, Self::Failed];

    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// One event on its way to one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery {
    /// Its id, sent as `webhook-id` (`msg_` + the UUID's simple form).
    pub id: WebhookDeliveryId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Its endpoint (`None`: a Slack notification, POSTed unsigned to the organization's incoming-webhook URL).
    pub endpoint_id: Option<WebhookEndpointId>,
    /// The event type.
    pub event_type: String,
    /// The body POSTed: `{type, timestamp, data}`.
    pub payload: Value,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last HTTP status answered.
    pub last_status_code: Option<u16>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When the endpoint accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Its attempts, oldest first (read with the delivery log only).
    pub log: Vec<DeliveryAttempt>,
}

impl WebhookDelivery {
    /// The `webhook-id` header.
    #[must_use]
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.id.as_uuid().simple())
    }
}

/// One attempt of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The status the endpoint answered, if it answered.
    pub status_code: Option<u16>,
    /// How long it took.
    pub latency_ms: u32,
    /// Why it failed.
    pub error: Option<String>,
}

/// Where a leased delivery goes: the endpoint's URL and the secrets that sign it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryTarget {
    /// The endpoint's URL.
    pub url: String,
    /// The current secret, then the previous one while a rotation overlaps.
    pub secrets: Vec<String>,
    /// Whether the endpoint still takes deliveries.
    pub enabled: bool,
    /// Since when it has been failing.
    pub failing_since: Option<DateTime<Utc>>,
    /// A Slack incoming webhook: the body is a Block Kit message built from
    /// the payload, unsigned; the outcome moves no endpoint.
    pub slack: bool,
}

/// What an attempt means for its delivery and its endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 2xx: done; the endpoint is healthy again.
    Succeeded,
    /// Failed; try again at `at`.
    Retry {
        /// The next attempt.
        at: DateTime<Utc>,
    },
    /// Failed for good (retries spent, or the endpoint is disabled).
    Failed,
    /// The endpoint answered 410 Gone: the delivery fails and the endpoint is disabled.
    Gone,
    /// The endpoint has failed for [`DISABLE_AFTER_FAILING_FOR`]: the delivery fails and the endpoint is disabled.
    Exhausted,
}

/// Decides what a failed attempt means: 410 disables, five days of failures
/// disable, otherwise the schedule.
#[must_use]
pub fn after_failure(
    attempts: u32,
    status: Option<u16>,
    failing_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DeliveryOutcome {
    if status == Some(410) {
        return DeliveryOutcome::Gone;
    }
    if failing_since.is_some_and(|since| now - since >= DISABLE_AFTER_FAILING_FOR) {
        return DeliveryOutcome::Exhausted;
    }
    match webhook_retry_delay(attempts) {
        Some(wait) => DeliveryOutcome::Retry { at: now + wait },
        None => DeliveryOutcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_32_bytes() {
        let s = new_secret();
        let raw =
            base64::engine::general_purpose::STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, new_secret());
    }

    #[test]
    fn urls_must_be_https_with_a_host() {
        assert!(check_url("https://hooks.example.com/in", false).is_ok());
        assert!(check_url("http://hooks.example.com/in", false).is_err());
        assert!(check_url("http://127.0.0.1:9/in", true).is_ok());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("https:///nohost", false).is_err());
        assert!(check_url("ftp://example.com", true).is_err());
    }

    #[test]
    fn events_must_be_known_and_distinct() {
        assert!(check_events(&["lead.created".into()]).is_ok());
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["lead.exploded".into()]).is_err());
        assert!(check_events(&["lead.created".into(), "lead.created".into()]).is_err());
    }

    #[test]
    fn failures_follow_the_schedule_then_give_up() {
        let now = Utc::now();
        assert_eq!(
            after_failure(1, Some(500), Some(now), now),
            DeliveryOutcome::Retry { at: now + Duration::seconds(5) }
        );
        assert_eq!(
            after_failure(7, None, Some(now), now),
            DeliveryOutcome::Retry { at: now + Duration::hours(10) }
        );
        assert_eq!(after_failure(8, Some(500), Some(now), now), DeliveryOutcome::Failed);
        assert_eq!(after_failure(1, Some(410), None, now), DeliveryOutcome::Gone);
        assert_eq!(
            after_failure(2, Some(500), Some(now - Duration::days(6)), now),
            DeliveryOutcome::Exhausted
        );
    }
}
