//! Login throttling per account and per client address.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};
use crate::http_tests;

async fn login(app: &TestApp, email: &str, password: &str) -> crate::helpers::Reply {
    app.post("/api/v1/auth/login", None, json!({ "email": email, "password": password })).await
}

http_tests! {
    async fn an_account_is_locked_after_five_failures_even_for_the_right_password(app: TestApp) {
        app.register("ada@example.com", Some("acme")).await;
        for _ in 0..5 {
            login(&app, "ada@example.com", "wrong password!").await.expect_problem(401, "unauthorized");
        }
        let locked = login(&app, "ada@example.com", PASSWORD).await.expect_problem(429, "rate_limited");
        let retry: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 800 && retry <= 900, "{retry}");

        // An unknown account behaves exactly the same: the lockout reveals nothing.
        for _ in 0..5 {
            login(&app, "nobody@example.com", "wrong password!").await.expect_problem(401, "unauthorized");
        }
        login(&app, "nobody@example.com", "wrong password!").await.expect_problem(429, "rate_limited");

        // Other accounts are not affected.
        app.register("bob@example.com", None).await;
        login(&app, "bob@example.com", PASSWORD).await.expect(200);
    }

    async fn a_success_resets_the_account_counter(app: TestApp) {
        app.register("ada@example.com", Some("acme")).await;
        for _ in 0..4 {
            login(&app, "ada@example.com", "wrong password!").await.expect(401);
        }
        login(&app, "ada@example.com", PASSWORD).await.expect(200);
        for _ in 0..4 {
            login(&app, "ada@example.com", "wrong password!").await.expect(401);
        }
        login(&app, "ada@example.com", PASSWORD).await.expect(200);
    }

    async fn one_address_is_locked_after_twenty_failures_across_accounts(app: TestApp) {
        app.register("ada@example.com", Some("acme")).await;
        for i in 0..20 {
            login(&app, &format!("guess{i}@example.com"), "wrong password!").await.expect(401);
        }
        login(&app, "ada@example.com", PASSWORD).await.expect_problem(429, "rate_limited");
    }
}

async fn login_via(app: &TestApp, password: &str, forwarded_for: &str) -> crate::helpers::Reply {
    let request = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": "ada@example.com", "password": password }));
    crate::helpers::read(request.send().await.unwrap()).await
}

mod behind_a_trusted_proxy_each_client_has_its_own_budget_and_the_owner_gets_in {
    use super::*;

    async fn run(engine: leadflow_storage::testing::Engine) {
        let Some(app) = TestApp::spawn_with(engine, &[("LEADFLOW_TRUSTED_PROXIES", "127.0.0.1/32")]).await
        else {
            return;
        };
        app.register("ada@example.com", Some("acme")).await;
        for _ in 0..5 {
            login_via(&app, "wrong password!", "203.0.113.7").await.expect_problem(401, "unauthorized");
        }
        // The attacker's address is refused, even with the right password…
        login_via(&app, PASSWORD, "203.0.113.7").await.expect_problem(429, "rate_limited");
        // …the owner, from an address that has not failed, gets in.
        login_via(&app, PASSWORD, "198.51.100.1").await.expect(200);
        // A client cannot choose its address: the proxy appends the real one, and the right-most counts.
        login_via(&app, PASSWORD, "198.51.100.1, 203.0.113.7").await.expect_problem(429, "rate_limited");
    }

    #[tokio::test]
    async fn sqlite() {
        run(leadflow_storage::testing::Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(leadflow_storage::testing::Engine::Postgres).await;
    }
}

mod without_trusted_proxies_x_forwarded_for_is_ignored {
    use super::*;

    async fn run(engine: leadflow_storage::testing::Engine) {
        let Some(app) = TestApp::spawn(engine).await else { return };
        app.register("ada@example.com", Some("acme")).await;
        for _ in 0..5 {
            login_via(&app, "wrong password!", "203.0.113.7").await.expect_problem(401, "unauthorized");
        }
        // Every request came from the same TCP peer: the header changes nothing.
        login_via(&app, PASSWORD, "198.51.100.1").await.expect_problem(429, "rate_limited");
    }

    #[tokio::test]
    async fn sqlite() {
        run(leadflow_storage::testing::Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(leadflow_storage::testing::Engine::Postgres).await;
    }
}

http_tests! {
    async fn registrations_are_throttled_per_address(app: TestApp) {
        for n in 0..30 {
            app.register(&format!("user{n}@example.com"), None).await;
        }
        let body = json!({ "email": "one.more@example.com", "password": PASSWORD, "name": "One more" });
        let refused = app.post("/api/v1/auth/register", None, body).await.expect_problem(429, "rate_limited");
        assert!(refused.headers.get("retry-after").is_some());
        login(&app, "one.more@example.com", PASSWORD).await.expect_problem(401, "unauthorized");
    }

    async fn password_changes_are_throttled_per_account(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let change = |current: &'static str| {
            app.post("/api/v1/auth/change-password", Some(&ada.access), json!({ "currentPassword": current, "newPassword": "a brand new password" }))
        };
        for _ in 0..10 {
            change("a wrong guess!").await.expect_problem(400, "validation_failed");
        }
        change(PASSWORD).await.expect_problem(429, "rate_limited");
        login(&app, "ada@example.com", PASSWORD).await.expect(200);
    }

    async fn invitations_are_throttled_per_organization(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "enterprise").await;
        for n in 0..100 {
            app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": format!("guest{n}@example.com"), "role": "member" })).await.expect(201);
        }
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "guest100@example.com", "role": "member" })).await.expect_problem(429, "rate_limited");
        let listed = app.get("/api/v1/invitations", &ada.access).await.expect(200);
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 100);
    }
}
