//! Teams: named groups of an organization's members, with an optional leader.
//! A team's leader also sees the leads assigned to the team's members.

pub mod model;
pub mod ports;
pub mod service;

pub use model::{Team, TeamChanges, TeamId, TeamInput, TeamMember};
pub use ports::{MemberDirectory, TeamRepository, TeamStoreError};
pub use service::{TeamError, TeamService};
