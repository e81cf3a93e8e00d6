//! Realistic examples of every request body, by schema name: Swagger UI's
//! "Try it out" starts from them, so each must be a request the server
//! accepts as it stands (a test posts the ones that need no prior state).
//! They are put into the published document by [`super::document`].

use serde_json::{Value, json};

/// The example of each request body schema.
#[must_use]
pub fn request_examples() -> Value {
    json!({
        "RegisterBody": {
            "email": "ada@acme.example", "password": "correct horse battery staple", "name": "Ada Lovelace",
            "organization": { "name": "acme", "displayName": "Acme Inc." }
        },
        "LoginBody": { "email": "ada@acme.example", "password": "correct horse battery staple" },
        "RefreshBody": { "refreshToken": "3q2-7wEAAAB0ZXN0LXJlZnJlc2gtdG9rZW4tZXhhbXBsZQ" },
        "SwitchOrganizationBody": { "organizationId": "0193a2e1-1b00-7a11-8c3d-2e4f5a6b7c8d" },
        "ChangePasswordBody": {
            "currentPassword": "correct horse battery staple", "newPassword": "a new and longer passphrase"
        },
        "PasswordResetRequestBody": { "email": "ada@acme.example" },
        "PasswordResetConfirmBody": {
            "token": "l7zC0pQ2b1kz4Yw9cJ8nE3rT6uV5xA0s", "newPassword": "a new and longer passphrase"
        },
        "VerifyEmailBody": { "token": "Vb8qk2Lm4Nz6Px0Rs3Tu5Wy7Za9Cc1Ee" },
        "CreateApiKeyBody": { "name": "Website contact form", "scopes": ["leads:create"], "expiresAt": null },
        "CreateInvitationBody": { "email": "grace@acme.example", "role": "member" },
        "AcceptInvitationBody": { "token": "inv_Hk3m9Qp2Zr7Wt5Yx1Bv8Nc4Ld6Fs0Gj" },
        "ChangeRoleBody": { "role": "manager" },
        "CreateOrganizationBody": {
            "name": "globex", "displayName": "Globex Corporation", "email": "hello@globex.example",
            "phone": "+1 555 0100", "settings": { "leads": { "dedupeWindowDays": 30 } }, "plan": null
        },
        "UpdateOrganizationBody": { "displayName": "Acme Corporation", "phone": "+1 555 0199" },
        "PurgeBody": { "confirm": "globex" },
        "SubscriptionTermsBody": { "plan": "pro", "status": "active", "trialEndsAt": null },
        "ChangePlanBody": { "plan": "pro" },
        "CheckoutBody": { "plan": "pro" },
        "CreateTeamBody": { "name": "Enterprise sales", "description": "Accounts over 500 seats", "leaderId": null },
        "UpdateTeamBody": { "description": "Accounts over 1,000 seats" },
        "SubmitLeadBody": {
            "email": "sam.doe@bigcorp.example", "name": "Sam Doe", "company": "BigCorp Inc.",
            "phone": "+1 555 0100", "message": "We would like a demo and pricing for 40 seats.",
            "source": "pricing-page", "metadata": { "utm_campaign": "spring-launch" }
        },
        "UpdateLeadBody": { "company": "BigCorp International", "phone": null },
        "AssignBody": { "assigneeId": "0193a2e1-5f10-7c3b-9d2a-4e6f8a1b2c3d" },
        "MergeBody": { "intoId": "0193a2e1-7a20-7d4c-8e3b-5f708b2c3d4e" },
        "CreateWebhookEndpoint": {
            "url": "https://hooks.acme.example/leadflow", "events": ["lead.created", "workflow.completed"],
            "description": "CRM sync"
        },
        "UpdateWebhookEndpoint": { "enabled": false },
        "ApproveBody": { "note": "Good fit; send as drafted." },
        "RejectBody": { "note": "A student project, not a buyer." },
        "StripeEvent": {
            "id": "evt_1QxYz2AbCdEfGhIj", "type": "invoice.paid", "created": 1_764_579_600,
            "data": { "object": { "object": "invoice", "customer": "cus_R2d2C3po", "subscription": "sub_1QxYz2" } }
        }
    })
}
