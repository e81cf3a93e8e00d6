//! Billing through a provider (SPEC §6): a subscription remembers the
//! provider's subscription id, whether it ends at the period's end and the
//! provider's time of the last change it applied (events arrive out of
//! order); `billing_events` keeps every provider event id once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    boolean, string, string_null, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    ExternalCustomerId,
    ExternalSubscriptionId,
    CancelAtPeriodEnd,
    BillingUpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum BillingEvents {
    Table,
    Id,
    EventType,
    OrganizationId,
    Outcome,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for mut column in [
            string_null(Subscriptions::ExternalSubscriptionId),
            boolean(Subscriptions::CancelAtPeriodEnd).default(false).take(),
            timestamp_with_time_zone_null(Subscriptions::BillingUpdatedAt),
        ] {
            manager
                .alter_table(Table::alter().table(Subscriptions::Table).add_column(&mut column).to_owned())
                .await?;
        }
        // Provider events name the customer: find its organization directly.
        manager
            .create_index(
                Index::create()
                    .name("ux_subscriptions_external_customer")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::ExternalCustomerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BillingEvents::Table)
                    .col(string(BillingEvents::Id).primary_key())
                    .col(string(BillingEvents::EventType))
                    .col(uuid_null(BillingEvents::OrganizationId))
                    .col(string(BillingEvents::Outcome))
                    .col(timestamp_with_time_zone(BillingEvents::ReceivedAt))
                    // The event ids outlive a deleted organization: Stripe may still retry them.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_billing_events_organization")
                            .from(BillingEvents::Table, BillingEvents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_billing_events_organization")
                    .table(BillingEvents::Table)
                    .col(BillingEvents::OrganizationId)
                    .col(BillingEvents::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BillingEvents::Table).to_owned()).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_subscriptions_external_customer")
                    .table(Subscriptions::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Subscriptions::BillingUpdatedAt,
            Subscriptions::CancelAtPeriodEnd,
            Subscriptions::ExternalSubscriptionId,
        ] {
            manager
                .alter_table(Table::alter().table(Subscriptions::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
