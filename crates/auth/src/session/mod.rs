//! Sessions: login with throttling, access and refresh tokens, rotation with
//! reuse detection, logout, the per-request actor, switching organizations.

pub mod model;
pub mod ports;
pub mod service;
pub mod throttle;
pub mod tokens;

pub use model::*;
pub use ports::*;
pub use service::*;
