//! SeaORM entities: one module per table. Rows only; conversions to domain
//! types live in the adapter modules.

pub mod api_key;
pub mod audit_log;
pub mod billing_event;
pub mod email_outbox;
pub mod event;
pub mod idempotency_key;
pub mod invitation;
pub mod lead;
pub mod lead_form;
pub mod lead_original;
pub mod login_throttle;
pub mod membership;
pub mod organization;
pub mod refresh_token;
pub mod routing_cursor;
pub mod routing_proposal;
pub mod subscription;
pub mod team;
pub mod team_member;
pub mod usage_counter;
pub mod usage_shard;
pub mod user;
pub mod user_token;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod workflow;
