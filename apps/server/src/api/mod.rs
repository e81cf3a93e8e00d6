//! The OpenAPI operations, one module per tag.

pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod document;
pub mod dto;
pub mod emails;
pub mod examples;
pub mod forms;
pub mod invitations;
pub mod leads;
pub mod members;
pub mod organizations;
pub mod payload;
pub mod plans;
pub mod routing;
pub mod system;
pub mod teams;
pub mod text;
pub mod webhooks;
pub mod workflows;

use poem_openapi::{OpenApiService, Tags};

/// The tags that group operations in the document and in Swagger UI.
#[derive(Tags)]
pub enum ApiTags {
    /// Registration, sign-in and sessions.
    Auth,
    /// Organizations (tenants).
    Organizations,
    /// The people of an organization and their roles.
    Members,
    /// Inviting people by email.
    Invitations,
    /// Credentials for machines.
    #[oai(rename = "API keys")]
    ApiKeys,
    /// Groups of members.
    Teams,
    /// Who changed what.
    Audit,
    /// Plans, the subscription and its usage.
    Subscriptions,
    /// Lead capture and work.
    Leads,
    /// Public web forms: a publishable key per form that websites post leads with.
    Forms,
    /// Lead-processing workflows and approvals.
    Workflows,
    /// Who works a lead: proposed assignees awaiting a decision.
    Routing,
    /// The organization's outgoing email: what was sent, what waits, what failed.
    Emails,
    /// Signed HTTP callbacks for the organization's events (Standard Webhooks).
    Webhooks,
    /// Platform administration (super admin only).
    Admin,
    /// Liveness and readiness.
    System,
}

/// Every API of Leadflow, as one OpenAPI service.
pub type Apis = (
    system::SystemApi,
    auth::AuthApi,
    organizations::OrganizationsApi,
    members::MembersApi,
    invitations::InvitationsApi,
    api_keys::ApiKeysApi,
    teams::TeamsApi,
    audit::AuditApi,
    (plans::SubscriptionsApi, billing::BillingApi),
    (leads::LeadsApi, forms::FormsApi),
    workflows::WorkflowsApi,
    routing::RoutingApi,
    emails::EmailsApi,
    webhooks::WebhooksApi,
    admin::AdminApi,
);

/// The OpenAPI service: every operation, with the document's metadata.
#[must_use]
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            system::SystemApi,
            auth::AuthApi,
            organizations::OrganizationsApi,
            members::MembersApi,
            invitations::InvitationsApi,
            api_keys::ApiKeysApi,
            teams::TeamsApi,
            audit::AuditApi,
            (plans::SubscriptionsApi, billing::BillingApi),
            (leads::LeadsApi, forms::FormsApi),
            workflows::WorkflowsApi,
            routing::RoutingApi,
            emails::EmailsApi,
            webhooks::WebhooksApi,
            admin::AdminApi,
        ),
        "Leadflow",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Multi-tenant lead management. Every error is an `application/problem+json` document. \
         Sign in with `POST /api/v1/auth/login` and send the access token as `Authorization: Bearer <token>`.",
    )
}

/// The OpenAPI document as served at `/openapi.json` (and committed as `docs/openapi.json`).
#[must_use]
pub fn document() -> String {
    document::published().to_owned()
}
