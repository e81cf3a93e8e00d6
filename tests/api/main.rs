//! Black-box tests of Leadflow: a real server on an ephemeral port, a fresh
//! database per test, requests over HTTP. Every test runs on SQLite, and on
//! PostgreSQL when `LEADFLOW_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;
mod llm;
mod mailbox;
mod receiver;
mod stripe;

mod admin_users;
mod api_keys;
mod audit;
mod auth;
mod billing;
mod contract;
mod duplicates;
mod emails;
mod errors;
mod forms;
mod intelligence;
mod invitations;
mod isolation;
mod leads;
mod members;
mod metrics;
mod organizations;
mod recovery;
mod routing;
mod sdk;
mod secrets;
mod subscriptions;
mod system;
mod teams;
mod throttling;
mod webhooks;
mod workflows;
