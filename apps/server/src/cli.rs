//! The `leadflow` command line.

use clap::{Parser, Subcommand};
use leadflow_storage::{PoolSettings, Storage};
use migration::{Migrator, MigratorTrait};

use crate::app::Application;
use crate::config::Config;
use crate::telemetry;

/// Leadflow: multi-tenant lead management.
#[derive(Debug, Parser)]
#[command(name = "leadflow", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, bootstrap the super admin and serve the API (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// up, down or status.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Create the platform super admin (an existing account only with `--promote`).
    CreateSuperAdmin {
        /// The super admin's email.
        #[arg(long)]
        email: String,
        /// Their password (10 to 256 characters); generated and printed when omitted.
        #[arg(long, env = "LEADFLOW_SUPER_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Their name.
        #[arg(long, default_value = "Super Admin")]
        name: String,
        /// Make an existing account with this email super admin: its password
        /// is replaced by this one (or the generated one) and its sessions end.
        #[arg(long)]
        promote: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Create a demo organization (starter plan) with its owner and sample
    /// leads, whose workflows the server's workers then carry out.
    SeedDemo {
        /// The owner's email.
        #[arg(long, default_value = "owner@demo.leadflow.test")]
        email: String,
        /// The owner's password; generated and printed when omitted.
        #[arg(long, env = "LEADFLOW_DEMO_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The organization's slug.
        #[arg(long, default_value = "demo")]
        organization: String,
        /// Sample leads to submit (the starter plan allows 100 a month).
        #[arg(long, default_value_t = 25)]
        leads: u32,
    },
}

/// Migration actions.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the most recent migrations.
    Down {
        /// How many to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Runs the command line.
///
/// # Errors
/// Whatever the command fails with; `main` prints it on one line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Openapi) = cli.command {
        println!("{}", crate::api::document());
        return Ok(());
    }
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_filter);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.bootstrap_super_admin().await?;
            app.serve().await
        }
        Command::Migrate { action } => {
            let storage = Storage::connect(&config.database_url, &PoolSettings::default()).await?;
            let db = storage.connection();
            match action {
                MigrateAction::Up => Migrator::up(db, None).await?,
                MigrateAction::Down { steps } => Migrator::down(db, Some(steps)).await?,
                MigrateAction::Status => {}
            }
            for migration in Migrator::get_migration_with_status(db).await? {
                println!("{:<60} {}", migration.name(), migration.status());
            }
            Ok(())
        }
        Command::CreateSuperAdmin { email, password, name, promote } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(crate::app::generate_password);
            let app = Application::build(config).await?;
            let user = app
                .state()
                .auth
                .create_super_admin(&email, &password, &name, promote)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} is a super admin.", user.email);
            if generated {
                println!("Generated password (shown once): {password}");
            }
            Ok(())
        }
        Command::SeedDemo { email, password, organization, leads } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(crate::app::generate_password);
            let state =
                crate::state::AppState::build(&Config { self_service_signup: true, ..config }).await?;
            let request = crate::demo::DemoRequest { email, password, organization, leads };
            let seeded = crate::demo::seed(&state, &request).await?;
            println!(
                "Demo organization {} ({}) with {} leads; sign in as {}.",
                request.organization, seeded.organization_id, seeded.leads, request.email
            );
            if generated {
                println!("Generated password (shown once): {}", request.password);
            }
            Ok(())
        }
        Command::Openapi => Ok(()),
    }
}
