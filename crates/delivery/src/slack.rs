//! Slack notifications: a Block Kit message for an incoming webhook
//! (<https://api.slack.com/messaging/webhooks>), built from the approval
//! request's data when it is sent.

use serde_json::{Value, json};

/// Slack's `mrkdwn` needs `&`, `<` and `>` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn field(data: &Value, key: &str) -> String {
    data.get(key).and_then(Value::as_str).map(escape).unwrap_or_default()
}

/// The message asking approvers to review the draft of `data` (an approval
/// request's data: `leadId`, `leadName`, `leadEmail`, `company`, `category`,
/// `score`, `reasons`, `draftSubject`, `draftBody`), linking to `{app_url}/leads/{leadId}`.
#[must_use]
pub fn approval_message(data: &Value, app_url: &str) -> Value {
    let lead = field(data, "leadName");
    let company = field(data, "company");
    let who = if company.is_empty() { lead.clone() } else { format!("{lead} ({company})") };
    let link = format!("{}/leads/{}", app_url.trim_end_matches('/'), field(data, "leadId"));
    let score =
        data.get("score").and_then(Value::as_i64).map_or_else(String::new, |s| format!(", score {s}"));
    let reasons: Vec<String> = data
        .get("reasons")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(|s| format!("• {}", escape(s))).collect())
        .unwrap_or_default();
    let draft: String = field(data, "draftBody").chars().take(2500).collect();
    json!({
        "text": format!("An email to {who} waits for approval"),
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": "Outreach waiting for approval" } },
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{who}* <{}>\nQualification: *{}*{score}\n{}", field(data, "leadEmail"), field(data, "category"), reasons.join("\n")) } },
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*\n{draft}", field(data, "draftSubject")) } },
            { "type": "actions", "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": "Review the draft" }, "url": link, "style": "primary" }
            ] }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_block_kit_with_a_link_and_escaped_text() {
        let data = json!({"leadId": "L1", "leadName": "Sam <script>", "company": "BigCorp", "leadEmail": "sam@bigcorp.io",
            "category": "qualified", "score": 80, "reasons": ["asked for a demo"], "draftSubject": "Hello", "draftBody": "Hi"});
        let message = approval_message(&data, "https://app.example.com/");
        assert_eq!(message["blocks"][3]["elements"][0]["url"], "https://app.example.com/leads/L1");
        let text = message["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(
            text.contains("Sam &lt;script&gt; (BigCorp)")
                && text.contains("score 80")
                && text.contains("• asked for a demo")
        );
    }
}
