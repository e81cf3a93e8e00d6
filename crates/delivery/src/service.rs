//! Delivery use cases for people: read the email outbox and resend, manage
//! webhook endpoints, read their delivery log, retry, test and rotate.

use std::sync::Arc;

use leadflow_kernel::{Actor, AuditEntry, Clock, KeysetPage, KeysetPaged, Permission, TenantScope};
use serde_json::json;

use crate::email::{Email, EmailFilter, EmailId, EmailKind};
use crate::error::DeliveryError;
use crate::ports::{EmailOutbox, WebhookRepository};
use crate::webhooks::{
    self, DeliveryStatus, EndpointInput, ROTATION_OVERLAP, TEST_EVENT, WebhookDelivery, WebhookDeliveryId,
    WebhookEndpoint, WebhookEndpointId,
};

fn scope_of(actor: &Actor) -> Result<TenantScope, DeliveryError> {
    actor.tenant_scope().ok_or(DeliveryError::NoOrganization)
}

/// The email outbox, as people read it.
pub struct EmailService {
    outbox: Arc<dyn EmailOutbox>,
    clock: Arc<dyn Clock>,
}

impl EmailService {
    /// Builds the service on its port.
    pub fn new(outbox: Arc<dyn EmailOutbox>, clock: Arc<dyn Clock>) -> Self {
        Self { outbox, clock }
    }

    /// What `actor` may read: everything with `settings:manage`, outreach only with `leads:view_all`.
    fn readable(actor: &Actor) -> Result<bool, DeliveryError> {
        if actor.can(Permission::SettingsManage) {
            Ok(false)
        } else {
            actor.require(Permission::LeadsViewAll)?;
            Ok(true)
        }
    }

    /// A page of the organization's messages (`settings:manage`; outreach only with `leads:view_all`).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        mut filter: EmailFilter,
        page: KeysetPage,
    ) -> Result<KeysetPaged<Email>, DeliveryError> {
        let scope = scope_of(actor)?;
        filter.outreach_only = Self::readable(actor)?;
        Ok(self.outbox.page(scope, &filter, page).await?)
    }

    /// One message (`settings:manage`; outreach also with `leads:view_all`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: EmailId) -> Result<Email, DeliveryError> {
        let scope = scope_of(actor)?;
        let email = self.outbox.get(scope, id).await?.ok_or(DeliveryError::NotFound("email"))?;
        if Self::readable(actor)? && email.kind != EmailKind::Outreach {
            return Err(DeliveryError::Forbidden(Permission::SettingsManage));
        }
        Ok(email)
    }

    /// Sends a `failed` or `unknown` message again, audited (`settings:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (not failed or unknown), `Unexpected`.
    pub async fn resend(&self, actor: &Actor, id: EmailId) -> Result<Email, DeliveryError> {
        let scope = scope_of(actor)?;
        let email = self.outbox.get(scope, id).await?.ok_or(DeliveryError::NotFound("email"))?;
        actor.require(Permission::SettingsManage)?;
        if !email.status.resendable() {
            return Err(DeliveryError::Conflict("only a failed or unknown email can be resent"));
        }
        let now = self.clock.now();
        let audit = AuditEntry::in_scope(actor, scope, "email.resent", "email", email.id, now)
            .with_details(json!({ "kind": email.kind.as_str(), "previousStatus": email.status.as_str() }));
        if !self.outbox.resend(scope, id, now, &audit).await? {
            return Err(DeliveryError::Conflict("only a failed or unknown email can be resent"));
        }
        self.outbox.get(scope, id).await?.ok_or(DeliveryError::NotFound("email"))
    }
}

/// Webhook endpoints (`settings:manage`).
pub struct WebhookService {
    store: Arc<dyn WebhookRepository>,
    clock: Arc<dyn Clock>,
    allow_insecure: bool,
}

impl WebhookService {
    /// Builds the service; `allow_insecure` accepts `http://` URLs (with private addresses allowed, for tests).
    pub fn new(store: Arc<dyn WebhookRepository>, clock: Arc<dyn Clock>, allow_insecure: bool) -> Self {
        Self { store, clock, allow_insecure }
    }

    fn manager(actor: &Actor) -> Result<TenantScope, DeliveryError> {
        let scope = scope_of(actor)?;
        actor.require(Permission::SettingsManage)?;
        Ok(scope)
    }

    async fn load(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> Result<(TenantScope, WebhookEndpoint), DeliveryError> {
        let scope = scope_of(actor)?;
        let endpoint = self.store.get(scope, id).await?.ok_or(DeliveryError::NotFound("webhook endpoint"))?;
        actor.require(Permission::SettingsManage)?;
        Ok((scope, endpoint))
    }

    /// Creates an endpoint; answers it with its secret, shown this once.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `Unexpected`.
    pub async fn create(
        &self,
        actor: &Actor,
        input: EndpointInput,
    ) -> Result<(WebhookEndpoint, String), DeliveryError> {
        let scope = Self::manager(actor)?;
        webhooks::validate(&input, true, self.allow_insecure).map_err(DeliveryError::Invalid)?;
        let now = self.clock.now();
        let endpoint = WebhookEndpoint {
            id: WebhookEndpointId::new(),
            organization_id: scope.organization_id(),
            url: input.url.unwrap_or_default(),
            description: input.description.flatten().filter(|d| !d.trim().is_empty()),
            events: input.events.unwrap_or_default(),
            enabled: input.enabled.unwrap_or(true),
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        let secret = webhooks::new_secret();
        let audit =
            AuditEntry::in_scope(actor, scope, "webhook.created", "webhook_endpoint", endpoint.id, now)
                .with_details(json!({ "url": endpoint.url, "events": endpoint.events }));
        self.store.create(scope, &endpoint, &secret, &audit).await?;
        Ok((endpoint, secret))
    }

    /// The organization's endpoints.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<WebhookEndpoint>, DeliveryError> {
        let scope = Self::manager(actor)?;
        Ok(self.store.list(scope).await?)
    }

    /// One endpoint.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: WebhookEndpointId) -> Result<WebhookEndpoint, DeliveryError> {
        Ok(self.load(actor, id).await?.1)
    }

    /// Changes an endpoint (enabling it again clears why it was disabled).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Invalid`, `Unexpected`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        input: EndpointInput,
    ) -> Result<WebhookEndpoint, DeliveryError> {
        let (scope, mut endpoint) = self.load(actor, id).await?;
        webhooks::validate(&input, false, self.allow_insecure).map_err(DeliveryError::Invalid)?;
        if let Some(url) = input.url {
            endpoint.url = url;
        }
        if let Some(events) = input.events {
            endpoint.events = events;
        }
        if let Some(description) = input.description {
            endpoint.description = description.filter(|d| !d.trim().is_empty());
        }
        if let Some(enabled) = input.enabled {
            if enabled && !endpoint.enabled {
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
            endpoint.enabled = enabled;
        }
        endpoint.updated_at = self.clock.now();
        let audit = AuditEntry::in_scope(
            actor,
            scope,
            "webhook.updated",
            "webhook_endpoint",
            endpoint.id,
            endpoint.updated_at,
        )
        .with_details(json!({ "url": endpoint.url, "events": endpoint.events, "enabled": endpoint.enabled }));
        if !self.store.update(scope, &endpoint, &audit).await? {
            return Err(DeliveryError::NotFound("webhook endpoint"));
        }
        Ok(endpoint)
    }

    /// Deletes an endpoint and its delivery log.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn delete(&self, actor: &Actor, id: WebhookEndpointId) -> Result<(), DeliveryError> {
        let (scope, endpoint) = self.load(actor, id).await?;
        let audit = AuditEntry::in_scope(
            actor,
            scope,
            "webhook.deleted",
            "webhook_endpoint",
            endpoint.id,
            self.clock.now(),
        )
        .with_details(json!({ "url": endpoint.url }));
        if !self.store.delete(scope, id, &audit).await? {
            return Err(DeliveryError::NotFound("webhook endpoint"));
        }
        Ok(())
    }

    /// A new secret, shown once; the old one keeps signing for 24 hours.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn rotate_secret(&self, actor: &Actor, id: WebhookEndpointId) -> Result<String, DeliveryError> {
        let (scope, endpoint) = self.load(actor, id).await?;
        let now = self.clock.now();
        let secret = webhooks::new_secret();
        let audit = AuditEntry::in_scope(
            actor,
            scope,
            "webhook.secret_rotated",
            "webhook_endpoint",
            endpoint.id,
            now,
        );
        if !self.store.rotate_secret(scope, id, &secret, now + ROTATION_OVERLAP, &audit).await? {
            return Err(DeliveryError::NotFound("webhook endpoint"));
        }
        Ok(secret)
    }

    /// Queues a `webhook.test` event to this endpoint.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn test(&self, actor: &Actor, id: WebhookEndpointId) -> Result<WebhookDelivery, DeliveryError> {
        let (scope, endpoint) = self.load(actor, id).await?;
        let data = json!({ "endpointId": endpoint.id, "organizationId": endpoint.organization_id, "message": "This is a test event from Leadflow." });
        Ok(self.store.enqueue(scope, id, TEST_EVENT, data, self.clock.now()).await?)
    }

    /// A page of an endpoint's deliveries, each with its attempts.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        status: Option<DeliveryStatus>,
        page: KeysetPage,
    ) -> Result<KeysetPaged<WebhookDelivery>, DeliveryError> {
        let (scope, _) = self.load(actor, id).await?;
        Ok(self.store.deliveries(scope, id, status, page).await?)
    }

    /// Makes a delivery due again now, audited.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (it succeeded), `Unexpected`.
    pub async fn retry(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        delivery: WebhookDeliveryId,
    ) -> Result<(), DeliveryError> {
        let (scope, endpoint) = self.load(actor, id).await?;
        let now = self.clock.now();
        let audit =
            AuditEntry::in_scope(actor, scope, "webhook.delivery_retried", "webhook_delivery", delivery, now)
                .with_details(json!({ "endpointId": endpoint.id }));
        if !self.store.retry_delivery(scope, id, delivery, now, &audit).await? {
            return Err(DeliveryError::Conflict("no such delivery waiting or failed on this endpoint"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::EmailStatus;
    use crate::ports::{MockEmailOutbox, MockWebhookRepository};
    use chrono::Utc;
    use leadflow_kernel::{OrganizationId, Role, SystemClock, UserId};

    fn actor(role: Role, org: OrganizationId) -> Actor {
        Actor::user(UserId::new(), "ann@acme.io", Some(org), Some(role), false)
    }

    fn email(org: OrganizationId, kind: EmailKind, status: EmailStatus) -> Email {
        Email {
            id: EmailId::new(),
            organization_id: Some(org),
            kind,
            recipient: "x@y.z".into(),
            subject: "s".into(),
            body: "b".into(),
            status,
            attempts: 1,
            next_attempt_at: None,
            last_error: None,
            reply: None,
            message_id: None,
            lead_id: None,
            created_at: Utc::now(),
            sent_at: None,
        }
    }

    #[tokio::test]
    async fn a_reader_without_settings_manage_sees_outreach_only() {
        let org = OrganizationId::new();
        let mut outbox = MockEmailOutbox::new();
        outbox
            .expect_page()
            .withf(|_, f, _| f.outreach_only)
            .returning(|_, _, _| Ok(KeysetPaged { items: vec![], next: None }));
        let invitation = email(org, EmailKind::Invitation, EmailStatus::Sent);
        outbox.expect_get().returning(move |_, _| Ok(Some(invitation.clone())));
        let service = EmailService::new(Arc::new(outbox), Arc::new(SystemClock));
        let manager = actor(Role::Manager, org);
        service.list(&manager, EmailFilter::default(), KeysetPage { limit: 10, after: None }).await.unwrap();
        assert!(matches!(service.get(&manager, EmailId::new()).await, Err(DeliveryError::Forbidden(_))));
        assert!(matches!(
            service
                .list(
                    &actor(Role::Member, org),
                    EmailFilter::default(),
                    KeysetPage { limit: 10, after: None }
                )
                .await,
            Err(DeliveryError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn only_failed_or_unknown_email_is_resent() {
        let org = OrganizationId::new();
        let mut outbox = MockEmailOutbox::new();
        let sent = email(org, EmailKind::Outreach, EmailStatus::Sent);
        outbox.expect_get().returning(move |_, _| Ok(Some(sent.clone())));
        outbox.expect_resend().never();
        let service = EmailService::new(Arc::new(outbox), Arc::new(SystemClock));
        assert!(matches!(
            service.resend(&actor(Role::Owner, org), EmailId::new()).await,
            Err(DeliveryError::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn an_endpoint_is_validated_before_it_is_stored() {
        let org = OrganizationId::new();
        let mut store = MockWebhookRepository::new();
        store.expect_create().never();
        let service = WebhookService::new(Arc::new(store), Arc::new(SystemClock), false);
        let input = EndpointInput {
            url: Some("http://example.com".into()),
            events: Some(vec!["lead.nope".into()]),
            ..Default::default()
        };
        match service.create(&actor(Role::Owner, org), input).await {
            Err(DeliveryError::Invalid(e)) => assert_eq!(e.errors().len(), 2),
            other => panic!("{other:?}"),
        }
        let input = EndpointInput {
            url: Some("https://example.com".into()),
            events: Some(vec!["lead.created".into()]),
            ..Default::default()
        };
        assert!(matches!(
            service.create(&actor(Role::Member, org), input).await,
            Err(DeliveryError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn created_endpoints_get_a_fresh_secret_and_an_audit_entry() {
        let org = OrganizationId::new();
        let mut store = MockWebhookRepository::new();
        store
            .expect_create()
            .withf(|_, e, s, a| s.starts_with("whsec_") && a.action == "webhook.created" && e.enabled)
            .returning(|_, _, _, _| Ok(()));
        let service = WebhookService::new(Arc::new(store), Arc::new(SystemClock), false);
        let input = EndpointInput {
            url: Some("https://example.com/h".into()),
            events: Some(vec!["lead.created".into()]),
            ..Default::default()
        };
        let (endpoint, secret) = service.create(&actor(Role::Admin, org), input).await.unwrap();
        assert_eq!(endpoint.organization_id, org);
        assert!(secret.starts_with("whsec_"));
    }
}
