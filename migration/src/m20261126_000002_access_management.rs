//! API keys, invitations, the email outbox, teams and the audit log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    json_binary, pk_uuid, string_len, string_len_null, string_len_uniq, text, text_null,
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
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    OrganizationId,
    UserId,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedBy,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    Email,
    Role,
    TokenHash,
    Status,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    OrganizationId,
    Kind,
    Recipient,
    Subject,
    Body,
    Status,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    LeaderId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    OrganizationId,
    TeamId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    OrganizationId,
    ActorType,
    ActorId,
    ActorEmail,
    Action,
    ResourceType,
    ResourceId,
    Details,
    Ip,
    CreatedAt,
}

fn cascade_from_organization(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
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
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::OrganizationId))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len_uniq(ApiKeys::Prefix, 8))
                    .col(string_len(ApiKeys::SecretHash, 64))
                    .col(text(ApiKeys::Scopes))
                    .col(uuid_null(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .foreign_key(&mut cascade_from_organization(ApiKeys::Table, "fk_api_keys_organization"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_created_by")
                            .from(ApiKeys::Table, ApiKeys::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_api_keys_organization",
                ApiKeys::Table,
                &["organization_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(pk_uuid(Invitations::Id))
                    .col(uuid(Invitations::OrganizationId))
                    .col(string_len(Invitations::Email, 254))
                    .col(string_len(Invitations::Role, 16))
                    .col(string_len_uniq(Invitations::TokenHash, 64))
                    .col(string_len(Invitations::Status, 16))
                    .col(uuid_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(uuid_null(Invitations::AcceptedBy))
                    .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .foreign_key(&mut cascade_from_organization(
                        Invitations::Table,
                        "fk_invitations_organization",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_invited_by")
                            .from(Invitations::Table, Invitations::InvitedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_invitations_organization",
                Invitations::Table,
                &["organization_id", "status", "created_at"],
            ))
            .await?;
        // At most one pending invitation per organization and email (same syntax on both engines).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_invitations_one_pending ON invitations (organization_id, email) \
                 WHERE status = 'pending'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_uuid(EmailOutbox::Id))
                    .col(uuid_null(EmailOutbox::OrganizationId))
                    .col(string_len(EmailOutbox::Kind, 64))
                    .col(string_len(EmailOutbox::Recipient, 254))
                    .col(string_len(EmailOutbox::Subject, 300))
                    .col(text(EmailOutbox::Body))
                    .col(string_len(EmailOutbox::Status, 16))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .foreign_key(&mut cascade_from_organization(
                        EmailOutbox::Table,
                        "fk_email_outbox_organization",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_email_outbox_organization",
                EmailOutbox::Table,
                &["organization_id", "created_at"],
            ))
            .await?;
        manager
            .create_index(index("idx_email_outbox_status", EmailOutbox::Table, &["status", "created_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .col(pk_uuid(Teams::Id))
                    .col(uuid(Teams::OrganizationId))
                    .col(string_len(Teams::Name, 100))
                    .col(text_null(Teams::Description))
                    .col(uuid_null(Teams::LeaderId))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(timestamp_with_time_zone(Teams::UpdatedAt))
                    .foreign_key(&mut cascade_from_organization(Teams::Table, "fk_teams_organization"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("idx_teams_organization_name", Teams::Table, &["organization_id", "name"])
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TeamMembers::Table)
                    .col(uuid(TeamMembers::OrganizationId))
                    .col(uuid(TeamMembers::TeamId))
                    .col(uuid(TeamMembers::UserId))
                    .col(timestamp_with_time_zone(TeamMembers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TeamMembers::OrganizationId)
                            .col(TeamMembers::TeamId)
                            .col(TeamMembers::UserId),
                    )
                    .foreign_key(&mut cascade_from_organization(
                        TeamMembers::Table,
                        "fk_team_members_organization",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_members_team")
                            .from(TeamMembers::Table, TeamMembers::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        // Only members of the organization can be in its teams; leaving
                        // the organization leaves its teams.
                        ForeignKey::create()
                            .name("fk_team_members_membership")
                            .from_tbl(TeamMembers::Table)
                            .from_col(TeamMembers::OrganizationId)
                            .from_col(TeamMembers::UserId)
                            .to_tbl(Memberships::Table)
                            .to_col(Memberships::OrganizationId)
                            .to_col(Memberships::UserId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_team_members_user", TeamMembers::Table, &["organization_id", "user_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .col(pk_uuid(AuditLogs::Id))
                    .col(uuid_null(AuditLogs::OrganizationId))
                    .col(string_len(AuditLogs::ActorType, 16))
                    .col(uuid_null(AuditLogs::ActorId))
                    .col(string_len_null(AuditLogs::ActorEmail, 254))
                    .col(string_len(AuditLogs::Action, 64))
                    .col(string_len(AuditLogs::ResourceType, 64))
                    .col(string_len_null(AuditLogs::ResourceId, 64))
                    .col(json_binary(AuditLogs::Details))
                    .col(string_len_null(AuditLogs::Ip, 64))
                    .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                    .foreign_key(&mut cascade_from_organization(
                        AuditLogs::Table,
                        "fk_audit_logs_organization",
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_audit_logs_organization_time", &["organization_id", "created_at", "id"][..]),
            ("idx_audit_logs_organization_action", &["organization_id", "action", "created_at"][..]),
            (
                "idx_audit_logs_organization_resource",
                &["organization_id", "resource_type", "resource_id"][..],
            ),
            ("idx_audit_logs_organization_actor", &["organization_id", "actor_id", "created_at"][..]),
        ] {
            manager.create_index(index(name, AuditLogs::Table, cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLogs::Table.into_iden(),
            TeamMembers::Table.into_iden(),
            Teams::Table.into_iden(),
            EmailOutbox::Table.into_iden(),
            Invitations::Table.into_iden(),
            ApiKeys::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
