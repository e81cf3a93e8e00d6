//! `leadflow seed-demo`: a demo organization to explore the API with, created
//! through the same domain services the HTTP API uses.

use leadflow_auth::RegisterInput;
use leadflow_auth::model::OrganizationDraft;
use leadflow_leads::LeadInput;
use serde_json::json;

use crate::state::AppState;

/// What `seed-demo` creates.
#[derive(Clone, Debug)]
pub struct DemoRequest {
    /// The owner's email.
    pub email: String,
    /// The owner's password.
    pub password: String,
    /// The organization's slug.
    pub organization: String,
    /// How many sample leads to submit (each starts its workflow).
    pub leads: u32,
}

/// What was created.
#[derive(Clone, Debug)]
pub struct DemoSeeded {
    /// The organization's id.
    pub organization_id: String,
    /// Leads submitted.
    pub leads: u32,
}

const COMPANIES: [&str; 6] =
    ["Initech", "Globex", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"];
const MESSAGES: [&str; 3] = [
    "We would like a demo for our sales team of 40 next week; budget is approved.",
    "Just looking around, maybe later this year.",
    "Please send pricing for an enterprise plan with SSO.",
];

/// Registers the owner with a new organization and submits sample leads as
/// that owner, through the services of `state` (the CLI builds it with
/// self-service sign-up allowed: it runs with database access, which is more
/// than sign-up grants).
///
/// # Errors
/// When the owner's email or the slug is taken (seeded before), the input is
/// invalid, or the plan's lead quota is spent.
pub async fn seed(state: &AppState, request: &DemoRequest) -> anyhow::Result<DemoSeeded> {
    let registered = state
        .auth
        .register(RegisterInput {
            email: request.email.clone(),
            password: request.password.clone(),
            name: "Demo Owner".to_owned(),
            username: None,
            organization: Some(OrganizationDraft {
                name: request.organization.clone(),
                display_name: Some("Demo Company".to_owned()),
            }),
            invitation_token: None,
            ip: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the demo owner {}: {e}", request.email))?;
    let session = registered.session;
    let organization_id =
        session.organization_id.ok_or_else(|| anyhow::anyhow!("the demo organization was not created"))?;
    let actor = state
        .auth
        .authenticate(&session.tokens.access_token, false)
        .await
        .map_err(|e| anyhow::anyhow!("cannot act as the demo owner: {e}"))?;
    for i in 0..request.leads {
        let n = usize::try_from(i).unwrap_or(0);
        let company = COMPANIES[n % COMPANIES.len()];
        let input = LeadInput {
            email: format!("contact{i}@{}.example", company.to_lowercase().replace(' ', "-")),
            name: format!("Contact {i}"),
            company: Some(company.to_owned()),
            phone: None,
            message: MESSAGES[n % MESSAGES.len()].to_owned(),
            source: Some("demo".to_owned()),
            metadata: Some(json!({ "seeded": true })),
        };
        if let Err(e) = state.leads.submit(&actor, input, None).await {
            anyhow::bail!("demo lead {i} was refused: {e}");
        }
    }
    Ok(DemoSeeded { organization_id: organization_id.to_string(), leads: request.leads })
}
