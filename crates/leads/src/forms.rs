//! Public web forms: a publishable form key per form, with which a website
//! posts leads without any credential (`POST /forms/{formKey}/submissions`).
//!
//! A form names the browser origins allowed to post to it (checked on the
//! `Origin` header and answered through CORS), an optional page to send a
//! plain HTML form's visitor to afterwards, and carries the protections a
//! public endpoint needs: the `website` honeypot (a filled one is answered
//! like a success and stores nothing) and a per-address budget. What a form
//! submits is an ordinary lead, checked, counted and processed as any other,
//! with the form as its creator.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_kernel::{Actor, AuditEntry, Clock, OrganizationId, Permission, TenantScope, ValidationErrors};
use serde_json::json;
use uuid::Uuid;

use crate::error::LeadError;
use crate::model::LeadInput;
use crate::service::{LeadService, Submission};

/// Submissions one client address may make to one form per window.
pub const SUBMISSIONS_PER_ADDRESS: u32 = 20;

/// The window of [`SUBMISSIONS_PER_ADDRESS`].
pub const SUBMISSION_WINDOW: Duration = Duration::from_secs(600);

/// Most origins a form may allow.
pub const MAX_ORIGINS: usize = 20;

/// A public web form of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadForm {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// What it is called in the dashboard and in the audit log.
    pub name: String,
    /// The publishable key the website embeds (`pf_` and 32 hex digits).
    pub key: String,
    /// Browser origins (`https://example.com`) that may post to it; a
    /// request that carries an `Origin` outside this list is refused.
    pub allowed_origins: Vec<String>,
    /// Where a plain HTML form's visitor is sent afterwards (303), if anywhere.
    pub redirect_url: Option<String>,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a form is made of, as its manager sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormInput {
    /// 1 to 100 characters.
    pub name: String,
    /// At most [`MAX_ORIGINS`] origins, each `http(s)://host[:port]` without a path.
    pub allowed_origins: Vec<String>,
    /// An absolute `http(s)` URL of at most 2,000 characters, without spaces or
    /// control characters (`None` for no redirect).
    pub redirect_url: Option<String>,
}

impl FormInput {
    /// The input, trimmed and checked; origins are lowercased and deduplicated.
    ///
    /// # Errors
    /// Every rule broken, by field.
    pub fn validated(mut self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 100 {
            errors.push("name", "must be 1 to 100 characters");
        }
        if self.allowed_origins.len() > MAX_ORIGINS {
            errors.push("allowedOrigins", "may hold at most 20 origins");
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for raw in &self.allowed_origins {
            match normalize_origin(raw) {
                Some(o) if !origins.contains(&o) => origins.push(o),
                Some(_) => {}
                None => errors.push(
                    "allowedOrigins",
                    "each must be an origin such as https://example.com (scheme, host, optional port; no path)",
                ),
            }
        }
        self.allowed_origins = origins;
        if let Some(url) = &self.redirect_url
            && (url.len() > 2000 || !is_absolute_http_url(url))
        {
            errors.push("redirectUrl", "must be an absolute http(s) URL of at most 2000 characters");
        }
        errors.into_result()?;
        Ok(self)
    }
}

/// `scheme://host[:port]`, lowercased, when `raw` is an http(s) origin.
#[must_use]
pub fn normalize_origin(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
    let valid_host = |h: &str| {
        !h.is_empty()
            && h.len() <= 253
            && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    };
    (valid_host(rest) && !rest.starts_with(':') && lower.len() <= 300).then_some(lower)
}

fn is_absolute_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// A fresh publishable key: `pf_` and 32 random hex digits.
#[must_use]
pub fn new_form_key() -> String {
    format!("pf_{}", Uuid::new_v4().simple())
}

/// The store of forms.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait FormRepository: Send + Sync {
    /// The scope's forms, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn forms(&self, scope: TenantScope) -> anyhow::Result<Vec<LeadForm>>;

    /// One form of the scope.
    ///
    /// # Errors
    /// When the store fails.
    async fn form(&self, scope: TenantScope, id: Uuid) -> anyhow::Result<Option<LeadForm>>;

    /// The form with this publishable key, whichever organization it belongs to.
    ///
    /// # Errors
    /// When the store fails.
    async fn form_by_key(&self, key: &str) -> anyhow::Result<Option<LeadForm>>;

    /// Stores a new form and writes `audit`, in one transaction.
    ///
    /// # Errors
    /// When the store fails.
    async fn insert_form(&self, form: &LeadForm, audit: &AuditEntry) -> anyhow::Result<()>;

    /// Replaces a form's name, origins, redirect and key; writes `audit`.
    ///
    /// # Errors
    /// When the store fails. `Ok(false)` when the form is gone.
    async fn update_form(
        &self,
        scope: TenantScope,
        form: &LeadForm,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool>;

    /// Deletes a form (its leads stay) and writes `audit`.
    ///
    /// # Errors
    /// When the store fails. `Ok(false)` when there was no such form.
    async fn delete_form(&self, scope: TenantScope, id: Uuid, audit: &AuditEntry) -> anyhow::Result<bool>;
}

/// Counts a public client's submissions (by address) across processes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SubmissionBudget: Send + Sync {
    /// Counts one submission under `key`; `Err(wait)` when that makes more
    /// than `limit` within `window` (the submission must then not happen).
    async fn spend(&self, key: &str, limit: u32, window: Duration) -> Result<(), Duration>;
}

/// How a public form submission ended, as far as its sender may know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormOutcome {
    /// Received: a lead was stored, or the honeypot was filled (the sender
    /// cannot tell the two apart). `redirect` is the form's page for visitors.
    Received {
        /// The form's `redirectUrl`.
        redirect: Option<String>,
    },
}

/// A public submission, as the edge saw it.
#[derive(Clone, Debug, Default)]
pub struct FormRequest {
    /// The lead.
    pub input: LeadInput,
    /// The honeypot field.
    pub website: Option<String>,
    /// The request's `Origin` header, if any.
    pub origin: Option<String>,
    /// The client's address, if known.
    pub ip: Option<String>,
}

/// The form use cases: managing forms (`settings:manage`) and public submissions.
pub struct FormService {
    forms: Arc<dyn FormRepository>,
    budget: Arc<dyn SubmissionBudget>,
    clock: Arc<dyn Clock>,
}

impl FormService {
    /// The service on its ports.
    pub fn new(
        forms: Arc<dyn FormRepository>,
        budget: Arc<dyn SubmissionBudget>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { forms, budget, clock }
    }

    fn scope(actor: &Actor) -> Result<TenantScope, LeadError> {
        let scope = actor.tenant_scope().ok_or(LeadError::NoOrganization)?;
        actor.require(Permission::SettingsManage)?;
        Ok(scope)
    }

    /// The organization's forms (`settings:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<LeadForm>, LeadError> {
        let scope = Self::scope(actor)?;
        Ok(self.forms.forms(scope).await?)
    }

    /// One form (`settings:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `FormNotFound`, `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<LeadForm, LeadError> {
        let scope = Self::scope(actor)?;
        self.forms.form(scope, id).await?.ok_or(LeadError::FormNotFound)
    }

    /// Creates a form with a fresh publishable key (`settings:manage`); audited `form.created`.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `Unexpected`.
    pub async fn create(&self, actor: &Actor, input: FormInput) -> Result<LeadForm, LeadError> {
        let scope = Self::scope(actor)?;
        let input = input.validated()?;
        let now = self.clock.now();
        let form = LeadForm {
            id: Uuid::now_v7(),
            organization_id: scope.organization_id(),
            name: input.name,
            key: new_form_key(),
            allowed_origins: input.allowed_origins,
            redirect_url: input.redirect_url,
            created_at: now,
            updated_at: now,
        };
        let audit = AuditEntry::in_scope(actor, scope, "form.created", "form", form.id, now)
            .with_details(json!({ "name": form.name, "allowedOrigins": form.allowed_origins }));
        self.forms.insert_form(&form, &audit).await?;
        Ok(form)
    }

    /// Replaces a form's settings (`settings:manage`); with `rotate_key`, it
    /// gets a new publishable key and the old one stops working. Audited `form.updated`.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `FormNotFound`, `Unexpected`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: Uuid,
        input: FormInput,
        rotate_key: bool,
    ) -> Result<LeadForm, LeadError> {
        let scope = Self::scope(actor)?;
        let input = input.validated()?;
        let mut form = self.forms.form(scope, id).await?.ok_or(LeadError::FormNotFound)?;
        let now = self.clock.now();
        form.name = input.name;
        form.allowed_origins = input.allowed_origins;
        form.redirect_url = input.redirect_url;
        form.updated_at = now;
        if rotate_key {
            form.key = new_form_key();
        }
        let audit = AuditEntry::in_scope(actor, scope, "form.updated", "form", form.id, now).with_details(
            json!({ "name": form.name, "allowedOrigins": form.allowed_origins, "keyRotated": rotate_key }),
        );
        if !self.forms.update_form(scope, &form, &audit).await? {
            return Err(LeadError::FormNotFound);
        }
        Ok(form)
    }

    /// Issues a new publishable key for a form (`settings:manage`); the old
    /// one stops working at once, the settings stay. Audited `form.updated`.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `FormNotFound`, `Unexpected`.
    pub async fn rotate_key(&self, actor: &Actor, id: Uuid) -> Result<LeadForm, LeadError> {
        let scope = Self::scope(actor)?;
        let form = self.forms.form(scope, id).await?.ok_or(LeadError::FormNotFound)?;
        let settings = FormInput {
            name: form.name,
            allowed_origins: form.allowed_origins,
            redirect_url: form.redirect_url,
        };
        self.update(actor, id, settings, true).await
    }

    /// Deletes a form (`settings:manage`): its key stops working, its leads
    /// stay. Audited `form.deleted`.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `FormNotFound`, `Unexpected`.
    pub async fn delete(&self, actor: &Actor, id: Uuid) -> Result<(), LeadError> {
        let scope = Self::scope(actor)?;
        let audit = AuditEntry::in_scope(actor, scope, "form.deleted", "form", id, self.clock.now());
        if !self.forms.delete_form(scope, id, &audit).await? {
            return Err(LeadError::FormNotFound);
        }
        Ok(())
    }

    /// The form of a publishable key, and whether a browser at `origin` may
    /// post to it: what a CORS preflight asks.
    ///
    /// # Errors
    /// `FormNotFound`, `OriginNotAllowed`, `Unexpected`.
    pub async fn admit(&self, key: &str, origin: Option<&str>) -> Result<LeadForm, LeadError> {
        let form = self.forms.form_by_key(key).await?.ok_or(LeadError::FormNotFound)?;
        if let Some(origin) = origin {
            let allowed = normalize_origin(origin).is_some_and(|o| form.allowed_origins.contains(&o));
            if !allowed {
                return Err(LeadError::OriginNotAllowed);
            }
        }
        Ok(form)
    }

    /// A public submission through the form of `key`: the origin must be
    /// allowed, the address within its budget; a filled honeypot is
    /// answered like a success and stores nothing; anything else is
    /// submitted as a lead created by the form (quota, duplicates and
    /// workflow as for any lead).
    ///
    /// # Errors
    /// `FormNotFound`, `OriginNotAllowed`, `Throttled`, and whatever
    /// [`LeadService::submit`] refuses (`Invalid`, `QuotaSpent`, `SubscriptionClosed`, …).
    pub async fn submit(
        &self,
        leads: &LeadService,
        key: &str,
        request: FormRequest,
    ) -> Result<FormOutcome, LeadError> {
        let form = self.admit(key, request.origin.as_deref()).await?;
        let address = request.ip.as_deref().unwrap_or("unknown");
        let budget_key = format!("form:{}:{address}", form.id);
        if let Err(wait) = self.budget.spend(&budget_key, SUBMISSIONS_PER_ADDRESS, SUBMISSION_WINDOW).await {
            return Err(LeadError::Throttled { retry_after_secs: wait.as_secs().max(1) });
        }
        let redirect = form.redirect_url.clone();
        if request.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
            return Ok(FormOutcome::Received { redirect });
        }
        let actor = Actor::form(form.id, form.name, form.organization_id).with_ip(request.ip);
        let Submission { .. } = leads.submit(&actor, request.input, None).await?;
        Ok(FormOutcome::Received { redirect })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadflow_kernel::{MockClock, Role, UserId};

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    fn form(org: OrganizationId) -> LeadForm {
        LeadForm {
            id: Uuid::now_v7(),
            organization_id: org,
            name: "Contact page".into(),
            key: new_form_key(),
            allowed_origins: vec!["https://acme.example".into()],
            redirect_url: Some("https://acme.example/thanks".into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn input_is_normalized_and_every_broken_rule_is_reported() {
        let ok = FormInput {
            name: "  Contact  ".into(),
            allowed_origins: vec!["HTTPS://Acme.example".into(), "https://acme.example".into()],
            redirect_url: Some("https://acme.example/thanks".into()),
        }
        .validated()
        .unwrap();
        assert_eq!(ok.name, "Contact");
        assert_eq!(ok.allowed_origins, vec!["https://acme.example".to_owned()]);

        let bad = FormInput {
            name: String::new(),
            allowed_origins: vec!["acme.example".into(), "https://acme.example/path".into()],
            redirect_url: Some("javascript:alert(1)".into()),
        }
        .validated()
        .unwrap_err();
        let fields: Vec<_> = bad.errors().iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"name") && fields.contains(&"allowedOrigins") && fields.contains(&"redirectUrl")
        );
    }

    #[tokio::test]
    async fn managing_forms_takes_settings_manage() {
        let org = OrganizationId::new();
        let mut repo = MockFormRepository::new();
        repo.expect_insert_form()
            .withf(|f, a| f.key.starts_with("pf_") && a.action == "form.created")
            .times(1)
            .returning(|_, _| Ok(()));
        let svc = FormService::new(Arc::new(repo), Arc::new(MockSubmissionBudget::new()), clock());
        let member = Actor::user(UserId::new(), "m@acme.io", Some(org), Some(Role::Member), false);
        let admin = Actor::user(UserId::new(), "a@acme.io", Some(org), Some(Role::Admin), false);
        let input = FormInput { name: "Contact".into(), ..FormInput::default() };
        assert!(matches!(svc.create(&member, input.clone()).await, Err(LeadError::Forbidden(_))));
        let created = svc.create(&admin, input).await.unwrap();
        assert_eq!(created.organization_id, org);
    }

    #[tokio::test]
    async fn a_foreign_origin_is_refused_and_no_origin_is_admitted() {
        let f = form(OrganizationId::new());
        let key = f.key.clone();
        let mut repo = MockFormRepository::new();
        repo.expect_form_by_key().returning(move |_| Ok(Some(f.clone())));
        let svc = FormService::new(Arc::new(repo), Arc::new(MockSubmissionBudget::new()), clock());
        assert!(svc.admit(&key, Some("https://ACME.example")).await.is_ok());
        assert!(svc.admit(&key, None).await.is_ok());
        assert!(matches!(
            svc.admit(&key, Some("https://evil.example")).await,
            Err(LeadError::OriginNotAllowed)
        ));
    }

    #[tokio::test]
    async fn an_address_over_its_budget_is_throttled_before_anything_is_stored() {
        let f = form(OrganizationId::new());
        let key = f.key.clone();
        let mut repo = MockFormRepository::new();
        repo.expect_form_by_key().returning(move |_| Ok(Some(f.clone())));
        let mut budget = MockSubmissionBudget::new();
        budget
            .expect_spend()
            .withf(|k, limit, _| k.ends_with(":203.0.113.9") && *limit == SUBMISSIONS_PER_ADDRESS)
            .returning(|_, _, _| Err(Duration::from_secs(42)));
        let svc = FormService::new(Arc::new(repo), Arc::new(budget), clock());
        // The lead service is never reached: its ports are strict mocks with no expectations.
        let leads = crate::service::tests::strict_service();
        let request = FormRequest { ip: Some("203.0.113.9".into()), ..FormRequest::default() };
        assert!(matches!(
            svc.submit(&leads, &key, request).await,
            Err(LeadError::Throttled { retry_after_secs: 42 })
        ));
    }

    #[tokio::test]
    async fn a_filled_honeypot_is_answered_like_a_success_and_stores_nothing() {
        let f = form(OrganizationId::new());
        let key = f.key.clone();
        let mut repo = MockFormRepository::new();
        repo.expect_form_by_key().returning(move |_| Ok(Some(f.clone())));
        let mut budget = MockSubmissionBudget::new();
        budget.expect_spend().returning(|_, _, _| Ok(()));
        let svc = FormService::new(Arc::new(repo), Arc::new(budget), clock());
        let leads = crate::service::tests::strict_service();
        let request = FormRequest { website: Some("http://spam.example".into()), ..FormRequest::default() };
        assert_eq!(
            svc.submit(&leads, &key, request).await.unwrap(),
            FormOutcome::Received { redirect: Some("https://acme.example/thanks".into()) }
        );
    }
}
