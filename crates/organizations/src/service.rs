//! Organization use cases: who may do what to which organization.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use leadflow_kernel::{
    Actor, AuditEntry, Clock, OffsetPage, OrganizationId, Paged, Permission, TenantScope, ValidationErrors,
};
use serde_json::json;

use crate::error::OrganizationError;
use crate::model::{
    NewOrganization, Organization, OrganizationChanges, OrganizationFilter, OrganizationInput,
    OrganizationStats, PlatformOverview,
};
use crate::ports::{ListScope, OrganizationRepository, RepositoryError};

/// How many times a write is tried again on the fresh version when the
/// organization changed between the read and the write.
const WRITE_ATTEMPTS: usize = 3;

/// Platform-wide rules for organizations.
#[derive(Clone, Copy, Debug)]
pub struct OrganizationPolicy {
    /// Whether any signed-in user may create an organization (and own it).
    pub self_service_signup: bool,
}

impl Default for OrganizationPolicy {
    fn default() -> Self {
        Self { self_service_signup: true }
    }
}

/// The organization use cases.
pub struct OrganizationService {
    repo: Arc<dyn OrganizationRepository>,
    clock: Arc<dyn Clock>,
    policy: OrganizationPolicy,
}

impl OrganizationService {
    /// Builds the service on its ports.
    pub fn new(
        repo: Arc<dyn OrganizationRepository>,
        clock: Arc<dyn Clock>,
        policy: OrganizationPolicy,
    ) -> Self {
        Self { repo, clock, policy }
    }

    /// The rules this service applies.
    #[must_use]
    pub fn policy(&self) -> OrganizationPolicy {
        self.policy
    }

    /// Creates an organization. A super admin creates it without an owner; any
    /// other signed-in user (with self-service sign-up on) becomes its owner.
    ///
    /// # Errors
    /// `SignupDisabled`, `SuperAdminOnly` (API keys and the like), `Invalid`, `NameTaken`, `Unexpected`.
    pub async fn create(
        &self,
        actor: &Actor,
        input: OrganizationInput,
    ) -> Result<Organization, OrganizationError> {
        let owner = if actor.is_super_admin() {
            None
        } else {
            let user = actor.user_id().ok_or(OrganizationError::SuperAdminOnly)?;
            if !self.policy.self_service_signup {
                return Err(OrganizationError::SignupDisabled);
            }
            actor.require_verified_email()?;
            Some(user)
        };
        if input.plan.is_some() && !actor.is_super_admin() {
            return Err(OrganizationError::SuperAdminOnly);
        }
        let now = self.clock.now();
        let new = NewOrganization::parse(input)?;
        let plan = new.plan().map(str::to_owned);
        let organization = new.into_organization(actor.user_id(), now);
        let audit = AuditEntry::new(
            actor,
            Some(organization.id),
            "organization.created",
            "organization",
            organization.id,
            now,
        )
        .with_details(json!({ "name": organization.name.as_ref() }));
        self.repo.create(&organization, owner, plan, &audit).await?;
        Ok(organization)
    }

    /// One organization: the actor's own, or any for a super admin.
    ///
    /// # Errors
    /// `NotFound` (also for another tenant's organization), `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: OrganizationId) -> Result<Organization, OrganizationError> {
        let scope = actor.scope_for(id).ok_or(OrganizationError::NotFound)?;
        actor.require_for_keys(Permission::SettingsManage)?;
        self.repo.get(scope).await?.ok_or(OrganizationError::NotFound)
    }

    /// The scope of organization `id` for the actor: "not found" unless they may know it.
    fn scope(actor: &Actor, id: OrganizationId) -> Result<TenantScope, OrganizationError> {
        actor.scope_for(id).ok_or(OrganizationError::NotFound)
    }

    /// A page of organizations: all of them for a super admin, the actor's own otherwise.
    ///
    /// # Errors
    /// `Invalid` for an overlong search, `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: OrganizationFilter,
        page: OffsetPage,
    ) -> Result<Paged<Organization>, OrganizationError> {
        if filter.search.as_ref().is_some_and(|s| s.chars().count() > 100) {
            return Err(ValidationErrors::single("search", "must be at most 100 characters").into());
        }
        let scope = match (actor.platform(), actor.tenant_scope()) {
            (Some(platform), _) => ListScope::AcrossOrganizations(platform),
            (None, Some(own)) => ListScope::Only(own),
            (None, None) => return Ok(Paged { items: Vec::new(), total: 0, page }),
        };
        Ok(self.repo.list(scope, &filter, page).await?)
    }

    /// Changes an organization (`settings:manage`). Only the fields given
    /// change: a concurrent change (a deactivation, another edit) is kept, the
    /// write being retried on the fresh version. With `if_version` (the
    /// client's `If-Match`) the change applies only to that version.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `Invalid`, `NameTaken`, `PreconditionFailed`, `Busy`, `Unexpected`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: OrganizationId,
        changes: OrganizationChanges,
        if_version: Option<DateTime<Utc>>,
    ) -> Result<Organization, OrganizationError> {
        let changed = changes.changed_fields();
        for _ in 0..WRITE_ATTEMPTS {
            let mut organization = self.get(actor, id).await?;
            actor.require(Permission::SettingsManage)?;
            if if_version.is_some_and(|v| v != organization.updated_at) {
                return Err(OrganizationError::PreconditionFailed);
            }
            let read_at = organization.updated_at;
            let now = self.clock.now();
            organization.apply(changes.clone(), now)?;
            let audit = AuditEntry::new(actor, Some(id), "organization.updated", "organization", id, now)
                .with_details(json!({ "changed": changed }));
            match self.repo.update(Self::scope(actor, id)?, &organization, read_at, &audit).await {
                Err(RepositoryError::Changed) if if_version.is_some() => {
                    return Err(OrganizationError::PreconditionFailed);
                }
                Err(RepositoryError::Changed) => {}
                done => return done.map(|()| organization).map_err(Into::into),
            }
        }
        Err(OrganizationError::Busy)
    }

    /// Deactivates (soft-deletes) an organization (`org:delete`): its data is
    /// kept, its members' tokens and its keys are refused. Idempotent.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn deactivate(
        &self,
        actor: &Actor,
        id: OrganizationId,
    ) -> Result<Organization, OrganizationError> {
        let organization = self.get(actor, id).await?;
        actor.require(Permission::OrgDelete)?;
        self.set_active(actor, organization, false).await
    }

    /// Reactivates an organization (super admin only). Idempotent.
    ///
    /// # Errors
    /// `NotFound`, `SuperAdminOnly`, `Unexpected`.
    pub async fn activate(
        &self,
        actor: &Actor,
        id: OrganizationId,
    ) -> Result<Organization, OrganizationError> {
        let organization = self.get(actor, id).await?;
        if !actor.is_super_admin() {
            return Err(OrganizationError::SuperAdminOnly);
        }
        self.set_active(actor, organization, true).await
    }

    async fn set_active(
        &self,
        actor: &Actor,
        mut organization: Organization,
        active: bool,
    ) -> Result<Organization, OrganizationError> {
        let id = organization.id;
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                organization = self.get(actor, id).await?;
            }
            if organization.is_active == active {
                return Ok(organization);
            }
            let read_at = organization.updated_at;
            let now = self.clock.now();
            organization.is_active = active;
            organization.updated_at = now;
            let action = if active { "organization.activated" } else { "organization.deactivated" };
            let audit = AuditEntry::new(actor, Some(id), action, "organization", id, now);
            match self.repo.update(Self::scope(actor, id)?, &organization, read_at, &audit).await {
                Err(RepositoryError::Changed) => {}
                done => return done.map(|()| organization).map_err(Into::into),
            }
        }
        Err(OrganizationError::Busy)
    }

    /// Deletes an organization and all its data for good (super admin only).
    /// `confirm` must repeat the organization's slug.
    ///
    /// # Errors
    /// `NotFound`, `SuperAdminOnly`, `Invalid` (confirmation missing or wrong), `Unexpected`.
    pub async fn hard_delete(
        &self,
        actor: &Actor,
        id: OrganizationId,
        confirm: Option<&str>,
    ) -> Result<(), OrganizationError> {
        let organization = self.get(actor, id).await?;
        if !actor.is_super_admin() {
            return Err(OrganizationError::SuperAdminOnly);
        }
        if confirm != Some(organization.name.as_ref()) {
            return Err(ValidationErrors::single(
                "confirm",
                "must equal the organization's name to delete it for good",
            )
            .into());
        }
        // A platform-level entry: the organization's own entries go with it.
        let audit =
            AuditEntry::new(actor, None, "organization.deleted", "organization", id, self.clock.now())
                .with_details(json!({ "name": organization.name.as_ref() }));
        Ok(self.repo.delete_with_all_data(Self::scope(actor, id)?, &audit).await?)
    }

    /// An organization with its counts (`analytics:view_all`).
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn stats(
        &self,
        actor: &Actor,
        id: OrganizationId,
    ) -> Result<(Organization, OrganizationStats), OrganizationError> {
        let organization = self.get(actor, id).await?;
        actor.require(Permission::AnalyticsViewAll)?;
        let stats = self.repo.stats(Self::scope(actor, id)?).await?;
        Ok((organization, stats))
    }

    /// Totals across every organization (super admin only).
    ///
    /// # Errors
    /// `SuperAdminOnly`, `Unexpected`.
    pub async fn overview(&self, actor: &Actor) -> Result<PlatformOverview, OrganizationError> {
        let platform = actor.platform().ok_or(OrganizationError::SuperAdminOnly)?;
        Ok(self.repo.overview_across_organizations(platform).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockOrganizationRepository;
    use chrono::Utc;
    use leadflow_kernel::{MockClock, Role, UserId};

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    fn service(repo: MockOrganizationRepository, self_service_signup: bool) -> OrganizationService {
        OrganizationService::new(Arc::new(repo), clock(), OrganizationPolicy { self_service_signup })
    }

    fn existing(name: &str) -> Organization {
        NewOrganization::parse(OrganizationInput { name: name.into(), ..Default::default() })
            .unwrap()
            .into_organization(None, Utc::now())
    }

    fn member_of(org: OrganizationId, role: Role) -> Actor {
        Actor::user(UserId::new(), "someone@example.com", Some(org), Some(role), false)
    }

    fn super_admin() -> Actor {
        Actor::user(UserId::new(), "root@example.com", None, None, true)
    }

    #[tokio::test]
    async fn a_self_service_creator_becomes_the_owner() {
        let user = UserId::new();
        let mut repo = MockOrganizationRepository::new();
        repo.expect_create()
            .withf(move |_, owner, _, audit| *owner == Some(user) && audit.action == "organization.created")
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let actor = Actor::user(user, "u@example.com", None, None, false);

        let org = service(repo, true)
            .create(&actor, OrganizationInput { name: "acme".into(), ..Default::default() })
            .await
            .unwrap();

        assert_eq!(org.created_by, Some(user));
    }

    #[tokio::test]
    async fn without_self_service_only_a_super_admin_creates_organizations() {
        let mut repo = MockOrganizationRepository::new();
        repo.expect_create().withf(|_, owner, _, _| owner.is_none()).times(1).returning(|_, _, _, _| Ok(()));
        let svc = service(repo, false);
        let user = Actor::user(UserId::new(), "u@example.com", None, None, false);
        let input = OrganizationInput { name: "acme".into(), ..Default::default() };

        assert!(matches!(svc.create(&user, input.clone()).await, Err(OrganizationError::SignupDisabled)));
        assert!(svc.create(&super_admin(), input).await.is_ok());
    }

    #[tokio::test]
    async fn invalid_input_never_reaches_the_repository() {
        let mut repo = MockOrganizationRepository::new();
        repo.expect_create().never();
        let actor = Actor::user(UserId::new(), "u@example.com", None, None, false);
        let result = service(repo, true)
            .create(&actor, OrganizationInput { name: "NO".into(), ..Default::default() })
            .await;
        assert!(matches!(result, Err(OrganizationError::Invalid(_))));
    }

    #[tokio::test]
    async fn another_tenants_organization_is_not_found_without_asking_the_store() {
        let mut repo = MockOrganizationRepository::new();
        repo.expect_get().never();
        let actor = member_of(OrganizationId::new(), Role::Owner);
        let result = service(repo, true).get(&actor, OrganizationId::new()).await;
        assert!(matches!(result, Err(OrganizationError::NotFound)));
    }

    #[tokio::test]
    async fn a_manager_may_not_change_settings() {
        let org = existing("acme");
        let id = org.id;
        let mut repo = MockOrganizationRepository::new();
        repo.expect_get().returning(move |_| Ok(Some(org.clone())));
        repo.expect_update().never();
        let result = service(repo, true)
            .update(&member_of(id, Role::Manager), id, OrganizationChanges::default(), None)
            .await;
        assert!(matches!(result, Err(OrganizationError::Forbidden(Permission::SettingsManage))));
    }

    #[tokio::test]
    async fn an_edit_racing_another_change_is_applied_to_the_fresh_version() {
        let org = existing("acme");
        let id = org.id;
        let stored = std::sync::Arc::new(std::sync::Mutex::new(org));
        let mut repo = MockOrganizationRepository::new();
        let read = stored.clone();
        repo.expect_get().returning(move |_| Ok(Some(read.lock().unwrap().clone())));
        let write = stored.clone();
        let mut first = true;
        repo.expect_update().times(2).returning(move |_, o, read_at, _| {
            let mut current = write.lock().unwrap();
            if std::mem::take(&mut first) {
                // A deactivation lands between this edit's read and its write.
                current.is_active = false;
                current.updated_at = Utc::now() + chrono::Duration::seconds(1);
            }
            if current.updated_at != read_at {
                return Err(RepositoryError::Changed);
            }
            *current = o.clone();
            Ok(())
        });
        let changes = OrganizationChanges { display_name: Some("ACME Corp".into()), ..Default::default() };
        let saved = service(repo, true).update(&member_of(id, Role::Owner), id, changes, None).await.unwrap();
        assert!(!saved.is_active, "the deactivation was kept");
        assert_eq!(saved.display_name.as_ref(), "ACME Corp");
    }

    #[tokio::test]
    async fn only_an_owner_deactivates_and_deactivating_twice_writes_once() {
        let org = existing("acme");
        let id = org.id;
        let mut repo = MockOrganizationRepository::new();
        let stored = std::sync::Arc::new(std::sync::Mutex::new(org));
        let read = stored.clone();
        repo.expect_get().returning(move |_| Ok(Some(read.lock().unwrap().clone())));
        let write = stored.clone();
        repo.expect_update()
            .withf(|_, _, _, audit| audit.action == "organization.deactivated")
            .times(1)
            .returning(move |_, o, _, _| {
                *write.lock().unwrap() = o.clone();
                Ok(())
            });
        let svc = service(repo, true);

        let admin = svc.deactivate(&member_of(id, Role::Admin), id).await;
        assert!(matches!(admin, Err(OrganizationError::Forbidden(Permission::OrgDelete))));
        assert!(!svc.deactivate(&member_of(id, Role::Owner), id).await.unwrap().is_active);
        assert!(!svc.deactivate(&member_of(id, Role::Owner), id).await.unwrap().is_active);
    }

    #[tokio::test]
    async fn a_hard_delete_needs_the_super_admin_and_the_exact_name() {
        let org = existing("acme");
        let id = org.id;
        let mut repo = MockOrganizationRepository::new();
        repo.expect_get().returning(move |_| Ok(Some(org.clone())));
        repo.expect_delete_with_all_data()
            .withf(|_, audit| audit.organization_id.is_none() && audit.action == "organization.deleted")
            .times(1)
            .returning(|_, _| Ok(()));
        let svc = service(repo, true);

        let owner = svc.hard_delete(&member_of(id, Role::Owner), id, Some("acme")).await;
        assert!(matches!(owner, Err(OrganizationError::SuperAdminOnly)));
        let wrong = svc.hard_delete(&super_admin(), id, Some("acme2")).await;
        assert!(matches!(wrong, Err(OrganizationError::Invalid(_))));
        let missing = svc.hard_delete(&super_admin(), id, None).await;
        assert!(matches!(missing, Err(OrganizationError::Invalid(_))));
        svc.hard_delete(&super_admin(), id, Some("acme")).await.unwrap();
    }

    #[tokio::test]
    async fn members_list_only_their_own_organization() {
        let own = OrganizationId::new();
        let mut repo = MockOrganizationRepository::new();
        repo.expect_list()
            .withf(move |scope, _, _| matches!(scope, ListScope::Only(s) if s.organization_id() == own))
            .times(1)
            .returning(|_, _, page| Ok(Paged { items: vec![], total: 0, page }));
        service(repo, true)
            .list(&member_of(own, Role::Member), OrganizationFilter::default(), OffsetPage::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_overview_is_for_the_super_admin_only() {
        let mut repo = MockOrganizationRepository::new();
        repo.expect_overview_across_organizations().times(1).returning(|_| Ok(PlatformOverview::default()));
        let svc = service(repo, true);
        let owner = member_of(OrganizationId::new(), Role::Owner);
        assert!(matches!(svc.overview(&owner).await, Err(OrganizationError::SuperAdminOnly)));
        assert!(svc.overview(&super_admin()).await.is_ok());
    }
}
