//! Which audited changes are webhook events, and what they carry. Every
//! change Leadflow audits passes through here (storage calls it in the
//! change's transaction, inside the audit writer); the events are *thin*: the
//! resource's id, type and organization, who acted and the change's details.

use leadflow_kernel::AuditEntry;
use serde_json::{Value, json};

/// The webhook event an audited action is, if any.
#[must_use]
pub fn event_of_action(action: &str) -> Option<&'static str> {
    Some(match action {
        "lead.created" => "lead.created",
        "lead.updated" => "lead.updated",
        "lead.assigned" => "lead.assigned",
        "lead.deleted" => "lead.deleted",
        "member.removed" | "member.left" => "member.removed",
        "member.role_changed" => "member.role_changed",
        "invitation.created" => "invitation.created",
        "invitation.accepted" => "invitation.accepted",
        // Set by the super admin, by the billing provider's events, or a
        // cancellation (taken back) by a billing manager.
        "subscription.plan_changed"
        | "subscription.billing_updated"
        | "subscription.cancel_scheduled"
        | "subscription.resumed" => "subscription.updated",
        "organization.updated" => "organization.updated",
        // A rejection ends the workflow without email.
        "workflow.rejected" => "workflow.completed",
        _ => return None,
    })
}

/// The events `entry` causes, each with its `data`: none for most actions,
/// one for those above, two for an accepted invitation (it also adds a member).
#[must_use]
pub fn events_of(entry: &AuditEntry) -> Vec<(&'static str, Value)> {
    let (Some(organization), Some(event)) = (entry.organization_id, event_of_action(&entry.action)) else {
        return Vec::new();
    };
    let data = json!({
        "organizationId": organization,
        "resourceType": entry.resource_type,
        "id": entry.resource_id,
        "actor": { "type": entry.actor_kind.as_str(), "id": entry.actor_id },
        "details": entry.details,
    });
    let mut events = vec![(event, data.clone())];
    if event == "invitation.accepted" {
        let mut member = data;
        member["resourceType"] = json!("member");
        member["id"] = json!(entry.actor_id);
        events.push(("member.added", member));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::EVENT_TYPES;
    use leadflow_kernel::{Actor, OrganizationId};

    #[test]
    fn every_event_an_action_becomes_can_be_subscribed_to() {
        for action in [
            "lead.created",
            "lead.updated",
            "lead.assigned",
            "lead.deleted",
            "member.removed",
            "member.left",
            "member.role_changed",
            "invitation.created",
            "invitation.accepted",
            "subscription.plan_changed",
            "subscription.billing_updated",
            "subscription.cancel_scheduled",
            "subscription.resumed",
            "organization.updated",
            "workflow.rejected",
        ] {
            let event = event_of_action(action).unwrap();
            assert!(EVENT_TYPES.contains(&event), "{action} → {event}");
        }
        assert_eq!(event_of_action("team.created"), None);
    }

    #[test]
    fn an_accepted_invitation_also_adds_a_member_and_platform_entries_are_no_events() {
        let org = OrganizationId::new();
        let entry = AuditEntry::new(
            &Actor::system(),
            Some(org),
            "invitation.accepted",
            "invitation",
            "I1",
            chrono::Utc::now(),
        );
        let events = events_of(&entry);
        assert_eq!(
            events.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
            ["invitation.accepted", "member.added"]
        );
        assert_eq!(events[0].1["id"], "I1");
        assert_eq!(events[1].1["resourceType"], "member");
        let platform =
            AuditEntry::new(&Actor::system(), None, "lead.created", "lead", "L1", chrono::Utc::now());
        assert!(events_of(&platform).is_empty());
    }
}
