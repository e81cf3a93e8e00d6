//! `leadflow-bench`: seeds a chosen scale, starts (or points at) a `leadflow
//! serve`, runs named scenarios at a chosen concurrency for a chosen time, and
//! prints one table — with, from the same run, the reference figures the
//! ratios need: the framework ceiling (`GET /health`) and the database's own
//! rate for the same queries, measured by a plain SQL loop at the same concurrency.

mod load;
mod seed;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sea_orm::{
    ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, Statement, Value as SqlValue,
};
use serde_json::json;
use uuid::Uuid;

use crate::load::Stats;
use crate::server::Server;

/// Benchmarks of Leadflow with their reference figures.
#[derive(Debug, Parser)]
#[command(name = "leadflow-bench", version, about, long_about = None)]
struct Args {
    /// `postgres` or `sqlite`.
    #[arg(long, default_value = "postgres")]
    engine: String,
    /// PostgreSQL server (its `postgres` database); the bench (re)creates `leadflow_bench` there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// The `leadflow` binary (default: next to this one; `cargo build --release -p leadflow-server`).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Concurrent clients per scenario.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Other organizations (the neighbours).
    #[arg(long, default_value_t = 100)]
    neighbours: usize,
    /// Leads of each neighbour.
    #[arg(long, default_value_t = 1000)]
    neighbour_leads: usize,
    /// Leads of the measured organization.
    #[arg(long, default_value_t = 1000)]
    tenant_leads: usize,
    /// Leads of the organization whose CSV export is measured.
    #[arg(long, default_value_t = 1_000_000)]
    export_leads: usize,
    /// Leads carried through their workflow in the `workflows` scenario.
    #[arg(long, default_value_t = 5000)]
    workflow_leads: usize,
    /// Workflow workers of the server.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Comma-separated scenarios (default: all): health, db-list, db-get, db-insert,
    /// list-leads, get-lead, submit-lead, login-storm, workflows, export.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Where to write `bench.md` and `bench.json`.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// One row of the table.
struct Row {
    scenario: String,
    stats: Stats,
    peak_rss_mb: f64,
    note: String,
}

fn wants(args: &Args, name: &str) -> bool {
    args.scenarios.is_empty() || args.scenarios.iter().any(|s| s == name)
}

async fn fresh_database(args: &Args) -> anyhow::Result<String> {
    if args.engine == "sqlite" {
        std::fs::create_dir_all("target/bench")?;
        for suffix in ["", "-wal", "-shm", ".jwt-secret"] {
            let _ = std::fs::remove_file(format!("target/bench/leadflow-bench.db{suffix}"));
        }
        return Ok("sqlite://target/bench/leadflow-bench.db?mode=rwc".into());
    }
    let admin = Database::connect(&args.postgres_url).await?;
    admin.execute_unprepared("DROP DATABASE IF EXISTS leadflow_bench WITH (FORCE)").await?;
    admin.execute_unprepared("CREATE DATABASE leadflow_bench").await?;
    let base = args.postgres_url.rsplit_once('/').map_or(args.postgres_url.as_str(), |(b, _)| b);
    Ok(format!("{base}/leadflow_bench"))
}

fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default()
}

/// A scenario of HTTP requests, with the server's peak memory.
async fn http<F>(concurrency: usize, duration: u64, server: &Server, name: &str, build: F) -> Row
where
    F: Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let http = client(concurrency);
    let build = Arc::new(build);
    let stats = load::run(concurrency, Duration::from_secs(duration), move |_, n| {
        let request = build(&http, n);
        async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    Row { scenario: name.into(), stats, peak_rss_mb: server.memory_mb().1, note: String::new() }
}

/// A scenario of plain SQL from a pool as large as the concurrency.
async fn sql(
    args: &Args,
    db: &DatabaseConnection,
    name: &str,
    make: impl Fn(u64) -> Statement + Send + Sync + 'static,
) -> Row {
    let db = db.clone();
    let make = Arc::new(make);
    let stats = load::run(args.concurrency, Duration::from_secs(args.duration), move |_, n| {
        let (db, statement) = (db.clone(), make(n));
        async move { db.execute_raw(statement).await.is_ok() }
    })
    .await;
    Row { scenario: name.into(), stats, peak_rss_mb: 0.0, note: "reference: the database alone".into() }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = args.binary.clone().unwrap_or_else(server::default_binary);
    println!(
        "Seeding {} ({} neighbours × {} leads, tenant {} leads)…",
        args.engine, args.neighbours, args.neighbour_leads, args.tenant_leads
    );
    let url = fresh_database(&args).await?;
    let workers = args.workers.to_string();
    let server = Server::start(&binary, &url, &[("LEADFLOW_WORKERS", "0".into())]).await?;
    let mut options = ConnectOptions::new(url.clone());
    options.max_connections(u32::try_from(args.concurrency).unwrap_or(64)).sqlx_logging(false);
    let db = Database::connect(options).await?;
    let backend = db.get_database_backend();
    let tenant = seed::tenant(&server.base, "bench").await?;
    let t = Instant::now();
    seed::neighbours(&db, args.neighbours, args.neighbour_leads).await?;
    let lead_ids = Arc::new(seed::leads(&db, tenant.id, args.tenant_leads, Duration::from_secs(60)).await?);
    println!("Seeded in {:.1}s", t.elapsed().as_secs_f64());

    let mut rows: Vec<Row> = Vec::new();
    let param =
        |i: usize| if backend == sea_orm::DatabaseBackend::Postgres { format!("${i}") } else { "?".into() };
    let list_sql = format!(
        "SELECT * FROM leads WHERE organization_id = {} ORDER BY created_at DESC, id DESC LIMIT 50",
        param(1)
    );
    let get_sql = format!("SELECT * FROM leads WHERE organization_id = {} AND id = {}", param(1), param(2));
    let org = tenant.id;

    if wants(&args, "health") {
        let base = server.base.clone();
        rows.push(
            http(args.concurrency, args.duration, &server, "health (framework ceiling)", move |c, _| {
                c.get(format!("{base}/health"))
            })
            .await,
        );
    }
    if wants(&args, "db-list") {
        let sql_text = list_sql.clone();
        rows.push(
            sql(&args, &db, "db-list (50 rows)", move |_| {
                Statement::from_sql_and_values(backend, sql_text.clone(), [SqlValue::from(org)])
            })
            .await,
        );
    }
    if wants(&args, "list-leads") {
        let (base, bearer) = (server.base.clone(), tenant.bearer.clone());
        rows.push(
            http(args.concurrency, args.duration, &server, "list-leads (limit=50)", move |c, _| {
                c.get(format!("{base}/api/v1/leads?limit=50")).header("authorization", &bearer)
            })
            .await,
        );
    }
    if wants(&args, "db-get") {
        let (sql_text, ids) = (get_sql.clone(), lead_ids.clone());
        rows.push(
            sql(&args, &db, "db-get (1 row)", move |n| {
                let id = ids[usize::try_from(n).unwrap_or(0).wrapping_mul(7919) % ids.len().max(1)];
                Statement::from_sql_and_values(
                    backend,
                    sql_text.clone(),
                    [SqlValue::from(org), SqlValue::from(id)],
                )
            })
            .await,
        );
    }
    if wants(&args, "get-lead") {
        let (base, bearer, ids) = (server.base.clone(), tenant.bearer.clone(), lead_ids.clone());
        rows.push(
            http(args.concurrency, args.duration, &server, "get-lead", move |c, n| {
                let id = ids[usize::try_from(n).unwrap_or(0).wrapping_mul(7919) % ids.len().max(1)];
                c.get(format!("{base}/api/v1/leads/{id}")).header("authorization", &bearer)
            })
            .await,
        );
    }
    if wants(&args, "db-insert") {
        let scratch = seed::tenant(&server.base, "scratch").await?;
        let insert = format!(
            "INSERT INTO leads (id, organization_id, email, name, message, metadata, status, created_at, updated_at) \
             VALUES ({}, {}, 'x@y.example', 'X', 'm', '{{}}', 'pending', {}, {})",
            param(1),
            param(2),
            param(3),
            param(4)
        );
        rows.push(
            sql(&args, &db, "db-insert (1 row)", move |_| {
                let now = chrono::Utc::now();
                Statement::from_sql_and_values(
                    backend,
                    insert.clone(),
                    [
                        SqlValue::from(Uuid::now_v7()),
                        SqlValue::from(scratch.id),
                        SqlValue::from(now),
                        SqlValue::from(now),
                    ],
                )
            })
            .await,
        );
    }
    if wants(&args, "submit-lead") {
        let submitter = seed::tenant(&server.base, "submit").await?;
        let base = server.base.clone();
        let mut row = http(
            args.concurrency,
            args.duration,
            &server,
            "submit-lead (quota+lead+workflow+audit)",
            move |c, n| {
                c.post(format!("{base}/api/v1/leads")).header("x-api-key", &submitter.key).json(
                    &json!({ "email": format!("p{n}@prospect.example"), "name": "P", "message": "hello" }),
                )
            },
        )
        .await;
        row.note = "API key, enterprise plan".into();
        rows.push(row);
    }
    if wants(&args, "login-storm") {
        // Production password hashing: 50 concurrent logins while /health is measured.
        let storm = Server::start(&binary, &url, &[("LEADFLOW_WORKERS", "0".into())]).await?;
        let (base, email) = (storm.base.clone(), tenant.email.clone());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let logins = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stormers: Vec<_> = (0..50)
            .map(|_| {
                let (c, base, email, stop, logins) =
                    (client(50), base.clone(), email.clone(), stop.clone(), logins.clone());
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let r = c
                            .post(format!("{base}/api/v1/auth/login"))
                            .json(&json!({ "email": email, "password": seed::PASSWORD }))
                            .send()
                            .await;
                        if r.is_ok_and(|r| r.status().is_success()) {
                            logins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let health = storm.base.clone();
        let mut row = http(8, args.duration, &storm, "login-storm: /health during 50 logins", move |c, _| {
            c.get(format!("{health}/health"))
        })
        .await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for s in stormers {
            let _ = s.await;
        }
        row.note = format!(
            "{:.0} logins/s alongside",
            logins.load(std::sync::atomic::Ordering::Relaxed) as f64 / args.duration as f64
        );
        rows.push(row);
    }
    if wants(&args, "workflows") {
        // Earlier scenarios left workflows no worker ran (their server had
        // none); park them, so that only this scenario's leads are worked.
        db.execute_unprepared(
            "UPDATE workflows SET status = 'cancelled' WHERE status IN ('pending', 'running')",
        )
        .await?;
        let flows = Server::start(
            &binary,
            &url,
            &[
                ("LEADFLOW_WORKERS", workers.clone()),
                ("LEADFLOW_WORKER_POLL_MS", "5".into()),
                ("LEADFLOW_WORKER_BATCH", "64".into()),
            ],
        )
        .await?;
        let owner = seed::tenant(&flows.base, "flows").await?;
        let (c, base, key, total) =
            (client(args.concurrency), flows.base.clone(), owner.key.clone(), args.workflow_leads);
        let started = Instant::now();
        let sends = futures_util::stream::iter(0..total).map(|n| {
            let (c, base, key) = (c.clone(), base.clone(), key.clone());
            async move {
                c.post(format!("{base}/api/v1/leads"))
                    .header("x-api-key", &key)
                    .json(&json!({ "email": format!("v{n}@gmail.com"), "name": "V", "message": "hello" }))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        });
        use futures_util::StreamExt as _;
        let accepted =
            sends.buffer_unordered(args.concurrency).filter(|ok| std::future::ready(*ok)).count().await;
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM workflows WHERE organization_id = {} AND status = 'completed'",
            param(1)
        );
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut completed = 0_i64;
        while Instant::now() < deadline {
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    count_sql.clone(),
                    [SqlValue::from(owner.id)],
                ))
                .await?;
            completed = row.and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(0);
            if completed >= i64::try_from(accepted).unwrap_or(i64::MAX) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed();
        rows.push(Row {
            scenario: format!("workflows ({} workers, non-approval path)", args.workers),
            stats: Stats {
                ok: u64::try_from(completed).unwrap_or(0),
                errors: u64::try_from(total - accepted).unwrap_or(0),
                elapsed,
                p50_ms: 0.0,
                p99_ms: 0.0,
            },
            peak_rss_mb: flows.memory_mb().1,
            note: format!("{completed} workflows from submission to completed"),
        });
    }
    if wants(&args, "export") {
        let exporter = seed::tenant(&server.base, "export").await?;
        let t = Instant::now();
        seed::leads(&db, exporter.id, args.export_leads, Duration::from_millis(10)).await?;
        println!("Seeded {} export leads in {:.1}s", args.export_leads, t.elapsed().as_secs_f64());
        let fresh = Server::start(&binary, &url, &[("LEADFLOW_WORKERS", "0".into())]).await?;
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
        rows.push(Row {
            scenario: format!("export ({} leads, CSV)", args.export_leads),
            stats: Stats {
                ok: 1,
                errors: 0,
                elapsed: started.elapsed(),
                p50_ms: started.elapsed().as_secs_f64() * 1000.0,
                p99_ms: 0.0,
            },
            peak_rss_mb: peak,
            note: format!(
                "{:.0} MB of CSV; RSS {before:.0} → peak {peak:.0} MB (+{:.0} MB)",
                bytes as f64 / 1e6,
                peak - before
            ),
        });
    }

    report(&args, &rows)?;
    Ok(())
}

fn rate_of<'a>(rows: &'a [Row], prefix: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.scenario.starts_with(prefix))
}

fn report(args: &Args, rows: &[Row]) -> anyhow::Result<()> {
    let mut md = format!(
        "Engine: {}, concurrency {}, {} s per scenario, {} neighbours × {} leads, tenant {} leads; {} cores.\n\n\
         | scenario | requests/s | p50 ms | p99 ms | errors | server peak RSS MB | note |\n|---|---:|---:|---:|---:|---:|---|\n",
        args.engine,
        args.concurrency,
        args.duration,
        args.neighbours,
        args.neighbour_leads,
        args.tenant_leads,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    for r in rows {
        md.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |\n",
            r.scenario,
            r.stats.rate(),
            r.stats.p50_ms,
            r.stats.p99_ms,
            r.stats.errors,
            if r.peak_rss_mb > 0.0 { format!("{:.0}", r.peak_rss_mb) } else { "–".into() },
            r.note
        ));
    }
    let ratio = |a: &str, b: &str| match (rate_of(rows, a), rate_of(rows, b)) {
        (Some(a), Some(b)) if b.stats.rate() > 0.0 => Some(100.0 * a.stats.rate() / b.stats.rate()),
        _ => None,
    };
    let mut ratios = Vec::new();
    for (name, a, b) in [
        ("list-leads / db-list", "list-leads", "db-list"),
        ("get-lead / db-get", "get-lead", "db-get"),
        ("submit-lead / db-insert", "submit-lead", "db-insert"),
        ("list-leads / health", "list-leads", "health"),
    ] {
        if let Some(r) = ratio(a, b) {
            md.push_str(&format!("\n- {name}: **{r:.1}%**"));
            ratios.push(json!({ "ratio": name, "percent": r }));
        }
    }
    md.push('\n');
    println!("\n{md}");
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("bench.md"), &md)?;
    let json = json!({
        "engine": args.engine,
        "concurrency": args.concurrency,
        "durationSecs": args.duration,
        "rows": rows.iter().map(|r| json!({
            "scenario": r.scenario, "requestsPerSec": r.stats.rate(), "p50Ms": r.stats.p50_ms, "p99Ms": r.stats.p99_ms,
            "errors": r.stats.errors, "peakRssMb": r.peak_rss_mb, "note": r.note,
        })).collect::<Vec<_>>(),
        "ratios": ratios,
    });
    std::fs::write(args.out.join("bench.json"), serde_json::to_string_pretty(&json)?)?;
    Ok(())
}
