//! The account: users, their names and passwords, `me`, password changes and
//! the super admin bootstrap.

pub mod model;
pub mod password;
pub mod ports;
pub mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
