//! Audit entries: who changed what, written in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::actor::{Actor, Principal};
use crate::ids::OrganizationId;
use crate::scope::TenantScope;

/// What kind of actor made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditActorKind {
    /// A signed-in user.
    User,
    /// An API key.
    ApiKey,
    /// A public web form.
    Form,
    /// Leadflow itself.
    System,
}

impl AuditActorKind {
    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Form => "form",
            Self::System => "system",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "api_key" => Some(Self::ApiKey),
            "form" => Some(Self::Form),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// One entry of the audit log. Entries are append-only.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Its id (UUID v7, so ids sort by time).
    pub id: Uuid,
    /// The organization it belongs to; `None` for platform-level entries
    /// (e.g. the hard deletion of an organization).
    pub organization_id: Option<OrganizationId>,
    /// Kind of actor.
    pub actor_kind: AuditActorKind,
    /// The user's or key's id.
    pub actor_id: Option<Uuid>,
    /// The user's email (or the key's name).
    pub actor_email: Option<String>,
    /// What happened, `resource.verb` (e.g. `organization.updated`).
    pub action: String,
    /// The kind of resource changed (e.g. `organization`).
    pub resource_type: String,
    /// The resource changed.
    pub resource_id: Option<String>,
    /// Context: changed fields, old and new values (never secrets).
    pub details: Value,
    /// The client's IP address.
    pub ip: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl AuditEntry {
    /// An entry for `action` on a resource, by `actor`, in the scope's organization.
    #[must_use]
    pub fn in_scope(
        actor: &Actor,
        scope: TenantScope,
        action: &str,
        resource_type: &str,
        resource_id: impl ToString,
        at: DateTime<Utc>,
    ) -> Self {
        Self::new(actor, Some(scope.organization_id()), action, resource_type, resource_id, at)
    }

    /// An entry for `action` on a resource, by `actor`, in `organization`.
    #[must_use]
    pub fn new(
        actor: &Actor,
        organization: Option<OrganizationId>,
        action: &str,
        resource_type: &str,
        resource_id: impl ToString,
        at: DateTime<Utc>,
    ) -> Self {
        let (actor_kind, actor_id, actor_email) = match actor.principal() {
            Principal::User { id, email } => (AuditActorKind::User, Some(id.as_uuid()), Some(email.clone())),
            Principal::ApiKey { id, name } => {
                (AuditActorKind::ApiKey, Some(id.as_uuid()), Some(name.clone()))
            }
            Principal::Form { id, name } => (AuditActorKind::Form, Some(*id), Some(name.clone())),
            Principal::System => (AuditActorKind::System, None, None),
        };
        Self {
            id: Uuid::now_v7(),
            organization_id: organization,
            actor_kind,
            actor_id,
            actor_email,
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: Some(resource_id.to_string()),
            details: Value::Object(serde_json::Map::new()),
            ip: actor.ip().map(str::to_owned),
            created_at: at,
        }
    }

    /// The same entry with `details`.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, UserId};

    #[test]
    fn an_entry_names_its_actor_and_origin() {
        let org = OrganizationId::new();
        let user = UserId::new();
        let actor = Actor::user(user, "ada@example.com", Some(org), Some(Role::Owner), false)
            .with_ip(Some("10.0.0.1".into()));
        let entry =
            AuditEntry::new(&actor, Some(org), "organization.updated", "organization", org, Utc::now());
        assert_eq!(entry.actor_kind, AuditActorKind::User);
        assert_eq!(entry.actor_id, Some(user.as_uuid()));
        assert_eq!(entry.actor_email.as_deref(), Some("ada@example.com"));
        assert_eq!(entry.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(entry.resource_id, Some(org.to_string()));
        assert_eq!(AuditActorKind::parse("api_key"), Some(AuditActorKind::ApiKey));
    }
}
