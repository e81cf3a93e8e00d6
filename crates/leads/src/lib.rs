//! Leads: capture, qualification data, assignment, statistics and export.
//!
//! The lead model and its validation ([`model`]), the ports its storage must
//! provide ([`ports`]) — among them the [`ports::SubmissionUnit`] that makes a
//! submission all or nothing — the use cases ([`service`]) and the CSV export
//! ([`export`]), and public web forms ([`forms`]). Quotas, memberships and teams belong to other contexts; this
//! crate asks for them through ports in its own words.

pub mod error;
pub mod export;
pub mod forms;
pub mod model;
pub mod ports;
pub mod proposals;
pub mod service;

pub use error::LeadError;
pub use model::{
    Creator, CreatorKind, DEFAULT_DEDUPE_WINDOW_DAYS, Lead, LeadChanges, LeadFilter, LeadId, LeadInput,
    LeadReview, LeadStats, LeadStatus, Qualification, QualificationCategory, ReviewDecision, Visibility,
    dedupe_window_days,
};
pub use service::{IDEMPOTENCY_KEY_TTL_HOURS, LeadService, Submission};
