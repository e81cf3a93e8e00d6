//! The test harness: spawn the app, speak HTTP, make users and organizations.

use std::collections::HashMap;
use std::sync::Arc;

use leadflow_server::state::AppState;
use leadflow_server::{Application, Config};
use leadflow_storage::testing::{Engine, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The HMAC key of every test server (so tests can forge tokens on purpose).
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// A running server on a fresh database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    _db: TestDatabase,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the status and returns self, printing the body on failure.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts a problem response with this status and code.
    #[track_caller]
    pub fn expect_problem(self, status: u16, code: &str) -> Self {
        let s = self.expect(status);
        let content_type = s.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(
            content_type.starts_with("application/problem+json"),
            "content type {content_type}: {}",
            s.text
        );
        assert_eq!(s.body["code"], code, "{}", s.text);
        assert_eq!(s.body["status"], status, "{}", s.text);
        s
    }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub org_id: Option<String>,
    pub access: String,
    pub refresh: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

fn test_config(url: &str, overrides: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::from([
        ("LEADFLOW_DATABASE_URL".into(), url.into()),
        ("LEADFLOW_JWT_SECRET".into(), JWT_SECRET.into()),
        // Cheap hashing for tests only; production keeps the OWASP default.
        ("LEADFLOW_PASSWORD_HASH_MEMORY_KIB".into(), "256".into()),
        ("LEADFLOW_PASSWORD_HASH_ITERATIONS".into(), "1".into()),
        ("LEADFLOW_DATABASE_MAX_CONNECTIONS".into(), "4".into()),
    ]);
    for (k, v) in overrides {
        env.insert((*k).into(), (*v).into());
    }
    Config::from_lookup(|k| env.get(k).cloned()).unwrap()
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Option<Self> {
        Self::spawn_with(engine, &[]).await
    }

    pub async fn spawn_with(engine: Engine, overrides: &[(&str, &str)]) -> Option<Self> {
        if std::env::var("TEST_LOG").is_ok() {
            leadflow_server::telemetry::init(leadflow_server::config::LogFormat::Pretty, "info");
        }
        let db = TestDatabase::fresh(engine).await?;
        let app = Application::build(test_config(&db.url, overrides)).await.unwrap();
        let state = app.state().clone();
        let addr = app.spawn().await.unwrap();
        Some(Self { base: format!("http://{addr}"), client: reqwest::Client::new(), state, _db: db })
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Registers `email`, with an organization named `org` when given.
    pub async fn register(&self, email: &str, org: Option<&str>) -> Session {
        let mut body = json!({ "email": email, "password": PASSWORD, "name": "Test User" });
        if let Some(org) = org {
            body["organization"] = json!({ "name": org, "displayName": format!("{org} Inc") });
        }
        let reply = self.post("/api/v1/auth/register", None, body).await.expect(201);
        session_of(&reply.body, reply.body["organization"]["id"].as_str())
    }

    pub async fn login(&self, email: &str, org: Option<&str>) -> Session {
        let mut body = json!({ "email": email, "password": PASSWORD });
        if let Some(org) = org {
            body["organizationId"] = json!(org);
        }
        let reply = self.post("/api/v1/auth/login", None, body).await.expect(200);
        session_of(&reply.body, reply.body["organizationId"].as_str())
    }

    /// A signed-in super admin (acting in no organization).
    pub async fn super_admin(&self) -> Session {
        self.state.auth.create_super_admin("root@leadflow.test", PASSWORD, "Root").await.unwrap();
        self.login("root@leadflow.test", None).await
    }

    /// A new user who is a member of `org` with `role`, signed in there.
    ///
    /// Memberships are managed over HTTP only from the access-management
    /// issue on; until then this fixture writes the membership row directly.
    pub async fn member(&self, org: &str, email: &str, role: &str) -> Session {
        use sea_orm::{ActiveValue::Set, EntityTrait as _};
        let user = self.register(email, None).await;
        leadflow_storage::entities::membership::Entity::insert(
            leadflow_storage::entities::membership::ActiveModel {
                organization_id: Set(org.parse().unwrap()),
                user_id: Set(user.user_id.parse().unwrap()),
                role: Set(role.into()),
                created_at: Set(chrono::Utc::now()),
            },
        )
        .exec_without_returning(self.state.storage.connection())
        .await
        .unwrap();
        self.login(email, Some(org)).await
    }
}

fn session_of(body: &Value, org: Option<&str>) -> Session {
    Session {
        user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        org_id: org.map(str::to_owned),
        access: body["tokens"]["accessToken"].as_str().unwrap().to_owned(),
        refresh: body["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, headers, body, text }
}

/// Declares each test once per engine: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! http_tests {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::helpers::TestApp) $body

                #[tokio::test]
                async fn sqlite() {
                    run($crate::helpers::TestApp::spawn(leadflow_storage::testing::Engine::Sqlite).await.unwrap()).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::spawn(leadflow_storage::testing::Engine::Postgres).await {
                        run(app).await;
                    }
                }
            }
        )*
    };
}
