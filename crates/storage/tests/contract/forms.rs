//! Contract of public web forms: stored per organization, found by key from
//! anywhere, changed and deleted only within their organization, each change
//! with its audit entry; submissions counted per key in the action budget.

use std::time::Duration;

use chrono::Utc;
use leadflow_leads::forms::{FormRepository, LeadForm, SubmissionBudget, new_form_key};
use uuid::Uuid;

use crate::contract_tests;
use crate::leads::org;

fn form(org: leadflow_kernel::OrganizationId) -> LeadForm {
    let now = Utc::now();
    LeadForm {
        id: Uuid::now_v7(),
        organization_id: org,
        name: "Contact page".into(),
        key: new_form_key(),
        allowed_origins: vec!["https://www.acme.example".into(), "http://localhost:3000".into()],
        redirect_url: Some("https://www.acme.example/thanks".into()),
        created_at: now,
        updated_at: now,
    }
}

contract_tests! {
    async fn forms_are_kept_per_organization_and_found_by_key(storage: Storage) {
        let (acme, _) = org(&storage, "acme").await;
        let (globex, _) = org(&storage, "globex").await;
        let store = storage.leads();
        let first = form(acme);
        let second = form(acme);
        store.insert_form(&first, &crate::entry(Some(acme))).await.unwrap();
        store.insert_form(&second, &crate::entry(Some(acme))).await.unwrap();

        let listed = store.forms(crate::scope(acme)).await.unwrap();
        assert_eq!(listed.iter().map(|f| f.id).collect::<Vec<_>>(), vec![first.id, second.id]);
        assert_eq!(listed[0], LeadForm { created_at: listed[0].created_at, updated_at: listed[0].updated_at, ..first.clone() });
        assert!(store.forms(crate::scope(globex)).await.unwrap().is_empty());
        assert_eq!(store.form_by_key(&first.key).await.unwrap().map(|f| f.id), Some(first.id));
        assert!(store.form_by_key("pf_nothing").await.unwrap().is_none());

        // Another organization neither reads, changes nor deletes it.
        assert!(store.form(crate::scope(globex), first.id).await.unwrap().is_none());
        let mut changed = first.clone();
        changed.name = "Pricing page".into();
        changed.key = new_form_key();
        changed.allowed_origins = vec![];
        changed.redirect_url = None;
        assert!(!store.update_form(crate::scope(globex), &changed, &crate::entry(Some(globex))).await.unwrap());
        assert!(!store.delete_form(crate::scope(globex), first.id, &crate::entry(Some(globex))).await.unwrap());

        assert!(store.update_form(crate::scope(acme), &changed, &crate::entry(Some(acme))).await.unwrap());
        let read = store.form(crate::scope(acme), first.id).await.unwrap().unwrap();
        assert_eq!((read.name.as_str(), read.allowed_origins.len(), read.redirect_url), ("Pricing page", 0, None));
        assert!(store.form_by_key(&first.key).await.unwrap().is_none(), "the old key stops working");
        assert_eq!(store.form_by_key(&changed.key).await.unwrap().map(|f| f.id), Some(first.id));

        assert!(store.delete_form(crate::scope(acme), first.id, &crate::entry(Some(acme))).await.unwrap());
        assert!(!store.delete_form(crate::scope(acme), first.id, &crate::entry(Some(acme))).await.unwrap());
        assert_eq!(store.forms(crate::scope(acme)).await.unwrap().len(), 1);
    }

    async fn keys_are_unique_across_organizations(storage: Storage) {
        let (acme, _) = org(&storage, "acme").await;
        let (globex, _) = org(&storage, "globex").await;
        let taken = form(acme);
        storage.leads().insert_form(&taken, &crate::entry(Some(acme))).await.unwrap();
        let clash = LeadForm { id: Uuid::now_v7(), organization_id: globex, ..taken.clone() };
        assert!(storage.leads().insert_form(&clash, &crate::entry(Some(globex))).await.is_err());
        assert!(storage.leads().forms(crate::scope(globex)).await.unwrap().is_empty(), "nothing half-written");
    }

    async fn submissions_are_counted_per_key_within_the_window(storage: Storage) {
        let budget = storage.login_throttle(leadflow_auth::throttle::ThrottlePolicy::default());
        let window = Duration::from_secs(600);
        for _ in 0..3 {
            SubmissionBudget::spend(&budget, "form:f1:203.0.113.9", 3, window).await.unwrap();
        }
        let wait = SubmissionBudget::spend(&budget, "form:f1:203.0.113.9", 3, window).await.unwrap_err();
        assert!(wait > Duration::ZERO && wait <= window, "{wait:?}");
        SubmissionBudget::spend(&budget, "form:f1:198.51.100.7", 3, window).await.unwrap();
    }
}
