//! Built-in step adapters that need no network: rule-based research, a
//! rule-based scoring qualifier tunable per organization, and a template
//! drafter. (The outbox mailer and the event notifier write to the database
//! and live in `leadflow-storage`.)
//!
//! # Qualification rules
//!
//! An organization tunes them in its settings under `qualification`; every
//! key is optional and defaults to the value shown:
//!
//! ```json
//! { "qualification": {
//!     "qualifiedThreshold": 60, "followUpThreshold": 35,
//!     "weights": { "base": 20, "businessDomain": 20, "freeMail": -10, "company": 10,
//!                  "demo": 30, "pricing": 25, "purchase": 35, "partnership": 10, "detailedMessage": 10 },
//!     "blockedDomains": ["competitor.example"] } }
//! ```
//!
//! Disposable and blocked domains are `unqualified`; a message that only asks
//! for help is `support`; otherwise the score (clamped to 0–100) decides:
//! `qualified` at or above `qualifiedThreshold`, `follow_up` at or above
//! `followUpThreshold`, else `unqualified`.

use async_trait::async_trait;
use serde_json::Value;

use crate::model::{Category, EmailDraft, LeadSnapshot, Qualification, Research};
use crate::ports::{EmailDrafter, Produced, Qualifier, Researcher, StepError};

const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "yandex.com",
    "zoho.com",
    "fastmail.com",
];

const DISPOSABLE: &[&str] = &[
    "mailinator.com",
    "10minutemail.com",
    "guerrillamail.com",
    "tempmail.com",
    "temp-mail.org",
    "yopmail.com",
    "trashmail.com",
    "sharklasers.com",
    "getnada.com",
    "dispostable.com",
    "throwawaymail.com",
    "maildrop.cc",
];

const INTENTS: &[(&str, &[&str])] = &[
    ("demo", &["demo", "trial", "walkthrough", "see it in action", "show us"]),
    ("pricing", &["price", "pricing", "quote", "cost", "budget"]),
    ("purchase", &["buy", "purchase", "seats", "licence", "license", "contract", "order"]),
    ("partnership", &["partner", "reseller", "integration", "integrate"]),
    (
        "support",
        &[
            "help",
            "support",
            "bug",
            "error",
            "issue",
            "broken",
            "problem",
            "not working",
            "can't",
            "cannot",
            "refund",
        ],
    ),
];

const LEGAL_SUFFIXES: &[&str] = &[
    ", inc.",
    ", inc",
    " inc.",
    " inc",
    " llc",
    " ltd.",
    " ltd",
    " gmbh",
    " s.a.",
    " sas",
    " bv",
    " b.v.",
    " corp.",
    " corp",
    " corporation",
    " co.",
    " plc",
    " ag",
    " limited",
];

/// Rule-based research: email domain, free-mail and disposable detection,
/// company-name normalisation, and what the message asks for.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleResearcher;

/// Trims, collapses spaces, drops a legal suffix and capitalises all-lowercase words.
#[must_use]
pub fn normalize_company(raw: &str) -> Option<String> {
    let mut name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        let lower = name.to_lowercase();
        let Some(suffix) = LEGAL_SUFFIXES.iter().find(|s| lower.ends_with(*s) && lower.len() > s.len())
        else {
            break;
        };
        name.truncate(name.len() - suffix.len());
        name = name.trim_end_matches([',', ' ']).to_owned();
    }
    let words: Vec<String> = name
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.chars().all(|c| !c.is_uppercase()) {
                let mut chars = w.chars();
                chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
            } else {
                w.to_owned()
            }
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[async_trait]
impl Researcher for RuleResearcher {
    async fn research(&self, lead: &LeadSnapshot) -> Result<Produced<Research>, StepError> {
        Ok(Produced::plain(Self::facts(lead)))
    }
}

impl RuleResearcher {
    /// What the lead's address and message say by themselves (no network).
    #[must_use]
    pub fn facts(lead: &LeadSnapshot) -> Research {
        let domain = lead.email.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default();
        let free_mail = FREE_MAIL.contains(&domain.as_str());
        let disposable = DISPOSABLE.contains(&domain.as_str());
        let company = lead.company.as_deref().and_then(normalize_company).or_else(|| {
            // A business domain names the company when the form did not.
            (!free_mail && !disposable)
                .then(|| domain.split('.').next().and_then(normalize_company))
                .flatten()
        });
        let message = lead.message.to_lowercase();
        let intents = INTENTS
            .iter()
            .filter(|(_, words)| words.iter().any(|w| message.contains(w)))
            .map(|(intent, _)| (*intent).to_owned())
            .collect();
        Research { domain, free_mail, disposable, company, intents, website: None, summary: None }
    }
}

/// The rule-based scoring qualifier (see the module documentation for its rules).
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleQualifier;

fn setting(rules: &Value, path: &[&str], default: i64) -> i64 {
    path.iter().try_fold(rules, |v, key| v.get(key)).and_then(Value::as_i64).unwrap_or(default)
}

#[async_trait]
impl Qualifier for RuleQualifier {
    async fn qualify(
        &self,
        lead: &LeadSnapshot,
        research: &Research,
    ) -> Result<Produced<Qualification>, StepError> {
        Ok(Produced::plain(Self::score(lead, research)))
    }
}

impl RuleQualifier {
    /// The rules' verdict on a researched lead.
    #[must_use]
    pub fn score(lead: &LeadSnapshot, research: &Research) -> Qualification {
        let rules = lead.organization_settings.get("qualification").cloned().unwrap_or(Value::Null);
        let blocked = rules.get("blockedDomains").and_then(Value::as_array).is_some_and(|list| {
            list.iter().filter_map(Value::as_str).any(|d| d.eq_ignore_ascii_case(&research.domain))
        });
        if research.disposable || blocked {
            let why = if blocked { "the email domain is blocked" } else { "a disposable email address" };
            return Qualification { category: Category::Unqualified, reason: why.into(), score: 0 };
        }
        let sales_intents: Vec<&str> =
            research.intents.iter().map(String::as_str).filter(|i| *i != "support").collect();
        if research.intents.iter().any(|i| i == "support") && sales_intents.is_empty() {
            return Qualification {
                category: Category::Support,
                reason: "the message asks for help".into(),
                score: 0,
            };
        }
        let w = |key: &str, default: i64| setting(&rules, &["weights", key], default);
        let mut score = w("base", 20);
        let mut reasons = Vec::new();
        if research.free_mail {
            score += w("freeMail", -10);
            reasons.push("free-mail address".to_owned());
        } else {
            score += w("businessDomain", 20);
            reasons.push(format!("business domain {}", research.domain));
        }
        if research.company.is_some() {
            score += w("company", 10);
        }
        for intent in &sales_intents {
            let (key, default) = match *intent {
                "demo" => ("demo", 30),
                "pricing" => ("pricing", 25),
                "purchase" => ("purchase", 35),
                _ => ("partnership", 10),
            };
            score += w(key, default);
            reasons.push(format!("asks about {intent}"));
        }
        if lead.message.split_whitespace().count() >= 20 {
            score += w("detailedMessage", 10);
        }
        let score = u8::try_from(score.clamp(0, 100)).unwrap_or(0);
        let category = if i64::from(score) >= setting(&rules, &["qualifiedThreshold"], 60) {
            Category::Qualified
        } else if i64::from(score) >= setting(&rules, &["followUpThreshold"], 35) {
            Category::FollowUp
        } else {
            Category::Unqualified
        };
        Qualification { category, reason: reasons.join("; "), score }
    }
}

/// Drafts the outreach email from a template.
#[derive(Clone, Copy, Debug, Default)]
pub struct TemplateDrafter;

#[async_trait]
impl EmailDrafter for TemplateDrafter {
    async fn draft(
        &self,
        lead: &LeadSnapshot,
        research: &Research,
        category: Category,
    ) -> Result<Produced<EmailDraft>, StepError> {
        Ok(Produced::plain(Self::compose(lead, research, category)))
    }
}

impl TemplateDrafter {
    /// The template's email for the lead.
    #[must_use]
    pub fn compose(lead: &LeadSnapshot, research: &Research, category: Category) -> EmailDraft {
        let first_name = lead.name.split_whitespace().next().unwrap_or(&lead.name);
        let topic =
            research.intents.iter().find(|i| *i != "support").map_or("your message", |i| match i.as_str() {
                "demo" => "a demo",
                "pricing" => "pricing",
                "purchase" => "your purchase",
                _ => "a partnership",
            });
        let company = research.company.as_deref().map(|c| format!(" at {c}")).unwrap_or_default();
        let (subject, next) = match category {
            Category::Qualified => (
                format!("{} — about {topic}", lead.organization_name),
                "Could we book 30 minutes this week? Reply with a time that suits you.",
            ),
            _ => (
                format!("Thanks for reaching out to {}", lead.organization_name),
                "We'll follow up with more details soon; reply any time with questions.",
            ),
        };
        let body = format!(
            "Hi {first_name},\n\nThank you for contacting {org} about {topic}. We'd love to help you{company}.\n\n{next}\n\nBest regards,\nThe {org} team\n",
            org = lead.organization_name,
        );
        EmailDraft { to: lead.email.clone(), subject, body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lead(email: &str, company: Option<&str>, message: &str, settings: Value) -> LeadSnapshot {
        LeadSnapshot {
            lead_id: leadflow_kernel::LeadId::new(),
            email: email.into(),
            name: "Sam Doe".into(),
            company: company.map(str::to_owned),
            message: message.into(),
            metadata: json!({}),
            organization_name: "Acme".into(),
            organization_settings: settings,
            assignee_id: None,
        }
    }

    async fn qualify(l: &LeadSnapshot) -> Qualification {
        let research = RuleResearcher.research(l).await.unwrap().value;
        RuleQualifier.qualify(l, &research).await.unwrap().value
    }

    #[test]
    fn company_names_are_normalised() {
        assert_eq!(normalize_company("  acme   widgets, Inc. ").as_deref(), Some("Acme Widgets"));
        assert_eq!(normalize_company("Globex GmbH").as_deref(), Some("Globex"));
        assert_eq!(normalize_company("IBM").as_deref(), Some("IBM"));
        assert_eq!(normalize_company("   "), None);
    }

    #[tokio::test]
    async fn research_reads_the_domain_and_the_intent() {
        let r = RuleResearcher
            .research(&lead("sam@bigcorp.io", None, "Can we get pricing and a demo?", json!({})))
            .await
            .unwrap()
            .value;
        assert_eq!(r.domain, "bigcorp.io");
        assert!(!r.free_mail && !r.disposable);
        assert_eq!(r.company.as_deref(), Some("Bigcorp"));
        assert_eq!(r.intents, ["demo", "pricing"]);
        let free =
            RuleResearcher.research(&lead("sam@gmail.com", None, "hi", json!({}))).await.unwrap().value;
        assert!(free.free_mail && free.company.is_none());
    }

    #[tokio::test]
    async fn the_default_rules_categorise_leads() {
        assert_eq!(
            qualify(&lead(
                "sam@bigcorp.io",
                Some("BigCorp"),
                "We want a demo and pricing for 40 seats",
                json!({})
            ))
            .await
            .category,
            Category::Qualified
        );
        assert_eq!(
            qualify(&lead("sam@bigcorp.io", None, "Tell me more about your product", json!({})))
                .await
                .category,
            Category::FollowUp
        );
        assert_eq!(
            qualify(&lead("sam@gmail.com", None, "hello", json!({}))).await.category,
            Category::Unqualified
        );
        assert_eq!(
            qualify(&lead("sam@bigcorp.io", None, "The export is broken, please help", json!({})))
                .await
                .category,
            Category::Support
        );
        assert_eq!(
            qualify(&lead("x@mailinator.com", Some("Big"), "demo please", json!({}))).await.category,
            Category::Unqualified
        );
    }

    #[tokio::test]
    async fn an_organization_tunes_thresholds_weights_and_blocked_domains() {
        let strict = json!({ "qualification": { "qualifiedThreshold": 95, "followUpThreshold": 90 } });
        assert_eq!(
            qualify(&lead("sam@bigcorp.io", Some("BigCorp"), "demo please", strict)).await.category,
            Category::Unqualified
        );
        let blocked = json!({ "qualification": { "blockedDomains": ["BIGCORP.io"] } });
        assert_eq!(
            qualify(&lead("sam@bigcorp.io", None, "demo", blocked)).await.category,
            Category::Unqualified
        );
        let generous = json!({ "qualification": { "weights": { "freeMail": 50 } } });
        assert_eq!(
            qualify(&lead("sam@gmail.com", None, "hello", generous)).await.category,
            Category::Qualified
        );
    }

    #[tokio::test]
    async fn the_draft_addresses_the_lead() {
        let l = lead("sam@bigcorp.io", Some("BigCorp"), "demo please", json!({}));
        let r = RuleResearcher.research(&l).await.unwrap().value;
        let d = TemplateDrafter.draft(&l, &r, Category::Qualified).await.unwrap().value;
        assert_eq!(d.to, "sam@bigcorp.io");
        assert!(d.subject.contains("Acme") && d.body.starts_with("Hi Sam,"));
    }
}
