//! Adapters of the auth context: users, memberships, per-request access,
//! refresh tokens and the registration unit of work.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::invitations::{Invitation, InvitationStatus, InvitationStoreError};
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

use crate::access_cache::CachedAccess;
use crate::audit::insert_audit;
use crate::entities::{invitation, membership, organization, refresh_token, user};
use crate::organizations::insert_organization;
use crate::subscriptions::{lock_subscription, plan_of, seats_in_use};
use crate::{AccessCache, Storage, begin_write, unexpected, unique_violation};

/// The auth adapters, all on one pool.
#[derive(Clone)]
pub struct SeaOrmAuth {
    pub(crate) db: DatabaseConnection,
    pub(crate) cache: Arc<AccessCache>,
}

impl Storage {
    /// The auth adapters (one value implements every auth port).
    #[must_use]
    pub fn auth(&self) -> SeaOrmAuth {
        SeaOrmAuth { db: self.db.clone(), cache: self.cache.clone() }
    }
}

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

async fn revoke_all_of_user<C: ConnectionTrait>(
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
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash.as_phc()))
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "storing password hash"))?;
        revoke_all_of_user(&txn, id, at).await.map_err(|e| unexpected(e, "revoking refresh tokens"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing password change"))?;
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
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
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

fn token_to_domain(row: refresh_token::Model) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: row.id,
        family_id: row.family_id,
        user_id: UserId::from_uuid(row.user_id),
        organization_id: row.organization_id.map(OrganizationId::from_uuid),
        token_hash: row.token_hash,
        created_at: row.created_at,
        expires_at: row.expires_at,
        used_at: row.used_at,
        revoked_at: row.revoked_at,
    }
}

fn token_row(t: &RefreshTokenRecord) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        id: Set(t.id),
        family_id: Set(t.family_id),
        user_id: Set(t.user_id.as_uuid()),
        organization_id: Set(t.organization_id.map(|o| o.as_uuid())),
        token_hash: Set(t.token_hash.clone()),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        used_at: Set(t.used_at),
        revoked_at: Set(t.revoked_at),
    }
}

#[async_trait]
impl RefreshTokenRepository for SeaOrmAuth {
    async fn insert(&self, token: &RefreshTokenRecord) -> anyhow::Result<()> {
        refresh_token::Entity::insert(token_row(token))
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| unexpected(e, "inserting refresh token"))?;
        Ok(())
    }

    async fn find_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<RefreshTokenRecord>> {
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading refresh token"))?;
        Ok(row.map(token_to_domain))
    }

    async fn rotate(&self, used: Uuid, next: &RefreshTokenRecord, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        // The conditional update is the race arbiter: of two concurrent
        // rotations of one token, exactly one sees rows_affected = 1.
        let marked = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(at))
            .filter(refresh_token::Column::Id.eq(used))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "marking refresh token used"))?;
        if marked.rows_affected != 1 {
            return Ok(false);
        }
        refresh_token::Entity::insert(token_row(next))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| unexpected(e, "inserting rotated refresh token"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing rotation"))?;
        Ok(true)
    }

    async fn revoke_family(&self, family_id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| unexpected(e, "revoking refresh token family"))?;
        Ok(())
    }
}

/// One registration inside one database transaction.
pub struct SeaOrmRegistrationUnit {
    txn: DatabaseTransaction,
}

#[async_trait]
impl RegistrationUnits for SeaOrmAuth {
    async fn begin(&self) -> anyhow::Result<Box<dyn RegistrationUnit>> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        Ok(Box::new(SeaOrmRegistrationUnit { txn }))
    }
}

#[async_trait]
impl RegistrationUnit for SeaOrmRegistrationUnit {
    async fn insert_user(&mut self, user: &User, hash: &PasswordHash) -> Result<(), RegistrationError> {
        user::Entity::insert(user_row(user, hash)).exec_without_returning(&self.txn).await.map_err(|e| {
            match unique_violation(&e) {
                Some(message) if message.contains("username") => RegistrationError::UsernameTaken,
                Some(_) => RegistrationError::EmailTaken,
                None => unexpected(e, "inserting user").into(),
            }
        })?;
        Ok(())
    }

    async fn create_organization(
        &mut self,
        draft: &OrganizationDraft,
        owner: UserId,
        at: DateTime<Utc>,
    ) -> Result<OrganizationId, RegistrationError> {
        // The organizations context decides what a valid organization is.
        let input = OrganizationInput {
            name: draft.name.clone(),
            display_name: draft.display_name.clone(),
            ..OrganizationInput::default()
        };
        let org = NewOrganization::parse(input)
            .map_err(RegistrationError::InvalidOrganization)?
            .into_organization(Some(owner), at);
        insert_organization(&self.txn, &org, Some(owner), leadflow_subscriptions::PlanId::Starter)
            .await
            .map_err(|e| match e {
                RepositoryError::NameTaken(name) => RegistrationError::OrganizationNameTaken(name),
                RepositoryError::NotFound => {
                    RegistrationError::Unexpected(anyhow::anyhow!("organization vanished"))
                }
                RepositoryError::Invalid(errors) => RegistrationError::InvalidOrganization(errors),
                RepositoryError::Unexpected(e) => RegistrationError::Unexpected(e),
            })?;
        Ok(org.id)
    }

    async fn accept_invitation(
        &mut self,
        invitation: &Invitation,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), RegistrationError> {
        accept_invitation_in(&self.txn, invitation, user, at).await.map_err(|e| match e {
            InvitationStoreError::NotPending | InvitationStoreError::AlreadyMember => {
                RegistrationError::InvitationNotPending
            }
            InvitationStoreError::SeatLimit { limit } => RegistrationError::SeatLimit(limit),
            InvitationStoreError::Unexpected(e) => RegistrationError::Unexpected(e),
        })
    }

    async fn record(&mut self, entry: &AuditEntry) -> anyhow::Result<()> {
        insert_audit(&self.txn, entry).await.map_err(|e| unexpected(e, "writing audit entry"))
    }

    async fn commit(self: Box<Self>) -> anyhow::Result<()> {
        self.txn.commit().await.map_err(|e| unexpected(e, "committing registration"))
    }
}

/// Accepts `invitation` for `user` on `conn`: the conditional status change
/// picks one winner among concurrent acceptances, then the membership is added.
pub(crate) async fn accept_invitation_in<C: ConnectionTrait>(
    conn: &C,
    invitation: &Invitation,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), InvitationStoreError> {
    // The subscription row is locked first, as in every seat check, so that
    // seat checks of one organization run one at a time.
    let subscription = lock_subscription(conn, invitation.organization_id).await?;
    let updated = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(InvitationStatus::Accepted.as_str()))
        .col_expr(invitation::Column::AcceptedAt, Expr::value(at))
        .col_expr(invitation::Column::AcceptedBy, Expr::value(user.as_uuid()))
        .filter(invitation::Column::Id.eq(invitation.id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .filter(invitation::Column::ExpiresAt.gt(at))
        .exec(conn)
        .await
        .map_err(|e| unexpected(e, "accepting invitation"))?;
    if updated.rows_affected == 0 {
        return Err(InvitationStoreError::NotPending);
    }
    // The invitation no longer counts as pending; the new member does.
    let plan = plan_of(subscription.as_ref());
    if !plan.seats_allow(seats_in_use(conn, invitation.organization_id, at, None).await? + 1) {
        return Err(InvitationStoreError::SeatLimit { limit: plan.seat_limit.unwrap_or(0) });
    }
    membership::Entity::insert(membership::ActiveModel {
        organization_id: Set(invitation.organization_id.as_uuid()),
        user_id: Set(user.as_uuid()),
        role: Set(invitation.role.as_str().to_owned()),
        created_at: Set(at),
    })
    .exec_without_returning(conn)
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => InvitationStoreError::AlreadyMember,
        None => unexpected(e, "adding member").into(),
    })?;
    Ok(())
}
