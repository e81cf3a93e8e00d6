//! API keys: creation, scopes, authentication, revocation, rotation.

use reqwest::Method;
use serde_json::json;

use crate::http_tests;

http_tests! {
    async fn a_key_never_does_more_than_its_creator_still_may_and_dies_with_their_membership(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.member(&ada, "bob@example.com", "admin").await;
        let key = app.api_key(&bob, &["leads:create", "leads:view_all"]).await;
        let lead = json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "hi" });
        app.with_key(Method::GET, "/api/v1/leads", &key, None).await.expect(200);

        // Bob is demoted: his key keeps only what a member may do.
        app.patch(&format!("/api/v1/members/{}", bob.user_id), &ada.access, json!({ "role": "member" })).await.expect(200);
        app.with_key(Method::GET, "/api/v1/leads", &key, None).await.expect_problem(403, "forbidden");
        app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead.clone())).await.expect(201);

        // Bob leaves: his keys are revoked with his membership.
        app.delete(&format!("/api/v1/members/{}", bob.user_id), &ada.access).await.expect(204);
        app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead)).await.expect_problem(401, "unauthorized");
        let listed = app.get("/api/v1/api-keys", &ada.access).await.expect(200);
        assert!(listed.body["data"][0]["revokedAt"].is_string(), "{}", listed.text);
    }

    async fn a_key_acts_with_its_scopes_only(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org_path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        let created = app.post("/api/v1/api-keys", Some(&ada.access), json!({ "name": "settings bot", "scopes": ["settings:manage"] })).await.expect(201);
        let secret = created.body["secret"].as_str().unwrap().to_owned();
        let prefix = created.body["apiKey"]["prefix"].as_str().unwrap();
        assert!(secret.starts_with(&format!("lf_{prefix}_")));

        let read = app.with_key(Method::GET, &org_path, &secret, None).await.expect(200);
        assert_eq!(read.body["name"], "acme");
        app.with_key(Method::PATCH, &org_path, &secret, Some(json!({ "displayName": "By Key" }))).await.expect(200);
        app.with_key(Method::GET, &format!("{org_path}/stats"), &secret, None).await.expect_problem(403, "forbidden");
        app.with_key(Method::GET, "/api/v1/audit-logs", &secret, None).await.expect_problem(403, "forbidden");
        // Session, key and platform endpoints are for signed-in users only: a
        // valid key is a credential without the right (403), a bad one none (401).
        app.with_key(Method::GET, "/api/v1/api-keys", &secret, None).await.expect_problem(403, "forbidden");
        app.with_key(Method::GET, "/api/v1/auth/me", &secret, None).await.expect_problem(403, "forbidden");
        app.with_key(Method::GET, "/api/v1/admin/overview", &secret, None).await.expect_problem(403, "forbidden");
        app.with_key(Method::GET, "/api/v1/api-keys", "lf_nothing_nothing", None).await.expect_problem(401, "unauthorized");

        let listed = app.get("/api/v1/api-keys", &ada.access).await.expect(200);
        assert!(listed.body["data"][0]["lastUsedAt"].is_string());
        assert_eq!(listed.body["data"][0]["scopes"], json!(["settings:manage"]));
        assert!(!listed.text.contains(&secret[12..]));
    }

    async fn wrong_revoked_rotated_and_expired_keys_are_unauthorized(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org_path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        let created = app.post("/api/v1/api-keys", Some(&ada.access), json!({ "name": "k", "scopes": ["settings:manage"] })).await.expect(201);
        let id = created.body["apiKey"]["id"].as_str().unwrap().to_owned();
        let secret = created.body["secret"].as_str().unwrap().to_owned();

        let mut wrong = secret.clone();
        wrong.push('x');
        for bad in [wrong.as_str(), "lf_nothing", "garbage"] {
            app.with_key(Method::GET, &org_path, bad, None).await.expect_problem(401, "unauthorized");
        }

        let rotated = app.post(&format!("/api/v1/api-keys/{id}/rotate"), Some(&ada.access), json!({})).await.expect(200);
        let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
        app.with_key(Method::GET, &org_path, &secret, None).await.expect_problem(401, "unauthorized");
        app.with_key(Method::GET, &org_path, &new_secret, None).await.expect(200);

        app.delete(&format!("/api/v1/api-keys/{id}"), &ada.access).await.expect(204);
        app.with_key(Method::GET, &org_path, &new_secret, None).await.expect_problem(401, "unauthorized");
        app.post(&format!("/api/v1/api-keys/{id}/rotate"), Some(&ada.access), json!({})).await.expect_problem(409, "conflict");

        let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let expiring = app.post("/api/v1/api-keys", Some(&ada.access), json!({ "name": "brief", "scopes": ["settings:manage"], "expiresAt": soon })).await.expect(201);
        let expiring_secret = expiring.body["secret"].as_str().unwrap();
        app.with_key(Method::GET, &org_path, expiring_secret, None).await.expect(200);
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        app.with_key(Method::GET, &org_path, expiring_secret, None).await.expect_problem(401, "unauthorized");
    }

    async fn a_deactivated_organizations_keys_get_org_inactive(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org_path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        let key = app.api_key(&ada, &["settings:manage"]).await;
        app.delete(&org_path, &ada.access).await.expect(200);
        app.with_key(Method::GET, &org_path, &key, None).await.expect_problem(403, "org_inactive");
    }

    async fn scopes_are_checked_against_the_creator(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let admin = app.member(&ada, "admin@example.com", "admin").await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;
        app.post("/api/v1/api-keys", Some(&manager.access), json!({ "name": "k", "scopes": ["leads:create"] })).await.expect_problem(403, "forbidden");
        let refused = app.post("/api/v1/api-keys", Some(&admin.access), json!({ "name": "k", "scopes": ["leads:create", "org:delete"] })).await.expect_problem(400, "validation_failed");
        assert_eq!(refused.body["errors"][0]["field"], "scopes");
        app.post("/api/v1/api-keys", Some(&admin.access), json!({ "name": "k", "scopes": ["leads:fly"] })).await.expect_problem(400, "validation_failed");
        app.post("/api/v1/api-keys", Some(&admin.access), json!({ "name": "k", "scopes": [] })).await.expect_problem(400, "validation_failed");
        app.post("/api/v1/api-keys", Some(&admin.access), json!({ "name": "k", "scopes": ["leads:create"], "expiresAt": "2001-01-01T00:00:00Z" })).await.expect_problem(400, "validation_failed");
        app.post("/api/v1/api-keys", Some(&admin.access), json!({ "name": "k", "scopes": ["leads:create"] })).await.expect(201);
        assert_eq!(app.get("/api/v1/api-keys", &ada.access).await.expect(200).body["data"].as_array().unwrap().len(), 1);
    }

    async fn another_organizations_keys_and_resources_are_not_found(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let bobs = app.post("/api/v1/api-keys", Some(&bob.access), json!({ "name": "k", "scopes": ["settings:manage"] })).await.expect(201);
        let id = bobs.body["apiKey"]["id"].as_str().unwrap();
        app.delete(&format!("/api/v1/api-keys/{id}"), &ada.access).await.expect_problem(404, "not_found");
        app.post(&format!("/api/v1/api-keys/{id}/rotate"), Some(&ada.access), json!({})).await.expect_problem(404, "not_found");

        let adas_key = app.api_key(&ada, &["settings:manage", "analytics:view_all"]).await;
        let globex = format!("/api/v1/organizations/{}", bob.org_id.unwrap());
        app.with_key(Method::GET, &globex, &adas_key, None).await.expect_problem(404, "not_found");
        app.with_key(Method::PATCH, &globex, &adas_key, Some(json!({ "displayName": "x" }))).await.expect_problem(404, "not_found");
        app.with_key(Method::GET, &format!("{globex}/stats"), &adas_key, None).await.expect_problem(404, "not_found");
    }
}
