//! The email templates: one text and one HTML template per kind, kept as files
//! in `templates/` (the text file also holds the subject, in its `subject`
//! block). HTML is auto-escaped; links are built from the integrator's
//! front-end URL (`LEADFLOW_APP_URL`) and the message's secrets, and render
//! as `[redacted]` when the secrets are absent (previews, and the body kept
//! after sending).

use minijinja::{AutoEscape, Environment, context};
use serde_json::{Map, Value};

use crate::email::EmailKind;

/// A message ready for a transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line (one line, no control characters).
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// A template failed to render (a bug in a template, or data missing).
#[derive(Debug, thiserror::Error)]
#[error("rendering the {kind} email: {source}")]
pub struct TemplateError {
    kind: &'static str,
    #[source]
    source: minijinja::Error,
}

/// What a redacted secret reads as.
pub const REDACTED: &str = "[redacted]";

/// Renders every kind of email.
pub struct Templates {
    env: Environment<'static>,
    app_url: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("app_url", &self.app_url).finish_non_exhaustive()
    }
}

const FILES: [(&str, &str); 13] = [
    ("layout.html", include_str!("../templates/layout.html")),
    ("invitation.txt", include_str!("../templates/invitation.txt")),
    ("invitation.html", include_str!("../templates/invitation.html")),
    ("password_reset.txt", include_str!("../templates/password_reset.txt")),
    ("password_reset.html", include_str!("../templates/password_reset.html")),
    ("email_verification.txt", include_str!("../templates/email_verification.txt")),
    ("email_verification.html", include_str!("../templates/email_verification.html")),
    ("approval_request.txt", include_str!("../templates/approval_request.txt")),
    ("approval_request.html", include_str!("../templates/approval_request.html")),
    ("outreach.txt", include_str!("../templates/outreach.txt")),
    ("outreach.html", include_str!("../templates/outreach.html")),
    ("webhook_disabled.txt", include_str!("../templates/webhook_disabled.txt")),
    ("webhook_disabled.html", include_str!("../templates/webhook_disabled.html")),
];

impl Templates {
    /// The templates, with links under `app_url` (no trailing slash needed).
    ///
    /// # Panics
    /// Never: the templates are compiled in and checked by this crate's tests.
    #[must_use]
    pub fn new(app_url: &str) -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None }
        });
        env.set_keep_trailing_newline(true);
        for (name, source) in FILES {
            #[allow(clippy::expect_used)]
            env.add_template(name, source).expect("the built-in email templates parse");
        }
        Self { env, app_url: app_url.trim_end_matches('/').to_owned() }
    }

    /// The integrator's front-end URL the links start with.
    #[must_use]
    pub fn app_url(&self) -> &str {
        &self.app_url
    }

    /// The link a message of `kind` carries, if any.
    fn link(&self, kind: EmailKind, data: &Value, secrets: Option<&Value>) -> Option<String> {
        let token = || {
            secrets
                .and_then(|s| s.get("token"))
                .and_then(Value::as_str)
                .map_or_else(|| REDACTED.to_owned(), ToOwned::to_owned)
        };
        let app = &self.app_url;
        match kind {
            EmailKind::Invitation => Some(format!("{app}/accept-invitation?token={}", token())),
            EmailKind::PasswordReset => Some(format!("{app}/reset-password?token={}", token())),
            EmailKind::EmailVerification => Some(format!("{app}/verify-email?token={}", token())),
            EmailKind::ApprovalRequest => {
                data.get("leadId").and_then(Value::as_str).map(|id| format!("{app}/leads/{id}"))
            }
            EmailKind::Outreach | EmailKind::WebhookDisabled => None,
        }
    }

    /// Renders a message of `kind` from its `data`, with its `secrets` in the
    /// links (`None`: redacted).
    ///
    /// # Errors
    /// When a template fails on this data.
    pub fn render(
        &self,
        kind: EmailKind,
        data: &Value,
        secrets: Option<&Value>,
    ) -> Result<Rendered, TemplateError> {
        let fail = |source| TemplateError { kind: kind.as_str(), source };
        // Built here from the configured URL and URL-safe tokens: marked safe so
        // HTML keeps it readable (auto-escaping would write `/` as `&#x2f;`).
        let link = self.link(kind, data, secrets).map(minijinja::Value::from_safe_string);
        let fields = data.as_object().cloned().unwrap_or_else(Map::new);
        let ctx =
            context! { link => link, app_url => &self.app_url, ..minijinja::Value::from_serialize(&fields) };
        let text_template = self.env.get_template(&format!("{}.txt", kind.as_str())).map_err(fail)?;
        let mut captured = text_template.render_captured(&ctx).map_err(fail)?;
        let (subject, text) = captured
            .with_state_mut(|state| {
                Ok::<_, minijinja::Error>((state.render_block("subject")?, state.render_block("body")?))
            })
            .map_err(fail)?;
        let html = self
            .env
            .get_template(&format!("{}.html", kind.as_str()))
            .map_err(fail)?
            .render(&ctx)
            .map_err(fail)?;
        Ok(Rendered { subject: one_line(&subject), text: text.trim_start().to_owned(), html })
    }
}

/// A subject on one line: control characters become spaces, runs of spaces collapse.
fn one_line(subject: &str) -> String {
    subject
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates() -> Templates {
        Templates::new("https://app.example.com/")
    }

    #[test]
    fn every_kind_renders_a_subject_a_text_and_an_html_part() {
        let data = json!({
            "organizationName": "Acme", "role": "member", "expiresAt": "2026-12-08", "invitedBy": "ann@acme.io",
            "leadId": "0190", "leadName": "Sam", "leadEmail": "sam@bigcorp.io", "company": "BigCorp",
            "category": "qualified", "score": 80, "reasons": ["asked for a demo"],
            "draftSubject": "Hello", "draftBody": "Hi Sam,\n\nThanks.", "subject": "Hello Sam", "body": "Hi Sam,\n\nThanks.",
            "url": "https://hooks.example.com/in", "reason": "gone", "endpointId": "E1",
        });
        for kind in EmailKind::ALL {
            let r = templates().render(kind, &data, Some(&json!({"token": "tok123"}))).unwrap();
            assert!(!r.subject.is_empty(), "{kind:?}");
            assert!(!r.text.is_empty() && r.html.contains("<html"), "{kind:?}");
        }
    }

    #[test]
    fn links_carry_the_token_only_when_it_is_given() {
        let data =
            json!({"organizationName": "Acme", "role": "member", "expiresAt": "x", "invitedBy": "a@b.c"});
        let sent =
            templates().render(EmailKind::Invitation, &data, Some(&json!({"token": "tok123"}))).unwrap();
        assert!(sent.text.contains("https://app.example.com/accept-invitation?token=tok123"));
        assert!(sent.html.contains("https://app.example.com/accept-invitation?token=tok123"));
        let kept = templates().render(EmailKind::Invitation, &data, None).unwrap();
        assert!(kept.text.contains("token=[redacted]") && !kept.text.contains("tok123"));
    }

    #[test]
    fn html_is_escaped_and_subjects_are_one_line() {
        let data = json!({"subject": "Hi\r\nBcc: x@y.z", "body": "<script>alert(1)</script>"});
        let r = templates().render(EmailKind::Outreach, &data, None).unwrap();
        assert_eq!(r.subject, "Hi Bcc: x@y.z");
        assert!(r.html.contains("&lt;script&gt;") && !r.html.contains("<script>"));
        assert!(r.text.contains("<script>alert(1)</script>"));
    }
}
