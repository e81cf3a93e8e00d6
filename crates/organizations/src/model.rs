//! The organization model: validated fields, the entity, filters and statistics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadflow_kernel::{EmailAddress, OrganizationId, UserId, ValidationErrors};
use serde_json::{Map, Value};

/// The unique slug of an organization: `[a-z0-9-]`, 3 to 63 characters,
/// neither starting nor ending with `-` (so it is a valid DNS label too).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrganizationName(String);

/// Why a text is not an [`OrganizationName`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrganizationName {
    /// Shorter than 3 or longer than 63 characters.
    #[error("must be 3 to 63 characters long")]
    Length,
    /// A character outside `[a-z0-9-]`.
    #[error("may contain only lowercase letters, digits and '-'")]
    Characters,
    /// Starts or ends with `-`.
    #[error("must not start or end with '-'")]
    Hyphen,
}

impl OrganizationName {
    /// Validates a slug. It is not lowercased for the caller: `Acme` is an
    /// error, so that the name a client sends is the name it gets back.
    ///
    /// # Errors
    /// [`InvalidOrganizationName`] saying which rule failed.
    pub fn parse(raw: &str) -> Result<Self, InvalidOrganizationName> {
        if !(3..=63).contains(&raw.len()) {
            return Err(InvalidOrganizationName::Length);
        }
        if !raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(InvalidOrganizationName::Characters);
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err(InvalidOrganizationName::Hyphen);
        }
        Ok(Self(raw.to_owned()))
    }
}

impl AsRef<str> for OrganizationName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A person-readable name: trimmed, 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

/// Why a text is not a [`DisplayName`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 200 characters without control characters")]
pub struct InvalidDisplayName;

impl DisplayName {
    /// Validates and trims a display name.
    ///
    /// # Errors
    /// [`InvalidDisplayName`] when empty, too long or holding control characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidDisplayName> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > 200 || trimmed.chars().any(char::is_control) {
            return Err(InvalidDisplayName);
        }
        Ok(Self(trimmed.to_owned()))
    }
}

impl AsRef<str> for DisplayName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A contact phone number: 3 to 32 characters of digits, spaces and `+-().`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

/// Why a text is not a [`Phone`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be 3 to 32 characters of digits, spaces and + - ( ) .")]
pub struct InvalidPhone;

impl Phone {
    /// Validates and trims a phone number.
    ///
    /// # Errors
    /// [`InvalidPhone`] for other characters or lengths.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let trimmed = raw.trim();
        let ok = (3..=32).contains(&trimmed.len())
            && trimmed.chars().any(|c| c.is_ascii_digit())
            && trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if ok { Ok(Self(trimmed.to_owned())) } else { Err(InvalidPhone) }
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Free-form organization settings: a JSON object of at most 16 KiB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings(Map<String, Value>);

/// Why a JSON value is not [`Settings`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSettings {
    /// Not a JSON object.
    #[error("must be a JSON object")]
    NotAnObject,
    /// Larger than [`Settings::MAX_BYTES`] once serialised.
    #[error("must be at most 16384 bytes as JSON")]
    TooLarge,
}

impl Settings {
    /// Largest serialised size accepted.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Validates a settings value.
    ///
    /// # Errors
    /// [`InvalidSettings`] for a non-object or an oversized object.
    pub fn parse(value: Value) -> Result<Self, InvalidSettings> {
        let Value::Object(map) = value else { return Err(InvalidSettings::NotAnObject) };
        let size = serde_json::to_vec(&map).map_or(usize::MAX, |v| v.len());
        if size > Self::MAX_BYTES {
            return Err(InvalidSettings::TooLarge);
        }
        Ok(Self(map))
    }

    /// The settings as a JSON value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The settings as a JSON object.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// An organization (tenant). Tier and billing state live in subscriptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Its id.
    pub id: OrganizationId,
    /// Unique slug.
    pub name: OrganizationName,
    /// Name shown to people.
    pub display_name: DisplayName,
    /// Contact email.
    pub email: Option<EmailAddress>,
    /// Contact phone.
    pub phone: Option<Phone>,
    /// `false` once deactivated (soft-deleted): its members and keys are refused.
    pub is_active: bool,
    /// Free-form settings.
    pub settings: Settings,
    /// The user who created it (none for the system or a since-deleted user).
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Raw input for a new organization, as a client sends it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrganizationInput {
    /// Slug.
    pub name: String,
    /// Display name; defaults to the slug.
    pub display_name: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Settings object.
    pub settings: Option<Value>,
    /// The plan to start on (super admin only; default: the trial plan).
    /// Opaque here: the subscriptions context validates and applies it.
    pub plan: Option<String>,
}

/// A validated new organization, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrganization {
    name: OrganizationName,
    display_name: DisplayName,
    email: Option<EmailAddress>,
    phone: Option<Phone>,
    settings: Settings,
    plan: Option<String>,
}

impl NewOrganization {
    /// Validates every field of `input`, reporting all errors at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] with one entry per invalid field.
    pub fn parse(input: OrganizationInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", OrganizationName::parse(&input.name));
        let display_name = errors
            .check("displayName", DisplayName::parse(input.display_name.as_deref().unwrap_or(&input.name)));
        let email = input.email.map(|e| errors.check("email", EmailAddress::parse(&e)));
        let phone = input.phone.map(|p| errors.check("phone", Phone::parse(&p)));
        let settings = input
            .settings
            .map_or(Some(Settings::default()), |s| errors.check("settings", Settings::parse(s)));
        match (name, display_name, email, phone, settings) {
            (Some(name), Some(display_name), email, phone, Some(settings)) if errors.is_empty() => Ok(Self {
                name,
                display_name,
                email: email.flatten(),
                phone: phone.flatten(),
                settings,
                plan: input.plan,
            }),
            _ => Err(errors),
        }
    }

    /// The slug asked for.
    #[must_use]
    pub fn name(&self) -> &OrganizationName {
        &self.name
    }

    /// The plan asked for, if any.
    #[must_use]
    pub fn plan(&self) -> Option<&str> {
        self.plan.as_deref()
    }

    /// Builds the organization as created by `created_by` at `now`.
    #[must_use]
    pub fn into_organization(self, created_by: Option<UserId>, now: DateTime<Utc>) -> Organization {
        Organization {
            id: OrganizationId::new(),
            name: self.name,
            display_name: self.display_name,
            email: self.email,
            phone: self.phone,
            is_active: true,
            settings: self.settings,
            created_by,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrganizationChanges {
    /// New slug.
    pub name: Option<String>,
    /// New display name.
    pub display_name: Option<String>,
    /// New contact email, or `Some(None)` to clear it.
    pub email: Option<Option<String>>,
    /// New contact phone, or `Some(None)` to clear it.
    pub phone: Option<Option<String>>,
    /// New settings (replaces the whole object).
    pub settings: Option<Value>,
}

impl OrganizationChanges {
    /// The API names of the fields this change touches (for the audit log).
    #[must_use]
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.name.is_some() {
            fields.push("name");
        }
        if self.display_name.is_some() {
            fields.push("displayName");
        }
        if self.email.is_some() {
            fields.push("email");
        }
        if self.phone.is_some() {
            fields.push("phone");
        }
        if self.settings.is_some() {
            fields.push("settings");
        }
        fields
    }
}

impl Organization {
    /// Applies `changes` if every changed field is valid; otherwise changes nothing.
    ///
    /// # Errors
    /// [`ValidationErrors`] with one entry per invalid field.
    pub fn apply(
        &mut self,
        changes: OrganizationChanges,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = changes.name.map(|n| errors.check("name", OrganizationName::parse(&n)));
        let display_name = changes.display_name.map(|n| errors.check("displayName", DisplayName::parse(&n)));
        let email = changes.email.map(|e| e.map(|e| errors.check("email", EmailAddress::parse(&e))));
        let phone = changes.phone.map(|p| p.map(|p| errors.check("phone", Phone::parse(&p))));
        let settings = changes.settings.map(|s| errors.check("settings", Settings::parse(s)));
        errors.into_result()?;
        if let Some(Some(name)) = name {
            self.name = name;
        }
        if let Some(Some(display_name)) = display_name {
            self.display_name = display_name;
        }
        if let Some(email) = email {
            self.email = email.flatten();
        }
        if let Some(phone) = phone {
            self.phone = phone.flatten();
        }
        if let Some(Some(settings)) = settings {
            self.settings = settings;
        }
        self.updated_at = now;
        Ok(())
    }
}

/// Sort orders of the organization list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrganizationSort {
    /// Newest first (the default).
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// By slug, a to z.
    NameAsc,
    /// By slug, z to a.
    NameDesc,
}

/// The sort key is not one of `createdAt`, `-createdAt`, `name`, `-name`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be one of createdAt, -createdAt, name, -name")]
pub struct InvalidSort;

impl std::str::FromStr for OrganizationSort {
    type Err = InvalidSort;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "-createdAt" => Ok(Self::CreatedDesc),
            "createdAt" => Ok(Self::CreatedAsc),
            "name" => Ok(Self::NameAsc),
            "-name" => Ok(Self::NameDesc),
            _ => Err(InvalidSort),
        }
    }
}

/// Filters of the organization list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationFilter {
    /// Only active (`true`) or deactivated (`false`) organizations.
    pub is_active: Option<bool>,
    /// Case-insensitive substring of the slug or display name (at most 100 characters).
    pub search: Option<String>,
    /// Only organizations on this plan (a plan name of the subscriptions context).
    pub tier: Option<String>,
    /// Order of the results.
    pub sort: OrganizationSort,
}

/// Counts about one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationStats {
    /// Members of the organization.
    pub total_members: u64,
    /// Members per role name.
    pub members_by_role: BTreeMap<String, u64>,
    /// Invitations waiting for an answer (not expired).
    pub pending_invitations: u64,
    /// API keys neither revoked nor expired.
    pub active_api_keys: u64,
    /// Teams.
    pub total_teams: u64,
    /// Leads.
    pub total_leads: u64,
    /// Leads per status name.
    pub leads_by_status: BTreeMap<String, u64>,
    /// Usage of the current period.
    pub usage: Option<UsageSummary>,
    /// Workflows.
    pub total_workflows: u64,
    /// Workflows per status name.
    pub workflows_by_status: BTreeMap<String, u64>,
}

/// Plan and usage of an organization's current period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageSummary {
    /// The plan's name.
    pub plan: String,
    /// Leads counted this period.
    pub leads_used: u64,
    /// The plan's lead limit (`None`: unlimited).
    pub leads_limit: Option<u64>,
    /// Members plus pending invitations.
    pub seats_used: u64,
    /// The plan's seats (`None`: unlimited).
    pub seats_limit: Option<u64>,
}

/// Totals across every organization (super admin only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlatformOverview {
    /// Active organizations.
    pub active_organizations: u64,
    /// Deactivated organizations.
    pub inactive_organizations: u64,
    /// Users on the platform.
    pub total_users: u64,
    /// Memberships across organizations.
    pub total_memberships: u64,
    /// Pending invitations across organizations.
    pub pending_invitations: u64,
    /// Active API keys across organizations.
    pub active_api_keys: u64,
    /// Teams across organizations.
    pub total_teams: u64,
    /// Leads per status across organizations.
    pub leads_by_status: BTreeMap<String, u64>,
    /// Organizations per plan name.
    pub organizations_per_plan: BTreeMap<String, u64>,
    /// Workflows per status across organizations.
    pub workflows_by_status: BTreeMap<String, u64>,
    /// The organizations with the most leads: (id, slug, leads), at most 10.
    pub top_organizations: Vec<(OrganizationId, String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slugs_follow_the_rules() {
        assert!(OrganizationName::parse("acme-42").is_ok());
        assert_eq!(OrganizationName::parse("ab"), Err(InvalidOrganizationName::Length));
        assert_eq!(OrganizationName::parse(&"a".repeat(64)), Err(InvalidOrganizationName::Length));
        assert!(OrganizationName::parse(&"a".repeat(63)).is_ok());
        assert_eq!(OrganizationName::parse("Acme"), Err(InvalidOrganizationName::Characters));
        assert_eq!(OrganizationName::parse("ac me"), Err(InvalidOrganizationName::Characters));
        assert_eq!(OrganizationName::parse("-acme"), Err(InvalidOrganizationName::Hyphen));
        assert_eq!(OrganizationName::parse("acmé"), Err(InvalidOrganizationName::Characters));
    }

    #[test]
    fn settings_must_be_a_small_object() {
        assert!(Settings::parse(json!({"a": 1})).is_ok());
        assert_eq!(Settings::parse(json!([1])), Err(InvalidSettings::NotAnObject));
        let big = json!({ "x": "y".repeat(16 * 1024) });
        assert_eq!(Settings::parse(big), Err(InvalidSettings::TooLarge));
    }

    #[test]
    fn a_new_organization_reports_every_invalid_field() {
        let errors = NewOrganization::parse(OrganizationInput {
            name: "A".into(),
            display_name: Some(" ".into()),
            email: Some("nope".into()),
            phone: Some("call me".into()),
            settings: Some(json!("x")),
            plan: None,
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "displayName", "email", "phone", "settings"]);
    }

    #[test]
    fn the_display_name_defaults_to_the_slug() {
        let new =
            NewOrganization::parse(OrganizationInput { name: "acme".into(), ..Default::default() }).unwrap();
        let org = new.into_organization(None, Utc::now());
        assert_eq!(org.display_name.as_ref(), "acme");
        assert!(org.is_active);
    }

    #[test]
    fn an_invalid_change_changes_nothing() {
        let mut org = NewOrganization::parse(OrganizationInput { name: "acme".into(), ..Default::default() })
            .unwrap()
            .into_organization(None, Utc::now());
        let before = org.clone();
        let result = org.apply(
            OrganizationChanges {
                display_name: Some("Acme Inc".into()),
                name: Some("BAD".into()),
                ..Default::default()
            },
            Utc::now(),
        );
        assert!(result.is_err());
        assert_eq!(org, before);
        org.apply(
            OrganizationChanges { email: Some(Some("hi@acme.io".into())), ..Default::default() },
            Utc::now(),
        )
        .unwrap();
        assert_eq!(org.email.as_ref().map(AsRef::as_ref), Some("hi@acme.io"));
        org.apply(OrganizationChanges { email: Some(None), ..Default::default() }, Utc::now()).unwrap();
        assert_eq!(org.email, None);
    }
}
