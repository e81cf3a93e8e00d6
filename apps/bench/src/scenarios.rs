//! The scenarios, one function each, and the table that names them in the
//! order they run. Every scenario reads the seeded [`Bench`] and yields one
//! row of the report.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use sea_orm::{ConnectionTrait as _, DatabaseBackend, DatabaseConnection, Statement, Value as SqlValue};
use serde_json::json;
use uuid::Uuid;

use crate::load::{self, Stats};
use crate::seed::{self, Tenant};
use crate::server::Server;
use crate::{Args, Row, client, cpu};

/// What every scenario shares: the arguments, the seeded database and the
/// server without workers that the request scenarios measure.
pub struct Bench {
    /// The command line.
    pub args: Args,
    /// The `leadflow` binary, for scenarios that start their own server.
    pub binary: std::path::PathBuf,
    /// The database URL the servers use.
    pub url: String,
    /// The server the request scenarios measure (no workers).
    pub server: Server,
    /// A small pool for seeding and reading the database's backends.
    pub db: DatabaseConnection,
    /// The measured organization.
    pub tenant: Tenant,
    /// Its seeded leads.
    pub lead_ids: Arc<Vec<Uuid>>,
}

/// A scenario: reads the bench, measures, returns its row.
type Scenario = for<'a> fn(&'a Bench) -> Pin<Box<dyn Future<Output = anyhow::Result<Row>> + Send + 'a>>;

/// Every scenario by the name `--scenarios` takes, in the order they run.
pub const SCENARIOS: &[(&str, Scenario)] = &[
    ("health", |b| Box::pin(health(b))),
    ("db-list", |b| Box::pin(db_list(b))),
    ("list-leads", |b| Box::pin(list_leads(b))),
    ("db-get", |b| Box::pin(db_get(b))),
    ("get-lead", |b| Box::pin(get_lead(b))),
    ("growth", |b| Box::pin(growth(b))),
    ("db-insert", |b| Box::pin(db_insert(b))),
    ("submit-lead", |b| Box::pin(submit_lead(b))),
    ("login-storm", |b| Box::pin(login_storm(b))),
    ("workflows", |b| Box::pin(workflows(b))),
    ("workflows-engine", |b| Box::pin(workflows_engine(b))),
    ("workflows-llm", |b| Box::pin(workflows_llm(b))),
    ("webhooks", |b| Box::pin(webhooks(b))),
    ("webhooks-drain", |b| Box::pin(webhooks_drain(b))),
    ("export", |b| Box::pin(export(b))),
];

/// A slug not used before in this run (scenarios run several times with `--runs`).
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Bench {
    fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// The `i`-th bind parameter in the engine's syntax.
    fn param(&self, i: usize) -> String {
        if self.backend() == DatabaseBackend::Postgres { format!("${i}") } else { "?".into() }
    }

    /// One of the tenant's leads, spread over all of them by `n`.
    fn lead(ids: &[Uuid], n: u64) -> Uuid {
        ids[usize::try_from(n).unwrap_or(0).wrapping_mul(7919) % ids.len().max(1)]
    }

    /// A scenario of HTTP requests against `server`, with its peak memory.
    async fn http<F>(&self, concurrency: usize, server: &Server, name: &str, build: F) -> Row
    where
        F: Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
    {
        let http = client(concurrency);
        let build = Arc::new(build);
        let before = cpu::snapshot(Some(server.pid()), &self.db).await;
        let stats = load::run(concurrency, Duration::from_secs(self.args.duration), move |_, n| {
            let request = build(&http, n);
            async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        let after = cpu::snapshot(Some(server.pid()), &self.db).await;
        let (server_us, database_us) = cpu::per_request(&before, &after, stats.ok);
        Row {
            scenario: name.into(),
            stats,
            peak_rss_mb: server.memory_mb().1,
            note: String::new(),
            cpu: cpu::Cpu { server_us, database_us, pgbench: None },
        }
    }

    /// A scenario of plain SQL from a pool as large as the concurrency.
    async fn sql(&self, name: &str, make: impl Fn(u64) -> Statement + Send + Sync + 'static) -> Row {
        // A pool as large as the concurrency for this scenario only: closed
        // afterwards, so that pgbench finds the connections it needs.
        let mut options = sea_orm::ConnectOptions::new(self.url.clone());
        options.max_connections(u32::try_from(self.args.concurrency).unwrap_or(64)).sqlx_logging(false);
        let Ok(db) = sea_orm::Database::connect(options).await else {
            return Row {
                scenario: name.into(),
                stats: load::Stats::default(),
                peak_rss_mb: 0.0,
                note: "the reference pool could not connect".into(),
                cpu: cpu::Cpu::default(),
            };
        };
        let reference = db.clone();
        let make = Arc::new(make);
        let before = cpu::snapshot(None, &self.db).await;
        let stats = load::run(self.args.concurrency, Duration::from_secs(self.args.duration), move |_, n| {
            let (db, statement) = (db.clone(), make(n));
            async move { db.execute_raw(statement).await.is_ok() }
        })
        .await;
        let after = cpu::snapshot(None, &self.db).await;
        let _ = reference.close().await;
        let (_, database_us) = cpu::per_request(&before, &after, stats.ok);
        Row {
            scenario: name.into(),
            stats,
            peak_rss_mb: 0.0,
            note: "reference: the database alone (sqlx loop)".into(),
            cpu: cpu::Cpu { server_us: None, database_us, pgbench: None },
        }
    }

    /// pgbench's rate for `script` at the bench's concurrency and duration
    /// (PostgreSQL, and pgbench installed; otherwise `None`).
    async fn pgbench(&self, script: String) -> Option<f64> {
        if self.backend() != DatabaseBackend::Postgres {
            return None;
        }
        cpu::pgbench(&self.url, &script, self.args.concurrency, self.args.duration).await
    }
}

async fn health(b: &Bench) -> anyhow::Result<Row> {
    let base = b.server.base.clone();
    Ok(b.http(b.args.concurrency, &b.server, "health (framework ceiling)", move |c, _| {
        c.get(format!("{base}/health"))
    })
    .await)
}

async fn db_list(b: &Bench) -> anyhow::Result<Row> {
    let (backend, org) = (b.backend(), b.tenant.id);
    let sql = format!(
        "SELECT * FROM leads WHERE organization_id = {} ORDER BY created_at DESC, id DESC LIMIT 50",
        b.param(1)
    );
    let mut row = b
        .sql("db-list (50 rows)", move |_| {
            Statement::from_sql_and_values(backend, sql.clone(), [SqlValue::from(org)])
        })
        .await;
    row.cpu.pgbench = b
        .pgbench(format!(
            "SELECT * FROM leads WHERE organization_id = '{org}' ORDER BY created_at DESC, id DESC LIMIT 50;\n"
        ))
        .await;
    Ok(row)
}

async fn list_leads(b: &Bench) -> anyhow::Result<Row> {
    let (base, bearer) = (b.server.base.clone(), b.tenant.bearer.clone());
    Ok(b.http(b.args.concurrency, &b.server, "list-leads (limit=50)", move |c, _| {
        c.get(format!("{base}/api/v1/leads?limit=50")).header("authorization", &bearer)
    })
    .await)
}

async fn db_get(b: &Bench) -> anyhow::Result<Row> {
    let (backend, org, ids) = (b.backend(), b.tenant.id, b.lead_ids.clone());
    let sql = format!("SELECT * FROM leads WHERE organization_id = {} AND id = {}", b.param(1), b.param(2));
    let one = Bench::lead(&ids, 1);
    let mut row = b
        .sql("db-get (1 row)", move |n| {
            let id = Bench::lead(&ids, n);
            Statement::from_sql_and_values(backend, sql.clone(), [SqlValue::from(org), SqlValue::from(id)])
        })
        .await;
    // pgbench reads one lead over and over (its scripts take no list of ids).
    row.cpu.pgbench =
        b.pgbench(format!("SELECT * FROM leads WHERE organization_id = '{org}' AND id = '{one}';\n")).await;
    Ok(row)
}

async fn get_lead(b: &Bench) -> anyhow::Result<Row> {
    let (base, bearer, ids) = (b.server.base.clone(), b.tenant.bearer.clone(), b.lead_ids.clone());
    Ok(b.http(b.args.concurrency, &b.server, "get-lead", move |c, n| {
        let id = Bench::lead(&ids, n);
        c.get(format!("{base}/api/v1/leads/{id}")).header("authorization", &bearer)
    })
    .await)
}

async fn db_insert(b: &Bench) -> anyhow::Result<Row> {
    let scratch = seed::tenant(&b.server.base, &unique("scratch")).await?;
    let backend = b.backend();
    let insert = format!(
        "INSERT INTO leads (id, organization_id, email, name, message, metadata, status, created_at, updated_at) \
         VALUES ({}, {}, 'x@y.example', 'X', 'm', '{{}}', 'pending', {}, {})",
        b.param(1),
        b.param(2),
        b.param(3),
        b.param(4)
    );
    let mut row = b
        .sql("db-insert (1 row)", move |_| {
            let now = chrono::Utc::now();
            let values = [
                SqlValue::from(Uuid::now_v7()),
                SqlValue::from(scratch.id),
                SqlValue::from(now),
                SqlValue::from(now),
            ];
            Statement::from_sql_and_values(backend, insert.clone(), values)
        })
        .await;
    // pgbench's ids are random (gen_random_uuid, v4): its inserts land all over the index.
    row.cpu.pgbench = b
        .pgbench(format!(
            "INSERT INTO leads (id, organization_id, email, name, message, metadata, status, created_at, updated_at) \
             VALUES (gen_random_uuid(), '{}', 'x@y.example', 'X', 'm', '{{}}', 'pending', now(), now());\n",
            scratch.id
        ))
        .await;
    Ok(row)
}

async fn submit_lead(b: &Bench) -> anyhow::Result<Row> {
    let submitter = seed::tenant(&b.server.base, &unique("submit")).await?;
    let base = b.server.base.clone();
    let mut row = b
        .http(b.args.concurrency, &b.server, "submit-lead (quota+lead+workflow+audit)", move |c, n| {
            c.post(format!("{base}/api/v1/leads"))
                .header("x-api-key", &submitter.key)
                .json(&json!({ "email": format!("p{n}@prospect.example"), "name": "P", "message": "hello" }))
        })
        .await;
    row.note = "API key, enterprise plan".into();
    Ok(row)
}

/// Production password hashing: 50 concurrent logins while `/health` is measured.
async fn login_storm(b: &Bench) -> anyhow::Result<Row> {
    let storm = Server::start(&b.binary, &b.url, &[("LEADFLOW_WORKERS", "0".into())]).await?;
    let (base, email) = (storm.base.clone(), b.tenant.email.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let stormers: Vec<_> = (0..50)
        .map(|_| {
            let (c, base, email, stop, logins) =
                (client(50), base.clone(), email.clone(), stop.clone(), logins.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = c
                        .post(format!("{base}/api/v1/auth/login"))
                        .json(&json!({ "email": email, "password": seed::PASSWORD }))
                        .send()
                        .await;
                    if r.is_ok_and(|r| r.status().is_success()) {
                        logins.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let health = storm.base.clone();
    let mut row = b
        .http(8, &storm, "login-storm: /health during 50 logins", move |c, _| {
            c.get(format!("{health}/health"))
        })
        .await;
    stop.store(true, Ordering::Relaxed);
    for s in stormers {
        let _ = s.await;
    }
    row.note =
        format!("{:.0} logins/s alongside", logins.load(Ordering::Relaxed) as f64 / b.args.duration as f64);
    Ok(row)
}

/// Submits `total` leads (`{prefix}{n}@{domain}`) with `key`, `concurrency`
/// at a time; returns how many were accepted.
async fn submit_many(
    base: &str,
    key: &str,
    total: usize,
    concurrency: usize,
    prefix: &str,
    domain: &str,
) -> usize {
    let c = client(concurrency);
    futures_util::stream::iter(0..total)
        .map(|n| {
            let request = c
                .post(format!("{base}/api/v1/leads"))
                .header("x-api-key", key)
                .json(&json!({ "email": format!("{prefix}{n}@{domain}"), "name": "V", "message": "hello" }));
            async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

/// Leads submitted over HTTP and carried through their workflow by the workers.
async fn workflows(b: &Bench) -> anyhow::Result<Row> {
    let env = [
        ("LEADFLOW_WORKERS", b.args.workers.to_string()),
        ("LEADFLOW_WORKER_POLL_MS", "5".into()),
        ("LEADFLOW_WORKER_BATCH", "64".into()),
    ];
    let (completed, elapsed, errors, rss) = drive_workflows(b, &env, "flows", Start::WithSubmissions).await?;
    Ok(Row {
        cpu: cpu::Cpu::default(),
        scenario: format!("workflows ({} workers, non-approval path)", b.args.workers),
        stats: Stats { ok: completed, errors, elapsed, p50_ms: 0.0, p99_ms: 0.0 },
        peak_rss_mb: rss,
        note: format!("{completed} workflows from submission to completed"),
    })
}

/// The engine alone: the leads are submitted first (their workflows wait,
/// the bench's server has no workers), then a server with workers starts and
/// carries them all to completed; timed from its start to the last one.
async fn workflows_engine(b: &Bench) -> anyhow::Result<Row> {
    let env = [
        ("LEADFLOW_WORKERS", b.args.workers.to_string()),
        ("LEADFLOW_WORKER_POLL_MS", "5".into()),
        ("LEADFLOW_WORKER_BATCH", "64".into()),
    ];
    let before = cpu::snapshot(None, &b.db).await;
    let (completed, elapsed, errors, rss) =
        drive_workflows(b, &env, "engine", Start::AfterSubmissions).await?;
    let after = cpu::snapshot(None, &b.db).await;
    let (_, database_us) = cpu::per_request(&before, &after, completed);
    Ok(Row {
        cpu: cpu::Cpu { server_us: None, database_us, pgbench: None },
        scenario: format!("workflows-engine ({} workers, non-approval path, queued first)", b.args.workers),
        stats: Stats { ok: completed, errors, elapsed, p50_ms: 0.0, p99_ms: 0.0 },
        peak_rss_mb: rss,
        note: format!("{completed} queued workflows carried to completed (DB CPU includes the submissions)"),
    })
}

/// When the workers of [`drive_workflows`] start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Before the first submission: the rate includes submitting.
    WithSubmissions,
    /// After the last submission: the rate is the engine's own.
    AfterSubmissions,
}

/// The same, with `research` and `qualify` on a language model that takes
/// 200 ms per call (a local stand-in): how many workflows one process keeps
/// in flight while it waits on a slow provider.
async fn workflows_llm(b: &Bench) -> anyhow::Result<Row> {
    const LATENCY: Duration = Duration::from_millis(200);
    let model = crate::model::ModelStandIn::start(LATENCY).await?;
    let env = [
        ("LEADFLOW_WORKERS", b.args.workers.to_string()),
        ("LEADFLOW_WORKER_POLL_MS", "5".into()),
        // A worker drives its whole batch side by side: the batch is what is in flight.
        ("LEADFLOW_WORKER_BATCH", "512".into()),
        ("LEADFLOW_LLM_BASE_URL", model.base_url.clone()),
        ("LEADFLOW_LLM_MODEL", "bench-model".into()),
    ];
    let (completed, elapsed, errors, rss) =
        drive_workflows(b, &env, "llmflows", Start::WithSubmissions).await?;
    let calls = model.calls.done.load(std::sync::atomic::Ordering::SeqCst);
    let peak = model.calls.peak.load(std::sync::atomic::Ordering::SeqCst);
    // Each workflow waits on one call at a time: calls in flight are workflows in flight.
    let in_flight = model.calls.mean_in_flight();
    Ok(Row {
        cpu: cpu::Cpu::default(),
        scenario: format!("workflows-llm ({} workers, model at 200 ms per call)", b.args.workers),
        stats: Stats { ok: completed, errors, elapsed, p50_ms: 0.0, p99_ms: 0.0 },
        peak_rss_mb: rss,
        note: format!(
            "{completed} workflows completed, {calls} model calls (2 each, 200 ms): {in_flight:.0} workflows waiting on the model on average while it was busy, {peak} at the peak"
        ),
    })
}

/// Starts a server with `env`, submits the bench's workflow leads to a new
/// tenant (through it, or first through the bench's server without workers),
/// and waits until their workflows completed: (completed, elapsed from the
/// first submission or from the workers' start, submissions refused, peak RSS).
async fn drive_workflows(
    b: &Bench,
    env: &[(&str, String)],
    slug: &str,
    start: Start,
) -> anyhow::Result<(u64, Duration, u64, f64)> {
    // Earlier scenarios left workflows no worker ran (their server had
    // none); park them, so that only this scenario's leads are worked.
    b.db.execute_unprepared(
        "UPDATE workflows SET status = 'cancelled' WHERE status IN ('pending', 'running')",
    )
    .await?;
    let total = b.args.workflow_leads;
    let slug = unique(slug);
    let (flows, owner, started, accepted) = if start == Start::WithSubmissions {
        let flows = Server::start(&b.binary, &b.url, env).await?;
        let owner = seed::tenant(&flows.base, &slug).await?;
        let started = Instant::now();
        let accepted =
            submit_many(&flows.base, &owner.key, total, b.args.concurrency, &slug, "gmail.com").await;
        (flows, owner, started, accepted)
    } else {
        let owner = seed::tenant(&b.server.base, &slug).await?;
        let accepted =
            submit_many(&b.server.base, &owner.key, total, b.args.concurrency, &slug, "gmail.com").await;
        let started = Instant::now();
        (Server::start(&b.binary, &b.url, env).await?, owner, started, accepted)
    };
    let count_sql = format!(
        "SELECT COUNT(*) AS n FROM workflows WHERE organization_id = {} AND status = 'completed'",
        b.param(1)
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut completed = 0_i64;
    while Instant::now() < deadline {
        let statement =
            Statement::from_sql_and_values(b.backend(), count_sql.clone(), [SqlValue::from(owner.id)]);
        let row = b.db.query_one_raw(statement).await?;
        completed = row.and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(0);
        if completed >= i64::try_from(accepted).unwrap_or(i64::MAX) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((
        u64::try_from(completed).unwrap_or(0),
        started.elapsed(),
        u64::try_from(total - accepted).unwrap_or(0),
        flows.memory_mb().1,
    ))
}

/// `lead.created` webhooks under the `submit-lead` load: each submission
/// writes one delivery in its transaction; the dispatcher of the same process
/// POSTs it, signed, to a local receiver. Reports deliveries per second (first
/// to last receipt) and the lag from commit (the event's `timestamp`) to receipt.
async fn webhooks(b: &Bench) -> anyhow::Result<Row> {
    let receiver = crate::receiver::Receiver::start().await?;
    let env = [
        ("LEADFLOW_WORKERS", "0".to_owned()),
        ("LEADFLOW_DELIVERY_WORKERS", b.args.workers.to_string()),
        ("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true".into()),
        ("LEADFLOW_WORKER_POLL_MS", "5".into()),
        ("LEADFLOW_WORKER_BATCH", "128".into()),
        ("LEADFLOW_DELIVERY_CONCURRENCY", "128".into()),
    ];
    let hooks = Server::start(&b.binary, &b.url, &env).await?;
    let owner = seed::tenant(&hooks.base, &unique("hooks")).await?;
    let created = client(1)
        .post(format!("{}/api/v1/webhooks", hooks.base))
        .header("authorization", &owner.bearer)
        .json(&json!({ "url": receiver.url, "events": ["lead.created"] }))
        .send()
        .await?;
    anyhow::ensure!(created.status().is_success(), "creating the endpoint: {}", created.text().await?);
    let (base, key) = (hooks.base.clone(), owner.key.clone());
    let load = b
        .http(b.args.concurrency, &hooks, "submit-lead (with a webhook endpoint)", move |c, n| {
            c.post(format!("{base}/api/v1/leads"))
                .header("x-api-key", &key)
                .json(&json!({ "email": format!("w{n}@prospect.example"), "name": "W", "message": "hello" }))
        })
        .await;
    let submitted = load.stats.ok;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if receiver.received.lock().map_or(0, |r| r.ids.len() as u64) >= submitted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = receiver.received.lock().map_err(|_| anyhow::anyhow!("receiver state poisoned"))?;
    let delivered = r.ids.len() as u64;
    let span = match (r.first, r.last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    };
    let (p50, p99) = r.lag_us.as_ref().map_or((0.0, 0.0), |h| {
        (h.value_at_quantile(0.5) as f64 / 1000.0, h.value_at_quantile(0.99) as f64 / 1000.0)
    });
    Ok(Row {
        cpu: cpu::Cpu::default(),
        scenario: format!("webhooks ({} delivery workers, lag commit→receipt)", b.args.workers),
        stats: Stats {
            ok: delivered,
            errors: submitted.saturating_sub(delivered),
            elapsed: span,
            p50_ms: p50,
            p99_ms: p99,
        },
        peak_rss_mb: hooks.memory_mb().1,
        note: format!(
            "{delivered}/{submitted} events delivered ({} POSTs) while {:.0} submissions/s ran; p50/p99 are the lag",
            r.count,
            load.stats.ok as f64 / load.stats.elapsed.as_secs_f64().max(0.001)
        ),
    })
}

/// The dispatcher's own pace: `--workflow-leads` submissions queue their
/// `lead.created` deliveries on a server that sends nothing; then a server with
/// delivery workers starts and empties the backlog. Reports deliveries per
/// second from its start to the last receipt.
async fn webhooks_drain(b: &Bench) -> anyhow::Result<Row> {
    let receiver = crate::receiver::Receiver::start().await?;
    let queued_only = Server::start(
        &b.binary,
        &b.url,
        &[("LEADFLOW_WORKERS", "0".into()), ("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true".into())],
    )
    .await?;
    let owner = seed::tenant(&queued_only.base, &unique("drain")).await?;
    let created = client(1)
        .post(format!("{}/api/v1/webhooks", queued_only.base))
        .header("authorization", &owner.bearer)
        .json(&json!({ "url": receiver.url, "events": ["lead.created"] }))
        .send()
        .await?;
    anyhow::ensure!(created.status().is_success(), "creating the endpoint: {}", created.text().await?);
    let queued = submit_many(
        &queued_only.base,
        &owner.key,
        b.args.workflow_leads,
        b.args.concurrency,
        "d",
        "prospect.example",
    )
    .await as u64;
    drop(queued_only);
    let env = [
        ("LEADFLOW_WORKERS", "0".to_owned()),
        ("LEADFLOW_DELIVERY_WORKERS", b.args.workers.to_string()),
        ("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true".into()),
        ("LEADFLOW_WORKER_POLL_MS", "5".into()),
        ("LEADFLOW_WORKER_BATCH", "128".into()),
        ("LEADFLOW_DELIVERY_CONCURRENCY", "128".into()),
    ];
    let started = Instant::now();
    let drainer = Server::start(&b.binary, &b.url, &env).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline && receiver.received.lock().map_or(0, |r| r.ids.len() as u64) < queued {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = receiver.received.lock().map_err(|_| anyhow::anyhow!("receiver state poisoned"))?;
    let delivered = r.ids.len() as u64;
    let elapsed = r.last.map_or(started.elapsed(), |last| last - started);
    Ok(Row {
        cpu: cpu::Cpu::default(),
        scenario: format!("webhooks-drain ({} delivery workers, backlog of {queued})", b.args.workers),
        stats: Stats {
            ok: delivered,
            errors: queued.saturating_sub(delivered),
            elapsed,
            p50_ms: 0.0,
            p99_ms: 0.0,
        },
        peak_rss_mb: drainer.memory_mb().1,
        note: format!(
            "{delivered}/{queued} delivered, from the dispatcher's start (process start-up included) to the last receipt"
        ),
    })
}

/// One CSV export of a large organization, with the server's memory around it.
async fn export(b: &Bench) -> anyhow::Result<Row> {
    let exporter = seed::tenant(&b.server.base, &unique("export")).await?;
    let t = Instant::now();
    seed::leads(&b.db, exporter.id, b.args.export_leads, Duration::from_millis(10)).await?;
    println!("Seeded {} export leads in {:.1}s", b.args.export_leads, t.elapsed().as_secs_f64());
    let fresh = Server::start(&b.binary, &b.url, &[("LEADFLOW_WORKERS", "0".into())]).await?;
    let (before, _) = fresh.memory_mb();
    let started = Instant::now();
    let mut response = client(1)
        .get(format!("{}/api/v1/leads/export", fresh.base))
        .header("authorization", &exporter.bearer)
        .send()
        .await?;
    let mut bytes = 0_usize;
    let mut peak = before;
    let mut polls = 0_u32;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len();
        polls += 1;
        if polls.is_multiple_of(64) {
            peak = peak.max(fresh.memory_mb().0);
        }
    }
    let (_, hwm) = fresh.memory_mb();
    peak = peak.max(hwm);
    let elapsed = started.elapsed();
    Ok(Row {
        cpu: cpu::Cpu::default(),
        scenario: format!("export ({} leads, CSV)", b.args.export_leads),
        stats: Stats { ok: 1, errors: 0, elapsed, p50_ms: elapsed.as_secs_f64() * 1000.0, p99_ms: 0.0 },
        peak_rss_mb: peak,
        note: format!(
            "{:.0} MB of CSV; RSS {before:.0} → peak {peak:.0} MB (+{:.0} MB)",
            bytes as f64 / 1e6,
            peak - before
        ),
    })
}

/// Reads of a tenant's leads just after it grew by `growth_leads`, with no
/// ANALYZE in between (autovacuum off on `leads` for the scenario): a point
/// read must stay a point read whatever the statistics say. One client, so
/// the p50 is the read's own latency, not the queue's.
async fn growth(b: &Bench) -> anyhow::Result<Row> {
    let grower = seed::tenant(&b.server.base, &unique("grower")).await?;
    let small = seed::leads(&b.db, grower.id, 1000, Duration::from_secs(60)).await?;
    let postgres = b.backend() == DatabaseBackend::Postgres;
    if postgres {
        // The statistics now know the tenant as small, and stay that way.
        b.db.execute_unprepared("ANALYZE leads").await?;
        b.db.execute_unprepared("ALTER TABLE leads SET (autovacuum_enabled = false)").await?;
    }
    let analyzed_before = analyze_count(b).await;
    let read = |ids: Arc<Vec<Uuid>>| {
        let (base, bearer) = (b.server.base.clone(), grower.bearer.clone());
        move |c: &reqwest::Client, n: u64| {
            let id = Bench::lead(&ids, n);
            c.get(format!("{base}/api/v1/leads/{id}")).header("authorization", &bearer)
        }
    };
    let before = b.http(1, &b.server, "before", read(Arc::new(small))).await;
    let t = Instant::now();
    let grown = Arc::new(seed::leads(&b.db, grower.id, b.args.growth_leads, Duration::from_millis(1)).await?);
    let seeded = t.elapsed();
    // First reads of the new rows pay PostgreSQL's first visit of a fresh
    // tuple (it checks the inserting transaction's commit and sets the
    // tuple's hint bits); the same reads again show the plan alone.
    let first = b.http(1, &b.server, "first reads", read(grown.clone())).await;
    let mut row = b
        .http(
            1,
            &b.server,
            &format!("read after growth (+{} leads, no ANALYZE)", b.args.growth_leads),
            read(grown.clone()),
        )
        .await;
    let analyzed_after = analyze_count(b).await;
    let plan =
        if postgres { point_read_plan(b, grower.id, Bench::lead(&grown, 1)).await } else { String::new() };
    if postgres {
        b.db.execute_unprepared("ALTER TABLE leads RESET (autovacuum_enabled)").await?;
    }
    let ratio = |after: &Row| after.stats.p50_ms / before.stats.p50_ms.max(f64::EPSILON);
    row.note = format!(
        "1 client; p50 {:.3} ms before → {:.3} ms on the first reads of the new rows (×{:.2}) → {:.3} ms reading them again (×{:.2}); grown in {:.1} s; ANALYZE runs in between: {}; plan: {plan}",
        before.stats.p50_ms,
        first.stats.p50_ms,
        ratio(&first),
        row.stats.p50_ms,
        ratio(&row),
        seeded.as_secs_f64(),
        match (analyzed_before, analyzed_after) {
            (Some(a), Some(z)) => (z - a).to_string(),
            _ => "–".into(),
        },
    );
    Ok(row)
}

/// How often `leads` was analyzed, by hand or by autovacuum (PostgreSQL).
async fn analyze_count(b: &Bench) -> Option<i64> {
    let sql = "SELECT analyze_count + autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'leads'";
    let statement = Statement::from_string(b.backend(), sql);
    let row = b.db.query_one_raw(statement).await.ok()??;
    row.try_get_by_index::<i64>(0).ok()
}

/// The generic plan PostgreSQL takes for the service's point read
/// (`organization_id` and `id`, as the repository asks, prepared as the
/// driver prepares it), on one line.
async fn point_read_plan(b: &Bench, organization: Uuid, id: Uuid) -> String {
    use sea_orm::TransactionTrait as _;
    let Ok(txn) = b.db.begin().await else { return "unknown".into() };
    let mut plan = Vec::new();
    for sql in [
        "SET LOCAL plan_cache_mode = force_generic_plan".to_owned(),
        "PREPARE lf_point(uuid, uuid) AS SELECT * FROM leads WHERE organization_id = $1 AND id = $2 LIMIT 1"
            .to_owned(),
        format!("EXPLAIN (COSTS OFF) EXECUTE lf_point('{organization}', '{id}')"),
        "DEALLOCATE lf_point".to_owned(),
    ] {
        let Ok(rows) = txn.query_all_raw(Statement::from_string(b.backend(), sql)).await else {
            return "unknown".into();
        };
        plan.extend(
            rows.iter()
                .filter_map(|r| r.try_get_by_index::<String>(0).ok())
                .map(|line| line.trim().trim_start_matches("->").trim().to_owned()),
        );
    }
    let _ = txn.rollback().await;
    plan.join("; ")
}
