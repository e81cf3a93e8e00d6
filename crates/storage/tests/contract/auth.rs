//! Contract of the auth ports.

use chrono::{Duration, Utc};
use leadflow_auth::model::{PersonName, Username};
use leadflow_auth::ports::{
    AccessRepository, MembershipRepository, RefreshTokenRecord, RefreshTokenRepository, RegistrationError,
    RegistrationUnits, UserRepository,
};
use leadflow_auth::{OrganizationDraft, PasswordHash, User};
use leadflow_kernel::{Clock as _, EmailAddress, OrganizationId, Role, UserId};
use leadflow_organizations::OrganizationRepository;
use leadflow_storage::Storage;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use uuid::Uuid;

use crate::contract_tests;
use crate::organizations::an_org;

pub fn new_user(email: &str, username: Option<&str>) -> User {
    let now = Utc::now();
    User {
        id: UserId::new(),
        email: EmailAddress::parse(email).unwrap(),
        name: PersonName::parse("Test User").unwrap(),
        username: username.map(|u| Username::parse(u).unwrap()),
        is_super_admin: false,
        last_login_at: None,
        created_at: now,
        updated_at: now,
        email_verified_at: None,
    }
}

fn hash() -> PasswordHash {
    PasswordHash::from_phc("$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into())
}

/// A committed user.
pub async fn a_user(storage: &Storage, email: &str) -> User {
    let user = new_user(email, None);
    let mut unit = storage.auth().begin().await.unwrap();
    unit.insert_user(&user, &hash()).await.unwrap();
    unit.commit().await.unwrap();
    user
}

fn token(user: UserId, org: Option<OrganizationId>, family: Uuid) -> RefreshTokenRecord {
    let now = leadflow_kernel::SystemClock.now();
    RefreshTokenRecord {
        id: From::from(Uuid::now_v7()),
        family_id: From::from(family),
        user_id: user,
        organization_id: org,
        token_hash: format!("{:x}", Uuid::now_v7().as_u128()),
        created_at: now,
        expires_at: now + Duration::days(30),
        used_at: None,
        revoked_at: None,
    }
}

contract_tests! {
    async fn a_committed_registration_stores_user_organization_and_ownership(storage: Storage) {
        let auth = storage.auth();
        let user = new_user("Ada@Example.com", Some("ada"));
        let mut unit = auth.begin().await.unwrap();
        unit.insert_user(&user, &hash()).await.unwrap();
        let org = unit.create_organization(&OrganizationDraft { name: "acme".into(), display_name: Some("Acme".into()) }, user.id, Utc::now()).await.unwrap();
        unit.commit().await.unwrap();

        let stored = auth.by_email(&EmailAddress::parse("ADA@example.com").unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.user.id, user.id);
        assert_eq!(stored.password_hash, hash());
        assert_eq!(stored.user.username.as_ref().map(AsRef::as_ref), Some("ada"));
        let memberships = auth.memberships_of(user.id).await.unwrap();
        assert_eq!((memberships[0].organization_id, memberships[0].role), (org, Role::Owner));
        assert_eq!(memberships[0].organization_display_name, "Acme");
    }

    async fn an_uncommitted_registration_leaves_nothing(storage: Storage) {
        let auth = storage.auth();
        let user = new_user("ada@example.com", None);
        {
            let mut unit = auth.begin().await.unwrap();
            unit.insert_user(&user, &hash()).await.unwrap();
            unit.create_organization(&OrganizationDraft { name: "acme".into(), display_name: None }, user.id, Utc::now()).await.unwrap();
        }
        assert!(auth.by_id(user.id).await.unwrap().is_none());
        let all = storage.organizations().overview_across_organizations(crate::platform()).await.unwrap();
        assert_eq!(all.active_organizations, 0);
    }

    async fn registration_conflicts_and_invalid_organizations_are_reported(storage: Storage) {
        let auth = storage.auth();
        let first = new_user("ada@example.com", Some("ada"));
        let mut unit = auth.begin().await.unwrap();
        unit.insert_user(&first, &hash()).await.unwrap();
        unit.create_organization(&OrganizationDraft { name: "acme".into(), display_name: None }, first.id, Utc::now()).await.unwrap();
        unit.commit().await.unwrap();

        let mut unit = auth.begin().await.unwrap();
        let err = unit.insert_user(&new_user("ADA@example.com", None), &hash()).await.unwrap_err();
        assert!(matches!(err, RegistrationError::EmailTaken), "{err:?}");
        drop(unit);

        let mut unit = auth.begin().await.unwrap();
        let err = unit.insert_user(&new_user("bob@example.com", Some("ada")), &hash()).await.unwrap_err();
        assert!(matches!(err, RegistrationError::UsernameTaken), "{err:?}");
        drop(unit);

        let bob = new_user("bob@example.com", None);
        let mut unit = auth.begin().await.unwrap();
        unit.insert_user(&bob, &hash()).await.unwrap();
        let err = unit.create_organization(&OrganizationDraft { name: "Not A Slug".into(), display_name: None }, bob.id, Utc::now()).await.unwrap_err();
        assert!(matches!(err, RegistrationError::InvalidOrganization(_)), "{err:?}");
        let err = unit.create_organization(&OrganizationDraft { name: "acme".into(), display_name: None }, bob.id, Utc::now()).await.unwrap_err();
        assert!(matches!(err, RegistrationError::OrganizationNameTaken(_)), "{err:?}");
    }

    async fn logins_are_recorded(storage: Storage) {
        let user = a_user(&storage, "ada@example.com").await;
        let at = Utc::now();
        storage.auth().record_login(user.id, at).await.unwrap();
        let stored = storage.auth().by_id(user.id).await.unwrap().unwrap();
        assert_eq!(stored.user.last_login_at.map(|t| t.timestamp_micros()), Some(at.timestamp_micros()));
    }

    async fn a_password_change_revokes_every_refresh_token(storage: Storage) {
        let auth = storage.auth();
        let user = a_user(&storage, "ada@example.com").await;
        let (a, b) = (token(user.id, None, Uuid::now_v7()), token(user.id, None, Uuid::now_v7()));
        auth.insert(&a).await.unwrap();
        auth.insert(&b).await.unwrap();
        let new_hash = PasswordHash::from_phc("$argon2id$new".into());

        auth.change_password(user.id, &new_hash, Utc::now(), &crate::entry(None)).await.unwrap();

        assert_eq!(auth.by_id(user.id).await.unwrap().unwrap().password_hash, new_hash);
        for t in [a, b] {
            assert!(auth.find_by_hash(&t.token_hash).await.unwrap().unwrap().revoked_at.is_some());
        }
    }

    async fn a_promotion_replaces_the_password_and_ends_every_session(storage: Storage) {
        let auth = storage.auth();
        assert!(!auth.super_admin_exists().await.unwrap());
        let existing = a_user(&storage, "ada@example.com").await;
        let session = token(existing.id, None, Uuid::now_v7());
        auth.insert(&session).await.unwrap();
        let new_hash = PasswordHash::from_phc("$promoted".into());
        auth.promote_to_super_admin(existing.id, &new_hash, Utc::now(), &crate::entry(None)).await.unwrap();
        let stored = auth.by_id(existing.id).await.unwrap().unwrap();
        assert!(stored.user.is_super_admin);
        assert_eq!(stored.password_hash, new_hash, "the old password no longer works");
        assert!(auth.find_by_hash(&session.token_hash).await.unwrap().unwrap().revoked_at.is_some());
        assert!(auth.super_admin_exists().await.unwrap());
    }

    async fn a_new_super_admin_is_never_an_existing_account(storage: Storage) {
        let auth = storage.auth();
        let existing = a_user(&storage, "ada@example.com").await;
        let mut clash = new_user("ada@example.com", None);
        clash.is_super_admin = true;
        assert!(!auth.insert_super_admin(&clash, &hash()).await.unwrap());
        assert!(!auth.by_id(existing.id).await.unwrap().unwrap().user.is_super_admin);
        let mut fresh = new_user("root@example.com", None);
        fresh.is_super_admin = true;
        assert!(auth.insert_super_admin(&fresh, &hash()).await.unwrap());
        assert!(auth.by_id(fresh.id).await.unwrap().unwrap().user.is_super_admin);
    }

    async fn a_refresh_token_rotates_exactly_once(storage: Storage) {
        let auth = storage.auth();
        let user = a_user(&storage, "ada@example.com").await;
        let family = Uuid::now_v7();
        let first = token(user.id, None, family);
        auth.insert(&first).await.unwrap();
        assert_eq!(auth.find_by_hash(&first.token_hash).await.unwrap().unwrap(), first);

        let second = token(user.id, None, family);
        assert!(auth.rotate(first.id, &second, Utc::now()).await.unwrap());
        let third = token(user.id, None, family);
        assert!(!auth.rotate(first.id, &third, Utc::now()).await.unwrap());
        assert!(auth.find_by_hash(&third.token_hash).await.unwrap().is_none());
        assert!(auth.find_by_hash(&first.token_hash).await.unwrap().unwrap().used_at.is_some());

        auth.revoke_family(From::from(family), Utc::now()).await.unwrap();
        assert!(auth.find_by_hash(&second.token_hash).await.unwrap().unwrap().revoked_at.is_some());
        let fourth = token(user.id, None, family);
        assert!(!auth.rotate(second.id, &fourth, Utc::now()).await.unwrap());
    }

    async fn a_refresh_racing_a_logout_or_a_password_change_leaves_no_live_token(storage: Storage) {
        use leadflow_auth::ports::UserRepository as _;
        let user = a_user(&storage, "ada@example.com").await;
        for round in 0..30 {
            let family = Uuid::now_v7();
            let used = token(user.id, None, family);
            storage.auth().insert(&used).await.unwrap();
            let next = token(user.id, None, family);
            let (rotator, revoker) = (storage.auth(), storage.auth());
            let rotate = async move { rotator.rotate(used.id, &next, Utc::now()).await.unwrap() };
            let revoke = async move {
                if round % 2 == 0 {
                    revoker.revoke_family(From::from(family), Utc::now()).await.unwrap();
                } else {
                    let hash = PasswordHash::from_phc(format!("$round{round}"));
                    revoker.change_password(user.id, &hash, Utc::now(), &crate::entry(None)).await.unwrap();
                }
            };
            let (rotated, ()) = tokio::join!(tokio::spawn(rotate), revoke);
            let _ = rotated.unwrap();
            let live = leadflow_storage::entities::refresh_token::Entity::find()
                .filter(leadflow_storage::entities::refresh_token::Column::FamilyId.eq(family))
                .filter(leadflow_storage::entities::refresh_token::Column::RevokedAt.is_null())
                .count(storage.connection())
                .await
                .unwrap();
            assert_eq!(live, 0, "round {round}: a token outlived the revocation");
        }
    }

    async fn a_disabled_user_is_refused_everywhere_and_listed_as_such(storage: Storage) {
        use leadflow_auth::ports::{AccessRepository as _, UserRepository as _};
        let auth = storage.auth();
        let ada = a_user(&storage, "ada@example.com").await;
        a_user(&storage, "bob@example.com").await;
        let session = token(ada.id, None, Uuid::now_v7());
        auth.insert(&session).await.unwrap();
        assert!(!auth.access(ada.id, None).await.unwrap().unwrap().disabled);

        let at = leadflow_kernel::SystemClock.now();
        assert!(auth.set_disabled(crate::platform(), ada.id, Some(at), &crate::entry(None)).await.unwrap());
        assert!(auth.access(ada.id, None).await.unwrap().unwrap().disabled, "the cached answer was dropped");
        assert_eq!(auth.by_id(ada.id).await.unwrap().unwrap().disabled_at, Some(at));
        assert!(auth.find_by_hash(&session.token_hash).await.unwrap().unwrap().revoked_at.is_some());
        let page = leadflow_kernel::KeysetPage::new(Some(10), None).unwrap();
        let found = auth.page_across_organizations(crate::platform(), Some("ADA".into()), page).await.unwrap();
        assert_eq!(found.items.len(), 1);
        assert_eq!(found.items[0].disabled_at, Some(at));
        assert_eq!(auth.page_across_organizations(crate::platform(), None, page).await.unwrap().items.len(), 2);

        assert!(auth.set_disabled(crate::platform(), ada.id, None, &crate::entry(None)).await.unwrap());
        assert!(!auth.access(ada.id, None).await.unwrap().unwrap().disabled);
        assert!(!auth.set_disabled(crate::platform(), UserId::new(), None, &crate::entry(None)).await.unwrap());
    }

    async fn login_failures_are_one_budget_for_every_process_and_never_lock_out_a_fresh_address(storage: Storage) {
        use leadflow_auth::throttle::{LoginThrottle as _, ThrottlePolicy, ThrottleVerdict};
        let policy = ThrottlePolicy { per_account_and_ip: 3, per_ip: 5, slow_account_after: 4, ..ThrottlePolicy::default() };
        // Two processes on one database: what one counts, the other enforces.
        let (first, second) = (storage.login_throttle(policy), storage.login_throttle(policy));
        let attacker = || Some("203.0.113.7".to_owned());
        for _ in 0..3 {
            first.failure("ada@example.com", attacker()).await;
        }
        assert!(matches!(second.check("ada@example.com", attacker()).await, ThrottleVerdict::Refuse(_)));
        assert_eq!(second.check("ada@example.com", Some("198.51.100.1".into())).await, ThrottleVerdict::Allow, "the owner's address is not locked out");
        second.failure("ada@example.com", Some("198.51.100.2".into())).await;
        assert!(matches!(first.check("ada@example.com", Some("198.51.100.9".into())).await, ThrottleVerdict::Slow(_)), "many failures on one account only slow it down");
        first.failure("bob@example.com", attacker()).await;
        first.failure("eve@example.com", attacker()).await;
        assert!(matches!(second.check("carol@example.com", attacker()).await, ThrottleVerdict::Refuse(_)), "the address is refused across accounts");
        second.success("ada@example.com", Some("198.51.100.1".into())).await;
        assert_eq!(first.check("ada@example.com", Some("198.51.100.9".into())).await, ThrottleVerdict::Allow, "a success clears the account");
        assert_eq!(first.forget_expired().await, 0, "nothing has expired yet");
    }

    async fn an_action_budget_is_shared_and_refuses_beyond_its_limit(storage: Storage) {
        use leadflow_auth::throttle::{ActionBudget as _, ThrottlePolicy};
        let (first, second) =
            (storage.login_throttle(ThrottlePolicy::default()), storage.login_throttle(ThrottlePolicy::default()));
        let hour = std::time::Duration::from_secs(3600);
        for _ in 0..3 {
            first.spend("register:203.0.113.7", 3, hour).await.unwrap();
        }
        let wait = second.spend("register:203.0.113.7", 3, hour).await.unwrap_err();
        assert!(wait > std::time::Duration::from_secs(3500), "{wait:?}");
        second.spend("register:198.51.100.1", 3, hour).await.unwrap();
        // A spent window starts over once it has passed.
        let instant = std::time::Duration::from_millis(1);
        first.spend("invite:x", 1, instant).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        first.spend("invite:x", 1, instant).await.unwrap();
    }

    async fn concurrent_rotations_of_one_token_have_one_winner(storage: Storage) {
        let auth = storage.auth();
        let user = a_user(&storage, "ada@example.com").await;
        let family = Uuid::now_v7();
        let first = token(user.id, None, family);
        auth.insert(&first).await.unwrap();
        let attempts = (0..8).map(|_| {
            let auth = auth.clone();
            let next = token(user.id, None, family);
            tokio::spawn(async move { auth.rotate(first.id, &next, Utc::now()).await })
        });
        let mut winners = 0;
        for attempt in attempts {
            if let Ok(true) = attempt.await.unwrap() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
    }

    async fn access_reflects_membership_and_activation_at_once(storage: Storage) {
        let auth = storage.auth();
        let user = a_user(&storage, "ada@example.com").await;
        let mut org = an_org("acme");
        storage.organizations().create(&org, Some(user.id), None, &crate::entry(None)).await.unwrap();

        let state = auth.access(user.id, Some(org.id)).await.unwrap().unwrap();
        assert_eq!((state.organization_active, state.role, state.super_admin), (Some(true), Some(Role::Owner), false));

        org.is_active = false;
        storage.organizations().update(crate::scope(org.id), &org, crate::version(&storage, org.id).await, &crate::entry(None)).await.unwrap();
        assert_eq!(auth.access(user.id, Some(org.id)).await.unwrap().unwrap().organization_active, Some(false));

        let stranger = auth.access(user.id, Some(OrganizationId::new())).await.unwrap().unwrap();
        assert_eq!((stranger.organization_active, stranger.role), (None, None));
        assert!(auth.access(UserId::new(), None).await.unwrap().is_none());

        storage.organizations().delete_with_all_data(crate::scope(org.id), &crate::entry(None)).await.unwrap();
        assert_eq!(auth.access(user.id, Some(org.id)).await.unwrap().unwrap().organization_active, None);
    }
}

mod account_tokens {
    use super::*;
    use leadflow_auth::model::{IssuedToken, TokenPurpose, token_email};
    use leadflow_auth::ports::UserTokenRepository;

    fn issued(user: UserId, purpose: TokenPurpose, hash: &str) -> IssuedToken {
        let now = Utc::now();
        IssuedToken {
            id: Uuid::now_v7(),
            user_id: user,
            purpose,
            token_hash: hash.to_owned(),
            expires_at: now + purpose.ttl(),
            created_at: now,
        }
    }

    contract_tests! {
        async fn a_reset_token_is_spent_once_with_the_new_password_and_ends_every_session(storage: Storage) {
            let auth = storage.auth();
            let user = a_user(&storage, "ada@example.com").await;
            let session = token(user.id, None, Uuid::now_v7());
            auth.insert(&session).await.unwrap();
            let now = Utc::now();
            auth.issue(&issued(user.id, TokenPurpose::PasswordReset, "h1"), &token_email(&user, TokenPurpose::PasswordReset, "t1", now)).await.unwrap();
            // A newer link replaces the older one.
            auth.issue(&issued(user.id, TokenPurpose::PasswordReset, "h2"), &token_email(&user, TokenPurpose::PasswordReset, "t2", now)).await.unwrap();
            assert!(auth.find("h1").await.unwrap().unwrap().used_at.is_some());
            let stored = auth.find("h2").await.unwrap().unwrap();
            assert!(stored.usable_for(TokenPurpose::PasswordReset, now));
            assert!(!stored.usable_for(TokenPurpose::EmailVerification, now));
            assert!(auth.find("nope").await.unwrap().is_none());
            // Each issue queued its email, with the token kept apart from the body.
            let mails = leadflow_storage::entities::email_outbox::Entity::find().all(storage.connection()).await.unwrap();
            assert_eq!(mails.len(), 2);
            assert!(mails.iter().all(|m| m.kind == "password_reset" && !m.body.contains("t1") && !m.body.contains("t2")));

            let new_hash = PasswordHash::from_phc("$argon2id$new".into());
            assert!(!auth.reset_password("h1", user.id, &new_hash, now, &crate::entry(None)).await.unwrap(), "replaced");
            assert!(!auth.reset_password("h2", UserId::new(), &new_hash, now, &crate::entry(None)).await.unwrap(), "another user's");
            assert!(auth.reset_password("h2", user.id, &new_hash, now, &crate::entry(None)).await.unwrap());
            assert!(!auth.reset_password("h2", user.id, &new_hash, now, &crate::entry(None)).await.unwrap(), "single use");
            assert_eq!(auth.by_id(user.id).await.unwrap().unwrap().password_hash.as_phc(), "$argon2id$new");
            let revoked = leadflow_storage::entities::refresh_token::Entity::find_by_id(session.id.as_uuid()).one(storage.connection()).await.unwrap().unwrap();
            assert!(revoked.revoked_at.is_some());
        }

        async fn a_verification_token_marks_the_address_verified_and_expires(storage: Storage) {
            let auth = storage.auth();
            let user = a_user(&storage, "ada@example.com").await;
            let now = Utc::now();
            let mut expired = issued(user.id, TokenPurpose::EmailVerification, "old");
            expired.expires_at = now - Duration::minutes(1);
            auth.issue(&expired, &token_email(&user, TokenPurpose::EmailVerification, "x", now)).await.unwrap();
            assert!(!auth.verify_email("old", user.id, now, &crate::entry(None)).await.unwrap());
            auth.issue(&issued(user.id, TokenPurpose::EmailVerification, "v1"), &token_email(&user, TokenPurpose::EmailVerification, "y", now)).await.unwrap();
            assert!(auth.verify_email("v1", user.id, now, &crate::entry(None)).await.unwrap());
            assert!(auth.by_id(user.id).await.unwrap().unwrap().user.email_verified_at.is_some());
            assert!(auth.access(user.id, None).await.unwrap().unwrap().email_verified);
        }
    }
}
