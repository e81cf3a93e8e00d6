//! Registration: a new user with a new organization, or joining one through an
//! invitation, all in one unit of work. Registration creates an organization
//! through [`ports::RegistrationUnit`], in its own words: this crate never
//! depends on the organizations crate.

pub mod model;
pub mod ports;
pub mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
