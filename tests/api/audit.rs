//! The audit log: what is recorded, who reads it, and atomicity with the change.

use reqwest::Method;
use serde_json::json;

use crate::http_tests;

http_tests! {
    async fn every_change_is_recorded_and_readable_newest_first(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org = ada.org_id.clone().unwrap();
        app.patch(&format!("/api/v1/organizations/{org}"), &ada.access, json!({ "displayName": "Acme 2" })).await.expect(200);
        let member = app.member(&ada, "m@example.com", "member").await;
        app.patch(&format!("/api/v1/members/{}", member.user_id), &ada.access, json!({ "role": "manager" })).await.expect(200);
        app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales" })).await.expect(201);
        let key = app.api_key(&ada, &["audit:view"]).await;
        app.post("/api/v1/auth/change-password", Some(&ada.access), json!({ "currentPassword": crate::helpers::PASSWORD, "newPassword": "another long secret" })).await.expect(204);

        let log = app.with_key(Method::GET, "/api/v1/audit-logs?limit=100", &key, None).await.expect(200);
        let actions: Vec<&str> = log.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, [
            "user.password_changed", "api_key.created", "team.created", "member.role_changed",
            "invitation.accepted", "invitation.created", "organization.updated", "organization.created",
        ]);
        let role_change = &log.body["data"][3];
        assert_eq!(role_change["actor"]["type"], "user");
        assert_eq!(role_change["actor"]["email"], "ada@example.com");
        assert_eq!(role_change["resourceType"], "member");
        assert_eq!(role_change["resourceId"].as_str(), Some(member.user_id.as_str()));
        assert_eq!(role_change["details"], json!({ "from": "member", "to": "manager" }));
        assert_eq!(role_change["ip"], "127.0.0.1");
        assert_eq!(role_change["organizationId"].as_str(), Some(org.as_str()));
    }

    async fn the_log_pages_by_cursor_and_filters(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org = ada.org_id.clone().unwrap();
        for i in 0..5 {
            app.patch(&format!("/api/v1/organizations/{org}"), &ada.access, json!({ "displayName": format!("Acme {i}") })).await.expect(200);
        }
        let mut seen = Vec::new();
        let mut path = "/api/v1/audit-logs?action=organization.updated&limit=2".to_owned();
        loop {
            let page = app.get(&path, &ada.access).await.expect(200);
            seen.extend(page.body["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
            match page.body["pagination"]["nextCursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/audit-logs?action=organization.updated&limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5);
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest first, no duplicates across pages");

        let by_actor = app.get(&format!("/api/v1/audit-logs?actorId={}&resourceType=organization", ada.user_id), &ada.access).await.expect(200);
        assert_eq!(by_actor.body["data"].as_array().unwrap().len(), 6);
        let none = app.get("/api/v1/audit-logs?from=2999-01-01T00:00:00Z", &ada.access).await.expect(200);
        assert_eq!(none.body["data"], json!([]));
        app.get("/api/v1/audit-logs?cursor=bogus", &ada.access).await.expect_problem(400, "validation_failed");
    }

    async fn only_audit_viewers_read_and_only_their_own_organization(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;
        app.get("/api/v1/audit-logs", &manager.access).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/audit-logs?organizationId={}", bob.org_id.as_ref().unwrap()), &ada.access).await.expect_problem(404, "not_found");
        let own = app.get("/api/v1/audit-logs", &ada.access).await.expect(200);
        assert!(own.body["data"].as_array().unwrap().iter().all(|e| e["organizationId"].as_str() == ada.org_id.as_deref()));
        let form_key = app.api_key(&ada, &["leads:create"]).await;
        app.with_key(Method::GET, "/api/v1/audit-logs", &form_key, None).await.expect_problem(403, "forbidden");

        let root = app.super_admin().await;
        let globex = app.get(&format!("/api/v1/audit-logs?organizationId={}", bob.org_id.as_ref().unwrap()), &root.access).await.expect(200);
        assert_eq!(globex.body["data"][0]["action"], "organization.created");
        assert_eq!(globex.body["data"].as_array().unwrap().len(), 1);
    }

    async fn super_admin_entries_and_hard_deletes_are_recorded(app: TestApp) {
        let bob = app.register("bob@example.com", Some("globex")).await;
        let globex = bob.org_id.clone().unwrap();
        let root = app.super_admin().await;
        app.post("/api/v1/auth/switch-organization", Some(&root.access), json!({ "organizationId": globex })).await.expect(200);
        let log = app.get("/api/v1/audit-logs", &bob.access).await.expect(200);
        assert_eq!(log.body["data"][0]["action"], "organization.entered");
        assert_eq!(log.body["data"][0]["actor"]["email"], "root@leadflow.test");

        app.post(&format!("/api/v1/organizations/{globex}/purge"), Some(&root.access), json!({ "confirm": "globex" })).await.expect(204);
        let all = app.get("/api/v1/audit-logs", &root.access).await.expect(200);
        let entries = all.body["data"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "the organization's own entries went with it: {entries:?}");
        assert_eq!(entries[0]["action"], "organization.deleted");
        assert!(entries[0]["organizationId"].is_null());
        assert_eq!(entries[0]["resourceId"].as_str(), Some(globex.as_str()));
    }

    async fn a_change_whose_audit_entry_fails_is_rolled_back(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        // Arrange: make the audit insert of this one action fail inside the transaction.
        if app.state.storage.backend() == sea_orm::DatabaseBackend::Sqlite {
            app.sql("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_logs WHEN NEW.action = 'organization.updated' \
                     BEGIN SELECT RAISE(ABORT, 'forced failure'); END").await;
        } else {
            app.sql("CREATE FUNCTION fail_audit() RETURNS trigger AS $$ BEGIN \
                     IF NEW.action = 'organization.updated' THEN RAISE EXCEPTION 'forced failure'; END IF; RETURN NEW; END $$ \
                     LANGUAGE plpgsql").await;
            app.sql("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION fail_audit()").await;
        }

        // Act
        let failed = app.patch(&path, &ada.access, json!({ "displayName": "Never Saved" })).await.expect_problem(500, "internal");

        // Assert: neither the change nor its entry remains, and nothing leaked.
        assert!(!failed.text.contains("forced failure"));
        assert_eq!(app.get(&path, &ada.access).await.expect(200).body["displayName"], "acme Inc");
        let log = app.get("/api/v1/audit-logs?action=organization.updated", &ada.access).await.expect(200);
        assert_eq!(log.body["data"], json!([]));
    }
}
