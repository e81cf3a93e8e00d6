//! Users and their memberships: the `users` table and reading `memberships`.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::model::PlatformUser;
use leadflow_auth::model::{PersonName, Username};
use leadflow_auth::ports::{Credentials, MembershipRepository, UserRepository};
use leadflow_auth::{Membership, PasswordHash, User};
use leadflow_kernel::{
    AuditEntry, Cursor, EmailAddress, KeysetPage, KeysetPaged, OrganizationId, PlatformScope, UserId,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::sessions::revoke_all_of_user;
use super::{SeaOrmAuth, parse_role};
use crate::db::{Change, contains_any, keyset_page, unexpected, unique_violation};
use crate::entities::{membership, organization, user};

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
        email_verified_at: row.email_verified_at,
    };
    Ok(Credentials {
        user,
        password_hash: PasswordHash::from_phc(row.password_hash),
        disabled_at: row.disabled_at,
    })
}

/// The row of a new user.
pub(super) fn user_row(user: &User, hash: &PasswordHash) -> user::ActiveModel {
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
        disabled_at: Set(None),
        email_verified_at: Set(user.email_verified_at),
    }
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
        self.replace_password(id, hash, false, at, audit).await
    }

    async fn page_across_organizations(
        &self,
        _platform: PlatformScope,
        search: Option<String>,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<PlatformUser>> {
        use user::Column as C;
        let mut query = user::Entity::find();
        if let Some(search) = search.as_deref() {
            query = query.filter(contains_any(&[C::Email, C::Name], search));
        }
        let (rows, next) = keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing users"))?;
        let items = rows
            .into_iter()
            .map(|row| user_to_domain(row).map(|c| PlatformUser { user: c.user, disabled_at: c.disabled_at }))
            .collect::<anyhow::Result<_>>()?;
        Ok(KeysetPaged { items, next })
    }

    async fn set_disabled(
        &self,
        _platform: PlatformScope,
        id: UserId,
        disabled_at: Option<DateTime<Utc>>,
        audit: &AuditEntry,
    ) -> anyhow::Result<bool> {
        let change = Change::begin(&self.db, "committing the account's state").await?;
        let updated = user::Entity::update_many()
            .col_expr(user::Column::DisabledAt, Expr::value(disabled_at))
            .col_expr(user::Column::UpdatedAt, Expr::value(audit.created_at))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&*change)
            .await
            .map_err(|e| unexpected(e, "changing the account's state"))?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        if let Some(at) = disabled_at {
            revoke_all_of_user(&*change, id, at).await.map_err(|e| unexpected(e, "revoking sessions"))?;
        }
        change.commit(audit).await?;
        self.cache.invalidate_user(id);
        Ok(true)
    }

    async fn super_admin_exists(&self) -> anyhow::Result<bool> {
        let found = user::Entity::find()
            .filter(user::Column::IsSuperAdmin.eq(true))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "looking for a super admin"))?;
        Ok(found.is_some())
    }

    async fn insert_super_admin(&self, user: &User, hash: &PasswordHash) -> anyhow::Result<bool> {
        match user::Entity::insert(user_row(user, hash)).exec_without_returning(&self.db).await {
            Ok(_) => Ok(true),
            Err(e) if unique_violation(&e).is_some() => Ok(false),
            Err(e) => Err(unexpected(e, "inserting super admin")),
        }
    }

    async fn promote_to_super_admin(
        &self,
        id: UserId,
        hash: &PasswordHash,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        self.replace_password(id, hash, true, at, audit).await
    }
}

impl SeaOrmAuth {
    /// Sets `id`'s password hash (and the super admin flag with `promote`),
    /// revokes every session of theirs and writes `audit`, in one transaction.
    async fn replace_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        promote: bool,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> anyhow::Result<()> {
        let change = Change::begin(&self.db, "committing a new password").await?;
        let mut update = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash.as_phc()))
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(id.as_uuid()));
        if promote {
            update = update.col_expr(user::Column::IsSuperAdmin, Expr::value(true));
        }
        update.exec(&*change).await.map_err(|e| unexpected(e, "storing password hash"))?;
        revoke_all_of_user(&*change, id, at).await.map_err(|e| unexpected(e, "revoking refresh tokens"))?;
        change.commit(audit).await?;
        self.cache.invalidate_user(id);
        Ok(())
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
