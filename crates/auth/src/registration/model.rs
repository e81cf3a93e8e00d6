//! What registration is asked to create.

/// What a registering user asks for their new organization, unvalidated:
/// the organizations context validates it when the unit creates it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationDraft {
    /// Slug.
    pub name: String,
    /// Display name.
    pub display_name: Option<String>,
}
