//! Realistic examples of every request body, by schema name: Swagger UI's
//! "Try it out" starts from them, so each must be a request the server
//! accepts as it stands (`tests/api/contract.rs` posts those that need no
//! prior state).
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

/// Examples of the main answers (what Swagger UI shows under "Example Value"),
/// by schema name: taken from a real run, with stable ids. Answers that embed
/// another resource reuse its example.
#[must_use]
pub fn response_examples() -> Value {
    let lead: Value = serde_json::from_str(LEAD).unwrap_or(Value::Null);
    let organization: Value = serde_json::from_str(ORGANIZATION).unwrap_or(Value::Null);
    let user: Value = serde_json::from_str(USER).unwrap_or(Value::Null);
    let tokens: Value = serde_json::from_str(TOKENS).unwrap_or(Value::Null);
    json!({
        "SubmittedDto": { "lead": lead, "workflowId": "0193a2e1-2297-7481-b9de-406588b00184" },
        "RegisteredDto": { "organization": organization, "role": "owner", "tokens": tokens, "user": user },
        "Lead": lead,
        "Organization": organization,
        "User": user,
        "Tokens": tokens,
        "Workflow": serde_json::from_str::<Value>(WORKFLOW).unwrap_or(Value::Null),
        "Problem": {"status": 400, "code": "validation_failed", "title": "The request is invalid", "detail": "email: is not a valid email address", "errors": [{"field": "email", "message": "is not a valid email address"}]}
    })
}

const LEAD: &str = r#"{
    "assigneeId": null,
    "company": "BigCorp Inc.",
    "createdAt": "2026-12-01T09:30:00.172632+00:00",
    "createdBy": {
        "id": "0193a2e1-21f2-70d2-8f56-ccea788ee34f",
        "type": "user"
    },
    "duplicateOf": null,
    "email": "sam.doe@bigcorp.example",
    "id": "0193a2e1-2294-75a1-a7e3-8f78b57dce63",
    "message": "We would like a demo and pricing for 40 seats.",
    "metadata": {
        "utm_campaign": "spring-launch"
    },
    "name": "Sam Doe",
    "organizationId": "0193a2e1-21f3-770e-8b3f-4761b0963ae2",
    "phone": "+1 555 0100",
    "qualification": null,
    "source": "pricing-page",
    "status": "pending",
    "updatedAt": "2026-12-01T09:30:00.172632+00:00"
}"#;
const ORGANIZATION: &str = r#"{
    "createdAt": "2026-12-01T09:29:58.010034+00:00",
    "createdBy": "0193a2e1-21f2-70d2-8f56-ccea788ee34f",
    "displayName": "Acme Inc.",
    "email": null,
    "id": "0193a2e1-21f3-770e-8b3f-4761b0963ae2",
    "isActive": true,
    "name": "acme",
    "phone": null,
    "settings": {},
    "updatedAt": "2026-12-01T09:29:58.010034+00:00"
}"#;
const USER: &str = r#"{
    "createdAt": "2026-12-01T09:29:58.010034+00:00",
    "email": "ada@acme.example",
    "emailVerifiedAt": null,
    "id": "0193a2e1-21f2-70d2-8f56-ccea788ee34f",
    "isSuperAdmin": false,
    "lastLoginAt": "2026-12-01T09:29:58.010034+00:00",
    "name": "Ada Lovelace",
    "username": null
}"#;
const TOKENS: &str = r#"{
    "accessToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTkzYTJlMS0yMWYyIn0.NGtsWntlnGMUDW99U27H1d2CcCBo2CBqfmfabJ956GU",
    "expiresIn": 3600,
    "refreshToken": "AocLKH92WoHfUuktC9M5UtTdcrnkFFDjST6nYUYOGE0",
    "tokenType": "Bearer"
}"#;
const WORKFLOW: &str = r#"{
    "completedAt": null,
    "createdAt": "2026-12-01T09:30:00.172632+00:00",
    "currentStep": "await_approval",
    "decision": null,
    "emailDraft": {
        "body": "Hi Sam,\n\nThank you for contacting Acme Inc. about a demo. We'd love to help you at BigCorp.\n\nCould we book 30 minutes this week? Reply with a time that suits you.\n\nBest regards,\nThe Acme Inc. team\n",
        "subject": "Acme Inc. — about a demo",
        "to": "sam.doe@bigcorp.example"
    },
    "id": "0193a2e1-2297-7481-b9de-406588b00184",
    "lastError": null,
    "leadId": "0193a2e1-2294-75a1-a7e3-8f78b57dce63",
    "qualification": {
        "category": "qualified",
        "reason": "business domain bigcorp.example; asks about demo; asks about pricing",
        "score": 100
    },
    "research": {
        "company": "BigCorp",
        "disposable": false,
        "domain": "bigcorp.example",
        "freeMail": false,
        "intents": [
            "demo",
            "pricing"
        ],
        "summary": null,
        "website": null
    },
    "status": "awaiting_approval",
    "steps": [
        {
            "attempts": 1,
            "error": null,
            "fallback": null,
            "finishedAt": "2026-12-01T09:30:00.193806+00:00",
            "name": "research",
            "startedAt": "2026-12-01T09:30:00.193713+00:00",
            "status": "succeeded",
            "usage": null
        },
        {
            "attempts": 1,
            "error": null,
            "fallback": null,
            "finishedAt": "2026-12-01T09:30:00.194519+00:00",
            "name": "qualify",
            "startedAt": "2026-12-01T09:30:00.194477+00:00",
            "status": "succeeded",
            "usage": null
        },
        {
            "attempts": 1,
            "error": null,
            "fallback": null,
            "finishedAt": "2026-12-01T09:30:00.198063+00:00",
            "name": "draft_email",
            "startedAt": "2026-12-01T09:30:00.198012+00:00",
            "status": "succeeded",
            "usage": null
        },
        {
            "attempts": 0,
            "error": null,
            "fallback": null,
            "finishedAt": null,
            "name": "await_approval",
            "startedAt": "2026-12-01T09:30:00.198063+00:00",
            "status": "waiting",
            "usage": null
        }
    ]
}"#;
