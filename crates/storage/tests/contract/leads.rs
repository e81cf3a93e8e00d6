//! Contract of the lead repository and the submission unit.

use chrono::{Duration, Utc};
use leadflow_kernel::{Clock as _, KeysetPage, OrganizationId, SystemClock, UserId};
use leadflow_leads::ports::{IdempotencyClaim, LeadRepository, LeadWorkers, SubmissionUnits};
use leadflow_leads::{Lead, LeadFilter, LeadId, LeadInput, LeadStatus, Visibility};
use leadflow_organizations::OrganizationRepository;
use leadflow_storage::Storage;

use crate::auth::a_user;
use crate::contract_tests;
use crate::organizations::an_org;

pub(crate) async fn org(storage: &Storage, name: &str) -> (OrganizationId, UserId) {
    let owner = a_user(storage, &format!("owner@{name}.io")).await;
    let org = an_org(name);
    storage
        .organizations()
        .create(&org, Some(owner.id), Some("enterprise".into()), &crate::entry(None))
        .await
        .unwrap();
    (org.id, owner.id)
}

fn lead(org: OrganizationId, email: &str, name: &str, at: chrono::DateTime<Utc>) -> Lead {
    Lead::new(
        org,
        LeadInput {
            email: email.into(),
            name: name.into(),
            message: "hi".into(),
            company: Some("Acme Corp".into()),
            ..Default::default()
        },
        at,
    )
    .unwrap()
}

async fn submit(storage: &Storage, l: &Lead) {
    let mut unit = storage.leads().begin().await.unwrap();
    unit.take_quota(crate::scope(l.organization_id), l.created_at).await.unwrap();
    unit.insert_lead(crate::scope(l.organization_id), l).await.unwrap();
    unit.record(&crate::entry(Some(l.organization_id))).await.unwrap();
    unit.commit().await.unwrap();
}

contract_tests! {
    async fn leads_read_back_exactly_and_stay_in_their_organization(storage: Storage) {
        let (acme, _) = org(&storage, "acme").await;
        let (globex, _) = org(&storage, "globex").await;
        let mut l = lead(acme, "ada@example.com", "Ada", SystemClock.now());
        l.metadata.insert("utm".into(), serde_json::json!({ "campaign": "spring" }));
        submit(&storage, &l).await;
        let repo = storage.leads();
        assert_eq!(repo.get(crate::scope(acme), l.id, &Visibility::All).await.unwrap().unwrap(), l);
        assert!(repo.get(crate::scope(globex), l.id, &Visibility::All).await.unwrap().is_none());
        assert!(repo.get(crate::scope(acme), LeadId::new(), &Visibility::All).await.unwrap().is_none());
    }

    async fn pages_are_newest_first_stable_and_filtered(storage: Storage) {
        let (acme, owner) = org(&storage, "acme").await;
        let base = SystemClock.now() - Duration::hours(1);
        for i in 0..7 {
            let mut l = lead(acme, &format!("l{i}@example.com"), &format!("Lead {i}"), base + Duration::minutes(i));
            if i % 2 == 0 {
                l.assignee_id = Some(owner);
            }
            submit(&storage, &l).await;
        }
        let repo = storage.leads();
        let mut seen = Vec::new();
        let mut page = KeysetPage::new(Some(3), None).unwrap();
        loop {
            let got = repo.page(crate::scope(acme), &LeadFilter::default(), &Visibility::All, page).await.unwrap();
            seen.extend(got.items.iter().map(|l| l.name.clone()));
            // A lead arriving mid-pagination does not shift the pages.
            if seen.len() == 3 {
                submit(&storage, &lead(acme, "new@example.com", "Newest", SystemClock.now())).await;
            }
            match got.next {
                Some(c) => page.after = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ["Lead 6", "Lead 5", "Lead 4", "Lead 3", "Lead 2", "Lead 1", "Lead 0"]);

        let mine = repo.page(crate::scope(acme), &LeadFilter::default(), &Visibility::AssignedTo(vec![owner]), KeysetPage::new(None, None).unwrap()).await.unwrap();
        assert_eq!(mine.items.len(), 4);
        let search = LeadFilter { search: Some("L3@EXAMPLE".into()), ..Default::default() };
        assert_eq!(repo.page(crate::scope(acme), &search, &Visibility::All, KeysetPage::new(None, None).unwrap()).await.unwrap().items.len(), 1);
        let window = LeadFilter { created_from: Some(base + Duration::minutes(2)), created_to: Some(base + Duration::minutes(4)), ..Default::default() };
        assert_eq!(repo.page(crate::scope(acme), &window, &Visibility::All, KeysetPage::new(None, None).unwrap()).await.unwrap().items.len(), 2);
        let stats = repo.stats(crate::scope(acme), &Visibility::AssignedTo(vec![owner])).await.unwrap();
        assert_eq!(stats.total, 4);
        assert_eq!(stats.by_status.get("pending"), Some(&4));
        assert_eq!(stats.by_qualification.get("none"), Some(&4));
    }

    async fn updates_and_deletes_persist_with_their_audit(storage: Storage) {
        let (acme, owner) = org(&storage, "acme").await;
        let mut l = lead(acme, "ada@example.com", "Ada", SystemClock.now());
        submit(&storage, &l).await;
        let repo = storage.leads();
        l.assignee_id = Some(owner);
        l.status = LeadStatus::Approved;
        l.name = "Ada L.".into();
        let read_at = l.updated_at;
        l.updated_at = SystemClock.now();
        assert!(repo.update(crate::scope(l.organization_id), &l, read_at, &crate::entry(Some(acme))).await.unwrap());
        assert_eq!(repo.get(crate::scope(acme), l.id, &Visibility::All).await.unwrap().unwrap(), l);
        // A writer that read the version before is refused, and writes nothing.
        let mut stale = l.clone();
        stale.name = "Stale".into();
        assert!(!repo.update(crate::scope(acme), &stale, read_at, &crate::entry(Some(acme))).await.unwrap());
        assert_eq!(repo.get(crate::scope(acme), l.id, &Visibility::All).await.unwrap().unwrap().name, "Ada L.");
        repo.delete(crate::scope(acme), l.id, &crate::entry(Some(acme))).await.unwrap();
        assert!(repo.get(crate::scope(acme), l.id, &Visibility::All).await.unwrap().is_none());
    }

    async fn an_idempotency_key_is_claimed_once(storage: Storage) {
        let (acme, _) = org(&storage, "acme").await;
        let a_lead = |org, at| Lead::new(org, LeadInput { email: "sam@bigcorp.io".into(), name: "Sam".into(), message: "hi".into(), ..Default::default() }, at).unwrap();
        let long_ago = Utc::now() - chrono::Duration::days(2);
        let first = a_lead(acme, Utc::now());
        let mut unit = storage.leads().begin().await.unwrap();
        assert_eq!(unit.claim_idempotency_key(crate::scope(acme), "k1", "fp", &first, long_ago).await.unwrap(), IdempotencyClaim::New);
        unit.commit().await.unwrap();
        let mut unit = storage.leads().begin().await.unwrap();
        let again = unit.claim_idempotency_key(crate::scope(acme), "k1", "other", &a_lead(acme, Utc::now()), long_ago).await.unwrap();
        assert_eq!(again, IdempotencyClaim::Replay { fingerprint: "fp".into(), lead: first.id, first: Some(Box::new(first.clone())) });
        drop(unit);
        // Keys are per organization; a rolled-back claim frees the key.
        let (globex, _) = org(&storage, "globex").await;
        {
            let mut unit = storage.leads().begin().await.unwrap();
            assert_eq!(unit.claim_idempotency_key(crate::scope(globex), "k1", "fp", &a_lead(globex, Utc::now()), long_ago).await.unwrap(), IdempotencyClaim::New);
        }
        let mut unit = storage.leads().begin().await.unwrap();
        assert_eq!(unit.claim_idempotency_key(crate::scope(globex), "k1", "fp", &a_lead(globex, Utc::now()), long_ago).await.unwrap(), IdempotencyClaim::New);
    }

    async fn idempotency_keys_expire_and_are_purged(storage: Storage) {
        let (acme, _) = org(&storage, "acme").await;
        let old = Lead::new(acme, LeadInput { email: "a@bigcorp.io".into(), name: "A".into(), message: "hi".into(), ..Default::default() }, Utc::now() - chrono::Duration::hours(25)).unwrap();
        let mut unit = storage.leads().begin().await.unwrap();
        unit.claim_idempotency_key(crate::scope(acme), "old", "fp", &old, Utc::now() - chrono::Duration::days(2)).await.unwrap();
        unit.commit().await.unwrap();
        // Past its day the key is free again, even before any purge.
        let fresh = Lead::new(acme, LeadInput { email: "b@bigcorp.io".into(), name: "B".into(), message: "hi".into(), ..Default::default() }, Utc::now()).unwrap();
        let mut unit = storage.leads().begin().await.unwrap();
        let cutoff = Utc::now() - chrono::Duration::hours(24);
        assert_eq!(unit.claim_idempotency_key(crate::scope(acme), "old", "fp2", &fresh, cutoff).await.unwrap(), IdempotencyClaim::New);
        unit.commit().await.unwrap();
        // The purge forgets every organization's keys older than its cutoff, and no others.
        let repo = storage.leads();
        assert_eq!(repo.purge_idempotency_keys(crate::platform(), Utc::now() - chrono::Duration::hours(1)).await.unwrap(), 0);
        assert_eq!(repo.purge_idempotency_keys(crate::platform(), Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
    }

    async fn team_leaders_and_members_are_known(storage: Storage) {
        let (acme, owner) = org(&storage, "acme").await;
        use leadflow_organizations::teams::{Team, TeamInput, TeamRepository};
        let team = Team::new(acme, TeamInput { name: "Sales".into(), description: None, leader_id: Some(owner) }, Utc::now()).unwrap();
        storage.teams().create(crate::scope(acme), &team, &crate::entry(Some(acme))).await.unwrap();
        storage.teams().add_member(crate::scope(acme), team.id, owner, &crate::entry(Some(acme))).await.unwrap();
        let leads = storage.leads();
        assert!(leads.is_member(crate::scope(acme), owner).await.unwrap());
        assert!(!leads.is_member(crate::scope(acme), UserId::new()).await.unwrap());
        assert_eq!(leads.led_by(crate::scope(acme), owner).await.unwrap(), [owner]);
        assert!(leads.led_by(crate::scope(acme), UserId::new()).await.unwrap().is_empty());
        assert_eq!(leads.team_members(crate::scope(acme), team.id).await.unwrap(), [owner]);
    }
}

/// Claims `l` as the original of its email (window of `days`), inserts it, commits.
async fn submit_claiming(storage: &Storage, l: &Lead, days: i64) -> Option<LeadId> {
    let mut unit = storage.leads().begin().await.unwrap();
    let scope = crate::scope(l.organization_id);
    let original = unit.claim_original(scope, l, l.created_at - Duration::days(days)).await.unwrap();
    let mut l = l.clone();
    l.duplicate_of = original;
    unit.insert_lead(scope, &l).await.unwrap();
    unit.commit().await.unwrap();
    original
}

contract_tests! {
    async fn one_original_per_email_within_the_window_even_at_once(storage: Storage) {
        let (acme, owner) = org(&storage, "acme").await;
        let (globex, _) = org(&storage, "globex").await;
        let now = Utc::now();
        // Twelve submissions of one email at once: exactly one original.
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let storage = storage.clone();
                let l = lead(acme, "Sam@BigCorp.io", &format!("Sam {i}"), now);
                tokio::spawn(async move { (l.id, submit_claiming(&storage, &l, 30).await) })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let originals: Vec<_> = outcomes.iter().filter(|(_, o)| o.is_none()).map(|(id, _)| *id).collect();
        assert_eq!(originals.len(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|(id, o)| *id == originals[0] || *o == Some(originals[0])));
        // Another organization's submission of the email is its own original.
        assert_eq!(submit_claiming(&storage, &lead(globex, "sam@bigcorp.io", "Sam", now), 30).await, None);
        // Past the window, a submission becomes the new original.
        let later = lead(acme, "sam@bigcorp.io", "Sam again", now + Duration::days(31));
        assert_eq!(submit_claiming(&storage, &later, 30).await, None);
        let again = lead(acme, "sam@bigcorp.io", "Sam thrice", now + Duration::days(32));
        assert_eq!(submit_claiming(&storage, &again, 30).await, Some(later.id));

        // Listing by duplicateOf; the creator reads back.
        let filter = LeadFilter { duplicate_of: Some(originals[0]), ..LeadFilter::default() };
        let page = storage.leads().page(crate::scope(acme), &filter, &Visibility::All, KeysetPage::new(Some(100), None).unwrap()).await.unwrap();
        assert_eq!(page.items.len(), 11);
        let mut by_user = lead(acme, "ada@x.io", "Ada", now);
        by_user.created_by = Some(leadflow_leads::Creator { kind: leadflow_leads::CreatorKind::User, id: Some(owner.as_uuid()) });
        submit(&storage, &by_user).await;
        let read = storage.leads().get(crate::scope(acme), by_user.id, &Visibility::All).await.unwrap().unwrap();
        assert_eq!(read.created_by, by_user.created_by);

        // Merging folds a duplicate into its original and deletes it, once.
        let duplicate = page.items[0].clone();
        let mut original = storage.leads().get(crate::scope(acme), originals[0], &Visibility::All).await.unwrap().unwrap();
        let read_at = original.updated_at;
        original.fold(&duplicate, now + Duration::seconds(1));
        let merged = storage.leads().merge(crate::scope(acme), &original, read_at, duplicate.id, &crate::entry(Some(acme))).await.unwrap();
        assert!(merged);
        assert!(storage.leads().get(crate::scope(acme), duplicate.id, &Visibility::All).await.unwrap().is_none());
        let stored = storage.leads().get(crate::scope(acme), originals[0], &Visibility::All).await.unwrap().unwrap();
        assert_eq!(stored.metadata["mergedSubmissions"].as_array().unwrap().len(), 1);
        // A second merge of the same duplicate, or over a stale version, writes nothing.
        let again = storage.leads().merge(crate::scope(acme), &original, read_at, duplicate.id, &crate::entry(Some(acme))).await.unwrap();
        assert!(!again);
        // Deleting the original frees its email: the next submission is an original.
        storage.leads().delete(crate::scope(acme), later.id, &crate::entry(Some(acme))).await.unwrap();
        let fresh = lead(acme, "sam@bigcorp.io", "Sam anew", now + Duration::days(33));
        assert_eq!(submit_claiming(&storage, &fresh, 30).await, None);
    }
}
