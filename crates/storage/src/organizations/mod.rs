//! The organizations context's storage. This module owns the `organizations`,
//! `teams` and `team_members` tables, and reads the audit log for the
//! organizations context's audit log reader.

#[cfg(feature = "organizations")]
mod audit_log;
#[cfg(feature = "organizations")]
mod repository;
#[cfg(feature = "organizations")]
mod teams;

#[cfg(feature = "organizations")]
pub use repository::SeaOrmOrganizations;
#[cfg(feature = "auth")]
pub(crate) use repository::insert_organization;
#[cfg(feature = "organizations")]
pub use teams::SeaOrmTeams;

#[cfg(feature = "organizations")]
pub use audit_log::SeaOrmAuditLog;

#[cfg(feature = "auth")]
pub(crate) use teams::clear_team_leader;
#[cfg(feature = "workflows")]
pub(crate) use teams::leaders_of_teams_with;
#[cfg(feature = "leads")]
pub(crate) use teams::{led_by, team_members};
