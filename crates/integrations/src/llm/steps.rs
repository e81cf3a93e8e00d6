//! The model-backed `research`, `qualify` and `draft_email` steps: prompts
//! from the templates, a JSON schema per answer, and validation into the
//! workflow's types (an answer that does not fit is a failed step, retried).

use std::sync::Arc;

use async_trait::async_trait;
use leadflow_workflows::ports::{EmailDrafter, Produced, Qualifier, Researcher, StepError};
use leadflow_workflows::{Category, EmailDraft, LeadSnapshot, Qualification, Research};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Answer, ChatClient, Prompts};

/// What research may find a lead asks for.
const INTENTS: [&str; 5] = ["demo", "pricing", "purchase", "partnership", "support"];

/// The three model-backed steps on one client.
pub struct LlmSteps {
    client: ChatClient,
    prompts: Prompts,
    /// The facts the model starts from (the rules, and the website when enabled).
    facts: Arc<dyn Researcher>,
}

impl LlmSteps {
    /// The steps on `client`, researching from what `facts` finds first.
    ///
    /// # Errors
    /// When a prompt template does not parse.
    pub fn new(client: ChatClient, facts: Arc<dyn Researcher>) -> anyhow::Result<Self> {
        Ok(Self { client, prompts: Prompts::load()?, facts })
    }

    async fn ask<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
        schema: Value,
        lead: &LeadSnapshot,
        user: &str,
    ) -> Result<(T, leadflow_workflows::TokenUsage), StepError> {
        let system = self
            .prompts
            .render("system", json!({ "organization": lead.organization_name }))
            .map_err(StepError::from)?;
        let Answer { json, usage } = self.client.ask(name, schema, &system, user).await?;
        let invalid = |why: String| {
            StepError::new(format!("the model's {name} answer is invalid: {why}")).with_usage(usage)
        };
        let value = json.map_err(invalid)?;
        let parsed = serde_json::from_value::<T>(value).map_err(|e| invalid(e.to_string()))?;
        Ok((parsed, usage))
    }
}

fn setting<'a>(lead: &'a LeadSnapshot, pointer: &str) -> Option<&'a str> {
    lead.organization_settings.pointer(pointer).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn text(value: &str, field: &str, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max {
        return Err(format!("{field} must be 1 to {max} characters"));
    }
    Ok(trimmed.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResearchAnswer {
    company: Option<String>,
    intents: Vec<String>,
    summary: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QualificationAnswer {
    category: String,
    score: i64,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftAnswer {
    subject: String,
    body: String,
}

fn schema(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

#[async_trait]
impl Researcher for LlmSteps {
    async fn research(&self, lead: &LeadSnapshot) -> Result<Produced<Research>, StepError> {
        let mut research = self.facts.research(lead).await?.value;
        let user = self
            .prompts
            .render("research", json!({ "lead": lead_context(lead), "research": research }))
            .map_err(StepError::from)?;
        let properties = json!({
            "company": { "type": ["string", "null"], "maxLength": 200 },
            "intents": { "type": "array", "items": { "type": "string", "enum": INTENTS } },
            "summary": { "type": "string", "maxLength": 1000 },
        });
        let (answer, usage) = self
            .ask::<ResearchAnswer>(
                "research",
                schema(properties, &["company", "intents", "summary"]),
                lead,
                &user,
            )
            .await?;
        let invalid = |why: String| {
            StepError::new(format!("the model's research answer is invalid: {why}")).with_usage(usage)
        };
        if let Some(unknown) = answer.intents.iter().find(|i| !INTENTS.contains(&i.as_str())) {
            return Err(invalid(format!("unknown intent {unknown:?}")));
        }
        let summary = text(&answer.summary, "summary", 1000).map_err(invalid)?;
        if let Some(company) = answer.company.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            research.company = Some(text(company, "company", 200).map_err(invalid)?);
        }
        let mut intents = answer.intents;
        intents.dedup();
        research.intents = intents;
        research.summary = Some(summary);
        Ok(Produced::metered(research, usage))
    }
}

#[async_trait]
impl Qualifier for LlmSteps {
    async fn qualify(
        &self,
        lead: &LeadSnapshot,
        research: &Research,
    ) -> Result<Produced<Qualification>, StepError> {
        let user = self
            .prompts
            .render(
                "qualify",
                json!({
                    "organization": lead.organization_name,
                    "lead": lead_context(lead),
                    "research": research,
                    "criteria": setting(lead, "/qualification/criteria"),
                }),
            )
            .map_err(StepError::from)?;
        let properties = json!({
            "category": { "type": "string", "enum": ["qualified", "follow_up", "support", "unqualified"] },
            "score": { "type": "integer", "minimum": 0, "maximum": 100 },
            "reason": { "type": "string", "maxLength": 500 },
        });
        let (answer, usage) = self
            .ask::<QualificationAnswer>(
                "qualification",
                schema(properties, &["category", "score", "reason"]),
                lead,
                &user,
            )
            .await?;
        let invalid = |why: String| {
            StepError::new(format!("the model's qualification answer is invalid: {why}")).with_usage(usage)
        };
        let category = match answer.category.as_str() {
            "qualified" => Category::Qualified,
            "follow_up" => Category::FollowUp,
            "support" => Category::Support,
            "unqualified" => Category::Unqualified,
            other => return Err(invalid(format!("unknown category {other:?}"))),
        };
        let score = u8::try_from(answer.score)
            .ok()
            .filter(|s| *s <= 100)
            .ok_or_else(|| invalid(format!("score {} is not 0 to 100", answer.score)))?;
        let reason = text(&answer.reason, "reason", 500).map_err(invalid)?;
        Ok(Produced::metered(Qualification { category, reason, score }, usage))
    }
}

#[async_trait]
impl EmailDrafter for LlmSteps {
    async fn draft(
        &self,
        lead: &LeadSnapshot,
        research: &Research,
        category: Category,
    ) -> Result<Produced<EmailDraft>, StepError> {
        let first_name = lead.name.split_whitespace().next().unwrap_or(&lead.name);
        let user = self
            .prompts
            .render(
                "draft",
                json!({
                    "organization": lead.organization_name,
                    "lead": lead_context(lead),
                    "research": research,
                    "category": category.as_str(),
                    "first_name": first_name,
                    "tone": setting(lead, "/outreach/tone"),
                }),
            )
            .map_err(StepError::from)?;
        let properties = json!({
            "subject": { "type": "string", "maxLength": 120 },
            "body": { "type": "string", "maxLength": 1200 },
        });
        let (answer, usage) =
            self.ask::<DraftAnswer>("email", schema(properties, &["subject", "body"]), lead, &user).await?;
        let invalid = |why: String| {
            StepError::new(format!("the model's email answer is invalid: {why}")).with_usage(usage)
        };
        let subject = text(&answer.subject, "subject", 200).map_err(invalid)?;
        if subject.contains(['\r', '\n']) {
            return Err(invalid("subject must be one line".into()));
        }
        let body = text(&answer.body, "body", 5000).map_err(invalid)?;
        Ok(Produced::metered(EmailDraft { to: lead.email.clone(), subject, body }, usage))
    }
}

/// What the prompts may say of the lead (never its metadata: forms put anything there).
fn lead_context(lead: &LeadSnapshot) -> Value {
    json!({ "name": lead.name, "company": lead.company, "message": lead.message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(settings: Value) -> LeadSnapshot {
        LeadSnapshot {
            lead_id: leadflow_kernel::LeadId::new(),
            email: "sam@bigcorp.io".into(),
            name: "Sam Doe".into(),
            company: None,
            message: "We'd like a demo".into(),
            metadata: json!({}),
            organization_name: "Acme".into(),
            organization_settings: settings,
            assignee_id: None,
        }
    }

    #[test]
    fn the_prompts_carry_the_lead_the_criteria_and_the_tone() {
        let prompts = Prompts::load().unwrap();
        let l = lead(
            json!({ "qualification": { "criteria": "Only EU manufacturers" }, "outreach": { "tone": "playful" } }),
        );
        let research = leadflow_workflows::builtin::RuleResearcher::facts(&l);
        let qualify = prompts
            .render("qualify", json!({ "organization": "Acme", "lead": lead_context(&l), "research": research, "criteria": setting(&l, "/qualification/criteria") }))
            .unwrap();
        assert!(
            qualify.contains("Only EU manufacturers")
                && qualify.contains("We'd like a demo")
                && qualify.contains("bigcorp.io")
        );
        let draft = prompts
            .render("draft", json!({ "organization": "Acme", "lead": lead_context(&l), "research": research, "category": "qualified", "first_name": "Sam", "tone": setting(&l, "/outreach/tone") }))
            .unwrap();
        assert!(draft.contains("Tone: playful.") && draft.contains("30-minute call"));
        let plain = prompts
            .render("qualify", json!({ "organization": "Acme", "lead": lead_context(&l), "research": research, "criteria": Value::Null }))
            .unwrap();
        assert!(plain.contains("buying intent"));
    }
}
