//! Real `leadflow serve` processes on one database: a crash (SIGKILL) while
//! workflows are in flight, and two processes sharing the work.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leadflow_storage::entities::{email_outbox, lead, workflow};
use leadflow_storage::testing::{Engine, TestDatabase};
use sea_orm::{Database, DatabaseConnection, EntityTrait as _};
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../../../tests/api/mailbox.rs"]
mod mailbox;
#[allow(dead_code)]
#[path = "../../../tests/api/receiver.rs"]
mod receiver;

const SECRET: &str = "process-test-secret-process-test-secret-0123";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(database_url: &str) -> Server {
    start_with(database_url, &[]).await
}

/// A `leadflow serve` on `database_url`, with `extra` environment (email is
/// off unless `extra` turns it on).
async fn start_with(database_url: &str, extra: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_leadflow"));
    command.env("LEADFLOW_EMAIL_TRANSPORT", "none");
    for (k, v) in extra {
        command.env(k, v);
    }
    let child = command
        .arg("serve")
        .env("LEADFLOW_DATABASE_URL", database_url)
        .env("LEADFLOW_BIND", format!("127.0.0.1:{port}"))
        .env("LEADFLOW_JWT_SECRET", SECRET)
        .env("LEADFLOW_PASSWORD_HASH_MEMORY_KIB", "256")
        .env("LEADFLOW_PASSWORD_HASH_ITERATIONS", "1")
        .env("LEADFLOW_SUPER_ADMIN_PASSWORD", "a long super admin password")
        .env("LEADFLOW_WORKERS", "2")
        .env("LEADFLOW_WORKER_POLL_MS", "10")
        .env("LEADFLOW_WORKER_BATCH", "8")
        .env("LEADFLOW_WORKFLOW_LEASE_SECS", "2")
        .env("LEADFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the leadflow binary runs");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client.get(format!("{}/ready", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("leadflow did not become ready");
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    auth: (&str, &str),
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method, url).header(auth.0, auth.1);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// An organization on the pro plan, its owner's bearer token and a lead-capture key.
async fn organization(server: &Server) -> (String, String) {
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{}/api/v1/auth/register", server.base))
        .json(&json!({ "email": "ada@example.com", "password": "correct horse battery", "name": "Ada", "organization": { "name": "acme" } }))
        .send().await.unwrap().json().await.unwrap();
    let token = registered["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    // Plans are the super admin's to change (no billing provider).
    let root: Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({ "email": "admin@leadflow.local", "password": "a long super admin password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let root = format!("Bearer {}", root["tokens"]["accessToken"].as_str().unwrap());
    call(
        &client,
        reqwest::Method::PUT,
        format!(
            "{}/api/v1/admin/organizations/{}/subscription",
            server.base,
            registered["organization"]["id"].as_str().unwrap()
        ),
        ("authorization", &root),
        Some(json!({ "plan": "pro" })),
    )
    .await;
    let key = call(
        &client,
        reqwest::Method::POST,
        format!("{}/api/v1/api-keys", server.base),
        ("authorization", &bearer),
        Some(json!({ "name": "form", "scopes": ["leads:create"] })),
    )
    .await;
    (bearer, key["secret"].as_str().unwrap().to_owned())
}

fn lead_body(i: usize, qualified: bool) -> Value {
    if qualified {
        json!({ "email": format!("buyer{i}@bigcorp.io"), "name": format!("Buyer {i}"), "company": "BigCorp", "message": "We want a demo and pricing for 40 seats" })
    } else {
        json!({ "email": format!("visitor{i}@gmail.com"), "name": format!("Visitor {i}"), "message": "hello" })
    }
}

async fn submit_all(bases: &[&str], key: &str, total: usize, qualified_every: usize) {
    let client = reqwest::Client::new();
    for chunk in (0..total).collect::<Vec<_>>().chunks(50) {
        let sends = chunk.iter().map(|&i| {
            let (client, base) = (client.clone(), bases[i % bases.len()].to_owned());
            async move {
                call(
                    &client,
                    reqwest::Method::POST,
                    format!("{base}/api/v1/leads"),
                    ("x-api-key", key),
                    Some(lead_body(i, i % qualified_every == 0)),
                )
                .await
            }
        });
        futures_util::future::join_all(sends).await;
    }
}

/// Approves every workflow awaiting approval; returns how many.
async fn approve_waiting(base: &str, bearer: &str, approved: &mut BTreeSet<String>) -> usize {
    let client = reqwest::Client::new();
    let inbox = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/api/v1/workflows?status=awaiting_approval&limit=100"),
        ("authorization", bearer),
        None,
    )
    .await;
    let ids: Vec<String> = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .filter(|id| !approved.contains(id))
        .collect();
    let approvals = ids.iter().map(|id| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/api/v1/workflows/{id}/approve"))
                .header("authorization", bearer)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    for (id, status) in ids.iter().zip(futures_util::future::join_all(approvals).await) {
        assert!(status.is_success() || status.as_u16() == 409, "approve {id}: {status}");
        approved.insert(id.clone());
    }
    ids.len()
}

async fn workflows(db: &DatabaseConnection) -> Vec<workflow::Model> {
    workflow::Entity::find().all(db).await.unwrap()
}

async fn wait_until(db: &DatabaseConnection, what: &str, done: impl Fn(&[workflow::Model]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if done(&workflows(db).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let by_status: BTreeMap<String, usize> = workflows(db).await.iter().fold(BTreeMap::new(), |mut m, w| {
        *m.entry(w.status.clone()).or_default() += 1;
        m
    });
    panic!("timed out waiting for {what}: {by_status:?}");
}

fn steps_of(w: &workflow::Model) -> Vec<Value> {
    w.steps.as_array().cloned().unwrap_or_default()
}

async fn a_crash_loses_no_step_and_sends_each_email_once(engine: Engine) {
    let Some(db) = TestDatabase::fresh(engine).await else { return };
    let first = start(&db.url).await;
    let (bearer, key) = organization(&first).await;
    let conn = Database::connect(&db.url).await.unwrap();

    // 200 leads, every other one qualified; approve a first burst, then kill
    // the process while sends, drafts and research are in flight.
    submit_all(&[&first.base], &key, 200, 2).await;
    let mut approved = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while approved.len() < 30 && Instant::now() < deadline {
        approve_waiting(&first.base, &bearer, &mut approved).await;
    }
    let mut first = first;
    first.child.kill().unwrap(); // SIGKILL: no graceful shutdown, leases left behind
    first.child.wait().unwrap();
    let in_flight = workflows(&conn).await.iter().filter(|w| w.status != "completed").count();
    assert!(in_flight > 0, "the crash should interrupt unfinished workflows");

    // A new process on the same database takes over when the leases expire.
    let second = start(&db.url).await;
    wait_until(&conn, "every qualified workflow to await approval or finish", |all| {
        all.iter().all(|w| {
            w.status == "awaiting_approval"
                || w.status == "completed"
                || (w.status == "running" && w.current_step.as_deref() == Some("send_email"))
        })
    })
    .await;
    while approve_waiting(&second.base, &bearer, &mut approved).await > 0 {}
    wait_until(&conn, "every workflow to complete", |all| {
        all.len() == 200 && all.iter().all(|w| w.status == "completed")
    })
    .await;

    let all = workflows(&conn).await;
    let outbox = email_outbox::Entity::find().all(&conn).await.unwrap();
    let emailed: Vec<String> = outbox.iter().filter_map(|e| e.workflow_id.map(|id| id.to_string())).collect();
    let distinct: BTreeSet<&String> = emailed.iter().collect();
    assert_eq!(emailed.len(), 100, "one outreach email per approved workflow");
    assert_eq!(distinct.len(), 100);
    for w in &all {
        let steps = steps_of(w);
        let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert!(steps.iter().all(|s| s["status"] == "succeeded"), "{names:?}");
        if w.qualification.as_ref().is_some_and(|q| q["category"] == "qualified") {
            assert_eq!(names, ["research", "qualify", "draft_email", "await_approval", "send_email"]);
            assert!(w.research.is_some() && w.email_draft.is_some() && w.decision.is_some());
            assert!(distinct.contains(&w.id.to_string()));
        } else {
            assert_eq!(names, ["research", "qualify"]);
        }
    }
    let leads = lead::Entity::find().all(&conn).await.unwrap();
    assert!(
        leads.iter().all(|l| l.qualification_category.is_some()),
        "every qualification was written onto its lead"
    );
    assert_eq!(leads.iter().filter(|l| l.status == "approved").count(), 100);
    drop(second);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loses_no_step_and_sends_each_email_once_sqlite() {
    a_crash_loses_no_step_and_sends_each_email_once(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loses_no_step_and_sends_each_email_once_postgres() {
    a_crash_loses_no_step_and_sends_each_email_once(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_share_the_work_and_run_each_step_once() {
    // Several processes on one database is what PostgreSQL is for.
    let Some(db) = TestDatabase::fresh(Engine::Postgres).await else { return };
    let a = start(&db.url).await;
    let b = start(&db.url).await;
    let (bearer, key) = organization(&a).await;
    let conn = Database::connect(&db.url).await.unwrap();

    submit_all(&[&a.base, &b.base], &key, 1000, 10).await;
    let mut approved = BTreeSet::new();
    wait_until(&conn, "workflows to settle", |all| {
        all.len() == 1000 && all.iter().all(|w| w.status == "completed" || w.status == "awaiting_approval")
    })
    .await;
    while approve_waiting(&b.base, &bearer, &mut approved).await > 0 {}
    wait_until(&conn, "every workflow to complete", |all| all.iter().all(|w| w.status == "completed")).await;

    let all = workflows(&conn).await;
    let mut by_process: BTreeMap<String, usize> = BTreeMap::new();
    for w in &all {
        let steps = steps_of(w);
        let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
        let unique: BTreeSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "no step recorded twice: {names:?}");
        for step in &steps {
            assert!(step["attempts"].as_u64().unwrap() <= 1, "each step ran once: {step}");
            if let Some(worker) = step["worker"].as_str() {
                *by_process.entry(worker.split('-').next().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    let emails: Vec<_> = email_outbox::Entity::find()
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "outreach")
        .collect();
    assert_eq!(emails.len(), 100);
    assert_eq!(emails.iter().filter_map(|e| e.workflow_id).collect::<BTreeSet<_>>().len(), 100);
    let pids: BTreeSet<String> = [a.child.id(), b.child.id()].iter().map(u32::to_string).collect();
    assert_eq!(
        by_process.keys().cloned().collect::<BTreeSet<_>>(),
        pids,
        "both processes did part of the work: {by_process:?}"
    );
}

/// Runs `leadflow seed-demo` on a database; its exit status and output.
fn seed_demo(database_url: &str) -> (bool, String) {
    leadflow(database_url, &["seed-demo", "--leads", "7"])
}

/// Runs `leadflow <args>` on the database; whether it succeeded, and what it printed.
fn leadflow(database_url: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_leadflow"))
        .args(args)
        .env("LEADFLOW_DATABASE_URL", database_url)
        .env("LEADFLOW_JWT_SECRET", SECRET)
        .env("LEADFLOW_PASSWORD_HASH_MEMORY_KIB", "256")
        .env("LEADFLOW_PASSWORD_HASH_ITERATIONS", "1")
        .env("LEADFLOW_DEMO_PASSWORD", "demo password 123")
        .env("LEADFLOW_LOG", "warn")
        .output()
        .expect("the leadflow binary runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

async fn seed_demo_creates_an_organization_to_sign_in_to(engine: Engine) {
    let Some(db) = TestDatabase::fresh(engine).await else { return };
    let (ok, out) = seed_demo(&db.url);
    assert!(ok, "{out}");
    assert!(out.contains("with 7 leads") && out.contains("owner@demo.leadflow.test"), "{out}");
    assert!(!out.contains("demo password 123"), "a given password is not echoed: {out}");

    // A second run refuses, with one clear line, and changes nothing.
    let (ok, again) = seed_demo(&db.url);
    assert!(!ok, "{again}");
    assert!(again.contains("cannot create the demo owner"), "{again}");

    let server = start(&db.url).await;
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({ "email": "owner@demo.leadflow.test", "password": "demo password 123" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer =
        format!("Bearer {}", login["tokens"]["accessToken"].as_str().expect("the demo owner signs in"));
    let leads = call(
        &client,
        reqwest::Method::GET,
        format!("{}/api/v1/leads", server.base),
        ("authorization", &bearer),
        None,
    )
    .await;
    let items = leads["data"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    assert!(items.iter().all(|l| l["source"] == "demo"));
    let conn = Database::connect(&db.url).await.unwrap();
    wait_until(&conn, "the demo workflows to settle", |all| {
        all.len() == 7 && all.iter().all(|w| w.status == "completed" || w.status == "awaiting_approval")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_demo_creates_an_organization_to_sign_in_to_sqlite() {
    seed_demo_creates_an_organization_to_sign_in_to(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_demo_creates_an_organization_to_sign_in_to_postgres() {
    seed_demo_creates_an_organization_to_sign_in_to(Engine::Postgres).await;
}

async fn create_super_admin_refuses_an_existing_account_unless_promoted(engine: Engine) {
    let Some(db) = TestDatabase::fresh(engine).await else { return };
    let server = start(&db.url).await;
    let client = reqwest::Client::new();
    // Someone registers the operator's address before the operator runs the command.
    let squatter: Value = client
        .post(format!("{}/api/v1/auth/register", server.base))
        .json(
            &json!({ "email": "ops@corp.example", "password": "the squatter's password", "name": "Mallory" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = squatter["tokens"]["refreshToken"].as_str().unwrap().to_owned();

    let (ok, out) = leadflow(&db.url, &["create-super-admin", "--email", "ops@corp.example"]);
    assert!(!ok, "an existing account is refused: {out}");
    assert!(out.contains("--promote"), "{out}");
    assert!(!out.contains("Generated password"), "no password is printed that was not applied: {out}");

    let (ok, out) = leadflow(
        &db.url,
        &[
            "create-super-admin",
            "--email",
            "ops@corp.example",
            "--promote",
            "--password",
            "the operator's password",
        ],
    );
    assert!(ok, "{out}");

    let login = |password: &'static str| {
        client
            .post(format!("{}/api/v1/auth/login", server.base))
            .json(&json!({ "email": "ops@corp.example", "password": password }))
            .send()
    };
    assert_eq!(
        login("the squatter's password").await.unwrap().status(),
        401,
        "the old password stopped working"
    );
    let refreshed = client
        .post(format!("{}/api/v1/auth/refresh", server.base))
        .json(&json!({ "refreshToken": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 401, "the squatter's sessions ended");
    let operator: Value = login("the operator's password").await.unwrap().json().await.unwrap();
    assert_eq!(operator["user"]["isSuperAdmin"], true, "{operator}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_super_admin_refuses_an_existing_account_unless_promoted_sqlite() {
    create_super_admin_refuses_an_existing_account_unless_promoted(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn create_super_admin_refuses_an_existing_account_unless_promoted_postgres() {
    create_super_admin_refuses_an_existing_account_unless_promoted(Engine::Postgres).await;
}

/// A TCP relay to PostgreSQL that the test can cut (connections reset, port
/// closed) and restore on the same port: a database outage without stopping
/// the shared server.
struct Relay {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { port, task }
    }

    /// Resets every relayed connection and stops listening.
    async fn cut(self) -> u16 {
        self.task.abort();
        let _ = self.task.await;
        self.port
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_answers_503_and_recovers_without_a_restart() {
    let Some(db) = TestDatabase::fresh(Engine::Postgres).await else { return };
    let relay = Relay::start(0).await;
    let url = db.url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port), 1);
    assert_ne!(url, db.url, "the test database is reached through the relay");
    let server = start(&url).await;
    let (bearer, key) = organization(&server).await;
    let client = reqwest::Client::new();
    let list = || client.get(format!("{}/api/v1/leads", server.base)).header("authorization", &bearer).send();
    let submit = || {
        client
            .post(format!("{}/api/v1/leads", server.base))
            .header("x-api-key", &key)
            .json(&lead_body(1, false))
            .send()
    };
    assert_eq!(list().await.unwrap().status(), 200);

    let port = relay.cut().await;
    for response in [list().await.unwrap(), submit().await.unwrap()] {
        assert_eq!(response.status(), 503);
        assert!(response.headers().get("retry-after").is_some());
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "unavailable", "{problem}");
        assert!(!problem.to_string().contains("Connection"), "no driver error reaches the client: {problem}");
    }
    let health = client.get(format!("{}/health", server.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let _relay = Relay::start(port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = list().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still {status} after the database came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(submit().await.unwrap().status(), 201);
}

/// The delivery rows of one kind, from the database.
async fn emails_of(db: &DatabaseConnection, kind: &str) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find().all(db).await.unwrap().into_iter().filter(|e| e.kind == kind).collect()
}

async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A process is killed (SIGKILL) while an invitation, an outreach email and a
/// webhook are on the wire, before it could record their fate. The next
/// process sends the invitation again (at least once), never sends the
/// outreach again (at most once: it becomes `unknown`), and delivers the
/// webhook again with the same `webhook-id`.
async fn a_crash_mid_send_loses_no_transactional_email_and_sends_no_outreach_twice(engine: Engine) {
    use mailbox::{Mailbox, Mode};
    use receiver::{Answer, Receiver};
    let Some(db) = TestDatabase::fresh(engine).await else { return };
    let conn = Database::connect(&db.url).await.unwrap();
    let mailbox = Mailbox::start(Mode::Stall);
    let hooks = Receiver::start(&[Answer::Hang]).await;
    let env = [
        ("LEADFLOW_EMAIL_TRANSPORT", "smtp"),
        ("LEADFLOW_SMTP_URL", mailbox.url.as_str()),
        ("LEADFLOW_DELIVERY_LEASE_SECS", "2"),
        ("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("LEADFLOW_WEBHOOK_TIMEOUT_SECS", "60"),
    ];
    let first = start_with(&db.url, &env).await;
    let (bearer, key) = organization(&first).await;
    let client = reqwest::Client::new();
    let endpoint = call(
        &client,
        reqwest::Method::POST,
        format!("{}/api/v1/webhooks", first.base),
        ("authorization", &bearer),
        Some(json!({ "url": hooks.url, "events": ["lead.created"] })),
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    call(
        &client,
        reqwest::Method::POST,
        format!("{}/api/v1/invitations", first.base),
        ("authorization", &bearer),
        Some(json!({ "email": "bob@example.com", "role": "member" })),
    )
    .await;
    submit_all(&[&first.base], &key, 1, 1).await;
    wait_until(&conn, "the workflow to await approval", |all| {
        all.len() == 1 && all[0].status == "awaiting_approval"
    })
    .await;
    let mut approved = BTreeSet::new();
    approve_waiting(&first.base, &bearer, &mut approved).await;
    // The outreach and the invitation reached the server, which holds back its
    // reply; the webhook reached the receiver, which hangs.
    wait_for("the outreach and the invitation on the wire", async || {
        let got = mailbox.messages();
        (got.iter().any(|m| m.to == ["buyer0@bigcorp.io"]) && got.iter().any(|m| m.to == ["bob@example.com"]))
            .then_some(())
    })
    .await;
    hooks.wait_for(1, 30).await;
    drop(first); // SIGKILL
    mailbox.set_mode(Mode::Accept);

    let second = start_with(&db.url, &env).await;
    let invitation = wait_for("the invitation to be sent again", async || {
        let rows = emails_of(&conn, "invitation").await;
        rows.iter().all(|e| e.status == "sent").then_some(rows)
    })
    .await;
    assert_eq!(invitation.len(), 1);
    assert!(
        mailbox.messages().iter().filter(|m| m.to == ["bob@example.com"]).count() >= 2,
        "sent again, not lost"
    );
    let outreach = wait_for("the outreach to be marked unknown", async || {
        let rows = emails_of(&conn, "outreach").await;
        (rows.len() == 1 && rows[0].status != "sending").then(|| rows[0].clone())
    })
    .await;
    assert_eq!(outreach.status, "unknown", "an interrupted outreach is never re-sent automatically");
    let hits = hooks.wait_for(2, 30).await;
    assert_eq!(hits[0].id, hits[1].id, "the same webhook-id on every attempt");
    for hit in &hits {
        receiver::verify(&secret, hit).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        mailbox.messages().iter().filter(|m| m.to == ["buyer0@bigcorp.io"]).count(),
        1,
        "the lead got one email"
    );
    drop(second);
}

#[tokio::test]
async fn a_crash_mid_send_loses_no_transactional_email_and_sends_no_outreach_twice_sqlite() {
    a_crash_mid_send_loses_no_transactional_email_and_sends_no_outreach_twice(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_crash_mid_send_loses_no_transactional_email_and_sends_no_outreach_twice_postgres() {
    a_crash_mid_send_loses_no_transactional_email_and_sends_no_outreach_twice(Engine::Postgres).await;
}

/// The embedded default, as a newcomer runs it: SQLite in a folder, no email
/// configured. An invitation and an approved outreach land as `.eml` files in
/// `leadflow-mail/` beside the database.
#[tokio::test]
async fn a_newcomer_finds_the_invitation_and_the_outreach_as_files() {
    let dir = std::env::temp_dir().join(format!("leadflow-newcomer-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("leadflow.db").display());
    let server = start_with(&url, &[("LEADFLOW_EMAIL_TRANSPORT", "file")]).await;
    let (bearer, key) = organization(&server).await;
    let client = reqwest::Client::new();
    call(
        &client,
        reqwest::Method::POST,
        format!("{}/api/v1/invitations", server.base),
        ("authorization", &bearer),
        Some(json!({ "email": "bob@example.com", "role": "member" })),
    )
    .await;
    submit_all(&[&server.base], &key, 1, 1).await;
    let conn = Database::connect(&url).await.unwrap();
    wait_until(&conn, "the workflow to await approval", |all| {
        all.len() == 1 && all[0].status == "awaiting_approval"
    })
    .await;
    let mut approved = BTreeSet::new();
    approve_waiting(&server.base, &bearer, &mut approved).await;
    let mail = dir.join("leadflow-mail");
    let files = wait_for("the invitation and the outreach as files", async || {
        let names: Vec<String> = std::fs::read_dir(&mail)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".eml"))
            .collect();
        (names.iter().any(|n| n.contains("-invitation-")) && names.iter().any(|n| n.contains("-outreach-")))
            .then_some(names)
    })
    .await;
    let outreach = files.iter().find(|n| n.contains("-outreach-")).unwrap();
    let raw = std::fs::read_to_string(mail.join(outreach)).unwrap();
    assert!(raw.contains("To: buyer0@bigcorp.io") && raw.contains("multipart/alternative"), "{raw}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
