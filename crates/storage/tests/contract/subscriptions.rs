//! Contract of subscriptions, seats and the lead quota.

use chrono::Utc;
use leadflow_auth::invitations::{
    Invitation, InvitationRepository, InvitationStatus, InvitationStoreError, OutboxEmail,
};
use leadflow_kernel::{Clock as _, EmailAddress, OffsetPage, OrganizationId, Role, SystemClock};
use leadflow_leads::ports::{QuotaOutcome, SubmissionUnits};
use leadflow_organizations::{ListScope, OrganizationFilter, OrganizationRepository, RepositoryError};
use leadflow_storage::Storage;
use leadflow_subscriptions::{
    PlanId, SubscriptionRepository, SubscriptionStatus, SubscriptionStoreError, UsageMeter,
};
use sea_orm::{ConnectionTrait as _, EntityTrait as _};
use uuid::Uuid;

use crate::auth::a_user;
use crate::contract_tests;
use crate::organizations::an_org;

/// `n` submissions of `org` taking the quota at once, each in its own committed unit.
async fn take_concurrently(storage: &Storage, org: OrganizationId, n: usize) -> Vec<QuotaOutcome> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let leads = storage.leads();
            tokio::spawn(async move {
                let mut unit = leads.begin().await.unwrap();
                let outcome = unit.take_quota(crate::scope(org), SystemClock.now()).await.unwrap();
                unit.commit().await.unwrap();
                outcome
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(n);
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    outcomes
}

async fn org_on(storage: &Storage, name: &str, plan: Option<&str>) -> OrganizationId {
    let owner = a_user(storage, &format!("owner@{name}.io")).await;
    let org = an_org(name);
    storage
        .organizations()
        .create(&org, Some(owner.id), plan.map(str::to_owned), &crate::entry(None))
        .await
        .unwrap();
    org.id
}

fn invite(org: OrganizationId, email: &str) -> (Invitation, OutboxEmail) {
    let now = SystemClock.now();
    let inv = Invitation {
        id: From::from(Uuid::now_v7()),
        organization_id: org,
        email: EmailAddress::parse(email).unwrap(),
        role: Role::Member,
        stored_status: InvitationStatus::Pending,
        invited_by: None,
        expires_at: now + chrono::Duration::days(7),
        accepted_at: None,
        created_at: now,
    };
    let mail = OutboxEmail {
        id: Uuid::now_v7(),
        organization_id: Some(org),
        kind: "invitation".into(),
        recipient: email.into(),
        data: serde_json::json!({"role": "member", "expiresAt": "soon"}),
        secrets: std::collections::BTreeMap::from([("token".to_owned(), "t0k3n".to_owned())]),
        created_at: now,
    };
    (inv, mail)
}

async fn try_invite(storage: &Storage, org: OrganizationId, email: &str) -> Result<(), InvitationStoreError> {
    let (inv, mail) = invite(org, email);
    let hash = format!("{:064x}", Uuid::now_v7().as_u128());
    InvitationRepository::create(
        &storage.auth(),
        crate::scope(org),
        &inv,
        &hash,
        &mail,
        &crate::entry(Some(org)),
    )
    .await
}

async fn set_usage(storage: &Storage, org: OrganizationId, used: i64) {
    let sub = storage.subscriptions().get(crate::scope(org)).await.unwrap().unwrap();
    let period = sub.period(SystemClock.now());
    leadflow_storage::entities::usage_counter::Entity::insert(
        leadflow_storage::entities::usage_counter::ActiveModel {
            organization_id: sea_orm::Set(org.as_uuid()),
            meter: sea_orm::Set("leads".into()),
            period_start: sea_orm::Set(period.start),
            used: sea_orm::Set(used),
        },
    )
    .exec_without_returning(storage.connection())
    .await
    .unwrap();
}

contract_tests! {
    async fn a_new_organization_starts_a_starter_trial(storage: Storage) {
        let org = org_on(&storage, "acme", None).await;
        let sub = storage.subscriptions().get(crate::scope(org)).await.unwrap().unwrap();
        assert_eq!(sub.plan, PlanId::Starter);
        assert_eq!(sub.status(Utc::now()), SubscriptionStatus::Trialing);
        assert_eq!(sub.trial_ends_at.unwrap() - sub.period_anchor, chrono::Duration::days(14));

        let pro = org_on(&storage, "bigco", Some("pro")).await;
        assert_eq!(storage.subscriptions().get(crate::scope(pro)).await.unwrap().unwrap().plan, PlanId::Pro);
        let owner = a_user(&storage, "x@y.io").await;
        let bad = storage.organizations().create(&an_org("badco"), Some(owner.id), Some("gold".into()), &crate::entry(None)).await;
        assert!(matches!(bad, Err(RepositoryError::Invalid(_))));

        let tier = OrganizationFilter { tier: Some("pro".into()), ..Default::default() };
        let listed = storage.organizations().list(ListScope::AcrossOrganizations(crate::platform()), &tier, OffsetPage::default()).await.unwrap();
        assert_eq!(listed.items.iter().map(|o| o.id).collect::<Vec<_>>(), [pro]);
    }

    async fn seats_count_members_and_pending_invitations(storage: Storage) {
        let org = org_on(&storage, "acme", None).await;
        try_invite(&storage, org, "a@acme.io").await.unwrap();
        try_invite(&storage, org, "b@acme.io").await.unwrap();
        assert!(matches!(try_invite(&storage, org, "c@acme.io").await, Err(InvitationStoreError::SeatLimit { limit: 3 })));
        // Re-inviting a pending address replaces it and needs no new seat.
        try_invite(&storage, org, "b@acme.io").await.unwrap();
        assert_eq!(storage.subscriptions().seats_used(crate::scope(org), SystemClock.now()).await.unwrap(), 3);

        // Three people: a downgrade is fine, but not below them.
        let at = SystemClock.now();
        storage.subscriptions().change_plan(crate::scope(org), &leadflow_subscriptions::Terms::active(PlanId::Pro), at, &crate::entry(Some(org))).await.unwrap();
        try_invite(&storage, org, "c@acme.io").await.unwrap();
        let refused = storage.subscriptions().change_plan(crate::scope(org), &leadflow_subscriptions::Terms::active(PlanId::Starter), at, &crate::entry(Some(org))).await;
        assert!(matches!(refused, Err(SubscriptionStoreError::TooManySeats { people: 4, limit: 3 })));
        let sub = storage.subscriptions().get(crate::scope(org)).await.unwrap().unwrap();
        assert_eq!((sub.plan, sub.stored_status), (PlanId::Pro, SubscriptionStatus::Active));
    }

    async fn concurrent_invitations_take_exactly_the_seats_left(storage: Storage) {
        let org = org_on(&storage, "acme", None).await;
        let tasks: Vec<_> = (0..12).map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move { try_invite(&storage, org, &format!("p{i}@acme.io")).await })
        }).collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(InvitationStoreError::SeatLimit { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 2, "3 seats, the owner holds one");
    }

    async fn the_quota_is_exact_under_concurrency(storage: Storage) {
        let org = org_on(&storage, "acme", None).await;
        set_usage(&storage, org, 95).await;
        let mut taken = 0;
        for outcome in take_concurrently(&storage, org, 20).await {
            match outcome {
                QuotaOutcome::Taken => taken += 1,
                QuotaOutcome::Spent { limit, .. } => assert_eq!(limit, 100),
                QuotaOutcome::Closed => panic!("closed"),
            }
        }
        assert_eq!(taken, 5);
        let period = storage.subscriptions().get(crate::scope(org)).await.unwrap().unwrap().period(SystemClock.now());
        assert_eq!(storage.subscriptions().used(crate::scope(org), UsageMeter::Leads, period.start).await.unwrap(), 100);
    }

    async fn an_uncommitted_submission_consumes_no_quota_and_a_canceled_subscription_takes_none(storage: Storage) {
        let org = org_on(&storage, "acme", None).await;
        {
            let mut unit = storage.leads().begin().await.unwrap();
            assert_eq!(unit.take_quota(crate::scope(org), SystemClock.now()).await.unwrap(), QuotaOutcome::Taken);
        }
        let period = storage.subscriptions().get(crate::scope(org)).await.unwrap().unwrap().period(SystemClock.now());
        assert_eq!(storage.subscriptions().used(crate::scope(org), UsageMeter::Leads, period.start).await.unwrap(), 0);

        storage.connection().execute_unprepared("UPDATE subscriptions SET status = 'canceled'").await.unwrap();
        let mut unit = storage.leads().begin().await.unwrap();
        assert_eq!(unit.take_quota(crate::scope(org), SystemClock.now()).await.unwrap(), QuotaOutcome::Closed);
    }

    async fn unlimited_usage_is_counted_in_shards_and_still_bounds_a_later_limit(storage: Storage) {
        let org = org_on(&storage, "acme", Some("enterprise")).await;
        let taken = |outcomes: Vec<QuotaOutcome>| outcomes.iter().filter(|o| **o == QuotaOutcome::Taken).count();
        assert_eq!(taken(take_concurrently(&storage, org, 30).await), 30);
        let period = storage.subscriptions().get(crate::scope(org)).await.unwrap().unwrap().period(SystemClock.now());
        assert_eq!(storage.subscriptions().used(crate::scope(org), UsageMeter::Leads, period.start).await.unwrap(), 30);
        // Down to starter (100 a month) in the same period: 70 are left, not 100.
        storage.subscriptions().change_plan(crate::scope(org), &leadflow_subscriptions::Terms::active(PlanId::Starter), SystemClock.now(), &crate::entry(Some(org))).await.unwrap();
        assert_eq!(taken(take_concurrently(&storage, org, 90).await), 70);
        assert_eq!(storage.subscriptions().used(crate::scope(org), UsageMeter::Leads, period.start).await.unwrap(), 100);
    }
}

contract_tests! {
    async fn the_token_budget_is_the_plans_and_counts_what_was_spent(storage: Storage) {
        use leadflow_workflows::ports::TokenBudget as _;
        let starter = org_on(&storage, "acme", None).await;
        let big = org_on(&storage, "bigco", Some("enterprise")).await;
        let budget = storage.workflows();
        let now = Utc::now();
        assert_eq!(budget.remaining(crate::scope(starter), now).await.unwrap(), Some(200_000));
        // Spent concurrently, counted exactly.
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let budget = storage.workflows();
                tokio::spawn(async move { budget.spend(crate::scope(starter), 15_000, now).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(budget.remaining(crate::scope(starter), now).await.unwrap(), Some(50_000));
        budget.spend(crate::scope(starter), 60_000, now).await.unwrap();
        assert_eq!(budget.remaining(crate::scope(starter), now).await.unwrap(), Some(0));
        let used = storage.subscriptions().used(crate::scope(starter), UsageMeter::LlmTokens, storage.subscriptions().get(crate::scope(starter)).await.unwrap().unwrap().period(now).start).await.unwrap();
        assert_eq!(used, 210_000);
        // Unlimited plans have no budget; another organization's spending is not ours.
        assert_eq!(budget.remaining(crate::scope(big), now).await.unwrap(), None);
        budget.spend(crate::scope(big), 1_000_000, now).await.unwrap();
        assert_eq!(budget.remaining(crate::scope(starter), now).await.unwrap(), Some(0));
        let fresh = org_on(&storage, "fresh", None).await;
        assert_eq!(budget.remaining(crate::scope(fresh), now).await.unwrap(), Some(200_000));
    }
}
