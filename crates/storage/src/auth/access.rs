//! Per-request access: whether a user may act in an organization and with
//! which role, read through the [`AccessCache`](crate::AccessCache).

use async_trait::async_trait;
use leadflow_auth::model::AccessState;
use leadflow_auth::ports::AccessRepository;
use leadflow_kernel::{OrganizationId, UserId};
use sea_orm::EntityTrait;

use super::access_cache::CachedAccess;
use super::{SeaOrmAuth, parse_role};
use crate::db::unexpected;
use crate::entities::{membership, organization, user};

#[async_trait]
impl AccessRepository for SeaOrmAuth {
    async fn access(&self, user: UserId, org: Option<OrganizationId>) -> anyhow::Result<Option<AccessState>> {
        let cached = match self.cache.get(user, org) {
            Some(hit) => hit,
            None => {
                let generation = self.cache.generation();
                let fresh = self.load_access(user, org).await?;
                self.cache.put(user, org, fresh, generation);
                fresh
            }
        };
        Ok(cached.map(|c| AccessState {
            super_admin: c.super_admin,
            organization_active: c.organization_active,
            role: c.role,
            disabled: c.disabled,
            email_verified: c.email_verified,
        }))
    }
}

impl SeaOrmAuth {
    async fn load_access(
        &self,
        user: UserId,
        org: Option<OrganizationId>,
    ) -> anyhow::Result<Option<CachedAccess>> {
        let Some(row) = user::Entity::find_by_id(user.as_uuid())
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading user"))?
        else {
            return Ok(None);
        };
        let Some(org) = org else {
            return Ok(Some(CachedAccess {
                super_admin: row.is_super_admin,
                organization_active: None,
                role: None,
                disabled: row.disabled_at.is_some(),
                email_verified: row.email_verified_at.is_some(),
            }));
        };
        let (member, organization) = membership::Entity::find_by_id((org.as_uuid(), user.as_uuid()))
            .find_also_related(organization::Entity)
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading membership"))?
            .map_or((None, None), |(m, o)| (Some(m), o));
        let organization_active = match organization {
            Some(o) => Some(o.is_active),
            None => organization::Entity::find_by_id(org.as_uuid())
                .one(&self.db)
                .await
                .map_err(|e| unexpected(e, "reading organization"))?
                .map(|o| o.is_active),
        };
        Ok(Some(CachedAccess {
            super_admin: row.is_super_admin,
            organization_active,
            role: member.map(|m| parse_role(&m.role)).transpose()?,
            disabled: row.disabled_at.is_some(),
            email_verified: row.email_verified_at.is_some(),
        }))
    }
}
