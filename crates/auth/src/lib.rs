//! Identity and sessions of Leadflow.
//!
//! Users are global identities that belong to organizations through
//! memberships. Each subdomain is a folder with its model, ports and service:
//! [`account`] (users, passwords, `me`, the super admin bootstrap),
//! [`session`] (login, tokens, refresh with rotation and reuse detection,
//! logout, the per-request actor, switching organizations), [`registration`],
//! [`members`], [`invitations`], [`api_keys`] and [`recovery`] (password
//! reset, email verification). Failures are typed
//! ([`error`]). The use cases of the first three share [`AuthService`]
//! ([`service`]), which owns their ports.

pub mod account;
pub mod api_keys;
pub mod error;
pub mod invitations;
pub mod members;
pub mod recovery;
pub mod registration;
pub mod service;
pub mod session;

/// The models of every subdomain, for adapters that implement several ports.
pub mod model {
    pub use crate::account::model::*;
    pub use crate::recovery::model::*;
    pub use crate::registration::model::*;
    pub use crate::session::model::*;
}

/// The ports of every subdomain, for adapters that implement several ports.
pub mod ports {
    pub use crate::account::ports::*;
    pub use crate::recovery::ports::*;
    pub use crate::registration::ports::*;
    pub use crate::session::ports::*;
}

pub use account::password::{self, Argon2Hasher, HashCost, PasswordHasher};
pub use account::{Me, Password, PasswordHash, User};
pub use error::AuthError;
pub use registration::{OrganizationDraft, RegisterInput, Registered};
pub use service::{AuthPorts, AuthService, SessionConfig};
pub use session::throttle;
pub use session::tokens::{self, AccessClaims, IssuedTokens, TokenIssuer, TokenSettings};
pub use session::{LoginInput, Membership, Session};
