//! What a workflow hands to the outside world, through the outbox: its
//! outreach email ([`Mailer`]) and its approval request ([`ApprovalNotifier`]).

use async_trait::async_trait;
use chrono::Utc;
use leadflow_delivery::EmailKind;
use leadflow_workflows::ports::{ApprovalNotifier, Mailer, StepError};
use leadflow_workflows::{EmailDraft, Workflow};
use uuid::Uuid;

use super::SeaOrmWorkflows;
use crate::db::unexpected;
use crate::outbox::{QueuedEmail, queue_email, record_event};

#[async_trait]
impl Mailer for SeaOrmWorkflows {
    async fn send(&self, w: &Workflow, email: &EmailDraft) -> Result<(), StepError> {
        // Keyed by workflow: a second send (a retry after a crash) is a no-op.
        let queued = QueuedEmail {
            id: Uuid::now_v7(),
            organization: Some(w.organization_id),
            kind: EmailKind::Outreach,
            recipient: &email.to,
            data: serde_json::json!({
                "subject": email.subject,
                "body": email.body,
                "leadId": w.lead_id,
                "workflowId": w.id,
            }),
            at: Utc::now(),
            workflow: Some(w.id),
            secrets: None,
            invitation: None,
        };
        queue_email(&self.db, queued)
            .await
            .map_err(|e| StepError::from(unexpected(e, "queueing outreach email")))
    }
}

#[async_trait]
impl ApprovalNotifier for SeaOrmWorkflows {
    async fn approval_requested(&self, w: &Workflow) -> Result<(), StepError> {
        let payload = serde_json::json!({
            "workflowId": w.id,
            "leadId": w.lead_id,
            "subject": w.email_draft.as_ref().map(|d| d.subject.clone()),
        });
        record_event(&self.db, w.organization_id, "workflow.approval_requested", payload, Utc::now())
            .await
            .map_err(|e| StepError::from(unexpected(e, "recording approval request")))
    }
}
