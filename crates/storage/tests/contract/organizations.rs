//! Contract of `OrganizationRepository`.

use chrono::Utc;
use leadflow_auth::ports::{MembershipRepository, RefreshTokenRecord, RefreshTokenRepository};
use leadflow_kernel::{OffsetPage, OrganizationId, Role};
use leadflow_organizations::{
    ListScope, NewOrganization, Organization, OrganizationChanges, OrganizationFilter, OrganizationInput,
    OrganizationRepository, OrganizationSort, RepositoryError,
};

use crate::auth::a_user;
use crate::contract_tests;

pub fn an_org(name: &str) -> Organization {
    NewOrganization::parse(OrganizationInput {
        name: name.into(),
        display_name: Some(format!("{name} Display")),
        email: Some(format!("hello@{name}.io")),
        settings: Some(serde_json::json!({ "theme": "dark" })),
        ..Default::default()
    })
    .unwrap()
    .into_organization(None, Utc::now())
}

fn names(items: &[Organization]) -> Vec<&str> {
    items.iter().map(|o| o.name.as_ref()).collect()
}

contract_tests! {
    async fn a_created_organization_reads_back_with_its_owner(storage: Storage) {
        let owner = a_user(&storage, "owner@acme.io").await;
        let org = an_org("acme");
        storage.organizations().create(&org, Some(owner.id), None, &crate::entry(None)).await.unwrap();

        let read = storage.organizations().get(crate::scope(org.id)).await.unwrap().unwrap();
        assert_eq!(read.name, org.name);
        assert_eq!(read.email, org.email);
        assert_eq!(read.settings, org.settings);
        assert_eq!(read.created_at.timestamp_micros(), org.created_at.timestamp_micros());
        let memberships = storage.auth().memberships_of(owner.id).await.unwrap();
        assert_eq!(memberships.len(), 1);
        assert_eq!(memberships[0].role, Role::Owner);
        assert_eq!(memberships[0].organization_id, org.id);
    }

    async fn a_taken_slug_is_refused_and_nothing_is_written(storage: Storage) {
        let repo = storage.organizations();
        repo.create(&an_org("acme"), None, None, &crate::entry(None)).await.unwrap();
        let owner = a_user(&storage, "x@acme.io").await;
        let again = an_org("acme");
        let err = repo.create(&again, Some(owner.id), None, &crate::entry(None)).await.unwrap_err();
        assert!(matches!(err, RepositoryError::NameTaken(n) if n == "acme"));
        assert!(repo.get(crate::scope(again.id)).await.unwrap().is_none());
        assert!(storage.auth().memberships_of(owner.id).await.unwrap().is_empty());
    }

    async fn an_unknown_id_reads_as_none(storage: Storage) {
        assert!(storage.organizations().get(crate::scope(OrganizationId::new())).await.unwrap().is_none());
    }

    async fn lists_filter_sort_page_and_count(storage: Storage) {
        let repo = storage.organizations();
        for name in ["alpha", "bravo", "charlie", "delta"] {
            repo.create(&an_org(name), None, None, &crate::entry(None)).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let mut delta = repo.list(ListScope::AcrossOrganizations(crate::platform()), &OrganizationFilter::default(), OffsetPage::default())
            .await.unwrap().items.into_iter().find(|o| o.name.as_ref() == "delta").unwrap();
        delta.is_active = false;
        repo.update(crate::scope(delta.id), &delta, crate::version(&storage, delta.id).await, &crate::entry(None)).await.unwrap();

        let newest_first = repo.list(ListScope::AcrossOrganizations(crate::platform()), &OrganizationFilter::default(), OffsetPage::new(Some(2), Some(1)).unwrap()).await.unwrap();
        assert_eq!(newest_first.total, 4);
        assert_eq!(names(&newest_first.items), ["charlie", "bravo"]);

        let active_by_name = OrganizationFilter { is_active: Some(true), sort: OrganizationSort::NameDesc, ..Default::default() };
        let page = repo.list(ListScope::AcrossOrganizations(crate::platform()), &active_by_name, OffsetPage::default()).await.unwrap();
        assert_eq!(names(&page.items), ["charlie", "bravo", "alpha"]);

        let search = OrganizationFilter { search: Some("RAV".into()), ..Default::default() };
        assert_eq!(names(&repo.list(ListScope::AcrossOrganizations(crate::platform()), &search, OffsetPage::default()).await.unwrap().items), ["bravo"]);
        let wildcard = OrganizationFilter { search: Some("%".into()), ..Default::default() };
        assert_eq!(repo.list(ListScope::AcrossOrganizations(crate::platform()), &wildcard, OffsetPage::default()).await.unwrap().total, 0);

        let own = repo.list(ListScope::Only(crate::scope(delta.id)), &OrganizationFilter::default(), OffsetPage::default()).await.unwrap();
        assert_eq!(names(&own.items), ["delta"]);
        assert_eq!(own.total, 1);
    }

    async fn updates_persist_and_respect_unique_slugs(storage: Storage) {
        let repo = storage.organizations();
        let mut acme = an_org("acme");
        repo.create(&acme, None, None, &crate::entry(None)).await.unwrap();
        repo.create(&an_org("globex"), None, None, &crate::entry(None)).await.unwrap();

        acme.apply(OrganizationChanges { display_name: Some("ACME Corp".into()), phone: Some(Some("+1 555 0100".into())), ..Default::default() }, Utc::now()).unwrap();
        repo.update(crate::scope(acme.id), &acme, crate::version(&storage, acme.id).await, &crate::entry(None)).await.unwrap();
        let read = repo.get(crate::scope(acme.id)).await.unwrap().unwrap();
        assert_eq!(read.display_name.as_ref(), "ACME Corp");
        assert_eq!(read.phone.as_ref().map(AsRef::as_ref), Some("+1 555 0100"));

        acme.apply(OrganizationChanges { name: Some("globex".into()), ..Default::default() }, Utc::now()).unwrap();
        assert!(matches!(repo.update(crate::scope(acme.id), &acme, crate::version(&storage, acme.id).await, &crate::entry(None)).await, Err(RepositoryError::NameTaken(_))));
        assert!(matches!(repo.update(crate::scope(OrganizationId::new()), &an_org("ghost"), crate::version(&storage, OrganizationId::new()).await, &crate::entry(None)).await, Err(RepositoryError::NotFound)));
    }

    async fn a_hard_delete_removes_every_row_of_the_organization_only(storage: Storage) {
        let repo = storage.organizations();
        let owner = a_user(&storage, "owner@acme.io").await;
        let (doomed, kept) = (an_org("doomed"), an_org("kept"));
        repo.create(&doomed, Some(owner.id), None, &crate::entry(None)).await.unwrap();
        repo.create(&kept, Some(owner.id), None, &crate::entry(None)).await.unwrap();
        let now = Utc::now();
        for org in [doomed.id, kept.id] {
            storage.auth().insert(&RefreshTokenRecord {
                id: From::from(uuid::Uuid::now_v7()), family_id: From::from(uuid::Uuid::now_v7()), user_id: owner.id,
                organization_id: Some(org), token_hash: format!("{:064}", org.as_uuid().as_u128() % 1_000_000),
                created_at: now, expires_at: now + chrono::Duration::days(1), used_at: None, revoked_at: None,
            }).await.unwrap();
        }

        repo.delete_with_all_data(crate::scope(doomed.id), &crate::entry(None)).await.unwrap();

        assert!(repo.get(crate::scope(doomed.id)).await.unwrap().is_none());
        let left: Vec<OrganizationId> = storage.auth().memberships_of(owner.id).await.unwrap().iter().map(|m| m.organization_id).collect();
        assert_eq!(left, [kept.id]);
        assert!(matches!(repo.delete_with_all_data(crate::scope(doomed.id), &crate::entry(None)).await, Err(RepositoryError::NotFound)));
    }

    async fn stats_and_overview_count_what_exists(storage: Storage) {
        let repo = storage.organizations();
        let owner = a_user(&storage, "owner@acme.io").await;
        let acme = an_org("acme");
        repo.create(&acme, Some(owner.id), None, &crate::entry(None)).await.unwrap();
        let mut other = an_org("other");
        repo.create(&other, None, None, &crate::entry(None)).await.unwrap();
        other.is_active = false;
        repo.update(crate::scope(other.id), &other, crate::version(&storage, other.id).await, &crate::entry(None)).await.unwrap();

        let stats = repo.stats(crate::scope(acme.id)).await.unwrap();
        assert_eq!(stats.total_members, 1);
        assert_eq!(stats.members_by_role.get("owner"), Some(&1));

        let overview = repo.overview_across_organizations(crate::platform()).await.unwrap();
        assert_eq!((overview.active_organizations, overview.inactive_organizations), (1, 1));
        assert_eq!(overview.total_users, 1);
        assert_eq!(overview.total_memberships, 1);
    }
}
