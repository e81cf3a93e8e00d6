//! API keys: per-organization credentials for machines, limited to scopes.

pub mod model;
pub mod ports;
pub mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
