//! Request and response bodies shared by several operations, and their
//! conversions from domain types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadflow_auth::{IssuedTokens, User};
use leadflow_kernel::{Paged, Role};
use leadflow_organizations::Organization;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use uuid::Uuid;

/// A member's role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RoleDto {
    /// Full control.
    Owner,
    /// Everything but deactivation and owners.
    Admin,
    /// All leads and workflows.
    Manager,
    /// Own leads.
    Member,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Manager => Self::Manager,
            Role::Member => Self::Member,
        }
    }
}

/// A user.
#[derive(Clone, Debug, Object)]
#[oai(rename = "User", rename_all = "camelCase")]
pub struct UserDto {
    /// The user's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The user's email address, lowercased.
    pub email: String,
    /// The user's name, as shown to people.
    pub name: String,
    /// The user's optional handle (3–32 characters of `[a-z0-9_.-]`).
    #[oai(nullable)]
    pub username: Option<String>,
    /// Platform super admin.
    pub is_super_admin: bool,
    /// Last successful login.
    #[oai(nullable)]
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the user verified their email address (`null`: not verified).
    #[oai(nullable)]
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.as_ref().to_owned(),
            name: u.name.as_ref().to_owned(),
            username: u.username.map(|n| n.as_ref().to_owned()),
            is_super_admin: u.is_super_admin,
            last_login_at: u.last_login_at,
            email_verified_at: u.email_verified_at,
            created_at: u.created_at,
        }
    }
}

/// A token pair. The refresh token is shown only here.
#[derive(Clone, Debug, Object)]
#[oai(rename = "Tokens", rename_all = "camelCase")]
pub struct TokensDto {
    /// JWT access token, for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque refresh token, for `POST /auth/refresh` (single use).
    pub refresh_token: String,
    /// The token type, always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl From<IssuedTokens> for TokensDto {
    fn from(t: IssuedTokens) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: t.token_type.to_owned(),
            expires_in: t.expires_in,
        }
    }
}

/// An organization (tenant).
#[derive(Clone, Debug, Object)]
#[oai(rename = "Organization", rename_all = "camelCase")]
pub struct OrganizationDto {
    /// The organization's id (a UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// Unique slug, `[a-z0-9-]`, 3–63 characters.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// The contact email address.
    #[oai(nullable)]
    pub email: Option<String>,
    /// The contact phone number.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// `false` once deactivated.
    pub is_active: bool,
    /// Free-form settings (a JSON object, at most 16 KiB).
    pub settings: BTreeMap<String, serde_json::Value>,
    /// The user who created it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When the organization was created.
    pub created_at: DateTime<Utc>,
    /// When the organization last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name.as_ref().to_owned(),
            display_name: o.display_name.as_ref().to_owned(),
            email: o.email.map(|e| e.as_ref().to_owned()),
            phone: o.phone.map(|p| p.as_ref().to_owned()),
            is_active: o.is_active,
            settings: o.settings.as_map().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            created_by: o.created_by.map(|u| u.as_uuid()),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// Where an offset page sits in the whole list.
#[derive(Clone, Debug, Object)]
pub struct OffsetPagination {
    /// Matches in all.
    pub total: u64,
    /// The page size used for this answer.
    pub limit: u64,
    /// How many items were skipped before this page.
    pub offset: u64,
}

impl<T> From<&Paged<T>> for OffsetPagination {
    fn from(p: &Paged<T>) -> Self {
        Self { total: p.total, limit: p.page.limit, offset: p.page.offset }
    }
}

/// Where the next keyset page starts.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct KeysetPagination {
    /// The page size used for this answer.
    pub limit: u64,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A plan of the catalogue, as a query parameter or field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum PlanDto {
    /// 100 leads a month, 3 seats.
    Starter,
    /// 1,000 leads a month, 10 seats.
    Pro,
    /// Unlimited, custom price.
    Enterprise,
}

impl From<leadflow_subscriptions::PlanId> for PlanDto {
    fn from(p: leadflow_subscriptions::PlanId) -> Self {
        match p {
            leadflow_subscriptions::PlanId::Starter => Self::Starter,
            leadflow_subscriptions::PlanId::Pro => Self::Pro,
            leadflow_subscriptions::PlanId::Enterprise => Self::Enterprise,
        }
    }
}

impl PlanDto {
    /// The plan of a stored name (the organizations context reports plans by name);
    /// `None` for a name outside the catalogue.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Starter, Self::Pro, Self::Enterprise].into_iter().find(|p| p.as_str() == name)
    }

    /// The plan's name in the subscriptions context.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starter => "starter",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }
}

/// A PATCH field as the domain's "leave / clear / set": absent is `None`,
/// `null` is `Some(None)`, a value is `Some(Some(v))`.
pub fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// The `ETag` of a resource last changed at `updated_at` (a strong tag: the
/// change's time in microseconds, which both engines store exactly).
#[must_use]
pub fn etag(updated_at: DateTime<Utc>) -> String {
    format!("\"{}\"", updated_at.timestamp_micros())
}

/// The version an `If-Match` header names: `None` without one (or with `*`).
///
/// # Errors
/// 412 `precondition_failed` for a tag that names no version of ours.
pub fn if_match(header: Option<&str>) -> Result<Option<DateTime<Utc>>, crate::problem::ApiError> {
    let Some(raw) = header.map(str::trim).filter(|h| *h != "*") else { return Ok(None) };
    let tag = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
    tag.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .map(Some)
        .ok_or_else(crate::problem::precondition_failed)
}

/// The answer of an operation that succeeds without a body.
#[derive(poem_openapi::ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// A permission, `resource:action` (SPEC §2): what a role grants and an API key may be scoped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "Permission")]
#[allow(missing_docs)]
pub enum PermissionDto {
    #[oai(rename = "leads:view_all")]
    LeadsViewAll,
    #[oai(rename = "leads:view_assigned")]
    LeadsViewAssigned,
    #[oai(rename = "leads:create")]
    LeadsCreate,
    #[oai(rename = "leads:edit")]
    LeadsEdit,
    #[oai(rename = "leads:approve")]
    LeadsApprove,
    #[oai(rename = "leads:delete")]
    LeadsDelete,
    #[oai(rename = "leads:export")]
    LeadsExport,
    #[oai(rename = "workflows:view_all")]
    WorkflowsViewAll,
    #[oai(rename = "workflows:cancel")]
    WorkflowsCancel,
    #[oai(rename = "settings:manage")]
    SettingsManage,
    #[oai(rename = "settings:billing")]
    SettingsBilling,
    #[oai(rename = "analytics:view_all")]
    AnalyticsViewAll,
    #[oai(rename = "analytics:view_own")]
    AnalyticsViewOwn,
    #[oai(rename = "users:manage")]
    UsersManage,
    #[oai(rename = "api_keys:manage")]
    ApiKeysManage,
    #[oai(rename = "audit:view")]
    AuditView,
    #[oai(rename = "org:delete")]
    OrgDelete,
}

impl From<leadflow_kernel::Permission> for PermissionDto {
    fn from(p: leadflow_kernel::Permission) -> Self {
        use leadflow_kernel::Permission as P;
        match p {
            P::LeadsViewAll => Self::LeadsViewAll,
            P::LeadsViewAssigned => Self::LeadsViewAssigned,
            P::LeadsCreate => Self::LeadsCreate,
            P::LeadsEdit => Self::LeadsEdit,
            P::LeadsApprove => Self::LeadsApprove,
            P::LeadsDelete => Self::LeadsDelete,
            P::LeadsExport => Self::LeadsExport,
            P::WorkflowsViewAll => Self::WorkflowsViewAll,
            P::WorkflowsCancel => Self::WorkflowsCancel,
            P::SettingsManage => Self::SettingsManage,
            P::SettingsBilling => Self::SettingsBilling,
            P::AnalyticsViewAll => Self::AnalyticsViewAll,
            P::AnalyticsViewOwn => Self::AnalyticsViewOwn,
            P::UsersManage => Self::UsersManage,
            P::ApiKeysManage => Self::ApiKeysManage,
            P::AuditView => Self::AuditView,
            P::OrgDelete => Self::OrgDelete,
        }
    }
}

impl PermissionDto {
    /// The `resource:action` name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        leadflow_kernel::Permission::ALL
            .into_iter()
            .find(|p| PermissionDto::from(*p) == self)
            .map_or("", leadflow_kernel::Permission::as_str)
    }
}

/// Reads a request field typed as text strictly: poem-openapi would take a
/// JSON number or boolean for a string (`42` → `"42"`); the document says
/// `string`, so anything else is refused (400). Used as
/// `#[oai(deserialize_with = "crate::api::dto::strict")]` on every text field
/// of a request body.
///
/// # Errors
/// When the value is present, not `null` where that is allowed, and not text.
pub fn strict<T: StrictText>(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<T> {
    T::strict(value)
}

/// The text shapes of request fields that [`strict`] reads.
pub trait StrictText: Sized + poem_openapi::types::Type {
    /// Reads the field.
    ///
    /// # Errors
    /// When it is not text (or `null`/absent where those are allowed).
    fn strict(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self>;
}

fn not_text<T: poem_openapi::types::Type>(value: serde_json::Value) -> poem_openapi::types::ParseResult<T> {
    Err(poem_openapi::types::ParseError::custom(format!("expected a string, found {value}")))
}

impl StrictText for String {
    fn strict(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(other) => not_text(other),
            None => Err(poem_openapi::types::ParseError::custom("a required field is missing")),
        }
    }
}

impl StrictText for Option<String> {
    fn strict(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(other) => not_text(other),
        }
    }
}

impl StrictText for MaybeUndefined<String> {
    fn strict(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            None => Ok(MaybeUndefined::Undefined),
            Some(serde_json::Value::Null) => Ok(MaybeUndefined::Null),
            Some(serde_json::Value::String(s)) => Ok(MaybeUndefined::Value(s)),
            Some(other) => not_text(other),
        }
    }
}

impl StrictText for Vec<String> {
    fn strict(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            None => Err(poem_openapi::types::ParseError::custom("a required field is missing")),
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|item| String::strict(Some(item)).map_err(poem_openapi::types::ParseError::propagate))
                .collect(),
            Some(other) => {
                Err(poem_openapi::types::ParseError::custom(format!("expected an array, found {other}")))
            }
        }
    }
}

/// A subscription's status (as answered, and as the super admin sets it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum SubscriptionStatusDto {
    /// In its trial (give `trialEndsAt`).
    Trialing,
    /// Paid up.
    Active,
    /// A payment failed.
    PastDue,
    /// Ended.
    Canceled,
}

impl From<leadflow_subscriptions::SubscriptionStatus> for SubscriptionStatusDto {
    fn from(s: leadflow_subscriptions::SubscriptionStatus) -> Self {
        use leadflow_subscriptions::SubscriptionStatus as S;
        match s {
            S::Trialing => Self::Trialing,
            S::Active => Self::Active,
            S::PastDue => Self::PastDue,
            S::Canceled => Self::Canceled,
        }
    }
}

impl SubscriptionStatusDto {
    /// The subscriptions context's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
        }
    }
}
