//! Sharded usage counters for plans without a limit, so that concurrent
//! submissions of one organization do not queue on a single counter row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, small_integer, string_len, timestamp_with_time_zone, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UsageShards {
    Table,
    OrganizationId,
    Meter,
    PeriodStart,
    Shard,
    Used,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UsageShards::Table)
                    .col(uuid(UsageShards::OrganizationId))
                    .col(string_len(UsageShards::Meter, 32))
                    .col(timestamp_with_time_zone(UsageShards::PeriodStart))
                    .col(small_integer(UsageShards::Shard))
                    .col(big_integer(UsageShards::Used).default(0))
                    .primary_key(
                        Index::create()
                            .col(UsageShards::OrganizationId)
                            .col(UsageShards::Meter)
                            .col(UsageShards::PeriodStart)
                            .col(UsageShards::Shard),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_usage_shards_organization")
                            .from(UsageShards::Table, UsageShards::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UsageShards::Table).to_owned()).await
    }
}
