//! An outbox message keeps its secrets (an invitation's token) apart from its
//! body, so they can be forgotten: after delivery, or when the invitation is
//! accepted, revoked or replaced.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{json_binary_null, uuid_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    OrganizationId,
    Secrets,
    InvitationId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(json_binary_null(EmailOutbox::Secrets))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(uuid_null(EmailOutbox::InvitationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_outbox_invitation")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::OrganizationId)
                    .col(EmailOutbox::InvitationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("idx_email_outbox_invitation").table(EmailOutbox::Table).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(EmailOutbox::Table).drop_column(EmailOutbox::InvitationId).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(EmailOutbox::Table).drop_column(EmailOutbox::Secrets).to_owned(),
            )
            .await
    }
}
