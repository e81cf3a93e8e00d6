//! The outboxes: messages and events that a change decides and delivery will
//! send. This module owns the `email_outbox` and `events` tables and their
//! encodings; contexts queue into them inside their own transactions through
//! [`queue_email`] and [`record_event`], never by writing the rows themselves.

use chrono::{DateTime, Utc};
use leadflow_kernel::{OrganizationId, WorkflowId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use uuid::Uuid;

use crate::entities::{email_outbox, event};

/// The status of a message that still has to be delivered.
const PENDING: &str = "pending";

/// One message to queue.
pub(crate) struct QueuedEmail<'a> {
    /// Its id.
    pub id: Uuid,
    /// The organization it concerns, if any.
    pub organization: Option<OrganizationId>,
    /// What it is (`invitation`, `outreach`, …).
    pub kind: &'a str,
    /// Who receives it.
    pub recipient: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Its plain-text body.
    pub body: &'a str,
    /// When it was queued.
    pub at: DateTime<Utc>,
    /// The workflow that sends it: at most one message per workflow is ever queued.
    pub workflow: Option<WorkflowId>,
    /// The secrets the body names as `{{name}}`, kept apart (see [`forget_invitation_secrets`]).
    pub secrets: Option<serde_json::Value>,
    /// The invitation it carries.
    pub invitation: Option<uuid::Uuid>,
}

/// Queues `email` on `conn` (normally the transaction of the change that
/// decided it). With a workflow, a second message of the same workflow (a
/// retry after a crash) is dropped: the workflow's message is queued once.
pub(crate) async fn queue_email<C: ConnectionTrait>(conn: &C, email: &QueuedEmail<'_>) -> Result<(), DbErr> {
    let insert = email_outbox::Entity::insert(email_outbox::ActiveModel {
        id: Set(email.id),
        organization_id: Set(email.organization.map(|o| o.as_uuid())),
        kind: Set(email.kind.to_owned()),
        recipient: Set(email.recipient.to_owned()),
        subject: Set(email.subject.to_owned()),
        body: Set(email.body.to_owned()),
        status: Set(PENDING.to_owned()),
        created_at: Set(email.at),
        sent_at: Set(None),
        workflow_id: Set(email.workflow.map(|w| w.as_uuid())),
        secrets: Set(email.secrets.clone()),
        invitation_id: Set(email.invitation),
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

/// Records an event of `organization` on `conn`.
#[cfg_attr(not(feature = "workflows"), allow(dead_code))]
pub(crate) async fn record_event<C: ConnectionTrait>(
    conn: &C,
    organization: OrganizationId,
    kind: &str,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    event::Entity::insert(event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization.as_uuid()),
        kind: Set(kind.to_owned()),
        payload: Set(payload),
        created_at: Set(at),
    })
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
