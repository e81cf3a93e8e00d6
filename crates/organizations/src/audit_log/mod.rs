//! Reading the audit log. Entries are written by every other use case in the
//! same transaction as their change; this module only reads them, and no
//! operation changes or deletes them.

pub mod ports;
pub mod service;

pub use ports::{AuditFilter, AuditLogRepository, AuditScope};
pub use service::AuditService;
