//! SeaORM entities: one module per table. Rows only; conversions to domain
//! types live in the adapter modules.

pub mod membership;
pub mod organization;
pub mod refresh_token;
pub mod user;
