//! Who may read which audit entries.

use std::sync::Arc;

use leadflow_kernel::{Actor, AuditEntry, KeysetPage, KeysetPaged, OrganizationId, Permission};

use super::ports::{AuditFilter, AuditLogRepository, AuditScope};
use crate::error::OrganizationError;

/// The audit log use case.
pub struct AuditService {
    log: Arc<dyn AuditLogRepository>,
}

impl AuditService {
    /// Builds the service on its port.
    pub fn new(log: Arc<dyn AuditLogRepository>) -> Self {
        Self { log }
    }

    /// A page of entries. Members with `audit:view` read their organization's;
    /// the super admin reads one organization's (`organization`) or all.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound` (another organization asked for), `Unexpected`.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: AuditFilter,
        organization: Option<OrganizationId>,
        page: KeysetPage,
    ) -> Result<KeysetPaged<AuditEntry>, OrganizationError> {
        let scope = if let Some(platform) = actor.platform() {
            organization.or(actor.organization()).map_or(AuditScope::AcrossOrganizations(platform), |org| {
                AuditScope::Organization(platform.tenant(org))
            })
        } else {
            actor.require(Permission::AuditView)?;
            let own = actor.tenant_scope().ok_or(OrganizationError::Forbidden(Permission::AuditView))?;
            if organization.is_some_and(|asked| asked != own.organization_id()) {
                return Err(OrganizationError::NotFound);
            }
            AuditScope::Organization(own)
        };
        self.log.page(scope, &filter, page).await.map_err(OrganizationError::Unexpected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_log::ports::MockAuditLogRepository;
    use leadflow_kernel::{Role, UserId};

    fn empty() -> KeysetPaged<AuditEntry> {
        KeysetPaged { items: vec![], next: None }
    }

    #[tokio::test]
    async fn members_read_only_their_own_organization_with_audit_view() {
        let own = OrganizationId::new();
        let mut log = MockAuditLogRepository::new();
        log.expect_page()
            .withf(
                move |scope, _, _| matches!(scope, AuditScope::Organization(s) if s.organization_id() == own),
            )
            .times(1)
            .returning(|_, _, _| Ok(empty()));
        let svc = AuditService::new(Arc::new(log));
        let admin = Actor::user(UserId::new(), "a@x.io", Some(own), Some(Role::Admin), false);
        let manager = Actor::user(UserId::new(), "m@x.io", Some(own), Some(Role::Manager), false);
        let page = KeysetPage::new(None, None).unwrap();

        assert!(svc.list(&admin, AuditFilter::default(), None, page).await.is_ok());
        assert!(matches!(
            svc.list(&manager, AuditFilter::default(), None, page).await,
            Err(OrganizationError::Forbidden(_))
        ));
        assert!(matches!(
            svc.list(&admin, AuditFilter::default(), Some(OrganizationId::new()), page).await,
            Err(OrganizationError::NotFound)
        ));
    }

    #[tokio::test]
    async fn the_super_admin_reads_across_organizations_or_one() {
        let org = OrganizationId::new();
        let mut log = MockAuditLogRepository::new();
        log.expect_page()
            .withf(|scope, _, _| matches!(scope, AuditScope::AcrossOrganizations(_)))
            .times(1)
            .returning(|_, _, _| Ok(empty()));
        log.expect_page()
            .withf(
                move |scope, _, _| matches!(scope, AuditScope::Organization(s) if s.organization_id() == org),
            )
            .times(1)
            .returning(|_, _, _| Ok(empty()));
        let svc = AuditService::new(Arc::new(log));
        let root = Actor::user(UserId::new(), "r@x.io", None, None, true);
        let page = KeysetPage::new(None, None).unwrap();
        svc.list(&root, AuditFilter::default(), None, page).await.unwrap();
        svc.list(&root, AuditFilter::default(), Some(org), page).await.unwrap();
    }
}
