//! Members: list, change role, remove, leave.

use reqwest::Method;
use serde_json::json;

use crate::http_tests;

http_tests! {
    async fn members_are_listed_by_anyone_in_the_organization(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let member = app.member(&ada, "m@example.com", "member").await;
        let list = app.get("/api/v1/members", &member.access).await.expect(200);
        let emails: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["ada@example.com", "m@example.com"]);
        assert_eq!(list.body["data"][1]["role"], "member");

        let form_key = app.api_key(&ada, &["leads:create"]).await;
        app.with_key(Method::GET, "/api/v1/members", &form_key, None).await.expect_problem(403, "forbidden");
        let admin_key = app.api_key(&ada, &["users:manage"]).await;
        app.with_key(Method::GET, "/api/v1/members", &admin_key, None).await.expect(200);
    }

    async fn roles_change_within_the_owner_rules(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await;
        let admin = app.member(&ada, "admin@example.com", "admin").await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;
        let member = app.member(&ada, "member@example.com", "member").await;
        let path = |s: &crate::helpers::Session| format!("/api/v1/members/{}", s.user_id);

        // Arrange done; Act and Assert, rule by rule.
        let promoted = app.patch(&path(&member), &admin.access, json!({ "role": "manager" })).await.expect(200);
        assert_eq!(promoted.body["role"], "manager");
        app.patch(&path(&member), &admin.access, json!({ "role": "owner" })).await.expect_problem(403, "forbidden");
        app.patch(&path(&ada), &admin.access, json!({ "role": "member" })).await.expect_problem(403, "forbidden");
        app.patch(&path(&member), &manager.access, json!({ "role": "admin" })).await.expect_problem(403, "forbidden");
        app.patch(&path(&ada), &ada.access, json!({ "role": "admin" })).await.expect_problem(409, "conflict");
        app.patch(&path(&member), &ada.access, json!({ "role": "superuser" })).await.expect_problem(400, "validation_failed");
        app.patch(&format!("/api/v1/members/{}", uuid::Uuid::now_v7()), &ada.access, json!({ "role": "admin" })).await.expect_problem(404, "not_found");

        // A demotion bites at once: the manager's token loses leads-wide permissions.
        app.patch(&path(&manager), &ada.access, json!({ "role": "member" })).await.expect(200);
        let me = app.get("/api/v1/auth/me", &manager.access).await.expect(200);
        assert_eq!(me.body["role"], "member");

        // Two owners: now one may step down.
        app.patch(&path(&admin), &ada.access, json!({ "role": "owner" })).await.expect(200);
        app.patch(&path(&ada), &ada.access, json!({ "role": "admin" })).await.expect(200);
    }

    async fn members_are_removed_or_leave_and_lose_access_at_once(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await;
        let admin = app.member(&ada, "admin@example.com", "admin").await;
        let member = app.member(&ada, "member@example.com", "member").await;
        let leaver = app.member(&ada, "leaver@example.com", "manager").await;

        app.delete(&format!("/api/v1/members/{}", ada.user_id), &admin.access).await.expect_problem(403, "forbidden");
        app.delete(&format!("/api/v1/members/{}", admin.user_id), &member.access).await.expect_problem(403, "forbidden");
        app.delete(&format!("/api/v1/members/{}", ada.user_id), &ada.access).await.expect_problem(409, "conflict");

        app.delete(&format!("/api/v1/members/{}", leaver.user_id), &leaver.access).await.expect(204);
        app.get("/api/v1/members", &leaver.access).await.expect_problem(401, "unauthorized");
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": leaver.refresh })).await.expect_problem(401, "unauthorized");

        app.delete(&format!("/api/v1/members/{}", member.user_id), &admin.access).await.expect(204);
        app.get("/api/v1/organizations", &member.access).await.expect_problem(401, "unauthorized");
        let left = app.get("/api/v1/members", &ada.access).await.expect(200);
        assert_eq!(left.body["data"].as_array().unwrap().len(), 2);
    }

    async fn another_organizations_members_are_not_found(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let bobs_member = app.member(&bob, "m@globex.io", "member").await;
        let target = format!("/api/v1/members/{}", bobs_member.user_id);
        app.patch(&target, &ada.access, json!({ "role": "admin" })).await.expect_problem(404, "not_found");
        app.delete(&target, &ada.access).await.expect_problem(404, "not_found");
        let list = app.get("/api/v1/members", &ada.access).await.expect(200);
        assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
        let key = app.api_key(&ada, &["users:manage"]).await;
        app.with_key(Method::DELETE, &target, &key, None).await.expect_problem(404, "not_found");
    }
}
