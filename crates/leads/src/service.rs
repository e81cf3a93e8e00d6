//! Lead use cases: submission (all or nothing), reading within one's
//! visibility, changes, assignment, statistics, export.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use leadflow_kernel::{
    Actor, AuditEntry, Clock, KeysetPage, KeysetPaged, Permission, PlatformScope, TeamId, TenantScope,
    UserId, ValidationErrors, WorkflowId,
};
use serde_json::json;

use crate::error::LeadError;
use crate::export::{BATCH, LeadExport};
use crate::model::{
    Creator, Lead, LeadChanges, LeadFilter, LeadId, LeadInput, LeadStats, Visibility, dedupe_window_days,
};
use crate::ports::{IdempotencyClaim, LeadRepository, LeadWorkers, QuotaOutcome, SubmissionUnits};

/// A stored submission (or, for a retry with the same `Idempotency-Key`,
/// the one stored earlier: `replayed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The lead.
    pub lead: Box<Lead>,
    /// Its workflow (`None` for a duplicate, which starts none).
    pub workflow_id: Option<WorkflowId>,
    /// Whether this answers a retry of an earlier submission.
    pub replayed: bool,
}

/// The lead use cases.
pub struct LeadService {
    units: Arc<dyn SubmissionUnits>,
    leads: Arc<dyn LeadRepository>,
    workers: Arc<dyn LeadWorkers>,
    clock: Arc<dyn Clock>,
}

fn scope_of(actor: &Actor) -> Result<TenantScope, LeadError> {
    actor.tenant_scope().ok_or(LeadError::NoOrganization)
}

/// How many times a write is tried again on the fresh version when the lead
/// changed between the read and the write.
const WRITE_ATTEMPTS: usize = 3;

/// Largest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// How long an `Idempotency-Key` holds: a retry within this many hours
/// replays the first response; after it the key is free (and purged).
pub const IDEMPOTENCY_KEY_TTL_HOURS: i64 = 24;

impl LeadService {
    /// Builds the service on its ports.
    pub fn new(
        units: Arc<dyn SubmissionUnits>,
        leads: Arc<dyn LeadRepository>,
        workers: Arc<dyn LeadWorkers>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { units, leads, workers, clock }
    }

    /// Submits a lead (`leads:create`, users or API keys): checks the plan's
    /// monthly quota, stores the lead, counts the usage and writes the audit
    /// entry, all in one transaction. With an `Idempotency-Key`, a retry returns the first result.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `QuotaSpent`, `SubscriptionClosed`,
    /// `IdempotencyMismatch`, `Unexpected`.
    pub async fn submit(
        &self,
        actor: &Actor,
        input: LeadInput,
        idempotency_key: Option<&str>,
    ) -> Result<Submission, LeadError> {
        let scope = scope_of(actor)?;
        actor.require(Permission::LeadsCreate)?;
        if let Some(key) = idempotency_key
            && (key.is_empty()
                || key.len() > MAX_IDEMPOTENCY_KEY
                || !key.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ValidationErrors::single(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
            .into());
        }
        let now = self.clock.now();
        let fingerprint = input.fingerprint();
        let mut lead = Lead::new(scope.organization_id(), input, now)?;
        lead.created_by = Some(Creator::of(actor));

        let mut unit = self.units.begin().await?;
        if let Some(key) = idempotency_key {
            let expired_before = now - chrono::Duration::hours(IDEMPOTENCY_KEY_TTL_HOURS);
            match unit.claim_idempotency_key(scope, key, &fingerprint, &lead, expired_before).await? {
                IdempotencyClaim::New => {}
                IdempotencyClaim::Replay { fingerprint: first, lead: first_lead, first: response } => {
                    drop(unit);
                    if first != fingerprint {
                        return Err(LeadError::IdempotencyMismatch);
                    }
                    // The first response, not the lead as it is now: a key that
                    // may only create leads never reads their status or assignee.
                    let lead = match response {
                        Some(first) => first,
                        None => Box::new(
                            self.leads
                                .get(scope, first_lead, &Visibility::All)
                                .await?
                                .ok_or(LeadError::NotFound)?
                                .as_submitted(),
                        ),
                    };
                    let workflow_id = self.leads.workflow_of(scope, first_lead).await?;
                    return Ok(Submission { lead, workflow_id, replayed: true });
                }
            }
        }
        // A repeat of a recent lead is kept as its duplicate: no workflow, no quota unit.
        let window = dedupe_window_days(&unit.organization_settings(scope).await?);
        if window > 0 {
            let window_start = now - chrono::Duration::days(i64::from(window));
            lead.duplicate_of = unit.claim_original(scope, &lead, window_start).await?;
        }
        if let Some(original) = lead.duplicate_of {
            if !unit.accepts_leads(scope, now).await? {
                return Err(LeadError::SubscriptionClosed);
            }
            unit.insert_lead(scope, &lead).await?;
            let entry = AuditEntry::in_scope(actor, scope, "lead.created", "lead", lead.id, now)
                .with_details(
                    json!({ "email": lead.email.as_ref(), "source": lead.source, "duplicateOf": original }),
                );
            unit.record(&entry).await?;
            unit.commit().await?;
            return Ok(Submission { lead: Box::new(lead), workflow_id: None, replayed: false });
        }
        unit.insert_lead(scope, &lead).await?;
        let workflow_id = unit.start_workflow(scope, &lead).await?;
        let entry = AuditEntry::in_scope(actor, scope, "lead.created", "lead", lead.id, now)
            .with_details(json!({ "email": lead.email.as_ref(), "source": lead.source }));
        unit.record(&entry).await?;
        // The quota goes last: its counter row is the one every submission of
        // the organization waits for, so it is held for the shortest time.
        // Dropping the unit on a spent quota rolls the inserts above back.
        match unit.take_quota(scope, now).await? {
            QuotaOutcome::Taken => {}
            QuotaOutcome::Spent { limit, resets_at } => {
                return Err(LeadError::QuotaSpent { limit, resets_at });
            }
            QuotaOutcome::Closed => return Err(LeadError::SubscriptionClosed),
        }
        unit.commit().await?;
        Ok(Submission { lead: Box::new(lead), workflow_id: Some(workflow_id), replayed: false })
    }

    /// Forgets the idempotency keys older than [`IDEMPOTENCY_KEY_TTL_HOURS`]
    /// in every organization (the workers' housekeeping, platform work).
    ///
    /// # Errors
    /// `Unexpected`.
    pub async fn expire_idempotency_keys(&self, platform: PlatformScope) -> Result<u64, LeadError> {
        let before = self.clock.now() - chrono::Duration::hours(IDEMPOTENCY_KEY_TTL_HOURS);
        Ok(self.leads.purge_idempotency_keys(platform, before).await?)
    }

    /// What the actor may see: every lead with `leads:view_all`; with
    /// `leads:view_assigned`, their own and those of the teams they lead.
    async fn visibility(&self, actor: &Actor, scope: TenantScope) -> Result<Visibility, LeadError> {
        if actor.can(Permission::LeadsViewAll) {
            return Ok(Visibility::All);
        }
        actor.require(Permission::LeadsViewAssigned)?;
        let Some(user) = actor.user_id() else { return Ok(Visibility::AssignedTo(Vec::new())) };
        let mut users = self.workers.led_by(scope, user).await?;
        users.push(user);
        users.sort();
        users.dedup();
        Ok(Visibility::AssignedTo(users))
    }

    /// A keyset page of the leads the actor may see, newest first.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid` (search too long), `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: LeadFilter,
        team: Option<TeamId>,
        page: KeysetPage,
    ) -> Result<KeysetPaged<Lead>, LeadError> {
        let scope = scope_of(actor)?;
        let visibility = self.visibility(actor, scope).await?;
        let filter = self.resolve(scope, filter, team).await?;
        Ok(self.leads.page(scope, &filter, &visibility, page).await?)
    }

    async fn resolve(
        &self,
        scope: TenantScope,
        mut filter: LeadFilter,
        team: Option<TeamId>,
    ) -> Result<LeadFilter, LeadError> {
        if filter.search.as_ref().is_some_and(|s| s.chars().count() > 100) {
            return Err(ValidationErrors::single("search", "must be at most 100 characters").into());
        }
        if let Some(team) = team {
            filter.assignees_in = Some(self.workers.team_members(scope, team).await?);
        }
        Ok(filter)
    }

    /// One lead the actor may see (another is "not found", even in their organization).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `NotFound`, `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: LeadId) -> Result<Lead, LeadError> {
        let scope = scope_of(actor)?;
        let visibility = self.visibility(actor, scope).await?;
        self.leads.get(scope, id, &visibility).await?.ok_or(LeadError::NotFound)
    }

    /// Changes a lead (`leads:edit`). Only the fields given change: a
    /// concurrent change (a workflow's decision, an assignment) is kept, the
    /// write being retried on the fresh version. With `if_version` (the
    /// client's `If-Match`) the change applies only to that version.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Invalid`, `PreconditionFailed`, `Busy`, `Unexpected`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: LeadId,
        changes: LeadChanges,
        if_version: Option<DateTime<Utc>>,
    ) -> Result<Lead, LeadError> {
        let scope = scope_of(actor)?;
        let changed = changes.changed_fields();
        for _ in 0..WRITE_ATTEMPTS {
            let mut lead = self.get(actor, id).await?;
            actor.require(Permission::LeadsEdit)?;
            if if_version.is_some_and(|v| v != lead.updated_at) {
                return Err(LeadError::PreconditionFailed);
            }
            let read_at = lead.updated_at;
            let now = self.clock.now();
            lead.apply(changes.clone(), now)?;
            let entry = AuditEntry::in_scope(actor, scope, "lead.updated", "lead", id, now)
                .with_details(json!({ "changed": changed }));
            if self.leads.update(scope, &lead, read_at, &entry).await? {
                return Ok(lead);
            }
            if if_version.is_some() {
                return Err(LeadError::PreconditionFailed);
            }
        }
        Err(LeadError::Busy)
    }

    /// Assigns a lead to a member of the organization, or unassigns it (`leads:edit`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Invalid` (not a member), `Busy`, `Unexpected`.
    pub async fn assign(
        &self,
        actor: &Actor,
        id: LeadId,
        assignee: Option<UserId>,
    ) -> Result<Lead, LeadError> {
        let scope = scope_of(actor)?;
        let mut lead = self.get(actor, id).await?;
        actor.require(Permission::LeadsEdit)?;
        if let Some(user) = assignee
            && !self.workers.is_member(scope, user).await?
        {
            return Err(ValidationErrors::single("assigneeId", "must be a member of the organization").into());
        }
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                lead = self.get(actor, id).await?;
            }
            let read_at = lead.updated_at;
            let now = self.clock.now();
            let entry = AuditEntry::in_scope(actor, scope, "lead.assigned", "lead", id, now)
                .with_details(json!({ "from": lead.assignee_id, "to": assignee }));
            lead.assignee_id = assignee;
            lead.updated_at = now;
            if self.leads.update(scope, &lead, read_at, &entry).await? {
                return Ok(lead);
            }
        }
        Err(LeadError::Busy)
    }

    /// Folds a duplicate into its original (`leads:edit`): the duplicate's
    /// submission is kept on the original (`metadata.mergedSubmissions`) and
    /// the duplicate is deleted. Audited as `lead.merged` on the original.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound` (either lead), `Forbidden`, `Invalid`
    /// (`intoId` is not the lead's original), `Busy`, `Unexpected`.
    pub async fn merge(&self, actor: &Actor, id: LeadId, into: LeadId) -> Result<Lead, LeadError> {
        let scope = scope_of(actor)?;
        let duplicate = self.get(actor, id).await?;
        actor.require(Permission::LeadsEdit)?;
        if duplicate.duplicate_of != Some(into) {
            return Err(ValidationErrors::single(
                "intoId",
                match duplicate.duplicate_of {
                    Some(_) => "must be the lead's original (its duplicateOf)",
                    None => "the lead is not a duplicate",
                },
            )
            .into());
        }
        for _ in 0..WRITE_ATTEMPTS {
            let mut original = self.get(actor, into).await?;
            let read_at = original.updated_at;
            let now = self.clock.now();
            original.fold(&duplicate, now);
            let entry = AuditEntry::in_scope(actor, scope, "lead.merged", "lead", into, now)
                .with_details(json!({ "duplicateId": id, "email": duplicate.email.as_ref() }));
            if self.leads.merge(scope, &original, read_at, id, &entry).await? {
                return Ok(original);
            }
            // The duplicate vanished (merged or deleted meanwhile), or the original changed.
            self.get(actor, id).await?;
        }
        Err(LeadError::Busy)
    }

    /// Deletes a lead (`leads:delete`).
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn delete(&self, actor: &Actor, id: LeadId) -> Result<(), LeadError> {
        let scope = scope_of(actor)?;
        let lead = self.get(actor, id).await?;
        actor.require(Permission::LeadsDelete)?;
        let entry =
            AuditEntry::new(actor, Some(lead.organization_id), "lead.deleted", "lead", id, self.clock.now())
                .with_details(json!({ "email": lead.email.as_ref() }));
        Ok(self.leads.delete(scope, id, &entry).await?)
    }

    /// Counts: organization-wide with `analytics:view_all`; of one's own leads
    /// (as listed to them) with `analytics:view_own`.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Unexpected`.
    pub async fn stats(&self, actor: &Actor) -> Result<LeadStats, LeadError> {
        let scope = scope_of(actor)?;
        let visibility = if actor.can(Permission::AnalyticsViewAll) {
            Visibility::All
        } else {
            actor.require(Permission::AnalyticsViewOwn)?;
            match self.visibility(actor, scope).await {
                Ok(v) => v,
                Err(LeadError::Forbidden(_)) => Visibility::AssignedTo(actor.user_id().into_iter().collect()),
                Err(e) => return Err(e),
            }
        };
        Ok(self.leads.stats(scope, &visibility).await?)
    }

    /// Starts a CSV export of the leads matching `filter` (`leads:export`).
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `Unexpected`.
    pub async fn export(
        &self,
        actor: &Actor,
        filter: LeadFilter,
        team: Option<TeamId>,
    ) -> Result<LeadExport, LeadError> {
        let scope = scope_of(actor)?;
        actor.require(Permission::LeadsExport)?;
        let visibility = self.visibility(actor, scope).await?;
        let filter = self.resolve(scope, filter, team).await?;
        Ok(LeadExport {
            leads: self.leads.clone(),
            scope,
            filter,
            visibility,
            page: Some(KeysetPage { limit: BATCH, after: None }),
            header_sent: false,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ports::{MockLeadRepository, MockLeadWorkers, MockSubmissionUnit, MockSubmissionUnits};
    use chrono::Utc;
    use leadflow_kernel::{ApiKeyId, MockClock, OrganizationId, PermissionSet, Role};

    fn service(
        units: MockSubmissionUnits,
        leads: MockLeadRepository,
        workers: MockLeadWorkers,
    ) -> LeadService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        LeadService::new(Arc::new(units), Arc::new(leads), Arc::new(workers), Arc::new(clock))
    }

    /// A service whose ports expect no call at all.
    pub(crate) fn strict_service() -> LeadService {
        let mut units = MockSubmissionUnits::new();
        units.expect_begin().never();
        service(units, MockLeadRepository::new(), MockLeadWorkers::new())
    }

    fn input() -> LeadInput {
        LeadInput {
            email: "ada@example.com".into(),
            name: "Ada".into(),
            message: "Hello".into(),
            ..Default::default()
        }
    }

    fn key(org: OrganizationId, scopes: &[Permission]) -> Actor {
        Actor::api_key(ApiKeyId::new(), "form", org, PermissionSet::of(scopes))
    }

    #[tokio::test]
    async fn a_submission_takes_quota_stores_and_audits_in_one_unit() {
        let org = OrganizationId::new();
        let mut units = MockSubmissionUnits::new();
        units.expect_begin().times(1).returning(|| {
            let mut unit = MockSubmissionUnit::new();
            let mut seq = mockall::Sequence::new();
            unit.expect_organization_settings().times(1).in_sequence(&mut seq).returning(|_| Ok(json!({})));
            unit.expect_claim_original()
                .withf(|_, lead, start| {
                    lead.created_by.is_some_and(|c| c.kind == crate::model::CreatorKind::ApiKey)
                        && lead.created_at - *start == chrono::Duration::days(30)
                })
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_, _, _| Ok(None));
            unit.expect_insert_lead().times(1).in_sequence(&mut seq).returning(|_, _| Ok(()));
            unit.expect_start_workflow()
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_, _| Ok(WorkflowId::new()));
            unit.expect_record()
                .withf(|e| e.action == "lead.created")
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_| Ok(()));
            unit.expect_take_quota().times(1).in_sequence(&mut seq).returning(|_, _| Ok(QuotaOutcome::Taken));
            unit.expect_commit().times(1).in_sequence(&mut seq).returning(|| Ok(()));
            Ok(Box::new(unit))
        });
        let result = service(units, MockLeadRepository::new(), MockLeadWorkers::new())
            .submit(&key(org, &[Permission::LeadsCreate]), input(), None)
            .await
            .unwrap();
        assert!(matches!(result, Submission { replayed: false, .. }));
    }

    #[tokio::test]
    async fn a_spent_quota_stores_nothing() {
        let org = OrganizationId::new();
        let mut units = MockSubmissionUnits::new();
        units.expect_begin().returning(|| {
            let mut unit = MockSubmissionUnit::new();
            unit.expect_take_quota()
                .returning(|_, _| Ok(QuotaOutcome::Spent { limit: 100, resets_at: Utc::now() }));
            // Duplicate detection off: nothing is claimed.
            unit.expect_organization_settings()
                .returning(|_| Ok(json!({ "leads": { "dedupeWindowDays": 0 } })));
            unit.expect_claim_original().never();
            unit.expect_insert_lead().returning(|_, _| Ok(()));
            unit.expect_start_workflow().returning(|_, _| Ok(WorkflowId::new()));
            unit.expect_record().returning(|_| Ok(()));
            unit.expect_commit().never();
            Ok(Box::new(unit))
        });
        let result = service(units, MockLeadRepository::new(), MockLeadWorkers::new())
            .submit(&key(org, &[Permission::LeadsCreate]), input(), None)
            .await;
        assert!(matches!(result, Err(LeadError::QuotaSpent { limit: 100, .. })));
    }

    #[tokio::test]
    async fn a_repeat_within_the_window_is_a_duplicate_without_workflow_or_quota() {
        let org = OrganizationId::new();
        let original = LeadId::new();
        let mut units = MockSubmissionUnits::new();
        units.expect_begin().times(1).returning(move || {
            let mut unit = MockSubmissionUnit::new();
            unit.expect_organization_settings()
                .returning(|_| Ok(json!({ "leads": { "dedupeWindowDays": 7 } })));
            unit.expect_claim_original()
                .withf(|_, lead, start| lead.created_at - *start == chrono::Duration::days(7))
                .returning(move |_, _, _| Ok(Some(original)));
            unit.expect_insert_lead()
                .withf(move |_, lead| lead.duplicate_of == Some(original))
                .times(1)
                .returning(|_, _| Ok(()));
            unit.expect_start_workflow().never();
            unit.expect_take_quota().never();
            unit.expect_accepts_leads().returning(|_, _| Ok(true));
            unit.expect_record()
                .withf(move |e| e.details["duplicateOf"] == json!(original))
                .times(1)
                .returning(|_| Ok(()));
            unit.expect_commit().times(1).returning(|| Ok(()));
            Ok(Box::new(unit))
        });
        let result = service(units, MockLeadRepository::new(), MockLeadWorkers::new())
            .submit(&key(org, &[Permission::LeadsCreate]), input(), None)
            .await
            .unwrap();
        assert_eq!(result.workflow_id, None);
        assert_eq!(result.lead.duplicate_of, Some(original));
    }

    #[tokio::test]
    async fn a_missing_scope_touches_nothing() {
        let svc = strict_service();
        let org = OrganizationId::new();
        let reader = svc.submit(&key(org, &[Permission::LeadsViewAll]), input(), None).await;
        assert!(matches!(reader, Err(LeadError::Forbidden(Permission::LeadsCreate))));
    }

    #[tokio::test]
    async fn a_replayed_key_returns_the_first_lead_or_refuses_another_body() {
        let org = OrganizationId::new();
        let first = Lead::new(org, input(), Utc::now()).unwrap();
        let first_id = first.id;
        let fingerprint = input().fingerprint();
        let mut units = MockSubmissionUnits::new();
        units.expect_begin().times(2).returning(move || {
            let mut unit = MockSubmissionUnit::new();
            let (fp, first) = (fingerprint.clone(), first.clone());
            unit.expect_claim_idempotency_key().returning(move |_, _, _, _, _| {
                let first = Some(Box::new(first.clone()));
                Ok(IdempotencyClaim::Replay { fingerprint: fp.clone(), lead: first_id, first })
            });
            unit.expect_take_quota().never();
            Ok(Box::new(unit))
        });
        let mut leads = MockLeadRepository::new();
        // The first response is answered as kept: the lead as it is now is never read.
        leads.expect_get().never();
        leads.expect_workflow_of().returning(|_, _| Ok(None));
        let svc = service(units, leads, MockLeadWorkers::new());
        let actor = key(org, &[Permission::LeadsCreate]);

        let replay = svc.submit(&actor, input(), Some("k-1")).await.unwrap();
        assert!(matches!(replay, Submission { replayed: true, ref lead, .. } if lead.id == first_id));
        let other = LeadInput { message: "different".into(), ..input() };
        assert!(matches!(svc.submit(&actor, other, Some("k-1")).await, Err(LeadError::IdempotencyMismatch)));
    }

    #[tokio::test]
    async fn a_member_sees_their_own_and_their_teams_leads_only() {
        let org = OrganizationId::new();
        let me = UserId::new();
        let report = UserId::new();
        let mut workers = MockLeadWorkers::new();
        workers.expect_led_by().returning(move |_, _| Ok(vec![report]));
        let mut leads = MockLeadRepository::new();
        leads
            .expect_get()
            .withf(move |_, _, v| matches!(v, Visibility::AssignedTo(users) if users.contains(&me) && users.contains(&report)))
            .returning(|_, _, _| Ok(None));
        let svc = service(MockSubmissionUnits::new(), leads, workers);
        let member = Actor::user(me, "m@x.io", Some(org), Some(Role::Member), false);
        assert!(matches!(svc.get(&member, LeadId::new()).await, Err(LeadError::NotFound)));
    }

    #[tokio::test]
    async fn only_members_are_assignees() {
        let org = OrganizationId::new();
        let lead = Lead::new(org, input(), Utc::now()).unwrap();
        let mut leads = MockLeadRepository::new();
        leads.expect_get().returning(move |_, _, _| Ok(Some(lead.clone())));
        leads.expect_update().never();
        let mut workers = MockLeadWorkers::new();
        workers.expect_is_member().returning(|_, _| Ok(false));
        let manager = Actor::user(UserId::new(), "m@x.io", Some(org), Some(Role::Manager), false);
        let result = service(MockSubmissionUnits::new(), leads, workers)
            .assign(&manager, LeadId::new(), Some(UserId::new()))
            .await;
        assert!(matches!(result, Err(LeadError::Invalid(_))));
    }
}
