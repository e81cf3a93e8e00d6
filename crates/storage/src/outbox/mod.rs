//! The outboxes: messages and webhook deliveries that a change decides and
//! the dispatcher sends. This module owns the `email_outbox`, `events`,
//! `webhook_endpoints`, `webhook_deliveries` and `webhook_attempts` tables;
//! contexts queue into them inside their own transactions through
//! [`queue_email`] and the audit writer's events ([`crate::db::events`]),
//! never by writing the rows themselves.

mod emails;
mod webhooks;

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use leadflow_delivery::EmailKind;
use leadflow_delivery::templates::Templates;
use leadflow_kernel::{OrganizationId, WorkflowId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect as _, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::{email_outbox, organization};

/// The delivery adapters, on one pool: the email outbox, webhook endpoints and the webhook outbox.
#[derive(Clone)]
pub struct SeaOrmDelivery {
    db: sea_orm::DatabaseConnection,
}

impl crate::Storage {
    /// The delivery adapters (email outbox, webhook endpoints, webhook outbox).
    #[must_use]
    pub fn delivery(&self) -> SeaOrmDelivery {
        SeaOrmDelivery { db: self.db.clone() }
    }
}

/// The status of a message that still has to be delivered.
const PENDING: &str = "pending";

/// One message to queue.
pub(crate) struct QueuedEmail<'a> {
    /// Its id.
    pub id: Uuid,
    /// The organization it concerns, if any.
    pub organization: Option<OrganizationId>,
    /// What it is.
    pub kind: EmailKind,
    /// Who receives it.
    pub recipient: &'a str,
    /// The template's data (never secret; the organization's name is added here).
    pub data: Value,
    /// When it was queued.
    pub at: DateTime<Utc>,
    /// The workflow that sends it: at most one message per workflow is ever queued.
    pub workflow: Option<WorkflowId>,
    /// The secrets its links carry (`token`), kept apart (see [`forget_invitation_secrets`]).
    pub secrets: Option<serde_json::Value>,
    /// The invitation it carries.
    pub invitation: Option<uuid::Uuid>,
}

/// The templates that render the stored preview (links relative, secrets redacted).
fn previews() -> &'static Templates {
    static PREVIEWS: OnceLock<Templates> = OnceLock::new();
    PREVIEWS.get_or_init(|| Templates::new(""))
}

/// Queues `email` on `conn` (normally the transaction of the change that
/// decided it), due at once. The stored subject and body are a preview
/// rendered without secrets; the dispatcher renders the message again, with
/// them, when it sends it. With a workflow, a second message of the same
/// workflow (a retry after a crash) is dropped: the workflow's message is
/// queued once.
pub(crate) async fn queue_email<C: ConnectionTrait>(conn: &C, email: QueuedEmail<'_>) -> Result<(), DbErr> {
    let mut data = email.data;
    if let (Some(org), Some(fields)) = (email.organization, data.as_object_mut())
        && !fields.contains_key("organizationName")
    {
        let name: Option<String> = organization::Entity::find_by_id(org.as_uuid())
            .select_only()
            .column(organization::Column::DisplayName)
            .into_tuple()
            .one(conn)
            .await?;
        fields.insert("organizationName".into(), Value::from(name));
    }
    let preview = previews()
        .render(email.kind, &data, None)
        .map_err(|e| DbErr::Custom(format!("rendering the {} email: {e}", email.kind.as_str())))?;
    let insert = email_outbox::Entity::insert(email_outbox::ActiveModel {
        id: Set(email.id),
        organization_id: Set(email.organization.map(|o| o.as_uuid())),
        kind: Set(email.kind.as_str().to_owned()),
        recipient: Set(email.recipient.to_owned()),
        subject: Set(preview.subject.chars().take(300).collect()),
        body: Set(preview.text),
        status: Set(PENDING.to_owned()),
        created_at: Set(email.at),
        sent_at: Set(None),
        workflow_id: Set(email.workflow.map(|w| w.as_uuid())),
        secrets: Set(email.secrets),
        invitation_id: Set(email.invitation),
        data: Set(Some(data)),
        attempts: Set(0),
        next_attempt_at: Set(Some(email.at)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        message_id: Set(None),
        last_error: Set(None),
        reply: Set(None),
    });
    if email.workflow.is_some() {
        insert
            .on_conflict(OnConflict::column(email_outbox::Column::WorkflowId).do_nothing().to_owned())
            .exec_without_returning(conn)
            .await
            .map(|_| ())
    } else {
        insert.exec_without_returning(conn).await.map(|_| ())
    }
}

/// Publishes the webhook event `kind` of `organization` with `data`, on
/// `conn` (the transaction of the change): one delivery per subscribed endpoint.
#[cfg_attr(not(feature = "workflows"), allow(dead_code))]
pub(crate) async fn record_event<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    kind: &str,
    mut data: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    crate::db::events::publish(conn, organization.as_uuid(), kind, &mut data, at).await
}

/// Queues a Slack notification of `organization` (an approval request's
/// `data`, rendered as Block Kit when sent) to the incoming webhook `url`, on `conn`.
#[cfg_attr(not(feature = "workflows"), allow(dead_code))]
pub(crate) async fn queue_slack<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    url: &str,
    data: Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    crate::entities::webhook_delivery::Entity::insert(crate::db::events::slack_row(
        organization.as_uuid(),
        url,
        &data,
        at,
    ))
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// Forgets the secrets of the invitation messages of `organization` that
/// `which` selects (an invitation accepted, revoked or replaced: its token is
/// of no use any more), on `conn`.
#[cfg(feature = "auth")]
pub(crate) async fn forget_invitation_secrets<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    which: InvitationMessages<'_>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, QueryFilter as _};
    let mut update = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Secrets, Expr::value(Option::<serde_json::Value>::None))
        .filter(email_outbox::Column::OrganizationId.eq(organization.as_uuid()))
        .filter(email_outbox::Column::Secrets.is_not_null());
    update = match which {
        InvitationMessages::Of(id) => update.filter(email_outbox::Column::InvitationId.eq(id)),
        InvitationMessages::To(recipient) => update
            .filter(email_outbox::Column::InvitationId.is_not_null())
            .filter(email_outbox::Column::Recipient.eq(recipient)),
    };
    update.exec(conn).await.map(|_| ())
}

/// Which invitation messages.
#[cfg(feature = "auth")]
pub(crate) enum InvitationMessages<'a> {
    /// The message of one invitation.
    Of(uuid::Uuid),
    /// Every invitation message to one address (a new invitation replaces the pending one).
    To(&'a str),
}
