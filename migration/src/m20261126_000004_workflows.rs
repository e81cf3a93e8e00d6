//! Workflows, events, and the outbox email's workflow key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    json_binary, json_binary_null, pk_uuid, string_len, string_len_null, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Leads {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
    OrganizationId,
    LeadId,
    Status,
    CurrentStep,
    Steps,
    Research,
    Qualification,
    EmailDraft,
    Decision,
    NextRunAt,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    OrganizationId,
    Kind,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    WorkflowId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workflows::Table)
                    .col(pk_uuid(Workflows::Id))
                    .col(uuid(Workflows::OrganizationId))
                    .col(uuid(Workflows::LeadId).unique_key())
                    .col(string_len(Workflows::Status, 24))
                    .col(string_len_null(Workflows::CurrentStep, 24))
                    .col(json_binary(Workflows::Steps))
                    .col(json_binary_null(Workflows::Research))
                    .col(json_binary_null(Workflows::Qualification))
                    .col(json_binary_null(Workflows::EmailDraft))
                    .col(json_binary_null(Workflows::Decision))
                    .col(timestamp_with_time_zone_null(Workflows::NextRunAt))
                    .col(string_len_null(Workflows::LeaseOwner, 128))
                    .col(timestamp_with_time_zone_null(Workflows::LeaseExpiresAt))
                    .col(text_null(Workflows::LastError))
                    .col(timestamp_with_time_zone(Workflows::CreatedAt))
                    .col(timestamp_with_time_zone(Workflows::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Workflows::CompletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflows_organization")
                            .from(Workflows::Table, Workflows::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflows_lead")
                            .from(Workflows::Table, Workflows::LeadId)
                            .to(Leads::Table, Leads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_workflows_organization_created")
                    .table(Workflows::Table)
                    .col(Workflows::OrganizationId)
                    .col(Workflows::CreatedAt)
                    .col(Workflows::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_workflows_organization_status")
                    .table(Workflows::Table)
                    .col(Workflows::OrganizationId)
                    .col(Workflows::Status)
                    .col(Workflows::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // Workers look for due work across organizations; only runnable rows are indexed.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_workflows_due ON workflows (next_run_at) WHERE status IN ('pending', 'running')",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(pk_uuid(Events::Id))
                    .col(uuid(Events::OrganizationId))
                    .col(string_len(Events::Kind, 64))
                    .col(json_binary(Events::Payload))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_events_organization")
                            .from(Events::Table, Events::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_organization_created")
                    .table(Events::Table)
                    .col(Events::OrganizationId)
                    .col(Events::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(ColumnDef::new(EmailOutbox::WorkflowId).uuid().null())
                    .to_owned(),
            )
            .await?;
        // At most one email per workflow, whatever retries or crashes happen.
        manager
            .create_index(
                Index::create()
                    .name("idx_email_outbox_workflow")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::WorkflowId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_email_outbox_workflow").table(EmailOutbox::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(EmailOutbox::Table).drop_column(EmailOutbox::WorkflowId).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(Events::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Workflows::Table).to_owned()).await?;
        Ok(())
    }
}
