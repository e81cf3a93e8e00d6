//! The test harness: spawn the app, speak HTTP, make users and organizations.

use std::collections::HashMap;
use std::sync::Arc;

use leadflow_server::state::{AppState, StepOverrides};
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
    root: tokio::sync::OnceCell<Session>,
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
        // API-only by default, so that tests see leads as submitted; the
        // workflow tests turn workers on.
        ("LEADFLOW_WORKERS".into(), "0".into()),
        ("LEADFLOW_WORKER_POLL_MS".into(), "10".into()),
        ("LEADFLOW_WORKFLOW_RETRY_BASE_MS".into(), "20".into()),
        // Nothing leaves unless a delivery test says where to.
        ("LEADFLOW_DELIVERY_WORKERS".into(), "0".into()),
        ("LEADFLOW_EMAIL_TRANSPORT".into(), "none".into()),
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
        Self::spawn_with_steps(engine, overrides, StepOverrides::default()).await
    }

    /// A server whose workflow steps are partly replaced (e.g. a failing researcher).
    pub async fn spawn_with_steps(
        engine: Engine,
        overrides: &[(&str, &str)],
        steps: StepOverrides,
    ) -> Option<Self> {
        capture_logs();
        let db = TestDatabase::fresh(engine).await?;
        let app = Application::build_with(test_config(&db.url, overrides), steps).await.unwrap();
        let state = app.state().clone();
        let addr = app.spawn().await.unwrap();
        Some(Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            state,
            root: tokio::sync::OnceCell::new(),
            _db: db,
        })
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

    /// A signed-in super admin (acting in no organization), created on first use.
    pub async fn super_admin(&self) -> Session {
        self.root
            .get_or_init(|| async {
                self.state
                    .auth
                    .create_super_admin("root@leadflow.test", PASSWORD, "Root", false)
                    .await
                    .unwrap();
                self.login("root@leadflow.test", None).await
            })
            .await
            .clone()
    }

    /// A new user invited by `inviter` (who needs `users:manage`) as `role`,
    /// registered with the invitation token and signed in to that organization.
    pub async fn member(&self, inviter: &Session, email: &str, role: &str) -> Session {
        let invited = self
            .post("/api/v1/invitations", Some(&inviter.access), json!({ "email": email, "role": role }))
            .await
            .expect(201);
        let token = invited.body["token"].as_str().unwrap();
        let body =
            json!({ "email": email, "password": PASSWORD, "name": "Invited", "invitationToken": token });
        let reply = self.post("/api/v1/auth/register", None, body).await.expect(201);
        assert_eq!(reply.body["role"], role);
        session_of(&reply.body, reply.body["organization"]["id"].as_str())
    }

    /// Moves the session's organization to `plan`, `active` (the super admin
    /// does it: without a billing provider, owners cannot).
    pub async fn upgrade(&self, owner: &Session, plan: &str) {
        let root = self.super_admin().await;
        let org = owner.org_id.as_deref().expect("an organization");
        self.call(
            Method::PUT,
            &format!("/api/v1/admin/organizations/{org}/subscription"),
            Some(&root.access),
            Some(json!({ "plan": plan })),
        )
        .await
        .expect(200);
    }

    /// An API key of the inviter's organization with `scopes`; returns the full key.
    pub async fn api_key(&self, owner: &Session, scopes: &[&str]) -> String {
        let reply = self
            .post("/api/v1/api-keys", Some(&owner.access), json!({ "name": "test key", "scopes": scopes }))
            .await
            .expect(201);
        reply.body["secret"].as_str().unwrap().to_owned()
    }

    /// A request authenticated with an API key.
    pub async fn with_key(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Reply {
        let mut request =
            self.client.request(method, format!("{}{}", self.base, path)).header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// Runs raw SQL on the test database (fixtures that no API may create, such as expiry in the past).
    pub async fn sql(&self, sql: &str) {
        use sea_orm::ConnectionTrait as _;
        self.state.storage.connection().execute_unprepared(sql).await.unwrap();
    }
}

/// Every log line of this test process, at every level, kept in memory so
/// that a test can prove a secret was never logged (see `secrets.rs`). With
/// `TEST_LOG` set, the lines also go to stderr.
static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = std::io::stderr().write_all(buf);
        }
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = LogSink(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    });
}

/// Everything logged so far by every test of this process.
pub fn captured_logs() -> String {
    capture_logs();
    let bytes = LOGS
        .get()
        .map(|b| b.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
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

/// Declares `name::sqlite` and `name::postgres` for each `async fn name(engine: Engine)`
/// of the calling module (tests that spawn their server themselves, with their own settings).
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(leadflow_storage::testing::Engine::Sqlite).await;
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name(leadflow_storage::testing::Engine::Postgres).await;
                }
            }
        )*
    };
}
