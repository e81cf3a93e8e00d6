//! Adapters to the world outside Leadflow, behind the delivery ports:
//!
//! - [`email`]: SMTP through `lettre` (`smtp://`, `smtps://`, STARTTLS), `.eml`
//!   files in a folder (the embedded default), or nowhere;
//! - [`http`]: webhook POSTs through `reqwest`, with the [`guard`] refusing
//!   loopback, private, link-local and metadata addresses at every connection;
//! - [`stripe`]: billing through Stripe (checkout, portal, cancel, signed webhooks);
//! - [`llm`]: the workflow steps on an OpenAI-compatible language model;
//! - [`website`]: a lead's home page, read behind the same guard.

pub mod email;
pub mod guard;
pub mod http;
pub mod llm;
pub mod stripe;
pub mod website;

pub use email::{FileTransport, NoTransport, SmtpTransport, build_message};
pub use guard::AddressGuard;
pub use http::HttpSender;
