//! Registration, sign-in and sessions.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};
use crate::http_tests;

http_tests! {
    async fn registering_with_an_organization_makes_the_user_its_owner(app: TestApp) {
        // Act
        let reply = app.post("/api/v1/auth/register", None, json!({
            "email": "Ada@Example.com", "password": PASSWORD, "name": "Ada", "username": "ada",
            "organization": { "name": "acme", "displayName": "Acme Inc" }
        })).await.expect(201);

        // Assert
        assert_eq!(reply.body["user"]["email"], "ada@example.com");
        assert_eq!(reply.body["role"], "owner");
        assert_eq!(reply.body["organization"]["name"], "acme");
        assert_eq!(reply.body["organization"]["displayName"], "Acme Inc");
        assert_eq!(reply.body["tokens"]["tokenType"], "Bearer");
        assert_eq!(reply.body["tokens"]["expiresIn"], 3600);
        let me = app.get("/api/v1/auth/me", reply.body["tokens"]["accessToken"].as_str().unwrap()).await.expect(200);
        assert_eq!(me.body["role"], "owner");
        assert_eq!(me.body["organizationId"], reply.body["organization"]["id"]);
        assert_eq!(me.body["permissions"].as_array().unwrap().len(), 17);
        assert_eq!(me.body["memberships"][0]["name"], "acme");
    }

    async fn a_taken_email_or_slug_is_a_conflict_and_creates_nothing(app: TestApp) {
        app.register("ada@example.com", Some("acme")).await;

        app.post("/api/v1/auth/register", None, json!({ "email": "ADA@example.com", "password": PASSWORD, "name": "Twin" }))
            .await.expect_problem(409, "conflict");
        app.post("/api/v1/auth/register", None, json!({
            "email": "bob@example.com", "password": PASSWORD, "name": "Bob", "organization": { "name": "acme" }
        })).await.expect_problem(409, "conflict");

        // Bob's user was rolled back with his organization.
        app.post("/api/v1/auth/login", None, json!({ "email": "bob@example.com", "password": PASSWORD }))
            .await.expect_problem(401, "unauthorized");
    }

    async fn invalid_registrations_report_every_field(app: TestApp) {
        let reply = app.post("/api/v1/auth/register", None, json!({
            "email": "not-an-email", "password": "short", "name": "", "organization": { "name": "Bad Slug!" }
        })).await.expect_problem(400, "validation_failed");
        // The document's rules are checked while the body is read: the first field that breaks one is named.
        assert_eq!(reply.body["errors"][0]["field"], "email", "{}", reply.text);
        let reply = app.post("/api/v1/auth/register", None, json!({
            "email": "ok@example.com", "password": "short", "name": "", "organization": { "name": "acme" }
        })).await.expect_problem(400, "validation_failed");
        assert_eq!(reply.body["errors"][0]["field"], "password", "{}", reply.text);
        assert_eq!(reply.body["errors"][0]["message"], "must be at least 10 characters");

        let reply = app.post("/api/v1/auth/register", None, json!({
            "email": "ok@example.com", "password": PASSWORD, "name": "Ok", "organization": { "name": "Bad Slug!" }
        })).await.expect_problem(400, "validation_failed");
        assert!(reply.body["errors"][0]["field"].as_str().unwrap().ends_with("name"), "{}", reply.text);
        app.post("/api/v1/auth/login", None, json!({ "email": "ok@example.com", "password": PASSWORD }))
            .await.expect(401);
    }

    async fn login_failures_do_not_say_which_part_was_wrong(app: TestApp) {
        app.register("ada@example.com", Some("acme")).await;
        let wrong_password = app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": "wrong password!" }))
            .await.expect_problem(401, "unauthorized");
        let unknown = app.post("/api/v1/auth/login", None, json!({ "email": "who@example.com", "password": PASSWORD }))
            .await.expect_problem(401, "unauthorized");
        assert_eq!(wrong_password.body["detail"], unknown.body["detail"]);
    }

    async fn login_picks_the_organization_and_refuses_a_foreign_one(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let other = app.register("bob@example.com", Some("globex")).await;

        let reply = app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": PASSWORD }))
            .await.expect(200);
        assert_eq!(reply.body["organizationId"].as_str(), ada.org_id.as_deref());
        assert_eq!(reply.body["role"], "owner");
        assert!(reply.body["user"]["lastLoginAt"].is_string());

        app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": PASSWORD, "organizationId": other.org_id }))
            .await.expect_problem(404, "not_found");
    }

    async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;

        let first = app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect(200);
        let second_refresh = first.body["tokens"]["refreshToken"].as_str().unwrap().to_owned();
        assert_ne!(second_refresh, ada.refresh);
        assert_eq!(first.body["organizationId"].as_str(), ada.org_id.as_deref());
        app.get("/api/v1/auth/me", first.body["tokens"]["accessToken"].as_str().unwrap()).await.expect(200);

        // The first token was used: presenting it again is theft.
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect_problem(401, "unauthorized");
        // ... and the whole family died with it.
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": second_refresh })).await.expect_problem(401, "unauthorized");
        // Another session of the same user is untouched.
        let other = app.login("ada@example.com", None).await;
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": other.refresh })).await.expect(200);
    }

    async fn logout_revokes_the_session_and_is_idempotent(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.post("/api/v1/auth/logout", None, json!({ "refreshToken": ada.refresh })).await.expect(204);
        app.post("/api/v1/auth/logout", None, json!({ "refreshToken": ada.refresh })).await.expect(204);
        app.post("/api/v1/auth/logout", None, json!({ "refreshToken": "never-issued" })).await.expect(204);
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect_problem(401, "unauthorized");
    }

    async fn changing_the_password_revokes_refresh_tokens(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let path = "/api/v1/auth/change-password";

        let wrong = app.post(path, Some(&ada.access), json!({ "currentPassword": "not my password", "newPassword": "a brand new secret" }))
            .await.expect_problem(400, "validation_failed");
        assert_eq!(wrong.body["errors"][0]["field"], "currentPassword");
        app.post(path, Some(&ada.access), json!({ "currentPassword": PASSWORD, "newPassword": "short" }))
            .await.expect_problem(400, "validation_failed");
        app.post(path, None, json!({ "currentPassword": PASSWORD, "newPassword": "a brand new secret" }))
            .await.expect_problem(401, "unauthorized");

        app.post(path, Some(&ada.access), json!({ "currentPassword": PASSWORD, "newPassword": "a brand new secret" })).await.expect(204);

        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect_problem(401, "unauthorized");
        app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": PASSWORD })).await.expect(401);
        app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": "a brand new secret" })).await.expect(200);
    }

    async fn switching_organization_needs_a_membership_unless_super_admin(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let second = app.post("/api/v1/organizations", Some(&ada.access), json!({ "name": "acme-labs" })).await.expect(201);
        let second_id = second.body["id"].as_str().unwrap();

        let switched = app.post("/api/v1/auth/switch-organization", Some(&ada.access), json!({ "organizationId": second_id })).await.expect(200);
        assert_eq!(switched.body["organizationId"], second_id);
        assert_eq!(switched.body["role"], "owner");
        let token = switched.body["tokens"]["accessToken"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/auth/me", token).await.expect(200).body["organizationId"], second_id);

        app.post("/api/v1/auth/switch-organization", Some(&ada.access), json!({ "organizationId": bob.org_id }))
            .await.expect_problem(404, "not_found");

        let root = app.super_admin().await;
        let entered = app.post("/api/v1/auth/switch-organization", Some(&root.access), json!({ "organizationId": bob.org_id })).await.expect(200);
        assert_eq!(entered.body["organizationId"].as_str(), bob.org_id.as_deref());
        assert!(entered.body["role"].is_null());
        let token = entered.body["tokens"]["accessToken"].as_str().unwrap();
        app.get(&format!("/api/v1/organizations/{}", bob.org_id.unwrap()), token).await.expect(200);
    }

    async fn a_user_without_an_organization_can_sign_in_and_create_one(app: TestApp) {
        let solo = app.register("solo@example.com", None).await;
        assert!(solo.org_id.is_none());
        let me = app.get("/api/v1/auth/me", &solo.access).await.expect(200);
        assert!(me.body["organizationId"].is_null());
        assert_eq!(me.body["permissions"].as_array().unwrap().len(), 0);

        let created = app.post("/api/v1/organizations", Some(&solo.access), json!({ "name": "solo-co" })).await.expect(201);
        let session = app.login("solo@example.com", None).await;
        assert_eq!(session.org_id.as_deref(), created.body["id"].as_str());
    }
}

mod signup_disabled {
    use super::*;
    use leadflow_storage::testing::Engine;

    #[tokio::test]
    async fn without_self_service_only_the_super_admin_creates_organizations() {
        let app =
            TestApp::spawn_with(Engine::Sqlite, &[("LEADFLOW_SELF_SERVICE_SIGNUP", "false")]).await.unwrap();
        app.post(
            "/api/v1/auth/register",
            None,
            json!({ "email": "ada@example.com", "password": PASSWORD, "name": "Ada" }),
        )
        .await
        .expect_problem(403, "forbidden");
        let root = app.super_admin().await;
        let created = app
            .post("/api/v1/organizations", Some(&root.access), json!({ "name": "acme" }))
            .await
            .expect(201);
        assert!(created.body["createdBy"].is_string());
    }
}
