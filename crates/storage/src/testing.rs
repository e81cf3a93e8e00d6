//! Fresh, isolated databases for tests (the storage contract suite and the
//! black-box HTTP suite both use these).
//!
//! SQLite always runs: each database is a new file in the temp directory.
//! PostgreSQL runs when `LEADFLOW_TEST_POSTGRES_URL` points at a server
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): each test gets its own
//! `lf_test_*` database, dropped when the test ends. When the variable is not
//! set, PostgreSQL tests return early and the run says so once on stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Once;

use sea_orm::{ConnectionTrait, Database};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "LEADFLOW_TEST_POSTGRES_URL";

/// Which engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// A database that exists for one test and is removed after it.
pub struct TestDatabase {
    /// Connection URL.
    pub url: String,
    /// Its engine.
    pub engine: Engine,
    cleanup: Cleanup,
}

enum Cleanup {
    Files(PathBuf),
    Drop { admin_url: String, name: String },
}

static SKIP_NOTICE: Once = Once::new();

impl TestDatabase {
    /// A fresh, empty database on `engine`; `None` (after a notice) when
    /// PostgreSQL is asked for but not configured.
    ///
    /// # Panics
    /// When the configured PostgreSQL server refuses to create a database.
    pub async fn fresh(engine: Engine) -> Option<Self> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        match engine {
            Engine::Sqlite => {
                let path = std::env::temp_dir().join(format!("leadflow-test-{id}.db"));
                Some(Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    engine,
                    cleanup: Cleanup::Files(path),
                })
            }
            Engine::Postgres => {
                let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
                    SKIP_NOTICE.call_once(|| {
                        // Written straight to the process's stderr so that the
                        // test harness's output capture does not swallow it.
                        let _ = writeln!(
                            std::io::stderr(),
                            "NOTE: PostgreSQL tests SKIPPED: {POSTGRES_ENV} is not set (SQLite tests ran)."
                        );
                    });
                    return None;
                };
                let name = format!("lf_test_{id}");
                let admin =
                    Database::connect(&admin_url).await.unwrap_or_else(|e| panic!("{POSTGRES_ENV}: {e}"));
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("creating test database: {e}"));
                let _ = admin.close().await;
                Some(Self {
                    url: with_database(&admin_url, &name),
                    engine,
                    cleanup: Cleanup::Drop { admin_url, name },
                })
            }
        }
    }
}

/// `url` pointing at database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Files(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Drop { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: do the async cleanup on a
                // thread of its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_swapped_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
