//! Public web forms (SPEC §8): each organization's forms, with the
//! publishable key a website posts leads with, the browser origins allowed
//! to post, and the page a plain HTML form's visitor is sent to afterwards.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{json_binary, string_len, string_len_null, timestamp_with_time_zone, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LeadForms {
    Table,
    Id,
    OrganizationId,
    Name,
    Key,
    AllowedOrigins,
    RedirectUrl,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LeadForms::Table)
                    .col(uuid(LeadForms::Id).primary_key())
                    .col(uuid(LeadForms::OrganizationId))
                    .col(string_len(LeadForms::Name, 100))
                    .col(string_len(LeadForms::Key, 64))
                    .col(json_binary(LeadForms::AllowedOrigins))
                    .col(string_len_null(LeadForms::RedirectUrl, 2000))
                    .col(timestamp_with_time_zone(LeadForms::CreatedAt))
                    .col(timestamp_with_time_zone(LeadForms::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lead_forms_organization")
                            .from(LeadForms::Table, LeadForms::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A public submission finds its form by key, whatever the organization.
        manager
            .create_index(
                Index::create()
                    .name("ux_lead_forms_key")
                    .table(LeadForms::Table)
                    .col(LeadForms::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_lead_forms_organization")
                    .table(LeadForms::Table)
                    .col(LeadForms::OrganizationId)
                    .col(LeadForms::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LeadForms::Table).to_owned()).await
    }
}
