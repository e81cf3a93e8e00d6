//! Contract of members, invitations and API keys.

use chrono::{Duration, Utc};
use leadflow_auth::api_keys::{ApiKey, ApiKeyRepository};
use leadflow_auth::invitations::{
    Invitation, InvitationRepository, InvitationStatus, InvitationStoreError, OutboxEmail,
};
use leadflow_auth::members::{MemberChangeError, MemberRepository};
use leadflow_auth::ports::AccessRepository;
use leadflow_kernel::{
    Clock as _, EmailAddress, OrganizationId, Permission, PermissionSet, Role, SystemClock, UserId,
};
use leadflow_organizations::OrganizationRepository;
use leadflow_storage::Storage;
use uuid::Uuid;

use crate::auth::a_user;
use crate::contract_tests;
use crate::organizations::an_org;

async fn org_with_owner(storage: &Storage, name: &str) -> (OrganizationId, UserId) {
    let owner = a_user(storage, &format!("owner@{name}.io")).await;
    let org = an_org(name);
    storage.organizations().create(&org, Some(owner.id), None, &crate::entry(None)).await.unwrap();
    (org.id, owner.id)
}

fn invitation(org: OrganizationId, email: &str, role: Role) -> Invitation {
    let now = SystemClock.now();
    Invitation {
        id: From::from(Uuid::now_v7()),
        organization_id: org,
        email: EmailAddress::parse(email).unwrap(),
        role,
        stored_status: InvitationStatus::Pending,
        invited_by: None,
        expires_at: now + Duration::days(7),
        accepted_at: None,
        created_at: now,
    }
}

fn outbox(org: OrganizationId, to: &str) -> OutboxEmail {
    OutboxEmail {
        id: Uuid::now_v7(),
        organization_id: Some(org),
        kind: "invitation".into(),
        recipient: to.into(),
        data: serde_json::json!({"role": "member", "expiresAt": "soon"}),
        secrets: std::collections::BTreeMap::from([("token".to_owned(), "t0k3n".to_owned())]),
        created_at: SystemClock.now(),
    }
}

fn key(org: OrganizationId, prefix: &str) -> ApiKey {
    ApiKey {
        id: From::from(Uuid::now_v7()),
        organization_id: org,
        name: "ci".into(),
        prefix: prefix.into(),
        scopes: PermissionSet::of(&[Permission::LeadsCreate, Permission::AuditView]),
        created_by: None,
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
        created_at: SystemClock.now(),
    }
}

fn invitations(storage: &Storage) -> impl InvitationRepository + Clone + 'static {
    storage.auth()
}

fn keys(storage: &Storage) -> impl ApiKeyRepository {
    storage.auth()
}

async fn add_member(storage: &Storage, org: OrganizationId, email: &str, role: Role) -> UserId {
    let user = a_user(storage, email).await;
    let inv = invitation(org, email, role);
    invitations(storage)
        .create(
            crate::scope(org),
            &inv,
            &format!("{:064x}", Uuid::now_v7().as_u128()),
            &outbox(org, email),
            &crate::entry(Some(org)),
        )
        .await
        .unwrap();
    invitations(storage).accept(&inv, user.id, SystemClock.now(), &crate::entry(Some(org))).await.unwrap();
    user.id
}

contract_tests! {
    async fn members_are_listed_with_their_roles(storage: Storage) {
        let (org, owner) = org_with_owner(&storage, "acme").await;
        let member = add_member(&storage, org, "m@acme.io", Role::Member).await;
        let members = storage.auth().members(crate::scope(org)).await.unwrap();
        let roles: Vec<(UserId, Role)> = members.iter().map(|m| (m.user_id, m.role)).collect();
        assert_eq!(roles, [(owner, Role::Owner), (member, Role::Member)]);
        assert_eq!(storage.auth().member(crate::scope(org), member).await.unwrap().unwrap().email, "m@acme.io");
        assert!(storage.auth().member(crate::scope(org), UserId::new()).await.unwrap().is_none());
    }

    async fn the_last_owner_can_be_neither_demoted_nor_removed(storage: Storage) {
        let (org, owner) = org_with_owner(&storage, "acme").await;
        let auth = storage.auth();
        assert!(matches!(auth.change_role(crate::scope(org), owner, Role::Admin, &crate::entry(Some(org))).await, Err(MemberChangeError::LastOwner)));
        assert!(matches!(auth.remove(crate::scope(org), owner, &crate::entry(Some(org))).await, Err(MemberChangeError::LastOwner)));
        assert_eq!(auth.member(crate::scope(org), owner).await.unwrap().unwrap().role, Role::Owner);

        let second = add_member(&storage, org, "second@acme.io", Role::Admin).await;
        auth.change_role(crate::scope(org), second, Role::Owner, &crate::entry(Some(org))).await.unwrap();
        auth.change_role(crate::scope(org), owner, Role::Member, &crate::entry(Some(org))).await.unwrap();
        assert!(matches!(auth.remove(crate::scope(org), UserId::new(), &crate::entry(Some(org))).await, Err(MemberChangeError::NotFound)));
    }

    async fn two_owners_demoting_each_other_at_once_leave_one_owner(storage: Storage) {
        let (org, first) = org_with_owner(&storage, "acme").await;
        let second = add_member(&storage, org, "second@acme.io", Role::Owner).await;
        let tasks = [first, second].map(|user| {
            let auth = storage.auth();
            tokio::spawn(async move { auth.change_role(crate::scope(org), user, Role::Member, &crate::entry(Some(org))).await })
        });
        let mut refused = 0;
        for t in tasks {
            if let Err(MemberChangeError::LastOwner) = t.await.unwrap() {
                refused += 1;
            }
        }
        assert_eq!(refused, 1);
        let owners = storage.auth().members(crate::scope(org)).await.unwrap().iter().filter(|m| m.role == Role::Owner).count();
        assert_eq!(owners, 1);
    }

    async fn removing_a_member_revokes_their_access_at_once(storage: Storage) {
        let (org, _) = org_with_owner(&storage, "acme").await;
        let member = add_member(&storage, org, "m@acme.io", Role::Manager).await;
        let auth = storage.auth();
        assert_eq!(auth.access(member, Some(org)).await.unwrap().unwrap().role, Some(Role::Manager));
        auth.remove(crate::scope(org), member, &crate::entry(Some(org))).await.unwrap();
        assert_eq!(auth.access(member, Some(org)).await.unwrap().unwrap().role, None);
    }

    async fn removing_a_member_revokes_the_keys_they_created_and_no_other(storage: Storage) {
        let (org, owner) = org_with_owner(&storage, "acme").await;
        let member = add_member(&storage, org, "m@acme.io", Role::Admin).await;
        let auth = storage.auth();
        let mut theirs = key(org, "theirs01");
        theirs.created_by = Some(member);
        let mut owners = key(org, "owners01");
        owners.created_by = Some(owner);
        for k in [&theirs, &owners] {
            ApiKeyRepository::create(&auth, crate::scope(org), k, &"f".repeat(64), &crate::entry(Some(org))).await.unwrap();
        }
        auth.remove(crate::scope(org), member, &crate::entry(Some(org))).await.unwrap();
        assert!(auth.find_by_prefix("theirs01").await.unwrap().unwrap().key.revoked_at.is_some());
        assert!(auth.find_by_prefix("owners01").await.unwrap().unwrap().key.revoked_at.is_none());
    }

    async fn a_new_invitation_replaces_the_pending_one_and_is_accepted_once(storage: Storage) {
        let (org, _) = org_with_owner(&storage, "acme").await;
        let auth = invitations(&storage);
        let first = invitation(org, "new@acme.io", Role::Member);
        auth.create(crate::scope(org), &first, &"a".repeat(64), &outbox(org, "new@acme.io"), &crate::entry(Some(org))).await.unwrap();
        let second = invitation(org, "new@acme.io", Role::Manager);
        auth.create(crate::scope(org), &second, &"b".repeat(64), &outbox(org, "new@acme.io"), &crate::entry(Some(org))).await.unwrap();

        let all = auth.list(crate::scope(org)).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(auth.get(crate::scope(org), first.id).await.unwrap().unwrap().stored_status, InvitationStatus::Revoked);
        assert_eq!(auth.find_by_token(&"b".repeat(64)).await.unwrap().unwrap().id, second.id);
        assert!(auth.get(crate::scope(OrganizationId::new()), second.id).await.unwrap().is_none());

        let user = a_user(&storage, "new@acme.io").await;
        assert!(matches!(auth.accept(&first, user.id, SystemClock.now(), &crate::entry(Some(org))).await, Err(InvitationStoreError::NotPending)));
        auth.accept(&second, user.id, SystemClock.now(), &crate::entry(Some(org))).await.unwrap();
        assert!(matches!(auth.accept(&second, user.id, SystemClock.now(), &crate::entry(Some(org))).await, Err(InvitationStoreError::NotPending)));
        assert_eq!(storage.auth().member(crate::scope(org), user.id).await.unwrap().unwrap().role, Role::Manager);
        assert!(matches!(auth.revoke(crate::scope(org), second.id, SystemClock.now(), &crate::entry(Some(org))).await, Err(InvitationStoreError::NotPending)));
    }

    async fn concurrent_acceptances_of_one_invitation_have_one_winner(storage: Storage) {
        let (org, _) = org_with_owner(&storage, "acme").await;
        let inv = invitation(org, "new@acme.io", Role::Member);
        invitations(&storage).create(crate::scope(org), &inv, &"c".repeat(64), &outbox(org, "new@acme.io"), &crate::entry(Some(org))).await.unwrap();
        let user = a_user(&storage, "new@acme.io").await;
        let tasks: Vec<_> = (0..6).map(|_| {
            let (auth, inv) = (invitations(&storage), inv.clone());
            tokio::spawn(async move { auth.accept(&inv, user.id, SystemClock.now(), &crate::entry(Some(org))).await })
        }).collect();
        let mut won = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                won += 1;
            }
        }
        assert_eq!(won, 1);
    }

    async fn an_invitations_token_is_kept_apart_and_forgotten_once_of_no_use(storage: Storage) {
        use leadflow_storage::entities::email_outbox;
        use sea_orm::EntityTrait as _;
        let (org, _) = org_with_owner(&storage, "acme").await;
        let auth = invitations(&storage);
        let secrets = |storage: &Storage| {
            let db = storage.connection().clone();
            async move {
                let mut rows = email_outbox::Entity::find().all(&db).await.unwrap();
                rows.sort_by_key(|r| r.created_at);
                rows.into_iter().map(|r| (r.body.contains("t0k3n"), r.secrets.is_some())).collect::<Vec<_>>()
            }
        };
        let first = invitation(org, "new@acme.io", Role::Member);
        auth.create(crate::scope(org), &first, &"a".repeat(64), &outbox(org, "new@acme.io"), &crate::entry(Some(org))).await.unwrap();
        assert_eq!(secrets(&storage).await, [(false, true)], "the body never holds the token");
        // A new invitation to the address replaces the first: its token is forgotten.
        let second = invitation(org, "new@acme.io", Role::Member);
        auth.create(crate::scope(org), &second, &"b".repeat(64), &outbox(org, "new@acme.io"), &crate::entry(Some(org))).await.unwrap();
        assert_eq!(secrets(&storage).await, [(false, false), (false, true)]);
        let user = a_user(&storage, "new@acme.io").await;
        auth.accept(&second, user.id, SystemClock.now(), &crate::entry(Some(org))).await.unwrap();
        assert_eq!(secrets(&storage).await, [(false, false), (false, false)], "an accepted invitation's token is forgotten");
        let third = invitation(org, "other@acme.io", Role::Member);
        auth.create(crate::scope(org), &third, &"c".repeat(64), &outbox(org, "other@acme.io"), &crate::entry(Some(org))).await.unwrap();
        auth.revoke(crate::scope(org), third.id, SystemClock.now(), &crate::entry(Some(org))).await.unwrap();
        assert!(secrets(&storage).await.iter().all(|(_, kept)| !kept), "a revoked invitation's token is forgotten");
    }

    async fn an_expired_invitation_cannot_be_accepted(storage: Storage) {
        let (org, _) = org_with_owner(&storage, "acme").await;
        let mut inv = invitation(org, "late@acme.io", Role::Member);
        inv.expires_at = SystemClock.now() - Duration::minutes(1);
        invitations(&storage).create(crate::scope(org), &inv, &"d".repeat(64), &outbox(org, "late@acme.io"), &crate::entry(Some(org))).await.unwrap();
        let user = a_user(&storage, "late@acme.io").await;
        assert!(matches!(invitations(&storage).accept(&inv, user.id, Utc::now(), &crate::entry(Some(org))).await, Err(InvitationStoreError::NotPending)));
    }

    async fn api_keys_are_found_by_prefix_revoked_and_rotated(storage: Storage) {
        let (org, _) = org_with_owner(&storage, "acme").await;
        let auth = keys(&storage);
        let k = key(org, "abcd1234");
        ApiKeyRepository::create(&auth, crate::scope(org), &k, &"e".repeat(64), &crate::entry(Some(org))).await.unwrap();

        let found = auth.find_by_prefix("abcd1234").await.unwrap().unwrap();
        assert_eq!(found.key, k);
        assert_eq!(found.secret_hash, "e".repeat(64));
        assert!(found.organization_active);
        assert_eq!(ApiKeyRepository::list(&auth, crate::scope(org)).await.unwrap().len(), 1);
        assert!(ApiKeyRepository::get(&auth, crate::scope(OrganizationId::new()), k.id).await.unwrap().is_none());

        let at = SystemClock.now();
        auth.touch(k.id, at).await.unwrap();
        assert_eq!(ApiKeyRepository::get(&auth, crate::scope(org), k.id).await.unwrap().unwrap().last_used_at, Some(at));

        auth.rotate(crate::scope(org), k.id, "wxyz9876", &"f".repeat(64), &crate::entry(Some(org))).await.unwrap();
        assert!(auth.find_by_prefix("abcd1234").await.unwrap().is_none());
        assert_eq!(auth.find_by_prefix("wxyz9876").await.unwrap().unwrap().secret_hash, "f".repeat(64));

        ApiKeyRepository::revoke(&auth, crate::scope(org), k.id, at, &crate::entry(Some(org))).await.unwrap();
        assert!(auth.find_by_prefix("wxyz9876").await.unwrap().unwrap().key.revoked_at.is_some());
    }
}
