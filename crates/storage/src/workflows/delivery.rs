//! What a workflow hands to the outside world, through the outboxes: its
//! outreach email ([`Mailer`]), and its approval request ([`ApprovalNotifier`]):
//! the `workflow.approval_requested` event, an email to each approver, and a
//! Slack message when the organization set an incoming webhook.

use async_trait::async_trait;
use chrono::Utc;
use leadflow_delivery::EmailKind;
use leadflow_delivery::approvals::{ApproverCandidate, NotificationSettings, choose_approvers};
use leadflow_kernel::{Permission, PlatformScope, UserId};
use leadflow_workflows::ports::{ApprovalNotifier, Mailer, StepError};
use leadflow_workflows::{EmailDraft, Workflow};
use sea_orm::EntityTrait as _;
use serde_json::{Value, json};
use uuid::Uuid;

use super::SeaOrmWorkflows;
use crate::db::unexpected;
use crate::entities::{lead, organization};
use crate::outbox::{QueuedEmail, queue_email, queue_slack, record_event};

#[async_trait]
impl Mailer for SeaOrmWorkflows {
    async fn send(&self, w: &Workflow, email: &EmailDraft) -> Result<(), StepError> {
        // Keyed by workflow: a second send (a retry after a crash) is a no-op.
        let queued = QueuedEmail {
            id: Uuid::now_v7(),
            organization: Some(w.organization_id),
            kind: EmailKind::Outreach,
            recipient: &email.to,
            data: json!({
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

/// The platform scope the workers notify in.
fn platform() -> anyhow::Result<PlatformScope> {
    leadflow_kernel::Actor::system()
        .platform()
        .ok_or_else(|| anyhow::anyhow!("the system actor acts across organizations"))
}

impl SeaOrmWorkflows {
    /// Queues the event, the approvers' emails and the Slack message of `w`'s approval request, in one transaction.
    async fn notify_approvers(&self, w: &Workflow) -> anyhow::Result<()> {
        let scope = platform()?.tenant(w.organization_id);
        // IMMEDIATE on SQLite: this transaction reads, then writes.
        let txn = crate::db::begin_write(&self.db).await?;
        let lead = lead::Entity::find_by_id(w.lead_id.as_uuid())
            .one(&txn)
            .await
            .map_err(|e| unexpected(e, "reading the lead"))?;
        let settings = organization::Entity::find_by_id(w.organization_id.as_uuid())
            .one(&txn)
            .await
            .map_err(|e| unexpected(e, "reading the organization"))?
            .map_or(Value::Null, |o| o.settings);
        let qualification = w.qualification.as_ref();
        let data = json!({
            "workflowId": w.id,
            "leadId": w.lead_id,
            "leadName": lead.as_ref().map(|l| l.name.clone()),
            "leadEmail": lead.as_ref().map(|l| l.email.clone()),
            "company": lead.as_ref().and_then(|l| l.company.clone()),
            "category": qualification.map(|q| q.category.as_str()),
            "score": qualification.map(|q| q.score),
            "reasons": qualification.map(|q| vec![q.reason.clone()]),
            "draftSubject": w.email_draft.as_ref().map(|d| d.subject.clone()),
            "draftBody": w.email_draft.as_ref().map(|d| d.body.clone()),
        });
        record_event(
            &txn,
            w.organization_id,
            "workflow.approval_requested",
            json!({ "workflowId": w.id, "leadId": w.lead_id, "subject": data["draftSubject"] }),
            Utc::now(),
        )
        .await
        .map_err(|e| unexpected(e, "recording the approval request"))?;
        let wanted = NotificationSettings::of(&settings);
        if wanted.approval_emails {
            let leaders: Vec<UserId> = match lead.as_ref().and_then(|l| l.assignee_id) {
                Some(assignee) => {
                    crate::organizations::leaders_of_teams_with(&txn, scope, UserId::from_uuid(assignee))
                        .await?
                }
                None => Vec::new(),
            };
            let candidates: Vec<ApproverCandidate> = crate::auth::members_with_roles(&txn, scope)
                .await?
                .into_iter()
                .map(|(id, email, name, role)| ApproverCandidate {
                    email,
                    name,
                    may_approve: role.grants(Permission::LeadsApprove),
                    leads_assignees_team: leaders.contains(&id),
                })
                .collect();
            for approver in choose_approvers(&candidates) {
                let mut personal = data.clone();
                personal["approverName"] = json!(approver.name);
                let email = QueuedEmail {
                    id: Uuid::now_v7(),
                    organization: Some(w.organization_id),
                    kind: EmailKind::ApprovalRequest,
                    recipient: &approver.email,
                    data: personal,
                    at: Utc::now(),
                    workflow: None,
                    secrets: None,
                    invitation: None,
                };
                queue_email(&txn, email).await.map_err(|e| unexpected(e, "queueing an approval email"))?;
            }
        }
        if let Some(url) = wanted.slack_webhook_url {
            queue_slack(&txn, w.organization_id, &url, data, Utc::now())
                .await
                .map_err(|e| unexpected(e, "queueing the Slack notification"))?;
        }
        txn.commit().await.map_err(|e| unexpected(e, "committing approval notifications"))
    }
}

#[async_trait]
impl ApprovalNotifier for SeaOrmWorkflows {
    async fn approval_requested(&self, w: &Workflow) -> Result<(), StepError> {
        self.notify_approvers(w).await.map_err(StepError::from)
    }
}

#[async_trait]
impl leadflow_workflows::ports::OutreachLimits for SeaOrmWorkflows {
    async fn today(
        &self,
        scope: leadflow_kernel::TenantScope,
        now: chrono::DateTime<Utc>,
    ) -> anyhow::Result<leadflow_workflows::ports::DailyOutreach> {
        let subscription = crate::subscriptions::subscription_of(&self.db, scope).await?;
        let in_force = subscription.as_ref().is_none_or(|s| s.is_in_force(now));
        let limit = subscription
            .as_ref()
            .map_or(leadflow_subscriptions::Subscription::terms_of(None).outreach_per_day, |s| {
                s.outreach_per_day(now)
            });
        let Some(limit) = limit else {
            return Ok(leadflow_workflows::ports::DailyOutreach { limit: None, used: 0, in_force });
        };
        let midnight = now.date_naive().and_hms_opt(0, 0, 0).map_or(now, |d| d.and_utc());
        // Each approval is audited as `workflow.approved`: today's entries are today's outreach.
        let used = crate::db::audit::count_actions_since(
            &self.db,
            scope.organization_id(),
            "workflow.approved",
            midnight,
        )
        .await
        .map_err(|e| unexpected(e, "counting today's approvals"))?;
        Ok(leadflow_workflows::ports::DailyOutreach { limit: Some(limit), used, in_force })
    }
}

#[async_trait]
impl leadflow_workflows::ports::TokenBudget for SeaOrmWorkflows {
    async fn remaining(
        &self,
        scope: leadflow_kernel::TenantScope,
        now: chrono::DateTime<Utc>,
    ) -> anyhow::Result<Option<u64>> {
        // The plan sets the budget (subscriptions decides); the period's meter counts it.
        let Some(subscription) = crate::subscriptions::subscription_of(&self.db, scope).await? else {
            return Ok(None);
        };
        if subscription.plan.plan().llm_tokens_per_month.is_none() {
            return Ok(None);
        }
        let period = subscription.period(now);
        let used = crate::subscriptions::used(
            &self.db,
            scope,
            leadflow_subscriptions::UsageMeter::LlmTokens,
            period.start,
        )
        .await?;
        Ok(subscription.tokens_left(used))
    }

    async fn spend(
        &self,
        scope: leadflow_kernel::TenantScope,
        tokens: u64,
        now: chrono::DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Some(subscription) = crate::subscriptions::subscription_of(&self.db, scope).await? else {
            return Ok(());
        };
        crate::subscriptions::add_to_meter(
            &self.db,
            scope,
            leadflow_subscriptions::UsageMeter::LlmTokens,
            subscription.period(now).start,
            tokens,
        )
        .await
    }
}
