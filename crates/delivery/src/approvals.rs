//! Who is told what: who is asked to approve an outreach draft (the
//! assignee's team leaders when the lead is assigned and they may approve;
//! otherwise everyone who may approve, `leads:approve`), who learns that an
//! endpoint was disabled, and what the organization's settings turn off.

use serde_json::Value;

/// Someone who may be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApproverCandidate {
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Whether they hold `leads:approve`.
    pub may_approve: bool,
    /// Whether they lead a team the lead's assignee is in.
    pub leads_assignees_team: bool,
}

/// The people to email: the assignee's team leaders who may approve, else
/// everyone who may approve; each address once.
#[must_use]
pub fn choose_approvers(candidates: &[ApproverCandidate]) -> Vec<&ApproverCandidate> {
    let leaders: Vec<&ApproverCandidate> =
        candidates.iter().filter(|c| c.may_approve && c.leads_assignees_team).collect();
    let mut chosen =
        if leaders.is_empty() { candidates.iter().filter(|c| c.may_approve).collect() } else { leaders };
    chosen.sort_by(|a, b| a.email.cmp(&b.email));
    chosen.dedup_by(|a, b| a.email == b.email);
    chosen
}

/// Whether a member with these permissions is told when Leadflow disables one
/// of the organization's webhook endpoints: those who manage its settings.
#[must_use]
pub fn told_of_disabled_endpoints(permissions: leadflow_kernel::PermissionSet) -> bool {
    permissions.contains(leadflow_kernel::Permission::SettingsManage)
}

/// What `settings.notifications` of an organization asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationSettings {
    /// Email approvers (`approvalEmails`, default true).
    pub approval_emails: bool,
    /// The Slack incoming webhook (`slackWebhookUrl`), unless `slack` is false.
    pub slack_webhook_url: Option<String>,
}

impl NotificationSettings {
    /// Reads them from an organization's settings object.
    #[must_use]
    pub fn of(settings: &Value) -> Self {
        let n = settings.get("notifications");
        let flag = |key: &str| n.and_then(|n| n.get(key)).and_then(Value::as_bool).unwrap_or(true);
        let url = n
            .and_then(|n| n.get("slackWebhookUrl"))
            .and_then(Value::as_str)
            .filter(|u| !u.trim().is_empty())
            .map(str::to_owned);
        Self { approval_emails: flag("approvalEmails"), slack_webhook_url: url.filter(|_| flag("slack")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(email: &str, may_approve: bool, leader: bool) -> ApproverCandidate {
        ApproverCandidate { email: email.into(), name: "N".into(), may_approve, leads_assignees_team: leader }
    }

    #[test]
    fn team_leaders_come_first_then_every_approver() {
        let all = [c("owner@a.io", true, false), c("lead@a.io", true, true), c("member@a.io", false, true)];
        let chosen: Vec<&str> = choose_approvers(&all).iter().map(|c| c.email.as_str()).collect();
        assert_eq!(chosen, ["lead@a.io"]);
        let no_leader =
            [c("owner@a.io", true, false), c("admin@a.io", true, false), c("member@a.io", false, true)];
        let chosen: Vec<&str> = choose_approvers(&no_leader).iter().map(|c| c.email.as_str()).collect();
        assert_eq!(chosen, ["admin@a.io", "owner@a.io"]);
    }

    #[test]
    fn settings_managers_are_told_of_disabled_endpoints() {
        use leadflow_kernel::Role;
        assert!(told_of_disabled_endpoints(Role::Owner.permissions()));
        assert!(told_of_disabled_endpoints(Role::Admin.permissions()));
        assert!(!told_of_disabled_endpoints(Role::Member.permissions()));
    }

    #[test]
    fn settings_turn_each_channel_off() {
        assert_eq!(
            NotificationSettings::of(&json!({})),
            NotificationSettings { approval_emails: true, slack_webhook_url: None }
        );
        let s = NotificationSettings::of(
            &json!({"notifications": {"approvalEmails": false, "slackWebhookUrl": "https://hooks.slack.com/services/x"}}),
        );
        assert!(!s.approval_emails);
        assert_eq!(s.slack_webhook_url.as_deref(), Some("https://hooks.slack.com/services/x"));
        let off = NotificationSettings::of(
            &json!({"notifications": {"slack": false, "slackWebhookUrl": "https://x"}}),
        );
        assert_eq!(off.slack_webhook_url, None);
    }
}
