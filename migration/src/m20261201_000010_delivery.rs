//! Delivery (SPEC §5): the email outbox becomes a queue that workers lease
//! (attempts, next attempt, lease, outcome, `Message-ID`, template data);
//! users gain `email_verified_at` and single-use tokens (password reset, email
//! verification, stored hashed); organizations gain webhook endpoints, their
//! deliveries (one per event and endpoint, the Standard Webhooks `webhook-id`;
//! or a Slack notification to an incoming-webhook URL) and the log of every attempt.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    boolean, integer, integer_null, json_binary, json_binary_null, pk_uuid, string_len, string_len_null,
    string_len_uniq, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailVerifiedAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Data,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    MessageId,
    LastError,
    Reply,
}

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganizationId,
    Url,
    Description,
    Events,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    EndpointId,
    Url,
    EventType,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    LastStatusCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    OrganizationId,
    DeliveryId,
    AttemptedAt,
    StatusCode,
    LatencyMs,
    Error,
}

fn cascade(
    name: &str,
    from: impl IntoIden,
    col: impl IntoIden,
    to: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(from)
        .from_col(col)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    // SQLite alters one column per statement.
    let mut column = column;
    manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, EmailOutbox::Table, json_binary_null(EmailOutbox::Data)).await?;
        add_column(manager, EmailOutbox::Table, integer(EmailOutbox::Attempts).default(0).to_owned()).await?;
        add_column(manager, EmailOutbox::Table, timestamp_with_time_zone_null(EmailOutbox::NextAttemptAt))
            .await?;
        add_column(manager, EmailOutbox::Table, string_len_null(EmailOutbox::LeaseOwner, 64)).await?;
        add_column(manager, EmailOutbox::Table, timestamp_with_time_zone_null(EmailOutbox::LeaseExpiresAt))
            .await?;
        add_column(manager, EmailOutbox::Table, string_len_null(EmailOutbox::MessageId, 200)).await?;
        add_column(manager, EmailOutbox::Table, text_null(EmailOutbox::LastError)).await?;
        add_column(manager, EmailOutbox::Table, text_null(EmailOutbox::Reply)).await?;
        let conn = manager.get_connection();
        // Messages queued before the dispatcher existed are due now.
        conn.execute_unprepared(
            "UPDATE email_outbox SET next_attempt_at = created_at WHERE status = 'pending'",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX idx_email_outbox_due ON email_outbox (next_attempt_at) \
             WHERE status IN ('pending', 'sending')",
        )
        .await?;

        add_column(manager, Users::Table, timestamp_with_time_zone_null(Users::EmailVerifiedAt)).await?;

        manager
            .create_table(
                Table::create()
                    .table(UserTokens::Table)
                    .col(pk_uuid(UserTokens::Id))
                    .col(uuid(UserTokens::UserId))
                    .col(string_len(UserTokens::Purpose, 32))
                    .col(string_len_uniq(UserTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(UserTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(UserTokens::UsedAt))
                    .col(timestamp_with_time_zone(UserTokens::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_user_tokens_user",
                        UserTokens::Table,
                        UserTokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_tokens_user")
                    .table(UserTokens::Table)
                    .col(UserTokens::UserId)
                    .col(UserTokens::Purpose)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::OrganizationId))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(string_len_null(WebhookEndpoints::Description, 500))
                    .col(json_binary(WebhookEndpoints::Events))
                    .col(string_len(WebhookEndpoints::Secret, 128))
                    .col(string_len_null(WebhookEndpoints::PreviousSecret, 128))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretExpiresAt))
                    .col(boolean(WebhookEndpoints::Enabled).default(true))
                    .col(string_len_null(WebhookEndpoints::DisabledReason, 200))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::FailingSince))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_webhook_endpoints_organization",
                        WebhookEndpoints::Table,
                        WebhookEndpoints::OrganizationId,
                        Organizations::Table,
                        Organizations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoints_organization")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::OrganizationId)
                    .col(WebhookEndpoints::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::OrganizationId))
                    // No endpoint: a Slack notification, POSTed to `url`.
                    .col(uuid_null(WebhookDeliveries::EndpointId))
                    .col(string_len_null(WebhookDeliveries::Url, 2048))
                    .col(string_len(WebhookDeliveries::EventType, 64))
                    .col(json_binary(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::NextAttemptAt))
                    .col(string_len_null(WebhookDeliveries::LeaseOwner, 64))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseExpiresAt))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(&mut cascade(
                        "fk_webhook_deliveries_organization",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::OrganizationId,
                        Organizations::Table,
                        Organizations::Id,
                    ))
                    .foreign_key(&mut cascade(
                        "fk_webhook_deliveries_endpoint",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EndpointId,
                        WebhookEndpoints::Table,
                        WebhookEndpoints::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_endpoint")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::OrganizationId)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::CreatedAt)
                    .to_owned(),
            )
            .await?;
        conn.execute_unprepared(
            "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) \
             WHERE status = 'pending'",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(pk_uuid(WebhookAttempts::Id))
                    .col(uuid(WebhookAttempts::OrganizationId))
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(integer(WebhookAttempts::LatencyMs))
                    .col(text_null(WebhookAttempts::Error))
                    .foreign_key(&mut cascade(
                        "fk_webhook_attempts_organization",
                        WebhookAttempts::Table,
                        WebhookAttempts::OrganizationId,
                        Organizations::Table,
                        Organizations::Id,
                    ))
                    .foreign_key(&mut cascade(
                        "fk_webhook_attempts_delivery",
                        WebhookAttempts::Table,
                        WebhookAttempts::DeliveryId,
                        WebhookDeliveries::Table,
                        WebhookDeliveries::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_delivery")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::OrganizationId)
                    .col(WebhookAttempts::DeliveryId)
                    .col(WebhookAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_attempts", "webhook_deliveries", "webhook_endpoints", "user_tokens"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS idx_email_outbox_due").await?;
        manager
            .alter_table(Table::alter().table(Users::Table).drop_column(Users::EmailVerifiedAt).to_owned())
            .await?;
        for column in [
            EmailOutbox::Reply,
            EmailOutbox::LastError,
            EmailOutbox::MessageId,
            EmailOutbox::LeaseExpiresAt,
            EmailOutbox::LeaseOwner,
            EmailOutbox::NextAttemptAt,
            EmailOutbox::Attempts,
            EmailOutbox::Data,
        ] {
            manager
                .alter_table(Table::alter().table(EmailOutbox::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
