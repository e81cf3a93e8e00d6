//! Member use cases: list, change role, remove, leave.

use super::model::Member;
use super::ports::MemberRepository;
use crate::error::{AuthError, Denied, Resource};
use leadflow_kernel::{Actor, AuditEntry, Clock, Permission, Role, UserId};
use serde_json::json;
use std::sync::Arc;

/// The member use cases.
pub struct MemberService {
    members: Arc<dyn MemberRepository>,
    clock: Arc<dyn Clock>,
}

/// Whether `actor` may grant or take away the owner role: owners and the super admin.
fn may_manage_owners(actor: &Actor) -> bool {
    actor.is_super_admin() || actor.role() == Some(Role::Owner)
}

impl MemberService {
    /// Builds the service on its ports.
    pub fn new(members: Arc<dyn MemberRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { members, clock }
    }

    /// The members of the actor's organization (any member may list them; an
    /// API key needs `users:manage`).
    ///
    /// # Errors
    /// `NoOrganization`, `Unexpected`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<Member>, AuthError> {
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let _organization = scope.organization_id();
        actor.require_for_keys(Permission::UsersManage)?;
        Ok(self.members.members(scope).await?)
    }

    /// Changes a member's role (`users:manage`). Only an owner grants or takes
    /// away `owner`; the last owner keeps it.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (last owner), `Unexpected`.
    pub async fn change_role(&self, actor: &Actor, user: UserId, role: Role) -> Result<Member, AuthError> {
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let organization = scope.organization_id();
        let member = self.members.member(scope, user).await?.ok_or(AuthError::NotFound(Resource::Member))?;
        actor.require(Permission::UsersManage)?;
        if (member.role == Role::Owner || role == Role::Owner) && !may_manage_owners(actor) {
            return Err(Denied::OwnerRoleByOwners.into());
        }
        if member.role == role {
            return Ok(member);
        }
        let audit = AuditEntry::new(
            actor,
            Some(organization),
            "member.role_changed",
            "member",
            user,
            self.clock.now(),
        )
        .with_details(json!({ "from": member.role.as_str(), "to": role.as_str() }));
        self.members.change_role(scope, user, role, &audit).await?;
        Ok(Member { role, ..member })
    }

    /// Removes a member (`users:manage`), or lets a member leave. Only an owner
    /// removes an owner; the last owner cannot leave.
    ///
    /// # Errors
    /// `NoOrganization`, `NotFound`, `Forbidden`, `Conflict` (last owner), `Unexpected`.
    pub async fn remove(&self, actor: &Actor, user: UserId) -> Result<(), AuthError> {
        let scope = actor.tenant_scope().ok_or(AuthError::NoOrganization)?;
        let member = self.members.member(scope, user).await?.ok_or(AuthError::NotFound(Resource::Member))?;
        let leaving = actor.user_id() == Some(user);
        if !leaving {
            actor.require(Permission::UsersManage)?;
            if member.role == Role::Owner && !may_manage_owners(actor) {
                return Err(Denied::OwnerRemovalByOwners.into());
            }
        }
        let action = if leaving { "member.left" } else { "member.removed" };
        let audit = AuditEntry::in_scope(actor, scope, action, "member", user, self.clock.now())
            .with_details(json!({ "email": member.email, "role": member.role.as_str() }));
        Ok(self.members.remove(scope, user, &audit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::*;
    use crate::members::*;
    use chrono::Utc;
    use leadflow_kernel::MockClock;
    use leadflow_kernel::*;

    fn service(repo: MockMemberRepository) -> MemberService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        MemberService::new(Arc::new(repo), Arc::new(clock))
    }

    fn member(user: UserId, role: Role) -> Member {
        Member { user_id: user, email: "m@example.com".into(), name: "M".into(), role, joined_at: Utc::now() }
    }

    fn actor(org: OrganizationId, role: Role) -> Actor {
        Actor::user(UserId::new(), "a@example.com", Some(org), Some(role), false)
    }

    #[tokio::test]
    async fn an_admin_may_not_make_an_owner() {
        let (org, user) = (OrganizationId::new(), UserId::new());
        let mut repo = MockMemberRepository::new();
        repo.expect_member().returning(move |_, u| Ok(Some(member(u, Role::Member))));
        repo.expect_change_role().never();
        let result = service(repo).change_role(&actor(org, Role::Admin), user, Role::Owner).await;
        assert!(matches!(result, Err(AuthError::Forbidden(_))));
    }

    #[tokio::test]
    async fn an_admin_may_not_remove_an_owner_but_an_owner_may() {
        let (org, user) = (OrganizationId::new(), UserId::new());
        let mut repo = MockMemberRepository::new();
        repo.expect_member().returning(move |_, u| Ok(Some(member(u, Role::Owner))));
        repo.expect_remove()
            .withf(|_, _, a| a.action == "member.removed")
            .times(1)
            .returning(|_, _, _| Ok(()));
        let svc = service(repo);
        assert!(matches!(svc.remove(&actor(org, Role::Admin), user).await, Err(AuthError::Forbidden(_))));
        svc.remove(&actor(org, Role::Owner), user).await.unwrap();
    }

    #[tokio::test]
    async fn a_member_may_leave_without_users_manage() {
        let org = OrganizationId::new();
        let me = Actor::user(UserId::new(), "me@example.com", Some(org), Some(Role::Member), false);
        let mut repo = MockMemberRepository::new();
        repo.expect_member().returning(move |_, u| Ok(Some(member(u, Role::Member))));
        repo.expect_remove().withf(|_, _, a| a.action == "member.left").times(1).returning(|_, _, _| Ok(()));
        service(repo).remove(&me, me.user_id().unwrap()).await.unwrap();
    }

    #[tokio::test]
    async fn the_last_owner_is_kept() {
        let org = OrganizationId::new();
        let owner = actor(org, Role::Owner);
        let mut repo = MockMemberRepository::new();
        repo.expect_member().returning(move |_, u| Ok(Some(member(u, Role::Owner))));
        repo.expect_change_role().returning(|_, _, _, _| Err(MemberChangeError::LastOwner));
        let result = service(repo).change_role(&owner, owner.user_id().unwrap(), Role::Admin).await;
        assert!(matches!(result, Err(AuthError::Conflict(_))));
    }

    #[tokio::test]
    async fn a_manager_may_not_change_roles() {
        let org = OrganizationId::new();
        let mut repo = MockMemberRepository::new();
        repo.expect_member().returning(move |_, u| Ok(Some(member(u, Role::Member))));
        let result =
            service(repo).change_role(&actor(org, Role::Manager), UserId::new(), Role::Manager).await;
        assert!(matches!(result, Err(AuthError::Forbidden(_))));
    }
}
