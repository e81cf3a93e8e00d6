//! Tenant isolation, token validation, deactivation and hard deletion.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::JWT_SECRET;
use crate::http_tests;

/// Every organization-scoped route, as (method, path under /api/v1/organizations/{id}, body).
fn scoped_routes(id: &str) -> Vec<(Method, String, Option<Value>)> {
    let base = format!("/api/v1/organizations/{id}");
    vec![
        (Method::GET, base.clone(), None),
        (Method::PATCH, base.clone(), Some(json!({ "displayName": "Hijacked" }))),
        (Method::DELETE, base.clone(), None),
        (Method::POST, format!("{base}/purge"), Some(json!({ "confirm": "globex" }))),
        (Method::POST, format!("{base}/activate"), Some(json!({}))),
        (Method::GET, format!("{base}/stats"), None),
    ]
}

fn forge(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn claims_for(user: &str, org: &str, exp_offset: i64, aud: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": user, "org": org, "role": "owner", "email": "ada@example.com", "sa": false,
        "jti": uuid::Uuid::now_v7(), "iat": now, "exp": now + exp_offset, "iss": "leadflow", "aud": aud
    })
}

http_tests! {
    async fn another_organizations_resources_are_not_found(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let globex = bob.org_id.clone().unwrap();

        for (method, path, body) in scoped_routes(&globex) {
            app.call(method.clone(), &path, Some(&ada.access), body).await.expect_problem(404, "not_found");
        }
        // An id that exists nowhere answers the same.
        let ghost = uuid::Uuid::now_v7().to_string();
        for (method, path, body) in scoped_routes(&ghost) {
            app.call(method.clone(), &path, Some(&ada.access), body).await.expect_problem(404, "not_found");
        }
        let list = app.get("/api/v1/organizations", &ada.access).await.expect(200);
        assert_eq!(list.body["pagination"]["total"], 1);

        // Globex is untouched.
        let read = app.get(&format!("/api/v1/organizations/{globex}"), &bob.access).await.expect(200);
        assert_eq!(read.body["displayName"], "globex Inc");
        assert_eq!(read.body["isActive"], true);
    }

    async fn tampered_expired_foreign_and_unsigned_tokens_are_unauthorized(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let (user, org) = (ada.user_id.as_str(), ada.org_id.as_deref().unwrap());
        let me = "/api/v1/auth/me";
        app.get(me, &forge(&claims_for(user, org, 600, "leadflow-api"), JWT_SECRET.as_bytes())).await.expect(200);

        let mut tampered = ada.access.clone();
        let payload_start = tampered.find('.').unwrap() + 1;
        tampered.replace_range(payload_start..payload_start + 2, if &tampered[payload_start..payload_start + 2] == "ey" { "eX" } else { "ey" });
        let expired = forge(&claims_for(user, org, -600, "leadflow-api"), JWT_SECRET.as_bytes());
        let wrong_audience = forge(&claims_for(user, org, 600, "someone-else"), JWT_SECRET.as_bytes());
        let wrong_key = forge(&claims_for(user, org, 600, "leadflow-api"), b"another-secret-another-secret-another-secret");
        let unsigned = {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let payload = b64.encode(claims_for(user, org, 600, "leadflow-api").to_string());
            format!("{header}.{payload}.")
        };
        for token in [tampered, expired, wrong_audience, wrong_key, unsigned, "garbage".to_owned()] {
            app.get(me, &token).await.expect_problem(401, "unauthorized");
        }
        app.call(Method::GET, me, None, None).await.expect_problem(401, "unauthorized");
    }

    async fn a_deactivated_organization_is_refused_until_reactivated(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org = ada.org_id.clone().unwrap();
        let path = format!("/api/v1/organizations/{org}");

        let deactivated = app.delete(&path, &ada.access).await.expect(200);
        assert_eq!(deactivated.body["isActive"], false);

        app.get(&path, &ada.access).await.expect_problem(403, "org_inactive");
        app.get("/api/v1/auth/me", &ada.access).await.expect_problem(403, "org_inactive");
        app.post("/api/v1/auth/refresh", None, json!({ "refreshToken": ada.refresh })).await.expect_problem(403, "org_inactive");

        let root = app.super_admin().await;
        let listed = app.get("/api/v1/organizations?isActive=false", &root.access).await.expect(200);
        assert_eq!(listed.body["data"][0]["id"], org.as_str());
        let activated = app.post(&format!("{path}/activate"), Some(&root.access), json!({})).await.expect(200);
        assert_eq!(activated.body["isActive"], true);

        app.get(&path, &ada.access).await.expect(200);
    }

    async fn a_hard_delete_leaves_no_row_of_the_organization(app: TestApp) {
        use sea_orm::{ConnectionTrait, Statement};
        let bob = app.register("bob@example.com", Some("globex")).await;
        let globex = bob.org_id.clone().unwrap();
        app.member(&bob, "m@example.com", "member").await;
        // Rows in the delivery tables too: an endpoint, a delivery and its attempt log.
        let hook = app
            .post("/api/v1/webhooks", Some(&bob.access), serde_json::json!({ "url": "https://hooks.example.com/in", "events": ["lead.created"] }))
            .await
            .expect(201);
        let hook_id = hook.body["endpoint"]["id"].as_str().unwrap();
        app.post(&format!("/api/v1/webhooks/{hook_id}/test"), Some(&bob.access), serde_json::json!({})).await.expect(202);
        app.login("bob@example.com", None).await;
        let ada = app.register("ada@example.com", Some("acme")).await;
        let root = app.super_admin().await;
        let path = format!("/api/v1/organizations/{globex}");

        app.post(&format!("{path}/purge"), Some(&root.access), json!({})).await.expect_problem(400, "validation_failed");
        app.post(&format!("{path}/purge"), Some(&root.access), json!({ "confirm": "acme" })).await.expect_problem(400, "validation_failed");
        app.post(&format!("{path}/purge"), Some(&root.access), json!({ "confirm": "globex" })).await.expect(204);

        app.get(&path, &root.access).await.expect_problem(404, "not_found");
        app.get(&path, &bob.access).await.expect_problem(401, "unauthorized");
        let db = app.state.storage.connection();
        let backend = db.get_database_backend();
        let sqlite = backend == sea_orm::DatabaseBackend::Sqlite;
        // Every table with an organization_id column, found in the schema so
        // that tables added by later migrations are covered too.
        let tables_sql = if sqlite {
            "SELECT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'organization_id'"
        } else {
            "SELECT table_name::text AS t FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'organization_id'"
        };
        let tables = db.query_all_raw(Statement::from_string(backend, tables_sql)).await.unwrap();
        let mut checked: Vec<(String, &str)> = tables.iter().map(|r| (r.try_get::<String>("", "t").unwrap(), "organization_id")).collect();
        assert!(checked.len() >= 2, "expected tenant tables, found {checked:?}");
        checked.push(("organizations".into(), "id"));
        let id = uuid::Uuid::parse_str(&globex).unwrap();
        for (table, column) in checked {
            let placeholder = if sqlite { "?" } else { "$1" };
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = {placeholder}");
            let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()])).await.unwrap().unwrap();
            let n: i64 = row.try_get("", "n").unwrap();
            assert_eq!(n, 0, "rows of the deleted organization left in {table}");
        }
        // The other tenant and the users themselves remain.
        app.get(&format!("/api/v1/organizations/{}", ada.org_id.unwrap()), &ada.access).await.expect(200);
        app.login("bob@example.com", None).await;
    }
}
