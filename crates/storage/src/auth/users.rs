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
use crate::db::{Change, begin_write, unexpected, unique_violation};
use crate::AccessCache;

fn user_to_domain(row: user::Model) -> anyhow::Result<Credentials> {
    let user = User {
        id: UserId::from_uuid(row.id),
        email: EmailAddress::parse(&row.email).context("stored email")?,
        name: PersonName::parse(&row.name).context("stored name")?,
        username: row.username.as_deref().map(Username::parse).transpose().context("stored username")?,
        is_super_admin: row.is_super_admin,
        last_login_at: row.last_login_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    };
    Ok(Credentials { user, password_hash: PasswordHash::from_phc(row.password_hash) })
}

fn user_row(user: &User, hash: &PasswordHash) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(user.id.as_uuid()),
        email: Set(user.email.as_ref().to_owned()),
        name: Set(user.name.as_ref().to_owned()),
        username: Set(user.username.as_ref().map(|u| u.as_ref().to_owned())),
        password_hash: Set(hash.as_phc().to_owned()),
        is_super_admin: Set(user.is_super_admin),
        last_login_at: Set(user.last_login_at),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    }
}

pub(crate) fn parse_role(raw: &str) -> anyhow::Result<Role> {
    raw.parse::<Role>().context("stored role")
}

async fn _unused<C: ConnectionTrait>(
    conn: &C,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(refresh_token::Column::UserId.eq(user.as_uuid()))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await
        .map(|_| ())
}

#[async_trait]
impl UserRepository for SeaOrmAuth {
    async fn by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<Credentials>> {
        let row = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_ref()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading user by email"))?;
        row.map(user_to_domain).transpose()
    }

    async fn by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>> {
        let row = user::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading user"))?;
        row.map(user_to_domain).transpose()
    }

    async fn record_login(&self, id: UserId, at: DateTime<Utc>) -> anyhow::Result<()> {
        user::Entity::update_many()
            .col_expr(user::Column::LastLoginAt, Expr::value(at))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "recording login"))?;
        Ok(())
    }

    async fn change_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let txn = Change::begin(&self.db, "committing password change").await?;
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash.as_phc()))
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&*txn)
            .await
            .map_err(|e| unexpected(e, "storing password hash"))?;
        revoke_all_of_user(&*txn, id, at).await.map_err(|e| unexpected(e, "revoking refresh tokens"))?;
        txn.commit(audit).await?;
        Ok(())
    }

    async fn super_admin_exists(&self) -> anyhow::Result<bool> {
        let found = user::Entity::find()
            .filter(user::Column::IsSuperAdmin.eq(true))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "looking for a super admin"))?;
        Ok(found.is_some())
    }

    async fn upsert_super_admin(&self, new: &User, hash: &PasswordHash) -> anyhow::Result<User> {
        let txn = begin_write(&self.db).await?;
        let existing = user::Entity::find()
            .filter(user::Column::Email.eq(new.email.as_ref()))
            .one(&txn)
            .await
            .map_err(|e| unexpected(e, "reading user by email"))?;
        let stored = match existing {
            Some(row) => {
                let mut active: user::ActiveModel = row.into();
                active.is_super_admin = Set(true);
                active.updated_at = Set(new.updated_at);
                active.update(&txn).await.map_err(|e| unexpected(e, "promoting super admin"))?
            }
            None => {
                user_row(new, hash).insert(&txn).await.map_err(|e| unexpected(e, "inserting super admin"))?
            }
        };
        txn.commit().await.map_err(|e| unexpected(e, "committing super admin"))?;
        self.cache.invalidate_user(UserId::from_uuid(stored.id));
        Ok(user_to_domain(stored)?.user)
    }
}

#[async_trait]
impl MembershipRepository for SeaOrmAuth {
    async fn memberships_of(&self, user: UserId) -> anyhow::Result<Vec<Membership>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.as_uuid()))
            .find_also_related(organization::Entity)
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading memberships"))?;
        rows.into_iter()
            .filter_map(|(m, org)| org.map(|o| (m, o)))
            .map(|(m, o)| {
                Ok(Membership {
                    organization_id: OrganizationId::from_uuid(o.id),
                    organization_name: o.name,
                    organization_display_name: o.display_name,
                    organization_active: o.is_active,
                    role: parse_role(&m.role)?,
                    joined_at: m.created_at,
                })
            })
            .collect()
    }
}

