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
    /// Id.
    pub id: Uuid,
    /// Email (lowercased).
    pub email: String,
    /// Name.
    pub name: String,
    /// Optional handle.
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
    /// Always `Bearer`.
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
    /// Id.
    pub id: Uuid,
    /// Unique slug, `[a-z0-9-]`, 3–63 characters.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Contact email.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Contact phone.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// `false` once deactivated.
    pub is_active: bool,
    /// Free-form settings (a JSON object, at most 16 KiB).
    pub settings: BTreeMap<String, serde_json::Value>,
    /// The user who created it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
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
    /// Page size.
    pub limit: u64,
    /// Items skipped.
    pub offset: u64,
}

impl<T> From<&Paged<T>> for OffsetPagination {
    fn from(p: &Paged<T>) -> Self {
        Self { total: p.total, limit: p.page.limit, offset: p.page.offset }
    }
}

/// Where the next keyset page starts.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct KeysetPagination {
    /// Page size.
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

impl PlanDto {
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
