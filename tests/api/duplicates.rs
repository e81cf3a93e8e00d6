//! Duplicates and who submitted a lead: a repeat of a recent lead's email is
//! kept as its duplicate (no workflow, no quota unit), exactly one original
//! under concurrency, listed by `duplicateOf`, folded back with merge.

use reqwest::Method;
use serde_json::{Value, json};

use crate::http_tests;

fn sam(message: &str) -> Value {
    json!({ "email": "Sam@BigCorp.io", "name": "Sam", "message": message, "company": null })
}

http_tests! {
    async fn a_repeat_is_a_duplicate_without_workflow_or_quota_and_merges_back(app: TestApp) {
        let ada = app.register("ada@acme.io", Some("acme")).await;
        let first = app.post("/api/v1/leads", Some(&ada.access), sam("first")).await.expect(201);
        let original = first.body["lead"]["id"].as_str().unwrap().to_owned();
        assert!(first.body["workflowId"].is_string());
        assert!(first.body["lead"]["duplicateOf"].is_null());
        assert_eq!(first.body["lead"]["createdBy"], json!({ "type": "user", "id": ada.user_id }));

        // A key submits the same person again (another case): a duplicate.
        let key = app.api_key(&ada, &["leads:create"]).await;
        let body = json!({ "email": "sam@bigcorp.io", "name": "Samuel", "message": "second", "phone": "+1 555 0100" });
        let second = app.with_key(Method::POST, "/api/v1/leads", &key, Some(body)).await.expect(201);
        assert_eq!(second.body["lead"]["duplicateOf"], original.as_str());
        assert!(second.body["workflowId"].is_null());
        assert_eq!(second.body["lead"]["createdBy"]["type"], "api_key");
        let duplicate = second.body["lead"]["id"].as_str().unwrap().to_owned();
        app.post("/api/v1/leads", Some(&ada.access), sam("third")).await.expect(201);

        // One quota unit, one workflow; both duplicates listed by their original.
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"]["used"], 1);
        let workflows = app.get("/api/v1/workflows", &ada.access).await.expect(200);
        assert_eq!(workflows.body["data"].as_array().unwrap().len(), 1);
        let listed = app.get(&format!("/api/v1/leads?duplicateOf={original}"), &ada.access).await.expect(200);
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 2);
        assert_eq!(app.get("/api/v1/leads", &ada.access).await.expect(200).body["data"].as_array().unwrap().len(), 3);

        // Merge: permission, the right original, another organization.
        let path = format!("/api/v1/leads/{duplicate}/merge");
        let reader = app.api_key(&ada, &["leads:view_all"]).await;
        app.with_key(Method::POST, &path, &reader, Some(json!({ "intoId": original }))).await.expect_problem(403, "forbidden");
        app.post(&path, Some(&ada.access), json!({ "intoId": duplicate })).await.expect_problem(400, "validation_failed");
        app.post(&format!("/api/v1/leads/{original}/merge"), Some(&ada.access), json!({ "intoId": duplicate })).await.expect_problem(400, "validation_failed");
        let bob = app.register("bob@globex.io", Some("globex")).await;
        app.post(&path, Some(&bob.access), json!({ "intoId": original })).await.expect_problem(404, "not_found");
        let theirs = app.get(&format!("/api/v1/leads?duplicateOf={original}"), &bob.access).await.expect(200);
        assert_eq!(theirs.body["data"], json!([]));
        assert_eq!(app.get(&format!("/api/v1/leads/{duplicate}"), &ada.access).await.expect(200).body["id"], duplicate.as_str());

        let merged = app.post(&path, Some(&ada.access), json!({ "intoId": original })).await.expect(200);
        assert_eq!(merged.body["id"], original.as_str());
        assert_eq!(merged.body["phone"], "+1 555 0100");
        let kept = &merged.body["metadata"]["mergedSubmissions"][0];
        assert_eq!((kept["id"].as_str(), kept["message"].as_str(), kept["name"].as_str()), (Some(duplicate.as_str()), Some("second"), Some("Samuel")));
        app.get(&format!("/api/v1/leads/{duplicate}"), &ada.access).await.expect_problem(404, "not_found");
        app.post(&path, Some(&ada.access), json!({ "intoId": original })).await.expect_problem(404, "not_found");
        let log = app.get("/api/v1/audit-logs?action=lead.merged", &ada.access).await.expect(200);
        assert_eq!(log.body["data"][0]["details"]["duplicateId"], duplicate.as_str());

        // The same email in another organization is its own original.
        let own = app.post("/api/v1/leads", Some(&bob.access), sam("hello")).await.expect(201);
        assert!(own.body["lead"]["duplicateOf"].is_null() && own.body["workflowId"].is_string());
    }

    async fn a_window_of_zero_turns_detection_off(app: TestApp) {
        let ada = app.register("ada@acme.io", Some("acme")).await;
        let org = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        app.patch(&org, &ada.access, json!({ "settings": { "leads": { "dedupeWindowDays": 0 } } })).await.expect(200);
        for n in 0..2 {
            let reply = app.post("/api/v1/leads", Some(&ada.access), sam(&format!("m{n}"))).await.expect(201);
            assert!(reply.body["lead"]["duplicateOf"].is_null() && reply.body["workflowId"].is_string());
        }
        assert_eq!(app.get("/api/v1/subscription/usage", &ada.access).await.body["leads"]["used"], 2);
    }

    async fn concurrent_submissions_of_one_email_make_one_original(app: TestApp) {
        let ada = app.register("ada@acme.io", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let replies = futures_util::future::join_all(
            (0..20).map(|n| app.with_key(Method::POST, "/api/v1/leads", &key, Some(sam(&format!("m{n}"))))),
        )
        .await;
        let originals: Vec<_> = replies.iter().filter(|r| r.status.as_u16() == 201 && r.body["lead"]["duplicateOf"].is_null()).collect();
        assert_eq!(originals.len(), 1, "{replies:?}");
        assert!(replies.iter().all(|r| r.status.as_u16() == 201));
        let original = originals[0].body["lead"]["id"].clone();
        assert!(replies.iter().all(|r| r.body["lead"]["duplicateOf"].is_null() || r.body["lead"]["duplicateOf"] == original));
        assert_eq!(app.get("/api/v1/subscription/usage", &ada.access).await.body["leads"]["used"], 1);
        assert_eq!(app.get("/api/v1/workflows", &ada.access).await.body["data"].as_array().unwrap().len(), 1);
    }
}
