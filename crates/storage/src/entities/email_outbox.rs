//! `email_outbox` table: emails waiting to be sent.

use sea_orm::entity::prelude::*;

/// A row of `email_outbox`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Organization concerned.
    pub organization_id: Option<Uuid>,
    /// Kind (`invitation`, …).
    pub kind: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// `pending`, `sending`, `sent`, `failed` or `unknown`.
    pub status: String,
    /// Queued at.
    pub created_at: DateTimeUtc,
    /// Sent at.
    pub sent_at: Option<DateTimeUtc>,
    /// The workflow that sent it (unique: one email per workflow).
    pub workflow_id: Option<Uuid>,
    /// Secrets the body names as `{{name}}` (an invitation's token), kept
    /// apart so they can be forgotten; `None` once forgotten.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub secrets: Option<Json>,
    /// The invitation it carries, if any.
    pub invitation_id: Option<Uuid>,
    /// The template's data (never secret).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub data: Option<Json>,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (pending rows).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The worker sending it.
    pub lease_owner: Option<String>,
    /// Until when that worker holds it.
    pub lease_expires_at: Option<DateTimeUtc>,
    /// The `Message-ID` it was sent with.
    pub message_id: Option<String>,
    /// Why the last attempt failed.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The server's reply to the accepted message.
    #[sea_orm(column_type = "Text", nullable)]
    pub reply: Option<String>,
}

/// Relations of `email_outbox`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
