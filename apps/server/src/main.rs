//! `leadflow`: serve the API, manage the schema, create the super admin.

use std::process::ExitCode;

use clap::Parser as _;
use leadflow_server::cli::{Cli, run};

// The API allocates many small, short-lived objects per request (rows, DTOs,
// JSON); mimalloc serves them markedly faster than glibc's malloc (see
// docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leadflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}
