//! Contract of the audit log: entries commit with their change, read back newest first.

use leadflow_kernel::{Actor, AuditEntry, Clock as _, KeysetPage, OrganizationId, SystemClock};
use leadflow_organizations::{
    AuditFilter, AuditLogRepository, AuditScope, OrganizationRepository, RepositoryError,
};
use leadflow_storage::Storage;

use crate::contract_tests;
use crate::organizations::an_org;

fn entry(org: Option<OrganizationId>, action: &str) -> AuditEntry {
    AuditEntry::new(&Actor::system(), org, action, "organization", "x", SystemClock.now())
}

async fn all(storage: &Storage, scope: AuditScope, filter: AuditFilter) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    let mut page = KeysetPage::new(Some(2), None).unwrap();
    loop {
        let got = storage.audit_log().page(scope, &filter, page).await.unwrap();
        out.extend(got.items);
        match got.next {
            Some(c) => page.after = Some(c),
            None => return out,
        }
    }
}

contract_tests! {
    async fn entries_are_written_with_their_change_and_not_without_it(storage: Storage) {
        let repo = storage.organizations();
        let acme = an_org("acme");
        repo.create(&acme, None, None, &entry(Some(acme.id), "organization.created")).await.unwrap();
        repo.create(&an_org("globex"), None, None, &entry(None, "organization.created")).await.unwrap();
        let mut clash = acme.clone();
        clash.name = an_org("globex").name;
        let failed = repo.update(crate::scope(clash.id), &clash, crate::version(&storage, clash.id).await, &entry(Some(acme.id), "organization.updated")).await;
        assert!(matches!(failed, Err(RepositoryError::NameTaken(_))));

        let entries = all(&storage, AuditScope::Organization(crate::scope(acme.id)), AuditFilter::default()).await;
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["organization.created"], "the failed update left no entry");
    }

    async fn pages_are_newest_first_and_filterable(storage: Storage) {
        let repo = storage.organizations();
        let mut acme = an_org("acme");
        repo.create(&acme, None, None, &entry(Some(acme.id), "organization.created")).await.unwrap();
        for _ in 0..4 {
            repo.update(crate::scope(acme.id), &acme, crate::version(&storage, acme.id).await, &entry(Some(acme.id), "organization.updated")).await.unwrap();
        }
        acme.is_active = false;
        repo.update(crate::scope(acme.id), &acme, crate::version(&storage, acme.id).await, &entry(Some(acme.id), "organization.deactivated")).await.unwrap();

        let entries = all(&storage, AuditScope::Organization(crate::scope(acme.id)), AuditFilter::default()).await;
        assert_eq!(entries.len(), 6);
        assert_eq!(entries[0].action, "organization.deactivated");
        assert!(entries.windows(2).all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)));

        let updates = all(&storage, AuditScope::Organization(crate::scope(acme.id)), AuditFilter { action: Some("organization.updated".into()), ..Default::default() }).await;
        assert_eq!(updates.len(), 4);
        assert!(all(&storage, AuditScope::Organization(crate::scope(OrganizationId::new())), AuditFilter::default()).await.is_empty());
    }

    async fn a_hard_delete_keeps_only_its_platform_entry(storage: Storage) {
        let repo = storage.organizations();
        let doomed = an_org("doomed");
        repo.create(&doomed, None, None, &entry(Some(doomed.id), "organization.created")).await.unwrap();
        repo.delete_with_all_data(crate::scope(doomed.id), &entry(None, "organization.deleted")).await.unwrap();

        assert!(all(&storage, AuditScope::Organization(crate::scope(doomed.id)), AuditFilter::default()).await.is_empty());
        let platform = all(&storage, AuditScope::AcrossOrganizations(crate::platform()), AuditFilter::default()).await;
        let actions: Vec<&str> = platform.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["organization.deleted"]);
        assert_eq!(platform[0].organization_id, None);
    }
}
