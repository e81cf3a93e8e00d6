//! Auth use cases: registration, sessions, the per-request actor, passwords.

use std::sync::Arc;

use leadflow_kernel::Clock;

use crate::account::password::PasswordHasher;
use crate::account::ports::{AuditRecorder, UserRepository};
use crate::invitations::ports::InvitationRepository;
use crate::registration::ports::RegistrationUnits;
use crate::session::ports::{AccessRepository, MembershipRepository, RefreshTokenRepository};
use crate::session::throttle::{ActionBudget, LoginThrottle};
use crate::session::tokens::TokenIssuer;

/// Platform rules for sessions and sign-up.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    /// Whether anyone may register (and create an organization) without an invitation.
    pub self_service_signup: bool,
    /// Whether users whose email address is not verified are kept from
    /// creating organizations, inviting, creating API keys and approving
    /// outreach (`LEADFLOW_REQUIRE_VERIFIED_EMAIL`).
    pub require_verified_email: bool,
}

/// The ports the auth service runs on.
#[derive(Clone)]
pub struct AuthPorts {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Memberships.
    pub memberships: Arc<dyn MembershipRepository>,
    /// Per-request access state.
    pub access: Arc<dyn AccessRepository>,
    /// Refresh tokens.
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    /// Registration transactions.
    pub registrations: Arc<dyn RegistrationUnits>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Invitations (registration with an invitation token).
    pub invitations: Arc<dyn InvitationRepository>,
    /// Failed-login throttling.
    pub throttle: Arc<dyn LoginThrottle>,
    /// Counts registrations and password changes.
    pub budget: Arc<dyn ActionBudget>,
    /// Audit entries that are themselves the change.
    pub audit: Arc<dyn AuditRecorder>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The auth use cases.
pub struct AuthService {
    pub(crate) ports: AuthPorts,
    pub(crate) tokens: Arc<TokenIssuer>,
    pub(crate) config: SessionConfig,
}

impl AuthService {
    /// Builds the service on its ports.
    pub fn new(ports: AuthPorts, tokens: Arc<TokenIssuer>, config: SessionConfig) -> Self {
        Self { ports, tokens, config }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::model::PasswordHash;
    use crate::account::password::MockPasswordHasher;
    use crate::account::ports::MockAuditRecorder;
    use crate::account::ports::MockUserRepository;
    use crate::error::*;
    use crate::invitations::ports::MockInvitationRepository;
    use crate::registration::ports::{MockRegistrationUnit, MockRegistrationUnits};
    use crate::session::model::AccessState;
    use crate::session::ports::{MockAccessRepository, MockMembershipRepository, MockRefreshTokenRepository};
    use crate::session::throttle::{MockLoginThrottle, ThrottleVerdict};
    use crate::session::tokens::TokenSettings;
    use crate::{account::*, registration::*, session::*};
    use chrono::{Duration, Utc};
    use leadflow_kernel::MockClock;
    use leadflow_kernel::*;

    struct Mocks {
        users: MockUserRepository,
        memberships: MockMembershipRepository,
        access: MockAccessRepository,
        refresh_tokens: MockRefreshTokenRepository,
        registrations: MockRegistrationUnits,
        hasher: MockPasswordHasher,
        throttle: MockLoginThrottle,
    }

    impl Mocks {
        fn new() -> Self {
            Self {
                users: MockUserRepository::new(),
                memberships: MockMembershipRepository::new(),
                access: MockAccessRepository::new(),
                refresh_tokens: MockRefreshTokenRepository::new(),
                registrations: MockRegistrationUnits::new(),
                hasher: MockPasswordHasher::new(),
                throttle: {
                    let mut t = MockLoginThrottle::new();
                    t.expect_check().returning(|_, _| ThrottleVerdict::Allow);
                    t.expect_failure().returning(|_, _| ());
                    t.expect_success().returning(|_, _| ());
                    t
                },
            }
        }

        fn service(self) -> AuthService {
            let mut clock = MockClock::new();
            clock.expect_now().returning(Utc::now);
            let ports = AuthPorts {
                users: Arc::new(self.users),
                memberships: Arc::new(self.memberships),
                access: Arc::new(self.access),
                refresh_tokens: Arc::new(self.refresh_tokens),
                registrations: Arc::new(self.registrations),
                hasher: Arc::new(self.hasher),
                invitations: Arc::new(MockInvitationRepository::new()),
                throttle: Arc::new(self.throttle),
                budget: Arc::new(crate::session::throttle::MemoryActionBudget::default()),
                audit: Arc::new(MockAuditRecorder::new()),
                clock: Arc::new(clock),
            };
            AuthService::new(
                ports,
                Arc::new(issuer()),
                SessionConfig { self_service_signup: true, require_verified_email: false },
            )
        }
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(TokenSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "leadflow".into(),
            audience: "leadflow-api".into(),
            access_ttl_secs: 3600,
            refresh_ttl_secs: 86400,
        })
    }

    fn a_user() -> User {
        let now = Utc::now();
        User {
            id: UserId::new(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            name: PersonName::parse("Ada").unwrap(),
            username: None,
            is_super_admin: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
            email_verified_at: None,
        }
    }

    fn credentials(user: User) -> Credentials {
        Credentials {
            user,
            password_hash: PasswordHash::from_phc("$argon2id$fake".into()),
            disabled_at: None,
        }
    }

    fn record(used: bool) -> RefreshTokenRecord {
        let now = Utc::now();
        RefreshTokenRecord {
            id: RefreshTokenId::new(),
            family_id: SessionFamilyId::new(),
            user_id: UserId::new(),
            organization_id: None,
            token_hash: "h".into(),
            created_at: now,
            expires_at: now + Duration::days(1),
            used_at: used.then_some(now),
            revoked_at: None,
        }
    }

    fn register_input(organization: Option<&str>) -> RegisterInput {
        RegisterInput {
            email: "Ada@Example.com".into(),
            password: "correct horse battery".into(),
            name: "Ada".into(),
            username: None,
            organization: organization.map(|n| OrganizationDraft { name: n.into(), display_name: None }),
            invitation_token: None,
            ip: None,
        }
    }

    #[tokio::test]
    async fn registering_with_an_organization_creates_user_and_organization_in_one_unit() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().times(1).returning(|_| Ok(PasswordHash::from_phc("$argon2id$x".into())));
        let org = OrganizationId::new();
        m.registrations.expect_begin().times(1).returning(move || {
            let mut unit = MockRegistrationUnit::new();
            let mut seq = mockall::Sequence::new();
            unit.expect_insert_user()
                .withf(|u, _| u.email.as_ref() == "ada@example.com")
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_, _| Ok(()));
            unit.expect_create_organization()
                .times(1)
                .in_sequence(&mut seq)
                .returning(move |_, _, _| Ok(org));
            unit.expect_record()
                .withf(|e| e.action == "organization.created")
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_| Ok(()));
            unit.expect_issue_token()
                .withf(|t, m| {
                    t.purpose == crate::model::TokenPurpose::EmailVerification
                        && m.recipient == "ada@example.com"
                })
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_, _| Ok(()));
            unit.expect_commit().times(1).in_sequence(&mut seq).returning(|| Ok(()));
            Ok(Box::new(unit))
        });
        m.refresh_tokens.expect_insert().times(1).returning(|_| Ok(()));

        let registered = m.service().register(register_input(Some("acme"))).await.unwrap();

        assert_eq!(registered.session.organization_id, Some(org));
        assert_eq!(registered.session.role, Some(Role::Owner));
    }

    #[tokio::test]
    async fn a_failed_organization_never_commits_the_user() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().returning(|_| Ok(PasswordHash::from_phc("$argon2id$x".into())));
        m.registrations.expect_begin().returning(|| {
            let mut unit = MockRegistrationUnit::new();
            unit.expect_insert_user().returning(|_, _| Ok(()));
            unit.expect_create_organization().returning(|d, _, _| {
                Err(crate::ports::RegistrationError::OrganizationNameTaken(d.name.clone()))
            });
            unit.expect_commit().never();
            Ok(Box::new(unit))
        });
        m.refresh_tokens.expect_insert().never();

        let result = m.service().register(register_input(Some("acme"))).await;

        assert!(matches!(result, Err(AuthError::Conflict(_))));
    }

    #[tokio::test]
    async fn invalid_registrations_are_rejected_before_hashing() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().never();
        m.registrations.expect_begin().never();
        let input = RegisterInput {
            email: "nope".into(),
            password: "short".into(),
            name: " ".into(),
            ..Default::default()
        };

        let Err(AuthError::Invalid(errors)) = m.service().register(input).await else {
            panic!("expected Invalid")
        };

        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "name"]);
    }

    #[tokio::test]
    async fn an_unknown_email_costs_a_hash_and_fails_like_a_wrong_password() {
        let mut m = Mocks::new();
        m.users.expect_by_email().returning(|_| Ok(None));
        m.hasher.expect_verify().withf(|_, hash| hash.is_none()).times(1).returning(|_, _| Ok(false));
        m.users.expect_record_login().never();

        let result = m
            .service()
            .login(LoginInput {
                email: "who@example.com".into(),
                password: "whatever12".into(),
                organization_id: None,
                ip: None,
            })
            .await;

        assert!(matches!(result, Err(AuthError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn login_acts_in_the_oldest_active_membership() {
        let mut m = Mocks::new();
        let user = a_user();
        let active = OrganizationId::new();
        m.users.expect_by_email().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.memberships.expect_memberships_of().returning(move |_| {
            let m = |id, active| Membership {
                organization_id: id,
                organization_name: "x".into(),
                organization_display_name: "X".into(),
                organization_active: active,
                role: Role::Manager,
                joined_at: Utc::now(),
            };
            Ok(vec![m(OrganizationId::new(), false), m(active, true)])
        });
        m.users.expect_record_login().times(1).returning(|_, _| Ok(()));
        m.refresh_tokens.expect_insert().times(1).returning(|_| Ok(()));

        let session = m
            .service()
            .login(LoginInput {
                email: "ada@example.com".into(),
                password: "right-password".into(),
                organization_id: None,
                ip: None,
            })
            .await
            .unwrap();

        assert_eq!(session.organization_id, Some(active));
        assert_eq!(session.role, Some(Role::Manager));
    }

    #[tokio::test]
    async fn a_reused_refresh_token_revokes_its_family() {
        let mut m = Mocks::new();
        let used = record(true);
        let family = used.family_id;
        m.refresh_tokens.expect_find_by_hash().returning(move |_| Ok(Some(used.clone())));
        m.refresh_tokens
            .expect_revoke_family()
            .withf(move |f, _| *f == family)
            .times(1)
            .returning(|_, _| Ok(()));
        m.refresh_tokens.expect_rotate().never();

        assert!(matches!(m.service().refresh("stolen").await, Err(AuthError::Unauthorized)));
    }

    #[tokio::test]
    async fn losing_a_rotation_race_counts_as_reuse() {
        let mut m = Mocks::new();
        let fresh = record(false);
        let family = fresh.family_id;
        let user = a_user();
        m.refresh_tokens.expect_find_by_hash().returning(move |_| Ok(Some(fresh.clone())));
        m.users.expect_by_id().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.refresh_tokens.expect_rotate().times(1).returning(|_, _, _| Ok(false));
        m.refresh_tokens
            .expect_revoke_family()
            .withf(move |f, _| *f == family)
            .times(1)
            .returning(|_, _| Ok(()));

        assert!(matches!(m.service().refresh("raced").await, Err(AuthError::Unauthorized)));
    }

    fn bearer_for(org: Option<OrganizationId>) -> String {
        issuer()
            .issue_access(UserId::new(), "ada@example.com", false, org, Some(Role::Owner), Utc::now())
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn a_deactivated_organizations_token_is_refused_unless_switching_away() {
        let mut m = Mocks::new();
        m.access.expect_access().returning(|_, _| {
            Ok(Some(AccessState {
                super_admin: false,
                organization_active: Some(false),
                role: Some(Role::Owner),
                disabled: false,
                email_verified: true,
            }))
        });
        let svc = m.service();
        let token = bearer_for(Some(OrganizationId::new()));

        assert!(matches!(svc.authenticate(&token, false).await, Err(AuthError::OrganizationInactive)));
        assert!(svc.authenticate(&token, true).await.is_ok());
    }

    #[tokio::test]
    async fn the_current_role_counts_not_the_one_in_the_token() {
        let mut m = Mocks::new();
        m.access.expect_access().returning(|_, _| {
            Ok(Some(AccessState {
                super_admin: false,
                organization_active: Some(true),
                role: Some(Role::Member),
                disabled: false,
                email_verified: true,
            }))
        });
        let actor = m.service().authenticate(&bearer_for(Some(OrganizationId::new())), false).await.unwrap();
        assert_eq!(actor.role(), Some(Role::Member));
        assert!(!actor.can(Permission::SettingsManage));
    }

    #[tokio::test]
    async fn a_removed_member_is_unauthorized() {
        let mut m = Mocks::new();
        m.access.expect_access().returning(|_, _| {
            Ok(Some(AccessState {
                super_admin: false,
                organization_active: Some(true),
                role: None,
                disabled: false,
                email_verified: true,
            }))
        });
        let result = m.service().authenticate(&bearer_for(Some(OrganizationId::new())), false).await;
        assert!(matches!(result, Err(AuthError::Unauthorized)));
    }

    #[tokio::test]
    async fn a_wrong_current_password_changes_nothing() {
        let mut m = Mocks::new();
        let user = a_user();
        let id = user.id;
        m.users.expect_by_id().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.hasher.expect_verify().returning(|_, _| Ok(false));
        m.hasher.expect_hash().never();
        m.users.expect_change_password().never();
        let actor = Actor::user(id, "ada@example.com", None, None, false);

        let result = m.service().change_password(&actor, "wrong-password", "a new long password").await;

        assert!(matches!(result, Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_throttled_login_is_refused_before_the_password_is_checked() {
        let mut m = Mocks::new();
        m.throttle = MockLoginThrottle::new();
        m.throttle
            .expect_check()
            .returning(|_, _| ThrottleVerdict::Refuse(std::time::Duration::from_secs(90)));
        m.hasher.expect_verify().never();
        m.users.expect_by_email().never();

        let result = m
            .service()
            .login(LoginInput {
                email: "ada@example.com".into(),
                password: "the right password".into(),
                organization_id: None,
                ip: Some("10.1.2.3".into()),
            })
            .await;

        assert!(matches!(result, Err(AuthError::Throttled { retry_after_secs: 90 })));
    }

    #[tokio::test]
    async fn an_existing_account_never_becomes_super_admin_without_promote() {
        let mut m = Mocks::new();
        m.users.expect_by_email().returning(|_| Ok(Some(credentials(a_user()))));
        m.hasher.expect_hash().never();
        m.users.expect_insert_super_admin().never();
        m.users.expect_promote_to_super_admin().never();

        let result =
            m.service().create_super_admin("ada@example.com", "a long new password", "Ops", false).await;

        assert!(matches!(result, Err(AuthError::Conflict(Conflict::SuperAdminAccountExists(_)))));
    }

    #[tokio::test]
    async fn a_promotion_sets_the_new_password_and_is_audited() {
        let mut m = Mocks::new();
        let user = a_user();
        let id = user.id;
        m.users.expect_by_email().returning(move |_| Ok(Some(credentials(user.clone()))));
        m.hasher.expect_hash().returning(|_| Ok(PasswordHash::from_phc("$argon2id$new".into())));
        m.users.expect_insert_super_admin().never();
        m.users
            .expect_promote_to_super_admin()
            .withf(move |who, hash, _, audit| {
                *who == id && hash.as_phc() == "$argon2id$new" && audit.action == "user.promoted_super_admin"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));

        let promoted = m
            .service()
            .create_super_admin("ada@example.com", "a long new password", "Ops", true)
            .await
            .unwrap();

        assert!(promoted.is_super_admin);
    }
}
