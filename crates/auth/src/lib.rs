//! Identity and sessions of Leadflow.
//!
//! Users are global identities that belong to organizations through
//! memberships. This crate owns their model ([`model`]), the ports its storage
//! must provide ([`ports`]), password hashing ([`password`]), access and refresh
//! tokens ([`tokens`]) and the use cases ([`service`]): register, login,
//! refresh with rotation and reuse detection, logout, `me`,
//! switch-organization, change-password and the super admin bootstrap.
//! It never depends on the organizations crate: registration creates an
//! organization through the [`ports::RegistrationUnit`] port, in its own words.

pub mod api_keys;
pub mod error;
pub mod invitations;
pub mod members;
pub mod model;
pub mod password;
pub mod ports;
pub mod service;
pub mod throttle;
pub mod tokens;

pub use error::AuthError;
pub use model::{Membership, OrganizationDraft, Password, PasswordHash, User};
pub use password::{Argon2Hasher, HashCost, PasswordHasher};
pub use service::{AuthService, LoginInput, Me, RegisterInput, Registered, Session, SessionConfig};
pub use tokens::{AccessClaims, IssuedTokens, TokenIssuer, TokenSettings};
