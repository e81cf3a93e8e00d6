//! The Leadflow HTTP API: poem-openapi endpoints, configuration, telemetry
//! and the `leadflow` CLI.
//!
//! This crate is thin on purpose: it turns HTTP into calls on the domain
//! services and domain errors into problem responses. Business rules live in
//! the domain crates; SQL lives in `leadflow-storage`.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod cors;
pub mod demo;
pub mod edge;
pub mod metrics;
pub mod problem;
pub mod security;
pub mod serve;
pub mod state;
pub mod telemetry;

pub use app::Application;
pub use config::Config;
