//! The dispatcher: workers that lease due outbox rows, send them and record
//! the outcome, like the workflow engine's (leases, `SKIP LOCKED` on
//! PostgreSQL, several processes side by side, graceful shutdown).
//!
//! Email: rendered from its template at send time, with its secrets; a
//! transient failure retries on [`crate::email::EMAIL_RETRY_SCHEDULE`]; an
//! interrupted conversation retries transactional mail (at least once) and
//! marks outreach `unknown` (at most once). Webhooks: signed by the Standard
//! Webhooks specification, 2xx succeeds, anything else retries on
//! [`crate::webhooks::WEBHOOK_RETRY_SCHEDULE`], 410 disables the endpoint.

use std::sync::Arc;
use std::time::Duration;

use leadflow_kernel::{Clock, PlatformScope};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::email::{EmailOutcome, OutgoingEmail, email_retry_delay};
use crate::ports::{EmailOutbox, EmailTransport, OutgoingMessage, SendError, WebhookOutbox, WebhookSender};
use crate::signature::signature_header;
use crate::templates::Templates;
use crate::webhooks::{DeliveryAttempt, DeliveryOutcome, DeliveryTarget, WebhookDelivery, after_failure};

/// How the dispatcher works.
#[derive(Clone, Copy, Debug)]
pub struct DispatcherSettings {
    /// Rows leased per claim.
    pub batch: u64,
    /// How long a lease lasts (longer than one send, SMTP or HTTP, can take).
    pub lease: Duration,
    /// How long an idle worker waits before looking again.
    pub poll_interval: Duration,
    /// Sends a worker keeps in flight at once: a slow mail server or webhook
    /// endpoint holds one of them, never the whole worker.
    pub concurrency: usize,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self {
            batch: 32,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(200),
            concurrency: 64,
        }
    }
}

/// Empties the outboxes.
pub struct Dispatcher {
    emails: Arc<dyn EmailOutbox>,
    transport: Arc<dyn EmailTransport>,
    templates: Arc<Templates>,
    from_domain: String,
    webhooks: Arc<dyn WebhookOutbox>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    settings: DispatcherSettings,
}

fn platform() -> anyhow::Result<PlatformScope> {
    leadflow_kernel::Actor::system()
        .platform()
        .ok_or_else(|| anyhow::anyhow!("the system actor acts across organizations"))
}

/// The wiring of a dispatcher.
pub struct DispatcherPorts {
    /// The email outbox.
    pub emails: Arc<dyn EmailOutbox>,
    /// How email leaves.
    pub transport: Arc<dyn EmailTransport>,
    /// The templates, with the integrator's front-end URL.
    pub templates: Arc<Templates>,
    /// The domain of `Message-ID`s (the sender address's).
    pub from_domain: String,
    /// The webhook outbox.
    pub webhooks: Arc<dyn WebhookOutbox>,
    /// How webhooks leave.
    pub sender: Arc<dyn WebhookSender>,
}

impl Dispatcher {
    /// A dispatcher over its ports.
    pub fn new(ports: DispatcherPorts, clock: Arc<dyn Clock>, settings: DispatcherSettings) -> Self {
        Self {
            emails: ports.emails,
            transport: ports.transport,
            templates: ports.templates,
            from_domain: ports.from_domain,
            webhooks: ports.webhooks,
            sender: ports.sender,
            clock,
            settings,
        }
    }

    fn lease_until(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
            + chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::seconds(60))
    }

    /// Leases one batch of due emails and sends them side by side. Returns how many were leased.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn send_emails_once(&self, worker: &str) -> anyhow::Result<usize> {
        if !self.transport.delivers() {
            return Ok(0);
        }
        let claimed = self
            .emails
            .claim_due(platform()?, worker, self.clock.now(), self.lease_until(), self.settings.batch)
            .await?;
        let count = claimed.len();
        futures_util::future::join_all(claimed.into_iter().map(|email| async move {
            let id = email.email.id;
            if let Err(e) = self.send_email(worker, email).await {
                tracing::warn!(email = %id, error = format!("{e:#}"), "email outcome could not be recorded; the lease runs out and it is picked up again");
            }
        }))
        .await;
        Ok(count)
    }

    async fn send_email(&self, worker: &str, outgoing: OutgoingEmail) -> anyhow::Result<()> {
        let email = &outgoing.email;
        let attempts = email.attempts + 1;
        let message_id = format!("{}@{}", email.id.as_uuid(), self.from_domain);
        let outcome = match self.templates.render(email.kind, &outgoing.data, outgoing.secrets.as_ref()) {
            Err(e) => EmailOutcome::Failed { error: e.to_string() },
            Ok(rendered) => {
                let message = OutgoingMessage {
                    message_id: message_id.clone(),
                    to: email.recipient.clone(),
                    subject: rendered.subject,
                    text: rendered.text,
                    html: rendered.html,
                    kind: email.kind.as_str(),
                };
                match self.transport.send(&message).await {
                    Ok(reply) => {
                        // What is kept of the body: the text as sent, its secrets redacted.
                        let body = self
                            .templates
                            .render(email.kind, &outgoing.data, None)
                            .map_or_else(|_| email.body.clone(), |r| r.text);
                        EmailOutcome::Sent { reply, message_id, body }
                    }
                    Err(SendError::Permanent(error)) => EmailOutcome::Failed { error },
                    Err(SendError::Interrupted(error)) if email.kind.at_most_once() => {
                        EmailOutcome::Unknown { error }
                    }
                    Err(SendError::Transient(error) | SendError::Interrupted(error)) => {
                        match email_retry_delay(attempts) {
                            Some(wait) => EmailOutcome::Retry { error, at: self.clock.now() + wait },
                            None => EmailOutcome::Failed { error },
                        }
                    }
                }
            }
        };
        let result = match &outcome {
            EmailOutcome::Sent { .. } => "sent",
            EmailOutcome::Retry { .. } => "retry",
            _ => "failed",
        };
        metrics::counter!("leadflow_emails_total", "kind" => email.kind.as_str(), "outcome" => result)
            .increment(1);
        match &outcome {
            EmailOutcome::Sent { .. } => {
                tracing::info!(email = %email.id, kind = email.kind.as_str(), "email sent")
            }
            other => {
                tracing::warn!(email = %email.id, kind = email.kind.as_str(), attempts, outcome = ?other, "email not sent")
            }
        }
        self.emails.record(platform()?, email.id, worker, &outcome, self.clock.now()).await?;
        Ok(())
    }

    /// Leases one batch of due webhook deliveries and POSTs them side by side. Returns how many were leased.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn deliver_webhooks_once(&self, worker: &str) -> anyhow::Result<usize> {
        let claimed = self
            .webhooks
            .claim_due(platform()?, worker, self.clock.now(), self.lease_until(), self.settings.batch)
            .await?;
        let count = claimed.len();
        futures_util::future::join_all(claimed.into_iter().map(|(delivery, target)| async move {
            let id = delivery.id;
            if let Err(e) = self.deliver(worker, &delivery, &target).await {
                tracing::warn!(delivery = %id, error = format!("{e:#}"), "webhook outcome could not be recorded");
            }
        }))
        .await;
        Ok(count)
    }

    async fn deliver(
        &self,
        worker: &str,
        delivery: &WebhookDelivery,
        target: &DeliveryTarget,
    ) -> anyhow::Result<()> {
        let started = self.clock.now();
        let attempts = delivery.attempts + 1;
        if !target.enabled {
            let attempt = DeliveryAttempt {
                at: started,
                status_code: None,
                latency_ms: 0,
                error: Some("the endpoint is disabled".into()),
            };
            self.webhooks.record(platform()?, delivery, worker, &attempt, &DeliveryOutcome::Failed).await?;
            return Ok(());
        }
        if target.slack {
            return self.notify_slack(worker, delivery, target).await;
        }
        let id = delivery.message_id();
        let timestamp = started.timestamp();
        let body = serde_json::to_string(&delivery.payload)?;
        let result = match signature_header(&target.secrets, &id, timestamp, &body) {
            Ok(signature) => {
                let headers = vec![
                    ("content-type".to_owned(), "application/json".to_owned()),
                    ("webhook-id".to_owned(), id.clone()),
                    ("webhook-timestamp".to_owned(), timestamp.to_string()),
                    ("webhook-signature".to_owned(), signature),
                    (
                        "user-agent".to_owned(),
                        concat!("Leadflow-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
                    ),
                ];
                self.sender.post(&target.url, &headers, &body).await
            }
            Err(e) => crate::ports::PostResult { status: None, error: Some(e.to_string()), latency_ms: 0 },
        };
        let success = result.status.is_some_and(|s| (200..300).contains(&s));
        let error = match (&result.error, result.status) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(s)) if !success => Some(format!("the endpoint answered {s}")),
            _ => None,
        };
        let outcome = if success {
            DeliveryOutcome::Succeeded
        } else {
            after_failure(attempts, result.status, target.failing_since, self.clock.now())
        };
        let attempt =
            DeliveryAttempt { at: started, status_code: result.status, latency_ms: result.latency_ms, error };
        record_delivery(delivery, success, self.clock.now());
        if success {
            tracing::debug!(delivery = %delivery.id, event = %delivery.event_type, "webhook delivered");
        } else {
            tracing::info!(delivery = %delivery.id, event = %delivery.event_type, attempts, outcome = ?outcome, error = ?attempt.error, "webhook delivery failed");
        }
        self.webhooks.record(platform()?, delivery, worker, &attempt, &outcome).await?;
        Ok(())
    }

    /// POSTs a Slack notification (a Block Kit message, unsigned); failures
    /// retry on the webhook schedule.
    async fn notify_slack(
        &self,
        worker: &str,
        delivery: &WebhookDelivery,
        target: &DeliveryTarget,
    ) -> anyhow::Result<()> {
        let started = self.clock.now();
        let body = serde_json::to_string(&crate::slack::approval_message(
            &delivery.payload,
            self.templates.app_url(),
        ))?;
        let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        let result = self.sender.post(&target.url, &headers, &body).await;
        let success = result.status.is_some_and(|s| (200..300).contains(&s));
        let outcome = if success {
            DeliveryOutcome::Succeeded
        } else {
            match crate::webhooks::webhook_retry_delay(delivery.attempts + 1) {
                Some(wait) => DeliveryOutcome::Retry { at: self.clock.now() + wait },
                None => DeliveryOutcome::Failed,
            }
        };
        let error = result
            .error
            .or_else(|| (!success).then(|| format!("Slack answered {}", result.status.unwrap_or(0))));
        let attempt =
            DeliveryAttempt { at: started, status_code: result.status, latency_ms: result.latency_ms, error };
        self.webhooks.record(platform()?, delivery, worker, &attempt, &outcome).await?;
        Ok(())
    }

    /// A worker: keeps up to `concurrency` sends in flight — claiming more
    /// rows as sends finish, so one slow server never holds the others back —
    /// until `shutdown` turns true; then it lets the sends in flight finish
    /// (each is bounded by its transport's timeout) and gives its leases back.
    pub async fn work(self: Arc<Self>, worker: String, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %worker, "delivery worker started");
        let worker: Arc<str> = worker.into();
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut sends = JoinSet::new();
        while !*shutdown.borrow() {
            while sends.try_join_next().is_some() {}
            let claimed = self.claim_into(&worker, &permits, &mut sends).await;
            if claimed == 0 {
                tokio::select! {
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.changed() => {}
                    Some(_) = sends.join_next(), if !sends.is_empty() => {}
                }
            }
        }
        while sends.join_next().await.is_some() {}
        if let Ok(platform) = platform() {
            for (what, result) in [
                ("emails", self.emails.release(platform, &worker).await),
                ("webhooks", self.webhooks.release(platform, &worker).await),
            ] {
                if let Err(e) = result {
                    tracing::warn!(worker = %worker, what, error = format!("{e:#}"), "releasing leases failed; they expire on their own");
                }
            }
        }
        tracing::info!(worker = %worker, "delivery worker stopped");
    }

    /// Claims as many due emails and webhooks as there are free permits and
    /// starts sending each; returns how many were claimed.
    async fn claim_into(
        self: &Arc<Self>,
        worker: &Arc<str>,
        permits: &Arc<Semaphore>,
        sends: &mut JoinSet<()>,
    ) -> usize {
        let mut claimed = 0;
        let free =
            |p: &Semaphore| u64::try_from(p.available_permits()).unwrap_or(u64::MAX).min(self.settings.batch);
        let Ok(platform) = platform() else { return 0 };
        if self.transport.delivers() && free(permits) > 0 {
            match self
                .emails
                .claim_due(platform, worker, self.clock.now(), self.lease_until(), free(permits))
                .await
            {
                Ok(emails) => {
                    claimed += emails.len();
                    for email in emails {
                        let (this, worker) = (self.clone(), worker.clone());
                        let permit = permits.clone().acquire_owned().await;
                        sends.spawn(async move {
                            let _permit = permit;
                            let id = email.email.id;
                            if let Err(e) = this.send_email(&worker, email).await {
                                tracing::warn!(email = %id, error = format!("{e:#}"), "email outcome could not be recorded; the lease runs out and it is picked up again");
                            }
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(worker = %worker, error = format!("{e:#}"), "claiming emails failed")
                }
            }
        }
        if free(permits) > 0 {
            match self
                .webhooks
                .claim_due(platform, worker, self.clock.now(), self.lease_until(), free(permits))
                .await
            {
                Ok(deliveries) => {
                    claimed += deliveries.len();
                    for (delivery, target) in deliveries {
                        let (this, worker) = (self.clone(), worker.clone());
                        let permit = permits.clone().acquire_owned().await;
                        sends.spawn(async move {
                            let _permit = permit;
                            if let Err(e) = this.deliver(&worker, &delivery, &target).await {
                                tracing::warn!(delivery = %delivery.id, error = format!("{e:#}"), "webhook outcome could not be recorded");
                            }
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(worker = %worker, error = format!("{e:#}"), "claiming webhook deliveries failed")
                }
            }
        }
        claimed
    }
}

/// Records a webhook attempt through the `metrics` facade; a success also
/// records its lag, from the event to its delivery.
fn record_delivery(delivery: &WebhookDelivery, success: bool, now: chrono::DateTime<chrono::Utc>) {
    let outcome = if success { "succeeded" } else { "failed" };
    metrics::counter!("leadflow_webhook_attempts_total", "outcome" => outcome).increment(1);
    if success {
        let lag = (now - delivery.created_at).to_std().unwrap_or_default();
        metrics::histogram!("leadflow_webhook_delivery_lag_seconds").record(lag.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::{Email, EmailId, EmailKind, EmailStatus};
    use crate::ports::{
        MockEmailOutbox, MockEmailTransport, MockWebhookOutbox, MockWebhookSender, PostResult,
    };
    use crate::webhooks::{DeliveryStatus, WebhookDeliveryId, WebhookEndpointId};
    use chrono::Utc;
    use leadflow_kernel::{OrganizationId, SystemClock};
    use serde_json::json;
    use std::sync::Mutex;

    fn outgoing(kind: EmailKind) -> OutgoingEmail {
        OutgoingEmail {
            email: Email {
                id: EmailId::new(),
                organization_id: Some(OrganizationId::new()),
                kind,
                recipient: "sam@bigcorp.io".into(),
                subject: "s".into(),
                body: "b".into(),
                status: EmailStatus::Sending,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
                reply: None,
                message_id: None,
                lead_id: None,
                created_at: Utc::now(),
                sent_at: None,
            },
            data: json!({"subject": "Hello", "body": "Hi", "organizationName": "Acme", "role": "member", "expiresAt": "x"}),
            secrets: Some(json!({"token": "tok"})),
        }
    }

    fn dispatcher(
        emails: MockEmailOutbox,
        transport: MockEmailTransport,
        webhooks: MockWebhookOutbox,
        sender: MockWebhookSender,
    ) -> Dispatcher {
        Dispatcher::new(
            DispatcherPorts {
                emails: Arc::new(emails),
                transport: Arc::new(transport),
                templates: Arc::new(Templates::new("https://app.test")),
                from_domain: "leadflow.test".into(),
                webhooks: Arc::new(webhooks),
                sender: Arc::new(sender),
            },
            Arc::new(SystemClock),
            DispatcherSettings::default(),
        )
    }

    fn outcome_of(kind: EmailKind, error: SendError) -> EmailOutcome {
        let recorded = Arc::new(Mutex::new(None));
        let mut emails = MockEmailOutbox::new();
        let once = Mutex::new(Some(outgoing(kind)));
        emails
            .expect_claim_due()
            .returning(move |_, _, _, _, _| Ok(once.lock().unwrap().take().into_iter().collect()));
        let r = recorded.clone();
        emails.expect_record().returning(move |_, _, _, o, _| {
            *r.lock().unwrap() = Some(o.clone());
            Ok(true)
        });
        let mut transport = MockEmailTransport::new();
        transport.expect_delivers().return_const(true);
        transport.expect_send().times(1).returning(move |_| Err(error.clone()));
        let d = dispatcher(emails, transport, MockWebhookOutbox::new(), MockWebhookSender::new());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(d.send_emails_once("w"))
            .unwrap();
        recorded.lock().unwrap().clone().unwrap()
    }

    #[test]
    fn an_interrupted_outreach_is_unknown_and_an_interrupted_invitation_retries() {
        assert!(matches!(
            outcome_of(EmailKind::Outreach, SendError::Interrupted("eof".into())),
            EmailOutcome::Unknown { .. }
        ));
        assert!(matches!(
            outcome_of(EmailKind::Invitation, SendError::Interrupted("eof".into())),
            EmailOutcome::Retry { .. }
        ));
        assert!(matches!(
            outcome_of(EmailKind::Invitation, SendError::Permanent("550".into())),
            EmailOutcome::Failed { .. }
        ));
        assert!(matches!(
            outcome_of(EmailKind::Outreach, SendError::Transient("421".into())),
            EmailOutcome::Retry { .. }
        ));
    }

    #[tokio::test]
    async fn a_sent_message_carries_its_link_and_keeps_a_redacted_body() {
        let mut emails = MockEmailOutbox::new();
        let once = Mutex::new(Some(outgoing(EmailKind::Invitation)));
        emails
            .expect_claim_due()
            .returning(move |_, _, _, _, _| Ok(once.lock().unwrap().take().into_iter().collect()));
        emails
            .expect_record()
            .withf(|_, _, _, o, _| matches!(o, EmailOutcome::Sent { body, message_id, .. } if body.contains("[redacted]") && !body.contains("=tok") && message_id.ends_with("@leadflow.test")))
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let mut transport = MockEmailTransport::new();
        transport.expect_delivers().return_const(true);
        transport
            .expect_send()
            .withf(|m| {
                m.text.contains("https://app.test/accept-invitation?token=tok")
                    && m.html.contains("token=tok")
            })
            .times(1)
            .returning(|_| Ok("250 OK".into()));
        let d = dispatcher(emails, transport, MockWebhookOutbox::new(), MockWebhookSender::new());
        assert_eq!(d.send_emails_once("w").await.unwrap(), 1);
    }

    fn delivery() -> (WebhookDelivery, DeliveryTarget) {
        (
            WebhookDelivery {
                id: WebhookDeliveryId::new(),
                organization_id: OrganizationId::new(),
                endpoint_id: Some(WebhookEndpointId::new()),
                event_type: "lead.created".into(),
                payload: json!({"type": "lead.created", "timestamp": "t", "data": {}}),
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: None,
                last_status_code: None,
                last_error: None,
                created_at: Utc::now(),
                delivered_at: None,
                log: vec![],
            },
            DeliveryTarget {
                url: "https://hooks.test/in".into(),
                secrets: vec![crate::webhooks::new_secret()],
                enabled: true,
                failing_since: None,
                slack: false,
            },
        )
    }

    #[tokio::test]
    async fn webhooks_are_signed_and_a_410_disables_the_endpoint() {
        let mut webhooks = MockWebhookOutbox::new();
        let once = Mutex::new(Some(delivery()));
        webhooks
            .expect_claim_due()
            .returning(move |_, _, _, _, _| Ok(once.lock().unwrap().take().into_iter().collect()));
        webhooks
            .expect_record()
            .withf(|_, _, _, a, o| a.status_code == Some(410) && *o == DeliveryOutcome::Gone)
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let mut sender = MockWebhookSender::new();
        sender
            .expect_post()
            .withf(|_, headers, _| {
                let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                get("webhook-id").is_some_and(|id| id.starts_with("msg_"))
                    && get("webhook-signature").is_some_and(|s| s.starts_with("v1,"))
                    && get("webhook-timestamp").is_some()
            })
            .returning(|_, _, _| PostResult { status: Some(410), error: None, latency_ms: 3 });
        let d = dispatcher(MockEmailOutbox::new(), MockEmailTransport::new(), webhooks, sender);
        assert_eq!(d.deliver_webhooks_once("w").await.unwrap(), 1);
    }
}
