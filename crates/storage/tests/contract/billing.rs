//! Contract of the billing store: the provider's customer kept once, events
//! stored once (even two at once), never applied backwards in provider time.

use chrono::{Duration, Utc};
use leadflow_kernel::OrganizationId;
use leadflow_storage::Storage;
use leadflow_subscriptions::billing::ports::Applied;
use leadflow_subscriptions::billing::{BillingRepository, BillingUpdate, EventOutcome, EventRecord};
use leadflow_subscriptions::{PlanId, SubscriptionStatus};

use crate::contract_tests;

async fn an_org(storage: &Storage, name: &str) -> OrganizationId {
    let owner = crate::auth::a_user(storage, &format!("owner@{name}.io")).await;
    let org = crate::organizations::an_org(name);
    leadflow_organizations::OrganizationRepository::create(
        &storage.organizations(),
        &org,
        Some(owner.id),
        None,
        &crate::entry(None),
    )
    .await
    .unwrap();
    org.id
}

fn record(id: &str, org: Option<OrganizationId>) -> EventRecord {
    EventRecord {
        id: id.into(),
        kind: "invoice.paid".into(),
        organization: org,
        outcome: EventOutcome::Applied,
        received_at: Utc::now(),
    }
}

contract_tests! {
    async fn the_customer_is_kept_once_and_found_by_its_id(storage: Storage) {
        let billing = storage.subscriptions();
        let org = an_org(&storage, "acme").await;
        assert_eq!(billing.organization_name(crate::scope(org)).await.unwrap().as_deref(), Some("acme"));
        assert_eq!(billing.keep_customer(crate::scope(org), "cus_1").await.unwrap(), "cus_1");
        // A second customer (a race lost) is not kept: the first stays.
        assert_eq!(billing.keep_customer(crate::scope(org), "cus_2").await.unwrap(), "cus_1");
        let found = billing.find_by_customer("cus_1").await.unwrap().unwrap();
        assert_eq!(found.organization_id, org);
        assert!(billing.find_by_customer("cus_2").await.unwrap().is_none());
    }

    async fn an_event_applies_once_and_never_backwards(storage: Storage) {
        let billing = storage.subscriptions();
        let org = an_org(&storage, "acme").await;
        let other = an_org(&storage, "other").await;
        billing.keep_customer(crate::scope(org), "cus_1").await.unwrap();
        let now = Utc::now();
        let past_due = BillingUpdate {
            plan: Some(PlanId::Pro),
            status: Some(SubscriptionStatus::PastDue),
            subscription_id: Some("sub_1".into()),
            period_start: Some(now - Duration::days(3)),
            cancel_at_period_end: Some(true),
        };
        let failed_at = now - Duration::hours(2);
        let applied = billing.apply_event(crate::scope(org), &record("evt_1", Some(org)), failed_at, &past_due, &crate::entry(Some(org))).await.unwrap();
        assert_eq!(applied, Applied::Written);
        let sub = billing.subscription(crate::scope(org)).await.unwrap().unwrap();
        assert_eq!((sub.plan, sub.stored_status), (PlanId::Pro, SubscriptionStatus::PastDue));
        assert_eq!(sub.external_subscription_id.as_deref(), Some("sub_1"));
        assert!(sub.cancel_at_period_end && sub.trial_ends_at.is_none());
        assert_eq!(sub.past_due_since.map(|t| t.timestamp()), Some(failed_at.timestamp()));
        assert_eq!(sub.period_anchor.timestamp(), (now - Duration::days(3)).timestamp());
        assert_eq!(sub.billing_updated_at.map(|t| t.timestamp()), Some(failed_at.timestamp()));
        // The other organization is untouched.
        let theirs = billing.subscription(crate::scope(other)).await.unwrap().unwrap();
        assert_eq!((theirs.plan, theirs.stored_status), (PlanId::Starter, SubscriptionStatus::Trialing));

        // The same id again: nothing.
        let active = BillingUpdate { status: Some(SubscriptionStatus::Active), ..BillingUpdate::default() };
        let again = billing.apply_event(crate::scope(org), &record("evt_1", Some(org)), now, &active, &crate::entry(Some(org))).await.unwrap();
        assert_eq!(again, Applied::Duplicate);
        // An older event: its id is stored, nothing else.
        let older = billing.apply_event(crate::scope(org), &record("evt_0", Some(org)), failed_at - Duration::hours(1), &active, &crate::entry(Some(org))).await.unwrap();
        assert_eq!(older, Applied::Stale);
        assert_eq!(billing.subscription(crate::scope(org)).await.unwrap().unwrap().stored_status, SubscriptionStatus::PastDue);
        assert!(!billing.record_event(&record("evt_0", None)).await.unwrap());
        // Past due again later keeps counting from the first failure.
        let still = billing.apply_event(crate::scope(org), &record("evt_2", Some(org)), now, &past_due, &crate::entry(Some(org))).await.unwrap();
        assert_eq!(still, Applied::Written);
        let sub = billing.subscription(crate::scope(org)).await.unwrap().unwrap();
        assert_eq!(sub.past_due_since.map(|t| t.timestamp()), Some(failed_at.timestamp()));
        // Active clears it.
        billing.apply_event(crate::scope(org), &record("evt_3", Some(org)), now, &active, &crate::entry(Some(org))).await.unwrap();
        let sub = billing.subscription(crate::scope(org)).await.unwrap().unwrap();
        assert_eq!((sub.stored_status, sub.past_due_since), (SubscriptionStatus::Active, None));

        billing.set_cancel_at_period_end(crate::scope(org), false, now, &crate::entry(Some(org))).await.unwrap();
        assert!(!billing.subscription(crate::scope(org)).await.unwrap().unwrap().cancel_at_period_end);
        assert!(billing.record_event(&record("evt_unknown", None)).await.unwrap());
    }

    async fn two_deliveries_of_one_event_at_once_apply_it_once(storage: Storage) {
        let org = an_org(&storage, "acme").await;
        for round in 0..8 {
            let id = format!("evt_{round}");
            let at = Utc::now() + Duration::seconds(round);
            let update = BillingUpdate { status: Some(SubscriptionStatus::Active), ..BillingUpdate::default() };
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let (billing, id, update) = (storage.subscriptions(), id.clone(), update.clone());
                    tokio::spawn(async move {
                        billing.apply_event(crate::scope(org), &record(&id, Some(org)), at, &update, &crate::entry(Some(org))).await.unwrap()
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            outcomes.sort_by_key(|o| format!("{o:?}"));
            assert_eq!(outcomes, [Applied::Duplicate, Applied::Written], "round {round}");
        }
    }
}
