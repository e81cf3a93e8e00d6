//! A subscription remembers since when it is `past_due`, for the 7-day grace
//! after which it takes no new leads (SPEC §6).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    PastDueSince,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Subscriptions::Table)
                    .add_column(timestamp_with_time_zone_null(Subscriptions::PastDueSince))
                    .to_owned(),
            )
            .await?;
        // Subscriptions already past due start their grace now.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE subscriptions SET past_due_since = updated_at WHERE status = 'past_due'",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Subscriptions::Table)
                    .drop_column(Subscriptions::PastDueSince)
                    .to_owned(),
            )
            .await
    }
}
