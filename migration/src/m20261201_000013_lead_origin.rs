//! Who submitted each lead (`created_by_*`), and duplicates (SPEC §7): a
//! lead remembers the original it repeats (`duplicate_of`), and
//! `lead_originals` holds, per organization and email, the original that
//! new submissions of that email are duplicates of (its primary key is what
//! makes concurrent submissions of one email agree on one original).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string, string_null, timestamp_with_time_zone, uuid, uuid_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leads {
    Table,
    OrganizationId,
    CreatedByType,
    CreatedById,
    DuplicateOf,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LeadOriginals {
    Table,
    OrganizationId,
    Email,
    LeadId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for mut column in
            [string_null(Leads::CreatedByType), uuid_null(Leads::CreatedById), uuid_null(Leads::DuplicateOf)]
        {
            manager
                .alter_table(Table::alter().table(Leads::Table).add_column(&mut column).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_leads_duplicate_of")
                    .table(Leads::Table)
                    .col(Leads::OrganizationId)
                    .col(Leads::DuplicateOf)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LeadOriginals::Table)
                    .col(uuid(LeadOriginals::OrganizationId))
                    .col(string(LeadOriginals::Email))
                    .col(uuid(LeadOriginals::LeadId))
                    .col(timestamp_with_time_zone(LeadOriginals::CreatedAt))
                    .primary_key(Index::create().col(LeadOriginals::OrganizationId).col(LeadOriginals::Email))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lead_originals_organization")
                            .from(LeadOriginals::Table, LeadOriginals::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LeadOriginals::Table).to_owned()).await?;
        manager
            .drop_index(Index::drop().name("ix_leads_duplicate_of").table(Leads::Table).to_owned())
            .await?;
        for column in [Leads::DuplicateOf, Leads::CreatedById, Leads::CreatedByType] {
            manager.alter_table(Table::alter().table(Leads::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
