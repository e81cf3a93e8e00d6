//! `idempotency_keys` table: which submission owns an `Idempotency-Key`.

use sea_orm::entity::prelude::*;

/// A row of `idempotency_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// Organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The client's key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Digest of the first request.
    pub fingerprint: String,
    /// The lead it created.
    pub lead_id: Uuid,
    /// When.
    pub created_at: DateTimeUtc,
    /// The lead as first created (what a replay answers); `None` for keys
    /// claimed before it was kept.
    pub response: Option<Json>,
}

/// Relations of `idempotency_keys`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
