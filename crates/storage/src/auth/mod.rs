//! The auth context's storage. This module owns the `users`, `memberships`,
//! `refresh_tokens`, `invitations`, `api_keys` and `user_tokens` tables: it alone writes them
//! and knows their encodings. Other contexts read members and seats through
//! the `pub(crate)` functions below, which need no auth feature.

#[cfg(feature = "auth")]
mod access;
mod access_cache;
#[cfg(feature = "auth")]
mod api_keys;
#[cfg(feature = "auth")]
mod invitations;
#[cfg(feature = "auth")]
mod members;
#[cfg(feature = "auth")]
mod registration;
#[cfg(feature = "auth")]
mod sessions;
#[cfg(feature = "auth")]
mod throttle;
#[cfg(feature = "auth")]
mod tokens;
#[cfg(feature = "auth")]
mod users;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadflow_kernel::{OrganizationId, Role, TenantScope, UserId};
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set};

pub use access_cache::AccessCache;
#[cfg(feature = "auth")]
pub use registration::SeaOrmRegistrationUnit;
#[cfg(feature = "auth")]
pub use throttle::SeaOrmLoginThrottle;

use crate::db::{count_by, unexpected};
use crate::entities::{api_key, invitation, membership};

/// How the `invitations.status` column spells an invitation that still holds
/// a seat. The invitations adapter writes statuses through
/// `InvitationStatus::as_str`; a test keeps the two equal.
const PENDING_INVITATION: &str = "pending";

/// The auth adapters, all on one pool.
#[cfg(feature = "auth")]
#[derive(Clone)]
pub struct SeaOrmAuth {
    pub(crate) db: sea_orm::DatabaseConnection,
    pub(crate) cache: std::sync::Arc<AccessCache>,
}

#[cfg(feature = "auth")]
impl crate::Storage {
    /// The auth adapters (one value implements every auth port).
    #[must_use]
    pub fn auth(&self) -> SeaOrmAuth {
        SeaOrmAuth { db: self.db.clone(), cache: self.cache.clone() }
    }
}

/// Reads a stored role.
#[cfg(feature = "auth")]
pub(crate) fn parse_role(raw: &str) -> anyhow::Result<Role> {
    raw.parse::<Role>().map_err(|e| anyhow::anyhow!("stored role {raw:?}: {e}"))
}

/// Whether `user` is a member of the scope's organization.
pub(crate) async fn is_member<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    user: UserId,
) -> anyhow::Result<bool> {
    let found = membership::Entity::find_by_id((scope.organization_id().as_uuid(), user.as_uuid()))
        .one(conn)
        .await
        .map_err(|e| unexpected(e, "reading membership"))?;
    Ok(found.is_some())
}

/// The scope's members, with their address, name and role (for notifications).
#[cfg(feature = "delivery")]
pub(crate) async fn members_with_roles<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
) -> anyhow::Result<Vec<(UserId, String, String, Role)>> {
    use crate::entities::user;
    let rows = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(scope.organization_id().as_uuid()))
        .find_also_related(user::Entity)
        .all(conn)
        .await
        .map_err(|e| unexpected(e, "reading members"))?;
    rows.into_iter()
        .filter_map(|(m, u)| u.map(|u| (m, u)))
        .filter(|(_, u)| u.disabled_at.is_none())
        .map(|(m, u)| {
            let role =
                m.role.parse::<Role>().map_err(|e| anyhow::anyhow!("stored role {:?}: {e}", m.role))?;
            Ok((UserId::from_uuid(u.id), u.email, u.name, role))
        })
        .collect()
}

/// Adds `user` to `organization` with `role`, on `conn` (the creation of the
/// organization, or an accepted invitation).
pub(crate) async fn add_member<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    user: UserId,
    role: Role,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    membership::Entity::insert(membership::ActiveModel {
        organization_id: Set(organization.as_uuid()),
        user_id: Set(user.as_uuid()),
        role: Set(role.as_str().to_owned()),
        created_at: Set(at),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// Members plus pending, unexpired invitations (other than those to `except_email`).
pub(crate) async fn seats_in_use<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    at: DateTime<Utc>,
    except_email: Option<&str>,
) -> anyhow::Result<u64> {
    let org = organization.as_uuid();
    let members = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org))
        .count(conn)
        .await
        .map_err(|e| unexpected(e, "counting members"))?;
    let mut pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org))
        .filter(invitation::Column::Status.eq(PENDING_INVITATION))
        .filter(invitation::Column::ExpiresAt.gt(at));
    if let Some(email) = except_email {
        pending = pending.filter(invitation::Column::Email.ne(email));
    }
    let pending = pending.count(conn).await.map_err(|e| unexpected(e, "counting invitations"))?;
    Ok(members + pending)
}

/// What an organization's statistics show of its people and credentials.
pub(crate) struct PeopleCounts {
    /// Members per role.
    pub members_by_role: BTreeMap<String, u64>,
    /// Invitations still pending and unexpired at the time asked.
    pub pending_invitations: u64,
    /// API keys neither revoked nor expired at the time asked.
    pub active_api_keys: u64,
}

/// Counts the scope's members by role, its pending invitations and its live API keys at `at`.
pub(crate) async fn people_counts<C: ConnectionTrait>(
    conn: &C,
    scope: TenantScope,
    at: DateTime<Utc>,
) -> anyhow::Result<PeopleCounts> {
    let org = scope.organization_id().as_uuid();
    let members = membership::Entity::find().filter(membership::Column::OrganizationId.eq(org));
    let members_by_role =
        count_by(conn, members, membership::Column::Role, membership::Column::UserId).await?;
    let pending_invitations = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org))
        .filter(invitation::Column::Status.eq(PENDING_INVITATION))
        .filter(invitation::Column::ExpiresAt.gt(at))
        .count(conn)
        .await
        .map_err(|e| unexpected(e, "counting invitations"))?;
    let active_api_keys = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(org))
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(api_key::Column::ExpiresAt.is_null().or(api_key::Column::ExpiresAt.gt(at)))
        .count(conn)
        .await
        .map_err(|e| unexpected(e, "counting API keys"))?;
    Ok(PeopleCounts { members_by_role, pending_invitations, active_api_keys })
}

#[cfg(all(test, feature = "auth"))]
mod tests {
    #[test]
    fn seats_count_invitations_by_the_status_the_adapter_writes() {
        let pending = leadflow_auth::invitations::InvitationStatus::Pending.as_str();
        assert_eq!(pending, super::PENDING_INVITATION);
    }
}
