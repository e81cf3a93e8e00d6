//! Shared vocabulary of Leadflow.
//!
//! Every domain crate speaks in these types: typed ids ([`ids`]), who is asking
//! ([`Actor`]), what they may do ([`Role`], [`Permission`]), how lists are paged
//! ([`page`]), what time it is ([`Clock`]) and how invalid input is reported
//! ([`ValidationErrors`]). The kernel has no I/O and depends on no framework.

pub mod actor;
pub mod audit;
pub mod clock;
pub mod email;
pub mod ids;
pub mod page;
pub mod permission;
pub mod role;
pub mod scope;
pub mod validation;

pub use actor::{Actor, Forbidden, Principal, Unverified};
pub use audit::{AuditActorKind, AuditEntry};
#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
pub use clock::{Clock, SystemClock};
pub use email::{EmailAddress, InvalidEmail};
pub use ids::{
    ApiKeyId, InvitationId, LeadId, OrganizationId, RefreshTokenId, SessionFamilyId, TeamId, UserId,
    WorkflowId,
};
pub use page::{Cursor, InvalidCursor, KeysetPage, KeysetPaged, OffsetPage, Paged};
pub use permission::{Permission, PermissionSet};
pub use role::Role;
pub use scope::{PlatformScope, TenantScope};
pub use validation::{FieldError, ValidationErrors};
