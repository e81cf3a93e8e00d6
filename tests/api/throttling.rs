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
