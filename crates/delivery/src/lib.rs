//! Delivery: what Leadflow decides leaves it through two outboxes, written in
//! the transaction of the change that decided it, and emptied by the
//! [`dispatcher`].
//!
//! - **Email** ([`email`]): a queued message is rendered from its [`templates`]
//!   when it is sent, through an [`ports::EmailTransport`] (SMTP, files or none,
//!   adapters outside this crate). Transactional mail is sent at least once;
//!   outreach to a lead at most once (an interrupted send becomes `unknown`).
//! - **Webhooks** ([`webhooks`]): each event is one delivery per subscribed
//!   endpoint, POSTed by the Standard Webhooks specification ([`signature`])
//!   through an [`ports::WebhookSender`] that refuses private addresses.
//!
//! This crate knows no database, SMTP library or HTTP client: those are ports.

pub mod approvals;
pub mod dispatcher;
pub mod email;
pub mod error;
pub mod events;
pub mod ports;
pub mod service;
pub mod signature;
pub mod slack;
pub mod templates;
pub mod webhooks;

pub use dispatcher::{Dispatcher, DispatcherSettings};
pub use email::{Email, EmailId, EmailKind, EmailStatus, OutgoingEmail};
pub use error::DeliveryError;
pub use service::{EmailService, WebhookService};
pub use webhooks::{
    DeliveryAttempt, DeliveryStatus, EVENT_TYPES, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint,
    WebhookEndpointId,
};
