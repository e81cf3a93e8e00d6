//! The team model.

use chrono::{DateTime, Utc};
use leadflow_kernel::{OrganizationId, UserId, ValidationErrors};

pub use leadflow_kernel::TeamId;

/// A team of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    /// Its id.
    pub id: TeamId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Name, unique within the organization, 1–100 characters.
    pub name: String,
    /// Optional description, at most 1000 characters.
    pub description: Option<String>,
    /// Optional leader, a member of the organization.
    pub leader_id: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A member of a team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamMember {
    /// The user.
    pub user_id: UserId,
    /// Their email.
    pub email: String,
    /// Their name.
    pub name: String,
    /// When they joined the team.
    pub added_at: DateTime<Utc>,
}

/// Input for a new team.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamInput {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Leader.
    pub leader_id: Option<UserId>,
}

/// Changes to a team; `None` leaves a field, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamChanges {
    /// New name.
    pub name: Option<String>,
    /// New description or none.
    pub description: Option<Option<String>>,
    /// New leader or none.
    pub leader_id: Option<Option<UserId>>,
}

fn check_name(errors: &mut ValidationErrors, raw: &str) -> Option<String> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > 100 || name.chars().any(char::is_control) {
        errors.push("name", "must be 1 to 100 characters without control characters");
        return None;
    }
    Some(name.to_owned())
}

fn check_description(errors: &mut ValidationErrors, raw: Option<String>) -> Option<String> {
    let description = raw.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
        errors.push("description", "must be at most 1000 characters");
    }
    description
}

impl Team {
    /// Validates a new team of `organization`.
    ///
    /// # Errors
    /// Field errors for `name` and `description`.
    pub fn new(
        organization: OrganizationId,
        input: TeamInput,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = check_name(&mut errors, &input.name);
        let description = check_description(&mut errors, input.description);
        errors.into_result()?;
        Ok(Self {
            id: TeamId::new(),
            organization_id: organization,
            name: name.unwrap_or_default(),
            description,
            leader_id: input.leader_id,
            created_at: now,
            updated_at: now,
        })
    }

    /// Applies valid changes; invalid ones change nothing.
    ///
    /// # Errors
    /// Field errors for `name` and `description`.
    pub fn apply(&mut self, changes: TeamChanges, now: DateTime<Utc>) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = changes.name.map(|n| check_name(&mut errors, &n));
        let description = changes.description.map(|d| check_description(&mut errors, d));
        errors.into_result()?;
        if let Some(Some(name)) = name {
            self.name = name;
        }
        if let Some(description) = description {
            self.description = description;
        }
        if let Some(leader) = changes.leader_id {
            self.leader_id = leader;
        }
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        let org = OrganizationId::new();
        let team =
            Team::new(org, TeamInput { name: "  Sales ".into(), ..Default::default() }, Utc::now()).unwrap();
        assert_eq!(team.name, "Sales");
        assert!(Team::new(org, TeamInput { name: " ".into(), ..Default::default() }, Utc::now()).is_err());
        let long = TeamInput { name: "x".into(), description: Some("d".repeat(1001)), leader_id: None };
        assert_eq!(Team::new(org, long, Utc::now()).unwrap_err().errors()[0].field, "description");
    }

    #[test]
    fn an_invalid_change_changes_nothing() {
        let mut team = Team::new(
            OrganizationId::new(),
            TeamInput { name: "Sales".into(), ..Default::default() },
            Utc::now(),
        )
        .unwrap();
        let before = team.clone();
        assert!(
            team.apply(
                TeamChanges {
                    name: Some(String::new()),
                    description: Some(Some("x".into())),
                    ..Default::default()
                },
                Utc::now()
            )
            .is_err()
        );
        assert_eq!(team, before);
    }
}
