//! Subscriptions, usage counters, leads and idempotency keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, json_binary, pk_uuid, small_integer_null, string_len, string_len_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    OrganizationId,
    Plan,
    Status,
    TrialEndsAt,
    PeriodAnchor,
    ExternalCustomerId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    OrganizationId,
    Meter,
    PeriodStart,
    Used,
}

#[derive(DeriveIden)]
enum Leads {
    Table,
    Id,
    OrganizationId,
    Email,
    Name,
    Company,
    Phone,
    Message,
    Source,
    Metadata,
    Status,
    QualificationCategory,
    QualificationReason,
    QualificationScore,
    AssigneeId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    OrganizationId,
    Key,
    Fingerprint,
    LeadId,
    CreatedAt,
}

fn cascade(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(table)
        .from_col(Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(Alias::new(*col));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(uuid(Subscriptions::OrganizationId).primary_key())
                    .col(string_len(Subscriptions::Plan, 32))
                    .col(string_len(Subscriptions::Status, 16))
                    .col(timestamp_with_time_zone_null(Subscriptions::TrialEndsAt))
                    .col(timestamp_with_time_zone(Subscriptions::PeriodAnchor))
                    .col(string_len_null(Subscriptions::ExternalCustomerId, 255))
                    .col(timestamp_with_time_zone(Subscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .foreign_key(&mut cascade(Subscriptions::Table, "fk_subscriptions_organization"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_subscriptions_plan", Subscriptions::Table, &["plan", "organization_id"]))
            .await?;
        // Organizations that existed before subscriptions are kept on starter, active.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO subscriptions (organization_id, plan, status, period_anchor, created_at, updated_at) \
                 SELECT id, 'starter', 'active', created_at, created_at, updated_at FROM organizations",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UsageCounters::Table)
                    .col(uuid(UsageCounters::OrganizationId))
                    .col(string_len(UsageCounters::Meter, 32))
                    .col(timestamp_with_time_zone(UsageCounters::PeriodStart))
                    .col(big_integer(UsageCounters::Used).default(0))
                    .primary_key(
                        Index::create()
                            .col(UsageCounters::OrganizationId)
                            .col(UsageCounters::Meter)
                            .col(UsageCounters::PeriodStart),
                    )
                    .foreign_key(&mut cascade(UsageCounters::Table, "fk_usage_counters_organization"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Leads::Table)
                    .col(pk_uuid(Leads::Id))
                    .col(uuid(Leads::OrganizationId))
                    .col(string_len(Leads::Email, 254))
                    .col(string_len(Leads::Name, 200))
                    .col(string_len_null(Leads::Company, 200))
                    .col(string_len_null(Leads::Phone, 32))
                    .col(text(Leads::Message))
                    .col(string_len_null(Leads::Source, 100))
                    .col(json_binary(Leads::Metadata))
                    .col(string_len(Leads::Status, 16))
                    .col(string_len_null(Leads::QualificationCategory, 16))
                    .col(text_null(Leads::QualificationReason))
                    .col(small_integer_null(Leads::QualificationScore))
                    .col(uuid_null(Leads::AssigneeId))
                    .col(timestamp_with_time_zone(Leads::CreatedAt))
                    .col(timestamp_with_time_zone(Leads::UpdatedAt))
                    .foreign_key(&mut cascade(Leads::Table, "fk_leads_organization"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // Newest-first keyset pages of one organization.
            ("idx_leads_organization_created", &["organization_id", "created_at", "id"][..]),
            ("idx_leads_organization_assignee", &["organization_id", "assignee_id", "created_at"][..]),
            ("idx_leads_organization_status", &["organization_id", "status", "created_at"][..]),
            ("idx_leads_organization_email", &["organization_id", "email"][..]),
        ] {
            manager.create_index(index(name, Leads::Table, cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::OrganizationId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::Fingerprint, 64))
                    .col(uuid(IdempotencyKeys::LeadId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create().col(IdempotencyKeys::OrganizationId).col(IdempotencyKeys::Key),
                    )
                    .foreign_key(&mut cascade(IdempotencyKeys::Table, "fk_idempotency_keys_organization"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            Leads::Table.into_iden(),
            UsageCounters::Table.into_iden(),
            Subscriptions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
