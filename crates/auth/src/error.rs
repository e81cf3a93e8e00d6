//! Failures of the auth use cases, as typed cases: the server maps each to
//! its problem response, and the text people read is written once, here.

use leadflow_kernel::{EmailAddress, Forbidden, Permission, ValidationErrors};

use crate::invitations::model::InvitationStoreError;
use crate::members::model::MemberChangeError;
use crate::registration::ports::RegistrationError;

/// Everything an auth use case can fail with. Each method documents which
/// variants it returns.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The actor's email address must be verified first (`LEADFLOW_REQUIRE_VERIFIED_EMAIL`).
    #[error(transparent)]
    EmailUnverified(#[from] leadflow_kernel::Unverified),
    /// The input is invalid; nothing was changed.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// Wrong email or password (which one is not said).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Missing, invalid, expired, revoked or reused token.
    #[error("invalid or expired credentials")]
    Unauthorized,
    /// The organization of the token has been deactivated.
    #[error("the organization is deactivated")]
    OrganizationInactive,
    /// No such organization among the user's (another tenant's is "not found").
    #[error("organization not found")]
    OrganizationNotFound,
    /// Self-service sign-up is off.
    #[error("self-service sign-up is disabled; ask for an invitation")]
    SignupDisabled,
    /// Only a signed-in user (not an API key) may do this.
    #[error("only a signed-in user may do this")]
    UsersOnly,
    /// The change conflicts with what exists.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// No such resource in the actor's organization (or one they may not know about).
    #[error("{0}")]
    NotFound(Resource),
    /// The actor may see the resource but not do this.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// The actor acts in no organization.
    #[error("act in an organization first (POST /auth/switch-organization)")]
    NoOrganization,
    /// The plan's seats are all taken.
    #[error(transparent)]
    SeatLimit(#[from] SeatLimit),
    /// The account was disabled by the super admin (said only after the right password).
    #[error("This account is disabled; contact the platform administrator.")]
    AccountDisabled,
    /// Too many failed logins; try again after this many seconds.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// The store or a hasher failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What an auth change conflicts with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A user with this email exists.
    #[error("a user with this email already exists")]
    EmailTaken,
    /// A user with this username exists.
    #[error("this username is taken")]
    UsernameTaken,
    /// An organization with this slug exists.
    #[error("an organization named {0:?} already exists")]
    OrganizationNameTaken(String),
    /// The invitation was used or revoked meanwhile.
    #[error("This invitation is no longer pending.")]
    InvitationNotPending,
    /// The invitation was accepted before.
    #[error("This invitation has already been used.")]
    InvitationUsed,
    /// The invitation was revoked.
    #[error("This invitation has been revoked.")]
    InvitationRevoked,
    /// The invitation expired.
    #[error("This invitation has expired; ask for a new one.")]
    InvitationExpired,
    /// The accepting user is a member already.
    #[error("You are already a member of this organization.")]
    AlreadyMember,
    /// The invited address belongs to a member already.
    #[error("{0} is already a member of this organization.")]
    InviteeIsMember(EmailAddress),
    /// The change would leave the organization without an owner.
    #[error("the organization's last owner can be neither removed nor demoted")]
    LastOwner,
    /// The address is verified already.
    #[error("Your email address is already verified.")]
    EmailAlreadyVerified,
    /// The super admin's email belongs to an account already (promoting it is explicit).
    #[error(
        "an account with the email {0} exists; making it super admin needs --promote, which replaces its password and ends its sessions"
    )]
    SuperAdminAccountExists(EmailAddress),
    /// A revoked API key cannot be rotated.
    #[error("A revoked key cannot be rotated; create a new one.")]
    KeyRevoked,
}

/// Which kind of resource was not found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A member of the organization.
    Member,
    /// An API key of the organization.
    ApiKey,
    /// An invitation of the organization (or token).
    Invitation,
    /// A user of the platform.
    User,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Member => "No such member.",
            Self::ApiKey => "No such API key.",
            Self::Invitation => "No such invitation.",
            Self::User => "No such user.",
        })
    }
}

/// Why an actor who may see a resource may not do this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// A permission is missing.
    #[error("This needs the permission {0}.")]
    Permission(Permission),
    /// Only an owner grants or takes away the owner role.
    #[error("Only an owner grants or takes away the owner role.")]
    OwnerRoleByOwners,
    /// Only an owner removes an owner.
    #[error("Only an owner removes an owner.")]
    OwnerRemovalByOwners,
    /// Only an owner invites owners.
    #[error("Only an owner invites owners.")]
    OwnerInvitesByOwners,
    /// Only the platform's super admin may do this.
    #[error("Only the platform's super admin may do this.")]
    SuperAdminOnly,
    /// A super admin does not disable their own account.
    #[error("You cannot disable your own account.")]
    DisableSelf,
    /// The invitation names another address.
    #[error("This invitation is for another email address.")]
    InvitationForAnotherEmail,
}

/// The plan's seats are all taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeatLimit {
    /// Met while joining through an invitation.
    #[error("The organization's {limit} seats are all taken; ask its admins to upgrade the plan.")]
    Joining {
        /// The plan's seats.
        limit: u64,
    },
    /// Met while inviting.
    #[error(
        "the plan's {limit} seats (members and pending invitations) are all taken; upgrade the plan or revoke pending invitations."
    )]
    Inviting {
        /// The plan's seats.
        limit: u64,
    },
}

impl From<ValidationErrors> for AuthError {
    fn from(e: ValidationErrors) -> Self {
        Self::Invalid(e)
    }
}

impl From<Forbidden> for AuthError {
    fn from(e: Forbidden) -> Self {
        Self::Forbidden(Denied::Permission(e.0))
    }
}

impl From<RegistrationError> for AuthError {
    fn from(e: RegistrationError) -> Self {
        match e {
            RegistrationError::InvalidOrganization(errors) => {
                let mut prefixed = ValidationErrors::new();
                prefixed.extend_prefixed("organization", errors);
                Self::Invalid(prefixed)
            }
            RegistrationError::Unexpected(e) => Self::Unexpected(e),
            RegistrationError::SeatLimit(limit) => SeatLimit::Joining { limit }.into(),
            RegistrationError::EmailTaken => Conflict::EmailTaken.into(),
            RegistrationError::UsernameTaken => Conflict::UsernameTaken.into(),
            RegistrationError::OrganizationNameTaken(name) => Conflict::OrganizationNameTaken(name).into(),
            RegistrationError::InvitationNotPending => Conflict::InvitationNotPending.into(),
        }
    }
}

impl From<MemberChangeError> for AuthError {
    fn from(e: MemberChangeError) -> Self {
        match e {
            MemberChangeError::NotFound => Self::NotFound(Resource::Member),
            MemberChangeError::LastOwner => Conflict::LastOwner.into(),
            MemberChangeError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<InvitationStoreError> for AuthError {
    fn from(e: InvitationStoreError) -> Self {
        match e {
            InvitationStoreError::NotPending => Conflict::InvitationNotPending.into(),
            InvitationStoreError::AlreadyMember => Conflict::AlreadyMember.into(),
            InvitationStoreError::SeatLimit { limit } => SeatLimit::Inviting { limit }.into(),
            InvitationStoreError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}
