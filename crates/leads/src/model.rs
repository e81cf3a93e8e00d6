//! The lead model.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadflow_kernel::{EmailAddress, OrganizationId, UserId, ValidationErrors};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use leadflow_kernel::LeadId;

/// Where a lead is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeadStatus {
    /// Submitted, not yet decided.
    Pending,
    /// Its outreach was approved.
    Approved,
    /// Its outreach was rejected.
    Rejected,
}

impl LeadStatus {
    /// Every status.
    pub const ALL: [LeadStatus; 3] = [Self::Pending, Self::Approved, Self::Rejected];

    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Reads a name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// How a lead was qualified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QualificationCategory {
    /// Worth outreach now.
    Qualified,
    /// Worth outreach later.
    FollowUp,
    /// A support request, not a sales lead.
    Support,
    /// Not a lead.
    Unqualified,
}

impl QualificationCategory {
    /// Every category.
    pub const ALL: [QualificationCategory; 4] =
        [Self::Qualified, Self::FollowUp, Self::Support, Self::Unqualified];

    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Qualified => "qualified",
            Self::FollowUp => "follow_up",
            Self::Support => "support",
            Self::Unqualified => "unqualified",
        }
    }

    /// Reads a name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The qualification written onto a lead by its workflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qualification {
    /// The category.
    pub category: QualificationCategory,
    /// Why, for people.
    pub reason: String,
    /// 0 to 100.
    pub score: u8,
}

/// A reviewer's verdict on a lead's outreach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewDecision {
    /// The outreach was approved.
    Approved,
    /// The outreach was rejected.
    Rejected,
}

/// What a review of a lead decided: its qualification, the verdict on its
/// outreach, or both. Whoever reviews (a workflow today) hands this to the
/// leads context, which alone decides what it means for the lead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadReview {
    /// The qualification to record.
    pub qualification: Option<Qualification>,
    /// The verdict to record.
    pub decision: Option<ReviewDecision>,
}

impl LeadReview {
    /// Whether the review changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.qualification.is_none() && self.decision.is_none()
    }

    /// The lead's status after the review (`None`: unchanged).
    #[must_use]
    pub fn status(&self) -> Option<LeadStatus> {
        self.decision.map(|d| match d {
            ReviewDecision::Approved => LeadStatus::Approved,
            ReviewDecision::Rejected => LeadStatus::Rejected,
        })
    }
}

/// A lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lead {
    /// Its id.
    pub id: LeadId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// The contact's email.
    pub email: EmailAddress,
    /// The contact's name.
    pub name: String,
    /// Their company.
    pub company: Option<String>,
    /// Their phone.
    pub phone: Option<String>,
    /// What they wrote.
    pub message: String,
    /// Where the lead came from (`website`, `webinar`, …).
    pub source: Option<String>,
    /// Free-form data from the form or tool (a JSON object, at most 16 KiB).
    pub metadata: Map<String, Value>,
    /// Its status.
    pub status: LeadStatus,
    /// Its qualification, once its workflow has qualified it.
    pub qualification: Option<Qualification>,
    /// The member working it.
    pub assignee_id: Option<UserId>,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Who submitted it (`None` for leads older than the record).
    pub created_by: Option<Creator>,
    /// The original lead this one repeats (same email within the
    /// organization's duplicate window): it started no workflow and did not
    /// count against the quota.
    pub duplicate_of: Option<LeadId>,
}

/// The kind of principal that submitted a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreatorKind {
    /// A signed-in user.
    User,
    /// An API key (a tool or an integration).
    ApiKey,
    /// A public web form (`POST /forms/{formKey}/submissions`).
    Form,
    /// Leadflow itself (demo data).
    System,
}

impl CreatorKind {
    /// The API and storage name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Form => "form",
            Self::System => "system",
        }
    }

    /// Reads a name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::User, Self::ApiKey, Self::Form, Self::System].into_iter().find(|k| k.as_str() == raw)
    }
}

/// Who submitted a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creator {
    /// User, API key or system.
    pub kind: CreatorKind,
    /// The user's or key's id.
    pub id: Option<uuid::Uuid>,
}

impl Creator {
    /// The principal `actor` acts as.
    #[must_use]
    pub fn of(actor: &leadflow_kernel::Actor) -> Self {
        use leadflow_kernel::Principal;
        match actor.principal() {
            Principal::User { id, .. } => Self { kind: CreatorKind::User, id: Some(id.as_uuid()) },
            Principal::ApiKey { id, .. } => Self { kind: CreatorKind::ApiKey, id: Some(id.as_uuid()) },
            Principal::Form { id, .. } => Self { kind: CreatorKind::Form, id: Some(*id) },
            Principal::System => Self { kind: CreatorKind::System, id: None },
        }
    }
}

/// How many days after an original a submission of the same email is its
/// duplicate, unless the organization says otherwise.
pub const DEFAULT_DEDUPE_WINDOW_DAYS: u32 = 30;

/// The organization's duplicate window in days, from its settings
/// (`settings.leads.dedupeWindowDays`, 0 to 3650; 0 turns detection off).
#[must_use]
pub fn dedupe_window_days(settings: &Value) -> u32 {
    settings
        .pointer("/leads/dedupeWindowDays")
        .and_then(Value::as_u64)
        .and_then(|d| u32::try_from(d).ok())
        .map_or(DEFAULT_DEDUPE_WINDOW_DAYS, |d| d.min(3650))
}

/// A submitted lead, unvalidated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadInput {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Company.
    pub company: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Message.
    pub message: String,
    /// Source.
    pub source: Option<String>,
    /// Metadata object.
    pub metadata: Option<Value>,
}

/// Largest serialised metadata accepted.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

fn text(errors: &mut ValidationErrors, field: &str, raw: &str, max: usize) -> Option<String> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > max || trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push(field, format!("must be 1 to {max} characters"));
        return None;
    }
    Some(trimmed.to_owned())
}

fn optional(errors: &mut ValidationErrors, field: &str, raw: Option<String>, max: usize) -> Option<String> {
    raw.filter(|r| !r.trim().is_empty()).and_then(|r| text(errors, field, &r, max))
}

fn metadata(errors: &mut ValidationErrors, raw: Option<Value>) -> Map<String, Value> {
    match raw {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            if serde_json::to_vec(&map).map_or(usize::MAX, |v| v.len()) > MAX_METADATA_BYTES {
                errors.push("metadata", "must be at most 16384 bytes as JSON");
            }
            map
        }
        Some(_) => {
            errors.push("metadata", "must be a JSON object");
            Map::new()
        }
    }
}

impl Lead {
    /// The lead as its submission answered it: pending, unqualified,
    /// unassigned, unchanged since (what a replay may show).
    #[must_use]
    pub fn as_submitted(mut self) -> Self {
        self.status = LeadStatus::Pending;
        self.qualification = None;
        self.assignee_id = None;
        self.updated_at = self.created_at;
        self
    }

    /// Validates a submission for `organization`; every invalid field is reported.
    ///
    /// # Errors
    /// [`ValidationErrors`].
    pub fn new(
        organization: OrganizationId,
        input: LeadInput,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", EmailAddress::parse(&input.email));
        let name = text(&mut errors, "name", &input.name, 200);
        let company = optional(&mut errors, "company", input.company, 200);
        let phone = optional(&mut errors, "phone", input.phone, 32);
        let message = text(&mut errors, "message", &input.message, 5000);
        let source = optional(&mut errors, "source", input.source, 100);
        let metadata = metadata(&mut errors, input.metadata);
        let (Some(email), Some(name), Some(message)) = (email, name, message) else { return Err(errors) };
        errors.into_result()?;
        Ok(Self {
            id: LeadId::new(),
            organization_id: organization,
            email,
            name,
            company,
            phone,
            message,
            source,
            metadata,
            status: LeadStatus::Pending,
            qualification: None,
            assignee_id: None,
            created_at: now,
            updated_at: now,
            created_by: None,
            duplicate_of: None,
        })
    }

    /// Folds `duplicate` (a later submission of this lead's contact) into
    /// this lead: its submission is kept under `metadata.mergedSubmissions`,
    /// and a company or phone this lead lacks is taken from it.
    pub fn fold(&mut self, duplicate: &Self, now: DateTime<Utc>) {
        let submission = serde_json::json!({
            "id": duplicate.id,
            "name": duplicate.name,
            "company": duplicate.company,
            "phone": duplicate.phone,
            "message": duplicate.message,
            "source": duplicate.source,
            "metadata": duplicate.metadata,
            "submittedAt": duplicate.created_at,
        });
        match self.metadata.get_mut("mergedSubmissions") {
            Some(Value::Array(list)) => list.push(submission),
            _ => {
                self.metadata.insert("mergedSubmissions".into(), Value::Array(vec![submission]));
            }
        }
        if self.company.is_none() {
            self.company.clone_from(&duplicate.company);
        }
        if self.phone.is_none() {
            self.phone.clone_from(&duplicate.phone);
        }
        self.updated_at = now;
    }

    /// Applies valid changes; with any invalid field nothing changes.
    ///
    /// # Errors
    /// [`ValidationErrors`].
    pub fn apply(&mut self, changes: LeadChanges, now: DateTime<Utc>) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = changes.email.map(|e| errors.check("email", EmailAddress::parse(&e)));
        let name = changes.name.map(|n| text(&mut errors, "name", &n, 200));
        let company = changes.company.map(|c| optional(&mut errors, "company", c, 200));
        let phone = changes.phone.map(|p| optional(&mut errors, "phone", p, 32));
        let message = changes.message.map(|m| text(&mut errors, "message", &m, 5000));
        let source = changes.source.map(|s| optional(&mut errors, "source", s, 100));
        let metadata = changes.metadata.map(|m| metadata(&mut errors, Some(m)));
        errors.into_result()?;
        if let Some(Some(email)) = email {
            self.email = email;
        }
        if let Some(Some(name)) = name {
            self.name = name;
        }
        if let Some(company) = company {
            self.company = company;
        }
        if let Some(phone) = phone {
            self.phone = phone;
        }
        if let Some(Some(message)) = message {
            self.message = message;
        }
        if let Some(source) = source {
            self.source = source;
        }
        if let Some(metadata) = metadata {
            self.metadata = metadata;
        }
        self.updated_at = now;
        Ok(())
    }
}

impl LeadInput {
    /// A digest of the submission, to tell a retry (same body) from a
    /// different request reusing an `Idempotency-Key`.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::json!({
            "email": self.email, "name": self.name, "company": self.company, "phone": self.phone,
            "message": self.message, "source": self.source, "metadata": self.metadata,
        });
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Changes to a lead; `None` leaves a field, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadChanges {
    /// New email.
    pub email: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New company or none.
    pub company: Option<Option<String>>,
    /// New phone or none.
    pub phone: Option<Option<String>>,
    /// New message.
    pub message: Option<String>,
    /// New source or none.
    pub source: Option<Option<String>>,
    /// New metadata (replaces the object).
    pub metadata: Option<Value>,
}

impl LeadChanges {
    /// The API names of the fields this change touches (for the audit log).
    #[must_use]
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            self.email.as_ref().map(|_| "email"),
            self.name.as_ref().map(|_| "name"),
            self.company.as_ref().map(|_| "company"),
            self.phone.as_ref().map(|_| "phone"),
            self.message.as_ref().map(|_| "message"),
            self.source.as_ref().map(|_| "source"),
            self.metadata.as_ref().map(|_| "metadata"),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Filters of the lead list, stats and export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// Only this status.
    pub status: Option<LeadStatus>,
    /// Only this qualification category.
    pub qualification: Option<QualificationCategory>,
    /// Only leads assigned to this user.
    pub assignee_id: Option<UserId>,
    /// Only leads assigned to these users (a team's members; resolved by the service).
    pub assignees_in: Option<Vec<UserId>>,
    /// Case-insensitive part of the email, name or company (at most 100 characters).
    pub search: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Only the duplicates of this lead.
    pub duplicate_of: Option<LeadId>,
}

/// Which of an organization's leads an actor may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Every lead (`leads:view_all`).
    All,
    /// Only leads assigned to these users (the actor, and the members of the teams they lead).
    AssignedTo(Vec<UserId>),
}

/// Counts of leads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadStats {
    /// All leads counted.
    pub total: u64,
    /// Per status name.
    pub by_status: BTreeMap<String, u64>,
    /// Per qualification category (`none` for not yet qualified).
    pub by_qualification: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_review_decides_the_status_only_with_a_verdict() {
        let qualified =
            Qualification { category: QualificationCategory::Qualified, reason: "fits".into(), score: 80 };
        assert!(LeadReview::default().is_empty());
        let only_qualified = LeadReview { qualification: Some(qualified), decision: None };
        assert!(!only_qualified.is_empty());
        assert_eq!(only_qualified.status(), None);
        let approved = LeadReview { qualification: None, decision: Some(ReviewDecision::Approved) };
        assert_eq!(approved.status(), Some(LeadStatus::Approved));
        let rejected = LeadReview { qualification: None, decision: Some(ReviewDecision::Rejected) };
        assert_eq!(rejected.status(), Some(LeadStatus::Rejected));
    }

    fn input() -> LeadInput {
        LeadInput {
            email: "Ada@Example.com".into(),
            name: " Ada ".into(),
            company: Some("Acme".into()),
            phone: None,
            message: "We need 40 seats".into(),
            source: Some("website".into()),
            metadata: Some(json!({ "utm": "spring" })),
        }
    }

    #[test]
    fn a_valid_submission_is_normalised() {
        let lead = Lead::new(OrganizationId::new(), input(), Utc::now()).unwrap();
        assert_eq!(lead.email.as_ref(), "ada@example.com");
        assert_eq!(lead.name, "Ada");
        assert_eq!(lead.status, LeadStatus::Pending);
        assert!(lead.qualification.is_none());
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let bad = LeadInput {
            email: "nope".into(),
            name: String::new(),
            company: Some("c".repeat(201)),
            phone: Some("1".repeat(33)),
            message: String::new(),
            source: Some("s".repeat(101)),
            metadata: Some(json!([1, 2])),
        };
        let errors = Lead::new(OrganizationId::new(), bad, Utc::now()).unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "name", "company", "phone", "message", "source", "metadata"]);
    }

    #[test]
    fn metadata_is_bounded() {
        let big = LeadInput { metadata: Some(json!({ "x": "y".repeat(MAX_METADATA_BYTES) })), ..input() };
        assert_eq!(
            Lead::new(OrganizationId::new(), big, Utc::now()).unwrap_err().errors()[0].field,
            "metadata"
        );
    }

    #[test]
    fn the_fingerprint_tells_retries_from_other_requests() {
        assert_eq!(input().fingerprint(), input().fingerprint());
        let other = LeadInput { message: "Something else".into(), ..input() };
        assert_ne!(input().fingerprint(), other.fingerprint());
    }

    #[test]
    fn an_invalid_change_changes_nothing() {
        let mut lead = Lead::new(OrganizationId::new(), input(), Utc::now()).unwrap();
        let before = lead.clone();
        let result = lead.apply(
            LeadChanges { name: Some("New".into()), email: Some("bad".into()), ..Default::default() },
            Utc::now(),
        );
        assert!(result.is_err());
        assert_eq!(lead, before);
    }
}
