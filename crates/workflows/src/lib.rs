//! Durable lead-processing workflows.
//!
//! One workflow per lead: `research` → `qualify` → (unless unqualified, when
//! the organization routes leads) `route` → for qualified and follow-up leads `draft_email` → `await_approval` → (approved) `send_email`
//! → completed. The state machine ([`model`]) rejects every illegal
//! transition; the steps are ports ([`ports`]) with built-in adapters that
//! need no network ([`builtin`]); the [`engine`] runs due workflows under a
//! lease, committing each step's result before the next starts, retrying
//! failures with exponential backoff and jitter; the [`service`] holds the
//! people-facing use cases (read, approve, reject, cancel, retry).

pub mod builtin;
pub mod engine;
pub mod error;
pub mod model;
pub mod ports;
pub mod routing;
pub mod service;

pub use engine::{Engine, EngineSettings, Metered, RetryPolicy};
pub use error::{IllegalTransition, WorkflowError};
pub use model::{
    Category, Decision, EmailDraft, LeadSnapshot, Qualification, Research, Step, StepRecord, StepStatus,
    TokenUsage, WebsiteFacts, Workflow, WorkflowId, WorkflowStatus,
};
pub use service::WorkflowService;
