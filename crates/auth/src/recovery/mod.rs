//! Account recovery and proof of address: password reset by email, and email
//! verification. Both work with single-use tokens that are stored hashed,
//! sent only in an email link, and spent atomically with what they allow.

pub mod model;
pub mod ports;
pub mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
