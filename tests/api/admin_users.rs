//! The super admin's platform-wide view of users, and disabling a compromised one.

use reqwest::Method;
use serde_json::json;

use crate::helpers::PASSWORD;
use crate::http_tests;

http_tests! {
    async fn a_disabled_user_loses_every_session_and_key_at_once_until_enabled(app: TestApp) {
        let root = app.super_admin().await;
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let lead = json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "hi" });
        let found = app.get("/api/v1/admin/users?search=ADA@", &root.access).await.expect(200);
        assert_eq!(found.body["data"].as_array().unwrap().len(), 1, "{}", found.text);
        assert_eq!(found.body["data"][0]["email"], "ada@example.com");
        assert_eq!(found.body["data"][0]["disabled"], false);

        let disabled = app.post(&format!("/api/v1/admin/users/{}/disable", ada.user_id), Some(&root.access), json!({})).await.expect(200);
        assert_eq!(disabled.body["disabled"], true);
        app.get("/api/v1/auth/me", &ada.access).await.expect_problem(401, "unauthorized");
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect_problem(401, "unauthorized");
        app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead.clone())).await.expect_problem(401, "unauthorized");
        let login = json!({ "email": "ada@example.com", "password": PASSWORD });
        app.post("/api/v1/auth/login", None, login.clone()).await.expect_problem(403, "forbidden");
        let log = app.get("/api/v1/audit-logs?action=user.disabled", &root.access).await.expect(200);
        assert_eq!(log.body["data"][0]["resourceId"].as_str(), Some(ada.user_id.as_str()));

        app.post(&format!("/api/v1/admin/users/{}/enable", ada.user_id), Some(&root.access), json!({})).await.expect(200);
        let again = app.post("/api/v1/auth/login", None, login).await.expect(200);
        assert!(again.body["tokens"]["accessToken"].is_string());
        app.with_key(Method::POST, "/api/v1/leads", &key, Some(lead)).await.expect(201);
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect_problem(401, "unauthorized");
    }

    async fn only_the_super_admin_lists_disables_or_enables_users(app: TestApp) {
        let root = app.super_admin().await;
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        // An owner is no platform operator: 403 on every call, and bob is untouched.
        app.get("/api/v1/admin/users", &ada.access).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/admin/users/{}/disable", bob.user_id), Some(&ada.access), json!({})).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/admin/users/{}/enable", bob.user_id), Some(&ada.access), json!({})).await.expect_problem(403, "forbidden");
        let key = app.api_key(&ada, &["users:manage"]).await;
        app.with_key(Method::GET, "/api/v1/admin/users", &key, None).await.expect_problem(403, "forbidden");
        app.get("/api/v1/auth/me", &bob.access).await.expect(200);

        let unknown = uuid::Uuid::now_v7();
        app.post(&format!("/api/v1/admin/users/{unknown}/disable"), Some(&root.access), json!({})).await.expect_problem(404, "not_found");
        app.post(&format!("/api/v1/admin/users/{}/disable", root.user_id), Some(&root.access), json!({})).await.expect_problem(403, "forbidden");
        let page = app.get("/api/v1/admin/users?limit=2", &root.access).await.expect(200);
        assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
        let next = page.body["pagination"]["nextCursor"].as_str().unwrap().to_owned();
        let rest = app.get(&format!("/api/v1/admin/users?limit=2&cursor={next}"), &root.access).await.expect(200);
        assert_eq!(rest.body["data"].as_array().unwrap().len(), 1, "three users in all");
    }
}
