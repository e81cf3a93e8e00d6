//! Lead routing (SPEC §7): proposals of an assignee that a person accepts
//! or rejects, and each organization's round-robin counter (one row, taken
//! by an atomic upsert, so concurrent submissions share one sequence).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, string, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RoutingProposals {
    Table,
    Id,
    OrganizationId,
    LeadId,
    WorkflowId,
    UserId,
    Status,
    CreatedAt,
    ExpiresAt,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum RoutingCursors {
    Table,
    OrganizationId,
    Next,
}

fn cascade(name: &str, from: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(from)
        .from_col(Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RoutingProposals::Table)
                    .col(uuid(RoutingProposals::Id).primary_key())
                    .col(uuid(RoutingProposals::OrganizationId))
                    .col(uuid(RoutingProposals::LeadId))
                    .col(uuid_null(RoutingProposals::WorkflowId))
                    .col(uuid(RoutingProposals::UserId))
                    .col(string(RoutingProposals::Status))
                    .col(timestamp_with_time_zone(RoutingProposals::CreatedAt))
                    .col(timestamp_with_time_zone(RoutingProposals::ExpiresAt))
                    .col(uuid_null(RoutingProposals::DecidedBy))
                    .col(timestamp_with_time_zone_null(RoutingProposals::DecidedAt))
                    .foreign_key(&mut cascade("fk_routing_proposals_organization", RoutingProposals::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_routing_proposals_organization_status")
                    .table(RoutingProposals::Table)
                    .col(RoutingProposals::OrganizationId)
                    .col(RoutingProposals::Status)
                    .col(RoutingProposals::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoutingCursors::Table)
                    .col(uuid(RoutingCursors::OrganizationId).primary_key())
                    .col(big_integer(RoutingCursors::Next))
                    .foreign_key(&mut cascade("fk_routing_cursors_organization", RoutingCursors::Table))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RoutingCursors::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RoutingProposals::Table).to_owned()).await
    }
}
