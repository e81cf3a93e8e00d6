//! Contract of teams and the member directory.

use chrono::Utc;
use leadflow_auth::members::MemberRepository;
use leadflow_kernel::{OrganizationId, UserId};
use leadflow_organizations::OrganizationRepository;
use leadflow_organizations::teams::{
    MemberDirectory, Team, TeamChanges, TeamInput, TeamRepository, TeamStoreError,
};
use leadflow_storage::Storage;
use sea_orm::EntityTrait as _;

use crate::auth::a_user;
use crate::contract_tests;
use crate::organizations::an_org;

async fn setup(storage: &Storage) -> (OrganizationId, UserId) {
    let owner = a_user(storage, "owner@acme.io").await;
    let org = an_org("acme");
    storage.organizations().create(&org, Some(owner.id), None, &crate::entry(None)).await.unwrap();
    (org.id, owner.id)
}

fn team(org: OrganizationId, name: &str, leader: Option<UserId>) -> Team {
    Team::new(
        org,
        TeamInput { name: name.into(), description: Some("d".into()), leader_id: leader },
        Utc::now(),
    )
    .unwrap()
}

contract_tests! {
    async fn teams_are_scoped_named_uniquely_and_updated(storage: Storage) {
        let (org, owner) = setup(&storage).await;
        let teams = storage.teams();
        let sales = team(org, "Sales", Some(owner));
        teams.create(crate::scope(org), &sales, &crate::entry(Some(org))).await.unwrap();
        assert!(matches!(teams.create(crate::scope(org), &team(org, "Sales", None), &crate::entry(Some(org))).await, Err(TeamStoreError::NameTaken)));
        teams.create(crate::scope(org), &team(org, "Alpha", None), &crate::entry(Some(org))).await.unwrap();

        let names: Vec<String> = teams.list(crate::scope(org)).await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["Alpha", "Sales"]);
        assert!(teams.get(crate::scope(OrganizationId::new()), sales.id).await.unwrap().is_none());

        let mut renamed = teams.get(crate::scope(org), sales.id).await.unwrap().unwrap();
        let read_at = renamed.updated_at;
        renamed.apply(TeamChanges { name: Some("Field Sales".into()), leader_id: Some(None), ..Default::default() }, Utc::now()).unwrap();
        teams.update(crate::scope(org), &renamed, read_at, &crate::entry(Some(org))).await.unwrap();
        let read = teams.get(crate::scope(org), sales.id).await.unwrap().unwrap();
        assert_eq!((read.name.as_str(), read.leader_id), ("Field Sales", None));
        // A writer that read the earlier version is refused and writes nothing.
        let mut stale = read.clone();
        stale.apply(TeamChanges { name: Some("Stale".into()), ..Default::default() }, Utc::now()).unwrap();
        assert!(matches!(teams.update(crate::scope(org), &stale, read_at, &crate::entry(Some(org))).await, Err(TeamStoreError::Changed)));
        assert!(matches!(teams.update(crate::scope(OrganizationId::new()), &stale, read.updated_at, &crate::entry(Some(org))).await, Err(TeamStoreError::NotFound)));
        assert_eq!(teams.get(crate::scope(org), sales.id).await.unwrap().unwrap().name.as_str(), "Field Sales");

        teams.delete(crate::scope(org), sales.id, &crate::entry(Some(org))).await.unwrap();
        assert!(matches!(teams.delete(crate::scope(org), sales.id, &crate::entry(Some(org))).await, Err(TeamStoreError::NotFound)));
    }

    async fn only_members_join_and_leaving_the_organization_leaves_its_teams(storage: Storage) {
        let (org, owner) = setup(&storage).await;
        let teams = storage.teams();
        let sales = team(org, "Sales", Some(owner));
        teams.create(crate::scope(org), &sales, &crate::entry(Some(org))).await.unwrap();

        assert!(teams.is_member(crate::scope(org), owner).await.unwrap());
        let stranger = a_user(&storage, "stranger@x.io").await;
        assert!(!teams.is_member(crate::scope(org), stranger.id).await.unwrap());
        assert!(teams.add_member(crate::scope(org), sales.id, stranger.id, &crate::entry(Some(org))).await.is_err(), "the foreign key refuses non-members");

        assert!(teams.add_member(crate::scope(org), sales.id, owner, &crate::entry(Some(org))).await.unwrap());
        assert!(!teams.add_member(crate::scope(org), sales.id, owner, &crate::entry(Some(org))).await.unwrap());
        assert_eq!(teams.members(crate::scope(org), sales.id).await.unwrap()[0].email, "owner@acme.io");

        // A second owner lets the first leave: the team loses its member and its leader.
        let other = a_user(&storage, "other@acme.io").await;
        leadflow_storage::entities::membership::Entity::insert(leadflow_storage::entities::membership::ActiveModel {
            organization_id: sea_orm::Set(org.as_uuid()),
            user_id: sea_orm::Set(other.id.as_uuid()),
            role: sea_orm::Set("owner".into()),
            created_at: sea_orm::Set(Utc::now()),
        }).exec_without_returning(storage.connection()).await.unwrap();
        storage.auth().remove(crate::scope(org), owner, &crate::entry(Some(org))).await.unwrap();
        assert!(teams.members(crate::scope(org), sales.id).await.unwrap().is_empty());
        assert_eq!(teams.get(crate::scope(org), sales.id).await.unwrap().unwrap().leader_id, None);

        assert!(!teams.remove_member(crate::scope(org), sales.id, owner, &crate::entry(Some(org))).await.unwrap());
    }
}
