//! Invitations: create, list, revoke, accept, register with a token.

use reqwest::Method;
use serde_json::json;

use crate::helpers::PASSWORD;
use crate::http_tests;

http_tests! {
    async fn an_invitee_registers_with_the_token_and_joins_with_the_role(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let created = app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "New@Example.com", "role": "manager" })).await.expect(201);
        let token = created.body["token"].as_str().unwrap().to_owned();
        assert_eq!(created.body["invitation"]["email"], "new@example.com");
        assert_eq!(created.body["invitation"]["status"], "pending");

        let joined = app.post("/api/v1/auth/register", None, json!({
            "email": "new@example.com", "password": PASSWORD, "name": "New", "invitationToken": token
        })).await.expect(201);
        assert_eq!(joined.body["role"], "manager");
        assert_eq!(joined.body["organization"]["name"], "acme");

        // The token was single-use.
        app.post("/api/v1/auth/register", None, json!({
            "email": "new2@example.com", "password": PASSWORD, "name": "Other", "invitationToken": token
        })).await.expect_problem(409, "conflict");
        let accepted = app.get("/api/v1/invitations?status=accepted", &ada.access).await.expect(200);
        assert_eq!(accepted.body["data"].as_array().unwrap().len(), 1);
        assert!(!accepted.text.contains(&token));

        // The invitation email was queued in the outbox.
        use sea_orm::{ConnectionTrait as _, Statement};
        let db = app.state.storage.connection();
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT recipient, kind FROM email_outbox WHERE kind = 'invitation'")).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].try_get::<String>("", "recipient").unwrap(), "new@example.com");
        // The message never held the token in its body, and forgot it once the invitation was used.
        let kept = db.query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT body FROM email_outbox WHERE secrets IS NULL AND kind = 'invitation'")).await.unwrap();
        assert_eq!(kept.len(), 1, "the accepted invitation's token is forgotten");
        let body = kept[0].try_get::<String>("", "body").unwrap();
        assert!(!body.contains(&token) && body.contains("token=[redacted]"), "{body}");
    }

    async fn a_signed_in_user_accepts_with_the_matching_email_only(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let eve = app.register("eve@example.com", None).await;
        let created = app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "bob@example.com", "role": "member" })).await.expect(201);
        let token = created.body["token"].as_str().unwrap();

        app.post("/api/v1/invitations/accept", Some(&eve.access), json!({ "token": token })).await.expect_problem(403, "forbidden");
        app.post("/api/v1/invitations/accept", Some(&bob.access), json!({ "token": "nope" })).await.expect_problem(404, "not_found");
        let accepted = app.post("/api/v1/invitations/accept", Some(&bob.access), json!({ "token": token })).await.expect(200);
        assert_eq!(accepted.body["status"], "accepted");

        let me = app.get("/api/v1/auth/me", &bob.access).await.expect(200);
        assert_eq!(me.body["memberships"].as_array().unwrap().len(), 2);
        let switched = app.post("/api/v1/auth/switch-organization", Some(&bob.access), json!({ "organizationId": ada.org_id })).await.expect(200);
        assert_eq!(switched.body["role"], "member");
    }

    async fn revoked_replaced_and_expired_invitations_are_refused(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let invite = |email: &'static str| {
            let app = &app;
            let token = ada.access.clone();
            async move { app.post("/api/v1/invitations", Some(&token), json!({ "email": email, "role": "member" })).await.expect(201) }
        };
        let register = |email: &'static str, token: String| {
            let app = &app;
            async move { app.post("/api/v1/auth/register", None, json!({ "email": email, "password": PASSWORD, "name": "X", "invitationToken": token })).await }
        };

        let revoked = invite("r@example.com").await;
        let id = revoked.body["invitation"]["id"].as_str().unwrap();
        app.delete(&format!("/api/v1/invitations/{id}"), &ada.access).await.expect(204);
        app.delete(&format!("/api/v1/invitations/{id}"), &ada.access).await.expect_problem(409, "conflict");
        register("r@example.com", revoked.body["token"].as_str().unwrap().into()).await.expect_problem(409, "conflict");

        let first = invite("twice@example.com").await;
        let second = invite("twice@example.com").await;
        register("twice@example.com", first.body["token"].as_str().unwrap().into()).await.expect_problem(409, "conflict");
        let pending = app.get("/api/v1/invitations?status=pending", &ada.access).await.expect(200);
        assert_eq!(pending.body["data"].as_array().unwrap().len(), 1);
        register("twice@example.com", second.body["token"].as_str().unwrap().into()).await.expect(201);

        let late = invite("late@example.com").await;
        let late_id = late.body["invitation"]["id"].as_str().unwrap();
        let past = if app.state.storage.backend() == sea_orm::DatabaseBackend::Sqlite { "'2000-01-01T00:00:00+00:00'" } else { "TIMESTAMPTZ '2000-01-01 00:00:00+00'" };
        let id_literal = if app.state.storage.backend() == sea_orm::DatabaseBackend::Sqlite {
            format!("X'{}'", late_id.replace('-', ""))
        } else {
            format!("'{late_id}'")
        };
        app.sql(&format!("UPDATE invitations SET expires_at = {past} WHERE id = {id_literal}")).await;
        let expired = app.get("/api/v1/invitations?status=expired", &ada.access).await.expect(200);
        assert_eq!(expired.body["data"][0]["id"], late_id);
        register("late@example.com", late.body["token"].as_str().unwrap().into()).await.expect_problem(409, "conflict");
        register("x@example.com", "no-such-token".into()).await.expect_problem(404, "not_found");
    }

    async fn the_invited_email_and_role_rules_hold(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await;
        let admin = app.member(&ada, "admin@example.com", "admin").await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;

        app.post("/api/v1/invitations", Some(&admin.access), json!({ "email": "o@example.com", "role": "owner" })).await.expect_problem(403, "forbidden");
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "o@example.com", "role": "owner" })).await.expect(201);
        app.post("/api/v1/invitations", Some(&manager.access), json!({ "email": "x@example.com", "role": "member" })).await.expect_problem(403, "forbidden");
        app.get("/api/v1/invitations", &manager.access).await.expect_problem(403, "forbidden");
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "admin@example.com", "role": "member" })).await.expect_problem(409, "conflict");
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "not an email", "role": "member" })).await.expect_problem(400, "validation_failed");
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "x@example.com", "role": "root" })).await.expect_problem(400, "validation_failed");
        app.get("/api/v1/invitations?status=lost", &ada.access).await.expect_problem(400, "validation_failed");

        let token = app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "right@example.com", "role": "member" })).await.body["token"].as_str().unwrap().to_owned();
        app.post("/api/v1/auth/register", None, json!({ "email": "wrong@example.com", "password": PASSWORD, "name": "W", "invitationToken": token }))
            .await.expect_problem(400, "validation_failed");

        let key = app.api_key(&ada, &["leads:create"]).await;
        app.with_key(Method::POST, "/api/v1/invitations", &key, Some(json!({ "email": "k@example.com", "role": "member" }))).await.expect_problem(403, "forbidden");
    }

    async fn another_organizations_invitations_are_not_found(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let created = app.post("/api/v1/invitations", Some(&bob.access), json!({ "email": "x@example.com", "role": "member" })).await.expect(201);
        let id = created.body["invitation"]["id"].as_str().unwrap();
        app.delete(&format!("/api/v1/invitations/{id}"), &ada.access).await.expect_problem(404, "not_found");
        assert_eq!(app.get("/api/v1/invitations", &ada.access).await.expect(200).body["data"].as_array().unwrap().len(), 0);
        assert_eq!(app.get("/api/v1/invitations", &bob.access).await.expect(200).body["data"][0]["status"], "pending");
    }
}

mod without_self_service {
    use super::*;

    #[tokio::test]
    async fn an_invitation_lets_people_in_when_sign_up_is_closed() {
        let app = crate::helpers::TestApp::spawn_with(
            leadflow_storage::testing::Engine::Sqlite,
            &[("LEADFLOW_SELF_SERVICE_SIGNUP", "false")],
        )
        .await
        .unwrap();
        let root = app.super_admin().await;
        let org = app
            .post("/api/v1/organizations", Some(&root.access), json!({ "name": "acme" }))
            .await
            .expect(201);
        let entered = app
            .post(
                "/api/v1/auth/switch-organization",
                Some(&root.access),
                json!({ "organizationId": org.body["id"] }),
            )
            .await
            .expect(200);
        let root_in_acme = crate::helpers::Session {
            user_id: root.user_id.clone(),
            org_id: org.body["id"].as_str().map(str::to_owned),
            access: entered.body["tokens"]["accessToken"].as_str().unwrap().to_owned(),
            refresh: entered.body["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
        };
        let owner = app.member(&root_in_acme, "owner@acme.io", "owner").await;
        assert_eq!(owner.org_id, root_in_acme.org_id);
    }
}
