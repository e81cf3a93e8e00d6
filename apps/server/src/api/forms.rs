//! `/api/v1/forms`: public web forms — managing them (`settings:manage`) and
//! the public submission endpoint a website posts to with the form's
//! publishable key (CORS preflights are answered by [`crate::cors`]).

use crate::api::text::{Email, FreeText, HttpUrl, Origin, Prose};
use std::sync::Arc;

use leadflow_leads::LeadInput;
use leadflow_leads::forms::{FormInput, FormOutcome, FormRequest, LeadForm};
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::{Form, Json};
use poem_openapi::types::{Example, ParseFromJSON};
use poem_openapi::{ApiRequest, ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::api::ApiTags;
use crate::problem::{ApiError, ApiResult};
use crate::security::{TenantAuth, client_ip};
use crate::state::AppState;

/// Operations of the Forms tag.
pub struct FormsApi;

/// A public web form.
#[derive(Object)]
#[oai(rename = "Form", rename_all = "camelCase", example)]
pub struct FormDto {
    /// The form's id, used to manage it.
    pub id: Uuid,
    /// The organization its submissions go to.
    pub organization_id: Uuid,
    /// What the form is called in the dashboard and in the audit log.
    pub name: String,
    /// The publishable key a website embeds in its form's action URL
    /// (`POST /api/v1/forms/{formKey}/submissions`). It is not a secret: it
    /// can only submit leads, from the allowed origins, within the per-address budget.
    pub form_key: String,
    /// Browser origins allowed to post to the form; a request whose `Origin`
    /// header is not listed is refused (403 `origin_not_allowed`). Requests
    /// without `Origin` (servers, curl) are accepted.
    pub allowed_origins: Vec<String>,
    /// Where a plain HTML form's visitor is sent (303) after submitting, if anywhere.
    #[oai(nullable)]
    pub redirect_url: Option<String>,
    /// When the form was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When its settings or key last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Example for FormDto {
    fn example() -> Self {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        FormDto {
            id: Uuid::from_u128(0x0193_8a2e_5f10_7c3b_9d2a_4e6f_8a1b_2c3d),
            organization_id: Uuid::from_u128(0x0193_8a2e_1b00_7a11_8c3d_2e4f_5a6b_7c8d),
            name: "Contact page".into(),
            form_key: "pf_5f0c2b8e9d4a4e1f8b7c6d5e4f3a2b1c".into(),
            allowed_origins: vec!["https://www.acme.example".into()],
            redirect_url: Some("https://www.acme.example/thanks".into()),
            created_at: at,
            updated_at: at,
        }
    }
}

impl From<LeadForm> for FormDto {
    fn from(f: LeadForm) -> Self {
        Self {
            id: f.id,
            organization_id: f.organization_id.as_uuid(),
            name: f.name,
            form_key: f.key,
            allowed_origins: f.allowed_origins,
            redirect_url: f.redirect_url,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// A form's settings.
#[derive(Object)]
#[oai(rename = "FormSettings", rename_all = "camelCase", example)]
pub struct FormBody {
    /// What the form is called, 1–100 characters.
    #[oai(validator(min_length = 1, max_length = 100, custom = "crate::api::text::Conforms"))]
    pub name: Prose,
    /// Browser origins (`https://host[:port]`, no path) allowed to post to
    /// the form, at most 20. Empty: only requests without `Origin`.
    #[oai(default, validator(max_items = 20, custom = "crate::api::text::Conforms"))]
    pub allowed_origins: Vec<Origin>,
    /// Where to send a plain HTML form's visitor afterwards: an absolute
    /// http(s) URL of at most 2000 characters.
    #[oai(nullable, validator(max_length = 2000, custom = "crate::api::text::Conforms"))]
    pub redirect_url: Option<HttpUrl>,
}

impl Example for FormBody {
    fn example() -> Self {
        FormBody {
            name: "Contact page".into(),
            allowed_origins: vec!["https://www.acme.example".into()],
            redirect_url: Some("https://www.acme.example/thanks".into()),
        }
    }
}

impl From<FormBody> for FormInput {
    fn from(b: FormBody) -> Self {
        Self {
            name: b.name.into(),
            allowed_origins: b.allowed_origins.into_iter().map(String::from).collect(),
            redirect_url: b.redirect_url.map(String::from),
        }
    }
}

/// The organization's forms.
#[derive(Object)]
pub struct FormList {
    /// Every item, oldest first.
    pub data: Vec<FormDto>,
}

/// A lead, as a website's form sends it (JSON or `application/x-www-form-urlencoded`).
#[derive(Object, serde::Deserialize, serde::Serialize)]
#[oai(rename = "FormSubmission", example)]
pub struct FormSubmissionBody {
    /// The visitor's email address.
    #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
    pub email: Email,
    /// The visitor's name, 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200, custom = "crate::api::text::Conforms"))]
    pub name: Prose,
    /// Their company, at most 200 characters.
    #[oai(nullable, validator(max_length = 200, custom = "crate::api::text::Conforms"))]
    pub company: Option<FreeText>,
    /// Their phone number, at most 32 characters.
    #[oai(nullable, validator(max_length = 32, custom = "crate::api::text::Conforms"))]
    pub phone: Option<FreeText>,
    /// Their message, 1–5000 characters.
    #[oai(validator(min_length = 1, max_length = 5000, custom = "crate::api::text::Conforms"))]
    pub message: Prose,
    /// Where the lead came from (a campaign, a page), at most 100 characters.
    #[oai(nullable, validator(max_length = 100, custom = "crate::api::text::Conforms"))]
    pub source: Option<FreeText>,
    /// The honeypot: the form hides this field from people, so it stays
    /// empty; bots fill it, and such a submission is answered like any other
    /// but stores nothing.
    #[oai(deserialize_with = "crate::api::dto::strict", nullable, validator(max_length = 2000))]
    pub website: Option<String>,
}

impl Example for FormSubmissionBody {
    fn example() -> Self {
        FormSubmissionBody {
            email: "sam.doe@bigcorp.example".into(),
            name: "Sam Doe".into(),
            company: Some("BigCorp Inc.".into()),
            phone: Some("+1 555 0100".into()),
            message: "We would like a demo and pricing for 40 seats.".into(),
            source: Some("pricing-page".into()),
            website: None,
        }
    }
}

/// A submission body: JSON from scripts, URL-encoded from plain HTML forms.
#[derive(ApiRequest)]
enum SubmissionPayload {
    /// From a script (`fetch`).
    Json(Json<FormSubmissionBody>),
    /// From a plain HTML `<form method="post">`.
    Form(Form<FormSubmissionBody>),
}

/// The answer to a public submission.
#[derive(Object)]
#[oai(rename = "FormReceipt", example)]
pub struct FormReceipt {
    /// Always `true`: the submission was received.
    pub received: bool,
}

impl Example for FormReceipt {
    fn example() -> Self {
        FormReceipt { received: true }
    }
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Created, with its publishable key.
    #[oai(status = 201)]
    Created(Json<FormDto>),
}

#[derive(ApiResponse)]
enum DeleteResponse {
    /// Deleted: its key stops working; the leads it brought stay.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
enum SubmitResponse {
    /// Received (from a script, or from a plain HTML form whose form has no `redirectUrl`).
    #[oai(status = 202)]
    Received(Json<FormReceipt>),
    /// Received from a plain HTML form: the visitor is sent to the form's `redirectUrl`.
    #[oai(status = 303)]
    Redirect(#[oai(header = "Location")] String),
}

/// Whether the key rotates with the change.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct RotateBody {
    /// Issue a new publishable key; the old one stops working at once.
    pub rotate_key: bool,
}

#[OpenApi(prefix_path = "/api/v1/forms", tag = "ApiTags::Forms")]
impl FormsApi {
    /// List the organization's forms (`settings:manage`)
    #[oai(path = "/", method = "get", operation_id = "listForms")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: TenantAuth) -> ApiResult<Json<FormList>> {
        let forms = state.forms.list(auth.actor()).await?;
        Ok(Json(FormList { data: forms.into_iter().map(Into::into).collect() }))
    }

    /// Create a form (`settings:manage`)
    ///
    /// The answer holds the form's publishable key, for the website's form
    /// (`action="https://…/api/v1/forms/{formKey}/submissions"`).
    #[oai(path = "/", method = "post", operation_id = "createForm")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        body: Json<FormBody>,
    ) -> ApiResult<CreateResponse> {
        let form = state.forms.create(auth.actor(), body.0.into()).await?;
        Ok(CreateResponse::Created(Json(form.into())))
    }

    /// Read a form (`settings:manage`)
    #[oai(path = "/:id", method = "get", operation_id = "getForm")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<FormDto>> {
        Ok(Json(state.forms.get(auth.actor(), id.0).await?.into()))
    }

    /// Replace a form's settings (`settings:manage`)
    #[oai(path = "/:id", method = "put", operation_id = "updateForm")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: Json<FormBody>,
    ) -> ApiResult<Json<FormDto>> {
        Ok(Json(state.forms.update(auth.actor(), id.0, body.0.into(), false).await?.into()))
    }

    /// Issue a new publishable key for a form (`settings:manage`)
    ///
    /// The old key stops working at once; websites must embed the new one.
    #[oai(path = "/:id/rotate-key", method = "post", operation_id = "rotateFormKey")]
    async fn rotate_key(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<FormDto>> {
        Ok(Json(state.forms.rotate_key(auth.actor(), id.0).await?.into()))
    }

    /// Delete a form (`settings:manage`)
    #[oai(path = "/:id", method = "delete", operation_id = "deleteForm")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<DeleteResponse> {
        state.forms.delete(auth.actor(), id.0).await?;
        Ok(DeleteResponse::Deleted)
    }

    /// Submit a lead through a public web form (no credentials)
    ///
    /// For websites: the form's publishable key is in the path. A browser's
    /// `Origin` must be one of the form's allowed origins (CORS preflights are
    /// answered for them). Each client address may submit 20 times per form
    /// in 10 minutes (then 429 with `Retry-After`). A filled `website` field
    /// (the honeypot) is answered like a success and stores nothing. The lead
    /// counts against the plan's quota like any other (402 when spent). A
    /// plain HTML form (URL-encoded body) of a form with a `redirectUrl` is
    /// answered 303 to that page; everything else 202.
    #[oai(path = "/:formKey/submissions", method = "post", operation_id = "submitFormLead")]
    async fn submit(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The form's publishable key (`pf_…`).
        #[oai(name = "formKey", validator(min_length = 1, max_length = 64))]
        form_key: Path<String>,
        /// Sent by browsers; checked against the form's allowed origins.
        #[oai(name = "Origin")]
        origin: Header<Option<String>>,
        body: SubmissionPayload,
    ) -> ApiResult<SubmitResponse> {
        let (body, html_form) = match body {
            SubmissionPayload::Json(b) => (b.0, false),
            // A URL-encoded body is read by serde, which does not apply the
            // schema's rules: it goes through the JSON reader, which does.
            SubmissionPayload::Form(b) => {
                let value = serde_json::to_value(&b.0)
                    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
                let checked = <FormSubmissionBody as ParseFromJSON>::parse_from_json(Some(value))
                    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.into_message()))?;
                (checked, true)
            }
        };
        let request = FormRequest {
            input: LeadInput {
                email: body.email.into(),
                name: body.name.into(),
                company: body.company.map(String::from),
                phone: body.phone.map(String::from),
                message: body.message.into(),
                source: body.source.map(String::from),
                metadata: None,
            },
            website: body.website,
            origin: origin.0,
            ip: client_ip(req),
        };
        let FormOutcome::Received { redirect } =
            state.forms.submit(&state.leads, &form_key.0, request).await?;
        Ok(match redirect {
            Some(url) if html_form => SubmitResponse::Redirect(url),
            _ => SubmitResponse::Received(Json(FormReceipt { received: true })),
        })
    }
}
