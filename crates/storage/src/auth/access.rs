//! Adapters of the auth context: users, memberships, per-request access,
//! refresh tokens and the registration unit of work.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::invitations::{Invitation, InvitationStoreError};
use leadflow_auth::model::{AccessState, PersonName, Username};
use leadflow_auth::ports::{
    AccessRepository, Credentials, MembershipRepository, RefreshTokenRecord, RefreshTokenRepository,
    RegistrationError, RegistrationUnit, RegistrationUnits, UserRepository,
};
use leadflow_auth::{Membership, OrganizationDraft, PasswordHash, User};
use leadflow_kernel::{AuditEntry, EmailAddress, OrganizationId, Role, UserId};
use leadflow_organizations::{NewOrganization, OrganizationInput, RepositoryError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::access::accept_invitation_in;
use crate::access_cache::CachedAccess;
use crate::db::audit::insert_audit;
use crate::entities::{membership, organization, refresh_token, user};
use crate::organizations::insert_organization;
use crate::Storage;
use crate::db::{begin_write, unexpected, unique_violation};
use crate::AccessCache;

#[async_trait]
impl AccessRepository for SeaOrmAuth {
    async fn access(&self, user: UserId, org: Option<OrganizationId>) -> anyhow::Result<Option<AccessState>> {
        let cached = match self.cache.get(user, org) {
            Some(hit) => hit,
            None => {
                let fresh = self.load_access(user, org).await?;
                self.cache.put(user, org, fresh);
                fresh
            }
        };
        Ok(cached.map(|c| AccessState {
            super_admin: c.super_admin,
            organization_active: c.organization_active,
            role: c.role,
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
        }))
    }
}

