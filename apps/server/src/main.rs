//! `leadflow`: serve the API, manage the schema, create the super admin.

use std::process::ExitCode;

use clap::Parser as _;
use leadflow_server::cli::{Cli, run};

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
