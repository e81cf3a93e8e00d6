//! Typed identifiers. Each id wraps a UUID v7 so that ids sort by creation time
//! and one kind of id cannot be passed where another is expected.

/// Declares a typed UUID v7 identifier.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id.
            #[must_use]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Wraps an existing UUID (from storage or a request).
            #[must_use]
            pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

typed_id!(
    /// Identifies an organization (a tenant).
    OrganizationId
);
typed_id!(
    /// Identifies a user (a global identity, member of zero or more organizations).
    UserId
);
typed_id!(
    /// Identifies a lead (shared: workflows, routing and billing refer to leads).
    LeadId
);
typed_id!(
    /// Identifies a lead's processing workflow.
    WorkflowId
);
typed_id!(
    /// Identifies a team of an organization.
    TeamId
);
typed_id!(
    /// Identifies an organization's API key.
    ApiKeyId
);
typed_id!(
    /// Identifies an invitation to join an organization.
    InvitationId
);
typed_id!(
    /// Identifies one refresh token.
    RefreshTokenId
);
typed_id!(
    /// Identifies a session: the family of refresh tokens rotated from one login.
    SessionFamilyId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_uuid_v7() {
        let a = OrganizationId::new();
        let b = OrganizationId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn an_id_round_trips_through_its_string_form() {
        let id = UserId::new();
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
    }
}
