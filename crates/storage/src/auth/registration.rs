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

/// One registration inside one database transaction.
pub struct SeaOrmRegistrationUnit {
    txn: DatabaseTransaction,
}

#[async_trait]
impl RegistrationUnits for SeaOrmAuth {
    async fn begin(&self) -> anyhow::Result<Box<dyn RegistrationUnit>> {
        let txn = begin_write(&self.db).await?;
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

