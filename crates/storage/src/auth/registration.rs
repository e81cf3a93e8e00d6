//! The registration unit of work: a user, their organization or accepted
//! invitation, and the audit entry, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use leadflow_auth::invitations::{Invitation, InvitationStoreError};
use leadflow_auth::ports::{RegistrationError, RegistrationUnit, RegistrationUnits};
use leadflow_auth::{OrganizationDraft, PasswordHash, User};
use leadflow_kernel::{AuditEntry, OrganizationId, UserId};
use leadflow_organizations::{NewOrganization, OrganizationInput, RepositoryError};
use sea_orm::{DatabaseTransaction, EntityTrait};

use super::SeaOrmAuth;
use super::invitations::accept_invitation_in;
use super::users::user_row;
use crate::db::audit::insert_audit;
use crate::db::{begin_write, unexpected, unique_violation};
use crate::entities::user;
use crate::organizations::insert_organization;

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
                RepositoryError::NotFound | RepositoryError::Changed => {
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

    async fn issue_token(
        &mut self,
        token: &leadflow_auth::model::IssuedToken,
        email: &leadflow_auth::invitations::OutboxEmail,
    ) -> anyhow::Result<()> {
        super::tokens::issue_on(&self.txn, token, email).await
    }

    async fn commit(self: Box<Self>) -> anyhow::Result<()> {
        self.txn.commit().await.map_err(|e| unexpected(e, "committing registration"))
    }
}
