//! `leadflow-bench`: seeds a chosen scale, starts (or points at) a `leadflow
//! serve`, runs named scenarios at a chosen concurrency for a chosen time, and
//! prints one table — with, from the same run, the reference figures the
//! ratios need: the framework ceiling (`GET /health`) and the database's own
//! rate for the same queries, measured by a plain SQL loop at the same concurrency.

mod cpu;
mod load;
mod model;
mod receiver;
mod scenarios;
mod seed;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sea_orm::{ConnectOptions, ConnectionTrait as _, Database};
use serde_json::json;

use crate::load::Stats;
use crate::scenarios::{Bench, SCENARIOS};
use crate::server::Server;

/// Benchmarks of Leadflow with their reference figures.
#[derive(Debug, Parser)]
#[command(name = "leadflow-bench", version, about, long_about = None)]
pub struct Args {
    /// `postgres` or `sqlite`.
    #[arg(long, default_value = "postgres")]
    pub engine: String,
    /// PostgreSQL server (its `postgres` database); the bench (re)creates `leadflow_bench` there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// The `leadflow` binary (default: next to this one; `cargo build --release -p leadflow-server`).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Concurrent clients per scenario.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Other organizations (the neighbours).
    #[arg(long, default_value_t = 100)]
    pub neighbours: usize,
    /// Leads of each neighbour.
    #[arg(long, default_value_t = 1000)]
    pub neighbour_leads: usize,
    /// Leads of the measured organization.
    #[arg(long, default_value_t = 1000)]
    pub tenant_leads: usize,
    /// Leads of the organization whose CSV export is measured.
    #[arg(long, default_value_t = 1_000_000)]
    pub export_leads: usize,
    /// Leads carried through their workflow in the `workflows` scenario.
    #[arg(long, default_value_t = 5000)]
    pub workflow_leads: usize,
    /// Leads one tenant grows by, all at once, in the `growth` scenario.
    #[arg(long, default_value_t = 50_000)]
    pub growth_leads: usize,
    /// Workflow workers of the server.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Comma-separated scenarios (default: all): health, db-list, list-leads, db-get, get-lead,
    /// growth, db-insert, submit-lead, login-storm, workflows, workflows-engine, workflows-llm,
    /// webhooks, webhooks-drain, export.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Runs of each scenario; every figure of the table is the median of them (3 for the issue 15 table).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Where to write `bench.md` and `bench.json`.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
}

/// One row of the table.
pub struct Row {
    /// What was measured.
    pub scenario: String,
    /// Its figures.
    pub stats: Stats,
    /// The server's peak memory (0: no server involved).
    pub peak_rss_mb: f64,
    /// Anything the reader needs beside the figures.
    pub note: String,
    /// CPU per request, and pgbench's rate for reference rows.
    pub cpu: cpu::Cpu,
}

/// A new, empty database for the run (PostgreSQL: `leadflow_bench`, recreated).
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

/// An HTTP client keeping `concurrency` idle connections.
fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(unknown) = args.scenarios.iter().find(|s| !SCENARIOS.iter().any(|(name, _)| name == s)) {
        let known: Vec<&str> = SCENARIOS.iter().map(|(name, _)| *name).collect();
        anyhow::bail!("no scenario {unknown:?}; known: {}", known.join(", "));
    }
    let bench = seed(args).await?;
    let mut rows = Vec::new();
    for (name, run) in SCENARIOS {
        if bench.args.scenarios.is_empty() || bench.args.scenarios.iter().any(|s| s == name) {
            let mut runs = Vec::new();
            for _ in 0..bench.args.runs.max(1) {
                runs.push(run(&bench).await?);
            }
            rows.push(median(runs));
        }
    }
    report(&bench.args, &rows)
}

/// A fresh database seeded at the chosen scale, and a server (no workers) on it.
async fn seed(args: Args) -> anyhow::Result<Bench> {
    let binary = args.binary.clone().unwrap_or_else(server::default_binary);
    println!(
        "Seeding {} ({} neighbours × {} leads, tenant {} leads)…",
        args.engine, args.neighbours, args.neighbour_leads, args.tenant_leads
    );
    let url = fresh_database(&args).await?;
    let server = Server::start(&binary, &url, &[("LEADFLOW_WORKERS", "0".into())]).await?;
    let mut options = ConnectOptions::new(url.clone());
    // Seeding and /proc snapshots only; the SQL reference rows open their own pool.
    options.max_connections(8).sqlx_logging(false);
    let db = Database::connect(options).await?;
    let tenant = seed::tenant(&server.base, "bench").await?;
    let t = Instant::now();
    seed::neighbours(&db, args.neighbours, args.neighbour_leads).await?;
    let lead_ids = Arc::new(seed::leads(&db, tenant.id, args.tenant_leads, Duration::from_secs(60)).await?);
    println!("Seeded in {:.1}s", t.elapsed().as_secs_f64());
    Ok(Bench { args, binary, url, server, db, tenant, lead_ids })
}

/// The median of a figure's values (`None` when none was measured).
fn middle(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// One row from several runs of a scenario: the run with the median rate,
/// every other figure replaced by its own median.
fn median(mut runs: Vec<Row>) -> Row {
    let count = runs.len();
    if count <= 1 {
        return runs.pop().unwrap_or_else(|| Row {
            scenario: String::new(),
            stats: Stats::default(),
            peak_rss_mb: 0.0,
            note: String::new(),
            cpu: cpu::Cpu::default(),
        });
    }
    runs.sort_by(|a, b| a.stats.rate().total_cmp(&b.stats.rate()));
    let p50 = middle(runs.iter().map(|r| r.stats.p50_ms).collect());
    let p99 = middle(runs.iter().map(|r| r.stats.p99_ms).collect());
    let server = middle(runs.iter().filter_map(|r| r.cpu.server_us).collect());
    let database = middle(runs.iter().filter_map(|r| r.cpu.database_us).collect());
    let pgbench = middle(runs.iter().filter_map(|r| r.cpu.pgbench).collect());
    let rss = middle(runs.iter().map(|r| r.peak_rss_mb).collect());
    let mut row = runs.swap_remove(count / 2);
    row.stats.p50_ms = p50.unwrap_or(row.stats.p50_ms);
    row.stats.p99_ms = p99.unwrap_or(row.stats.p99_ms);
    row.peak_rss_mb = rss.unwrap_or(row.peak_rss_mb);
    row.cpu = cpu::Cpu { server_us: server, database_us: database, pgbench };
    row
}

fn rate_of<'a>(rows: &'a [Row], prefix: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.scenario.starts_with(prefix))
}

fn report(args: &Args, rows: &[Row]) -> anyhow::Result<()> {
    let mut md = format!(
        "Engine: {}, concurrency {}, {} s per scenario, median of {} run(s) per figure, {} neighbours × {} leads, \
         tenant {} leads; {} cores. CPU is user + system time from /proc per successful request.\n\n\
         | scenario | requests/s | p50 ms | p99 ms | errors | server CPU µs/req | DB CPU µs/req | pgbench/s | server peak RSS MB | note |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        args.engine,
        args.concurrency,
        args.duration,
        args.runs.max(1),
        args.neighbours,
        args.neighbour_leads,
        args.tenant_leads,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    for r in rows {
        let figure = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"));
        md.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.stats.rate(),
            r.stats.p50_ms,
            r.stats.p99_ms,
            r.stats.errors,
            figure(r.cpu.server_us),
            figure(r.cpu.database_us),
            figure(r.cpu.pgbench),
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
    // Against pgbench running the same statement at the same concurrency (issue 15's yardstick).
    for (name, a, b) in [
        ("list-leads / pgbench db-list", "list-leads", "db-list"),
        ("get-lead / pgbench db-get", "get-lead", "db-get"),
        ("submit-lead / pgbench db-insert", "submit-lead", "db-insert"),
    ] {
        if let (Some(a), Some(pgbench)) = (rate_of(rows, a), rate_of(rows, b).and_then(|b| b.cpu.pgbench))
            && pgbench > 0.0
        {
            let r = 100.0 * a.stats.rate() / pgbench;
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
            "serverCpuUsPerRequest": r.cpu.server_us, "databaseCpuUsPerRequest": r.cpu.database_us,
            "pgbenchPerSec": r.cpu.pgbench,
        })).collect::<Vec<_>>(),
        "ratios": ratios,
    });
    std::fs::write(args.out.join("bench.json"), serde_json::to_string_pretty(&json)?)?;
    Ok(())
}
