//! Team use cases. Reading needs membership; changing needs `settings:manage`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use leadflow_kernel::{
    Actor, AuditEntry, Clock, Forbidden, Permission, TenantScope, UserId, ValidationErrors,
};
use serde_json::json;

use super::model::{Team, TeamChanges, TeamId, TeamInput, TeamMember};
use super::ports::{MemberDirectory, TeamRepository, TeamStoreError};

/// Everything a team use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Invalid input; nothing changed.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No such team in the actor's organization.
    #[error("team not found")]
    NotFound,
    /// No such member in the actor's organization.
    #[error("no such member of this organization")]
    MemberNotFound,
    /// The actor acts in no organization.
    #[error("act in an organization first (POST /auth/switch-organization)")]
    NoOrganization,
    /// Missing permission.
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// The name is taken in the organization.
    #[error("a team with this name already exists")]
    NameTaken,
    /// The team changed since the version the client named (`If-Match`).
    #[error("the team changed since you read it; read it again")]
    PreconditionFailed,
    /// It kept changing under this write; nothing was written.
    #[error("the team is being changed by someone else; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<TeamStoreError> for TeamError {
    fn from(e: TeamStoreError) -> Self {
        match e {
            TeamStoreError::NameTaken => Self::NameTaken,
            TeamStoreError::NotFound => Self::NotFound,
            TeamStoreError::Changed => Self::Busy,
            TeamStoreError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<Forbidden> for TeamError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(e.0)
    }
}

impl From<ValidationErrors> for TeamError {
    fn from(e: ValidationErrors) -> Self {
        Self::Invalid(e)
    }
}

/// The team use cases.
pub struct TeamService {
    teams: Arc<dyn TeamRepository>,
    members: Arc<dyn MemberDirectory>,
    clock: Arc<dyn Clock>,
}

fn scope_of(actor: &Actor) -> Result<TenantScope, TeamError> {
    actor.tenant_scope().ok_or(TeamError::NoOrganization)
}

impl TeamService {
    /// Builds the service on its ports.
    pub fn new(
        teams: Arc<dyn TeamRepository>,
        members: Arc<dyn MemberDirectory>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { teams, members, clock }
    }

    async fn check_leader(&self, scope: TenantScope, leader: Option<UserId>) -> Result<(), TeamError> {
        if let Some(leader) = leader
            && !self.members.is_member(scope, leader).await.map_err(TeamError::Unexpected)?
        {
            return Err(ValidationErrors::single("leaderId", "must be a member of the organization").into());
        }
        Ok(())
    }

    /// The teams of the actor's organization.
    ///
    /// # Errors
    /// `NoOrganization`, `Unexpected`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<Team>, TeamError> {
        let scope = scope_of(actor)?;
        actor.require_for_keys(Permission::SettingsManage)?;
        Ok(self.teams.list(scope).await?)
    }

    /// A team with its members.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Unexpected`.
    pub async fn get(&self, actor: &Actor, id: TeamId) -> Result<(Team, Vec<TeamMember>), TeamError> {
        let scope = scope_of(actor)?;
        let team = self.teams.get(scope, id).await?.ok_or(TeamError::NotFound)?;
        actor.require_for_keys(Permission::SettingsManage)?;
        let members = self.teams.members(scope, id).await?;
        Ok((team, members))
    }

    /// Creates a team (`settings:manage`); the leader must be a member.
    ///
    /// # Errors
    /// `NoOrganization`, `Forbidden`, `Invalid`, `NameTaken`, `Unexpected`.
    pub async fn create(&self, actor: &Actor, input: TeamInput) -> Result<Team, TeamError> {
        let scope = scope_of(actor)?;
        actor.require(Permission::SettingsManage)?;
        let now = self.clock.now();
        let team = Team::new(scope.organization_id(), input, now)?;
        self.check_leader(scope, team.leader_id).await?;
        let audit = AuditEntry::in_scope(actor, scope, "team.created", "team", team.id, now)
            .with_details(json!({ "name": team.name, "leaderId": team.leader_id }));
        self.teams.create(scope, &team, &audit).await?;
        Ok(team)
    }

    /// Changes a team (`settings:manage`). Only the fields given change; a
    /// concurrent change is kept (the write is retried on the fresh version).
    /// With `if_version` (the client's `If-Match`) it applies only to that version.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Invalid`, `NameTaken`, `PreconditionFailed`, `Busy`, `Unexpected`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: TeamId,
        changes: TeamChanges,
        if_version: Option<DateTime<Utc>>,
    ) -> Result<Team, TeamError> {
        let scope = scope_of(actor)?;
        let changed: Vec<&str> = [
            changes.name.as_ref().map(|_| "name"),
            changes.description.as_ref().map(|_| "description"),
            changes.leader_id.as_ref().map(|_| "leaderId"),
        ]
        .into_iter()
        .flatten()
        .collect();
        for _ in 0..3 {
            let mut team = self.teams.get(scope, id).await?.ok_or(TeamError::NotFound)?;
            actor.require(Permission::SettingsManage)?;
            if let Some(leader) = changes.leader_id {
                self.check_leader(scope, leader).await?;
            }
            if if_version.is_some_and(|v| v != team.updated_at) {
                return Err(TeamError::PreconditionFailed);
            }
            let read_at = team.updated_at;
            let now = self.clock.now();
            team.apply(changes.clone(), now)?;
            let audit = AuditEntry::in_scope(actor, scope, "team.updated", "team", id, now)
                .with_details(json!({ "changed": changed }));
            match self.teams.update(scope, &team, read_at, &audit).await {
                Err(TeamStoreError::Changed) if if_version.is_some() => {
                    return Err(TeamError::PreconditionFailed);
                }
                Err(TeamStoreError::Changed) => {}
                done => return done.map(|()| team).map_err(Into::into),
            }
        }
        Err(TeamError::Busy)
    }

    /// Deletes a team (`settings:manage`); its members stay in the organization.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn delete(&self, actor: &Actor, id: TeamId) -> Result<(), TeamError> {
        let scope = scope_of(actor)?;
        let team = self.teams.get(scope, id).await?.ok_or(TeamError::NotFound)?;
        actor.require(Permission::SettingsManage)?;
        let audit = AuditEntry::in_scope(actor, scope, "team.deleted", "team", id, self.clock.now())
            .with_details(json!({ "name": team.name }));
        Ok(self.teams.delete(scope, id, &audit).await?)
    }

    /// Puts a member of the organization in a team (`settings:manage`). Idempotent.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `MemberNotFound`, `Forbidden`, `Unexpected`.
    pub async fn add_member(&self, actor: &Actor, id: TeamId, user: UserId) -> Result<(), TeamError> {
        let scope = scope_of(actor)?;
        self.teams.get(scope, id).await?.ok_or(TeamError::NotFound)?;
        actor.require(Permission::SettingsManage)?;
        if !self.members.is_member(scope, user).await.map_err(TeamError::Unexpected)? {
            return Err(TeamError::MemberNotFound);
        }
        let audit = AuditEntry::in_scope(actor, scope, "team.member_added", "team", id, self.clock.now())
            .with_details(json!({ "userId": user }));
        self.teams.add_member(scope, id, user, &audit).await?;
        Ok(())
    }

    /// Takes a user out of a team (`settings:manage`). Idempotent.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Unexpected`.
    pub async fn remove_member(&self, actor: &Actor, id: TeamId, user: UserId) -> Result<(), TeamError> {
        let scope = scope_of(actor)?;
        self.teams.get(scope, id).await?.ok_or(TeamError::NotFound)?;
        actor.require(Permission::SettingsManage)?;
        let audit = AuditEntry::in_scope(actor, scope, "team.member_removed", "team", id, self.clock.now())
            .with_details(json!({ "userId": user }));
        self.teams.remove_member(scope, id, user, &audit).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teams::ports::{MockMemberDirectory, MockTeamRepository};
    use chrono::Utc;
    use leadflow_kernel::OrganizationId;
    use leadflow_kernel::{MockClock, Role};

    fn service(teams: MockTeamRepository, members: MockMemberDirectory) -> TeamService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        TeamService::new(Arc::new(teams), Arc::new(members), Arc::new(clock))
    }

    fn actor(org: OrganizationId, role: Role) -> Actor {
        Actor::user(UserId::new(), "a@example.com", Some(org), Some(role), false)
    }

    #[tokio::test]
    async fn a_leader_from_outside_the_organization_is_refused() {
        let mut teams = MockTeamRepository::new();
        teams.expect_create().never();
        let mut members = MockMemberDirectory::new();
        members.expect_is_member().returning(|_, _| Ok(false));
        let input = TeamInput { name: "Sales".into(), description: None, leader_id: Some(UserId::new()) };

        let result = service(teams, members).create(&actor(OrganizationId::new(), Role::Admin), input).await;

        let Err(TeamError::Invalid(errors)) = result else { panic!("expected Invalid") };
        assert_eq!(errors.errors()[0].field, "leaderId");
    }

    #[tokio::test]
    async fn a_manager_may_read_but_not_change_teams() {
        let org = OrganizationId::new();
        let team =
            Team::new(org, TeamInput { name: "Sales".into(), ..Default::default() }, Utc::now()).unwrap();
        let id = team.id;
        let mut teams = MockTeamRepository::new();
        teams.expect_get().returning(move |_, _| Ok(Some(team.clone())));
        teams.expect_members().returning(|_, _| Ok(vec![]));
        teams.expect_delete().never();
        let svc = service(teams, MockMemberDirectory::new());
        let manager = actor(org, Role::Manager);

        assert!(svc.get(&manager, id).await.is_ok());
        assert!(matches!(
            svc.delete(&manager, id).await,
            Err(TeamError::Forbidden(Permission::SettingsManage))
        ));
    }

    #[tokio::test]
    async fn only_members_join_teams() {
        let org = OrganizationId::new();
        let team =
            Team::new(org, TeamInput { name: "Sales".into(), ..Default::default() }, Utc::now()).unwrap();
        let id = team.id;
        let mut teams = MockTeamRepository::new();
        teams.expect_get().returning(move |_, _| Ok(Some(team.clone())));
        teams.expect_add_member().never();
        let mut members = MockMemberDirectory::new();
        members.expect_is_member().returning(|_, _| Ok(false));

        let result = service(teams, members).add_member(&actor(org, Role::Owner), id, UserId::new()).await;

        assert!(matches!(result, Err(TeamError::MemberNotFound)));
    }

    #[tokio::test]
    async fn without_an_organization_there_are_no_teams() {
        let svc = service(MockTeamRepository::new(), MockMemberDirectory::new());
        let lone = Actor::user(UserId::new(), "a@example.com", None, None, false);
        assert!(matches!(svc.list(&lone).await, Err(TeamError::NoOrganization)));
    }
}
