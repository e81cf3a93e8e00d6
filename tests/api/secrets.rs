//! Secrets (tokens, keys, passwords) appear in exactly one response and in no log line.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, captured_logs};

#[tokio::test]
async fn secrets_are_shown_once_and_never_logged() {
    let app = TestApp::spawn(leadflow_storage::testing::Engine::Sqlite).await.unwrap();
    let ada = app.register("ada@example.com", Some("acme")).await;
    let key_reply = app
        .post(
            "/api/v1/api-keys",
            Some(&ada.access),
            json!({ "name": "k", "scopes": ["users:manage", "audit:view"] }),
        )
        .await
        .expect(201);
    let key = key_reply.body["secret"].as_str().unwrap().to_owned();
    let invite_reply = app
        .post(
            "/api/v1/invitations",
            Some(&ada.access),
            json!({ "email": "new@example.com", "role": "member" }),
        )
        .await
        .expect(201);
    let token = invite_reply.body["token"].as_str().unwrap().to_owned();

    // Everything a client could read afterwards, with a user's token and with the key.
    let mut later = Vec::new();
    for path in [
        "/api/v1/api-keys",
        "/api/v1/invitations",
        "/api/v1/audit-logs?limit=100",
        "/api/v1/auth/me",
        "/api/v1/members",
    ] {
        later.push(app.get(path, &ada.access).await.text);
    }
    for path in ["/api/v1/invitations", "/api/v1/audit-logs?limit=100"] {
        later.push(app.with_key(Method::GET, path, &key, None).await.text);
    }
    let secret_part = key.rsplit('_').next().unwrap().to_owned();
    for text in &later {
        assert!(!text.contains(&secret_part), "the key's secret reappeared: {text}");
        assert!(!text.contains(&token), "the invitation token reappeared: {text}");
    }
    assert!(key_reply.text.contains(&secret_part) && invite_reply.text.contains(&token));

    let log = captured_logs();
    assert!(log.contains(&ada.user_id) || log.contains("request"), "the capture sees the server's logs");
    for (what, secret) in [
        ("API key secret", secret_part.as_str()),
        ("invitation token", token.as_str()),
        ("password", PASSWORD),
        ("access token", ada.access.as_str()),
        ("refresh token", ada.refresh.as_str()),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the logs");
    }
}
