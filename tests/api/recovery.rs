//! Password reset and email verification, through the emailed links, over real SMTP.

use leadflow_storage::testing::Engine;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};
use crate::mailbox::{Mailbox, Mode, Received};

async fn with_mail(engine: Engine, mailbox: &Mailbox, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![
        ("LEADFLOW_EMAIL_TRANSPORT", "smtp"),
        ("LEADFLOW_SMTP_URL", mailbox.url.as_str()),
        ("LEADFLOW_APP_URL", "https://app.example.com"),
        ("LEADFLOW_DELIVERY_WORKERS", "1"),
    ];
    env.extend_from_slice(extra);
    TestApp::spawn_with(engine, &env).await
}

/// The token of the `{appUrl}/{path}?token=…` link in a message.
fn token_in(message: &Received, path: &str) -> String {
    let raw = message.data.replace("=\r\n", "").replace("=3D", "=");
    let start = raw
        .find(&format!("https://app.example.com/{path}?token="))
        .unwrap_or_else(|| panic!("no {path} link in {raw}"));
    raw[start..]
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

crate::on_both_engines!(
    a_forgotten_password_is_reset_through_the_emailed_link_once,
    registration_sends_a_verification_link_and_the_link_verifies,
    unverified_users_are_kept_from_inviting_keys_and_organizations_when_required,
);

async fn a_forgotten_password_is_reset_through_the_emailed_link_once(engine: Engine) {
    let mailbox = Mailbox::start(Mode::Accept);
    let Some(app) = with_mail(engine, &mailbox, &[]).await else { return };
    let ada = app.register("ada@example.com", None).await;
    mailbox.wait_for(1).await; // the verification email
    // Known and unknown addresses get the same answer.
    app.post("/api/v1/auth/password-reset/request", None, json!({ "email": "nobody@example.com" }))
        .await
        .expect(202);
    // Something that is no email address at all cannot be anyone's: refusing it reveals nothing.
    app.post("/api/v1/auth/password-reset/request", None, json!({ "email": "not an address" }))
        .await
        .expect_problem(400, "validation_failed");
    let asked = app
        .post("/api/v1/auth/password-reset/request", None, json!({ "email": "ADA@example.com" }))
        .await
        .expect(202);
    assert!(asked.text.is_empty());
    let messages = mailbox.wait_for(2).await;
    let reset = &messages[1];
    assert_eq!(reset.to, ["ada@example.com"]);
    assert!(reset.header("subject").unwrap().contains("Reset"));
    let token = token_in(reset, "reset-password");

    app.post("/api/v1/auth/password-reset/confirm", None, json!({ "token": token, "newPassword": "short" }))
        .await
        .expect_problem(400, "validation_failed");
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": "forged", "newPassword": "a brand new passphrase" }),
    )
    .await
    .expect_problem(400, "validation_failed");
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "newPassword": "a brand new passphrase" }),
    )
    .await
    .expect(204);
    // Single use; every session ended; the new password works, the old one not.
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({ "token": token, "newPassword": "another new passphrase" }),
    )
    .await
    .expect_problem(400, "validation_failed");
    app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect(401);
    app.post("/api/v1/auth/login", None, json!({ "email": "ada@example.com", "password": PASSWORD }))
        .await
        .expect(401);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({ "email": "ada@example.com", "password": "a brand new passphrase" }),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mailbox.messages().len(), 2, "no email for the unknown addresses");
}

async fn registration_sends_a_verification_link_and_the_link_verifies(engine: Engine) {
    let mailbox = Mailbox::start(Mode::Accept);
    let Some(app) = with_mail(engine, &mailbox, &[]).await else { return };
    let ada = app.register("ada@example.com", Some("acme")).await;
    let messages = mailbox.wait_for(1).await;
    assert_eq!(messages[0].to, ["ada@example.com"]);
    let me = app.get("/api/v1/auth/me", &ada.access).await.expect(200);
    assert_eq!(me.body["user"]["emailVerifiedAt"], serde_json::Value::Null);

    // A new link replaces the first.
    app.post("/api/v1/auth/verify-email/resend", Some(&ada.access), json!({})).await.expect(202);
    let messages = mailbox.wait_for(2).await;
    let (first, second) = (token_in(&messages[0], "verify-email"), token_in(&messages[1], "verify-email"));
    app.post("/api/v1/auth/verify-email", None, json!({ "token": first }))
        .await
        .expect_problem(400, "validation_failed");
    app.post("/api/v1/auth/verify-email", None, json!({ "token": second })).await.expect(204);
    let me = app.get("/api/v1/auth/me", &ada.access).await.expect(200);
    assert!(me.body["user"]["emailVerifiedAt"].is_string());
    app.post("/api/v1/auth/verify-email/resend", Some(&ada.access), json!({}))
        .await
        .expect_problem(409, "conflict");
    // A reset token is not a verification token.
    app.post("/api/v1/auth/verify-email", None, json!({ "token": second }))
        .await
        .expect_problem(400, "validation_failed");

    // Registering through an invitation proves the address: verified at once, no link sent.
    app.upgrade(&ada, "pro").await;
    let bob = app.member(&ada, "bob@example.com", "member").await;
    let me = app.get("/api/v1/auth/me", &bob.access).await.expect(200);
    assert!(me.body["user"]["emailVerifiedAt"].is_string());
    let _ = mailbox.wait_for(3).await; // the invitation
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        mailbox
            .messages()
            .iter()
            .all(|m| m.to != ["bob@example.com"] || m.header("subject").unwrap().contains("invited"))
    );
}

async fn unverified_users_are_kept_from_inviting_keys_and_organizations_when_required(engine: Engine) {
    let mailbox = Mailbox::start(Mode::Accept);
    let Some(app) = with_mail(engine, &mailbox, &[("LEADFLOW_REQUIRE_VERIFIED_EMAIL", "true")]).await else {
        return;
    };
    let ada = app.register("ada@example.com", Some("acme")).await;
    app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "x@example.com", "role": "member" }))
        .await
        .expect_problem(403, "email_unverified");
    app.post("/api/v1/api-keys", Some(&ada.access), json!({ "name": "k", "scopes": ["leads:create"] }))
        .await
        .expect_problem(403, "email_unverified");
    app.post(
        "/api/v1/organizations",
        Some(&ada.access),
        json!({ "name": "second", "displayName": "Second" }),
    )
    .await
    .expect_problem(403, "email_unverified");
    // Reading and working leads is not restricted.
    app.get("/api/v1/leads", &ada.access).await.expect(200);

    let token = token_in(&mailbox.wait_for(1).await[0], "verify-email");
    app.post("/api/v1/auth/verify-email", None, json!({ "token": token })).await.expect(204);
    app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "x@example.com", "role": "member" }))
        .await
        .expect(201);
    app.post("/api/v1/api-keys", Some(&ada.access), json!({ "name": "k", "scopes": ["leads:create"] }))
        .await
        .expect(201);
}
