//! Organizations: the tenants of Leadflow.
//!
//! This crate owns the organization model and its validation rules
//! ([`model`]), the ports its storage must provide ([`ports`]) and the use
//! cases ([`service`]): create, read, list, update, deactivate, activate, hard
//! delete, statistics and the platform overview; teams ([`teams`]); and the
//! audit log reader ([`audit_log`]). It knows nothing of HTTP or SQL.

pub mod audit_log;
pub mod error;
pub mod model;
pub mod ports;
pub mod service;
pub mod teams;

pub use audit_log::{AuditFilter, AuditLogRepository, AuditScope, AuditService};
pub use error::OrganizationError;
pub use model::{
    NewOrganization, Organization, OrganizationChanges, OrganizationFilter, OrganizationInput,
    OrganizationName, OrganizationSort, OrganizationStats, PlatformOverview, Settings,
};
pub use ports::{ListScope, OrganizationRepository, RepositoryError};
pub use service::{OrganizationPolicy, OrganizationService};
