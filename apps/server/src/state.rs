//! The services a running server holds, wired to their adapters.

use std::sync::Arc;

use leadflow_auth::api_keys::ApiKeyService;
use leadflow_auth::invitations::InvitationService;
use leadflow_auth::members::MemberService;
use leadflow_auth::recovery::{RecoveryLimits, RecoveryService};
use leadflow_auth::service::AuthPorts;
use leadflow_auth::throttle::ThrottlePolicy;
use leadflow_auth::{Argon2Hasher, AuthService, SessionConfig, TokenIssuer, TokenSettings};
use leadflow_delivery::dispatcher::DispatcherPorts;
use leadflow_delivery::ports::EmailTransport;
use leadflow_delivery::templates::Templates;
use leadflow_delivery::{Dispatcher, EmailService, WebhookService};
use leadflow_integrations::{AddressGuard, FileTransport, HttpSender, NoTransport, SmtpTransport};
use leadflow_kernel::{Clock, SystemClock};
use leadflow_leads::LeadService;
use leadflow_organizations::teams::TeamService;
use leadflow_organizations::{AuditService, OrganizationPolicy, OrganizationService};
use leadflow_storage::{PoolSettings, Storage};
use leadflow_subscriptions::billing::BillingProvider;
use leadflow_subscriptions::{BillingService, SubscriptionService};
use leadflow_workflows::builtin::{RuleQualifier, RuleResearcher, TemplateDrafter};
use leadflow_workflows::engine::Steps;
use leadflow_workflows::ports::{ApprovalNotifier, EmailDrafter, Mailer, Qualifier, Researcher};
use leadflow_workflows::{Engine, WorkflowService};

use crate::config::{Config, EmailTransportConfig};

/// The dispatcher on the configured transports.
fn dispatcher(
    config: &Config,
    store: Arc<leadflow_storage::outbox::SeaOrmDelivery>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Dispatcher> {
    let delivery = &config.delivery;
    let transport: Arc<dyn EmailTransport> = match &delivery.transport {
        EmailTransportConfig::Smtp { url } => {
            Arc::new(SmtpTransport::new(url, &delivery.from, delivery.smtp_timeout)?)
        }
        EmailTransportConfig::File { dir } => Arc::new(FileTransport::new(dir.clone(), &delivery.from)?),
        EmailTransportConfig::None => Arc::new(NoTransport),
    };
    let from_domain = delivery
        .from
        .rsplit('@')
        .next()
        .map(|d| d.trim_end_matches('>').trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "leadflow.local".into());
    let sender =
        HttpSender::new(AddressGuard::new(delivery.webhook_allow_private), delivery.webhook_timeout)?;
    Ok(Dispatcher::new(
        DispatcherPorts {
            emails: store.clone(),
            transport,
            templates: Arc::new(Templates::new(&delivery.app_url)),
            from_domain,
            webhooks: store,
            sender: Arc::new(sender),
        },
        clock,
        delivery.dispatcher,
    ))
}

/// Step adapters to use instead of the built-in ones; `None` keeps the built-in.
#[derive(Clone, Default)]
pub struct StepOverrides {
    /// `research`.
    pub researcher: Option<Arc<dyn Researcher>>,
    /// `qualify`.
    pub qualifier: Option<Arc<dyn Qualifier>>,
    /// `draft_email`.
    pub drafter: Option<Arc<dyn EmailDrafter>>,
    /// `send_email`.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// Entering `await_approval`.
    pub notifier: Option<Arc<dyn ApprovalNotifier>>,
}

/// Everything the handlers need, shared by all requests.
pub struct AppState {
    /// Registration, sessions, passwords.
    pub auth: AuthService,
    /// Organizations.
    pub organizations: OrganizationService,
    /// Members.
    pub members: MemberService,
    /// Invitations.
    pub invitations: InvitationService,
    /// API keys.
    pub api_keys: ApiKeyService,
    /// Teams.
    pub teams: TeamService,
    /// The audit log reader.
    pub audit: AuditService,
    /// Plans, subscriptions, usage.
    pub subscriptions: SubscriptionService,
    /// Paying for plans through the billing provider (Stripe), when configured.
    pub billing: BillingService,
    /// Leads.
    pub leads: LeadService,
    /// Routing proposals.
    pub proposals: leadflow_leads::proposals::ProposalService,
    /// Public web forms: managing them and their submissions.
    pub forms: leadflow_leads::forms::FormService,
    /// Workflows (people-facing).
    pub workflows: WorkflowService,
    /// The workflow engine the workers run.
    pub engine: Arc<Engine>,
    /// Password reset and email verification.
    pub recovery: RecoveryService,
    /// The email outbox, as people read it.
    pub emails: EmailService,
    /// Webhook endpoints.
    pub webhooks: WebhookService,
    /// The dispatcher the delivery workers run.
    pub dispatcher: Arc<Dispatcher>,
    /// The database (for readiness).
    pub storage: Storage,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `LEADFLOW_METRICS_TOKEN`: the bearer token `GET /metrics` asks for.
    pub metrics_token: Option<String>,
}

impl AppState {
    /// Connects to the database, applies migrations and wires every service.
    ///
    /// # Errors
    /// When the database, the migrations or the key file fail.
    pub async fn build(config: &Config) -> anyhow::Result<Arc<Self>> {
        Self::build_with(config, StepOverrides::default()).await
    }

    /// Like [`AppState::build`], with other step adapters than the built-in ones
    /// (a real research provider, or a failing one in tests).
    ///
    /// # Errors
    /// When the database, the migrations or the key file fail.
    pub async fn build_with(config: &Config, steps: StepOverrides) -> anyhow::Result<Arc<Self>> {
        let storage = Storage::connect(
            &config.database_url,
            &PoolSettings {
                max_connections: config.database_max_connections,
                access_cache_ttl: config.access_cache_ttl,
            },
        )
        .await?;
        storage.migrate().await?;
        Self::wire(config, storage, steps)
    }

    /// Wires the services on an already migrated store.
    ///
    /// # Errors
    /// When the key file or the hash parameters are unusable.
    pub fn wire(config: &Config, storage: Storage, steps: StepOverrides) -> anyhow::Result<Arc<Self>> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let tokens = Arc::new(TokenIssuer::new(TokenSettings {
            secret: config.load_jwt_secret()?,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            access_ttl_secs: config.access_token_ttl_secs,
            refresh_ttl_secs: config.refresh_token_ttl_secs,
        }));
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let login_throttle = storage.login_throttle(ThrottlePolicy::default());
        let budget: Arc<dyn leadflow_auth::throttle::ActionBudget> = Arc::new(login_throttle.clone());
        let auth_store = Arc::new(storage.auth());
        let teams_store = Arc::new(storage.teams());
        let audit_log = Arc::new(storage.audit_log());
        let leads_store = Arc::new(storage.leads());
        let workflows_store = Arc::new(storage.workflows());
        let steps = step_adapters(config, steps, &workflows_store)?;
        let engine = Arc::new(Engine::new(workflows_store.clone(), steps, clock.clone(), config.engine));
        let delivery_store = Arc::new(storage.delivery());
        let dispatcher = Arc::new(dispatcher(config, delivery_store.clone(), clock.clone())?);
        let billing_provider = match &config.stripe {
            Some(settings) => Some(Arc::new(leadflow_integrations::stripe::Stripe::new(settings.clone())?)
                as Arc<dyn BillingProvider>),
            None => None,
        };
        let hasher: Arc<dyn leadflow_auth::PasswordHasher> =
            Arc::new(Argon2Hasher::new(config.password_hash_cost, cores)?);
        let recovery = RecoveryService::new(
            auth_store.clone(),
            auth_store.clone(),
            hasher.clone(),
            budget.clone(),
            clock.clone(),
            RecoveryLimits::default(),
        );
        let ports = AuthPorts {
            users: auth_store.clone(),
            memberships: auth_store.clone(),
            access: auth_store.clone(),
            refresh_tokens: auth_store.clone(),
            registrations: auth_store.clone(),
            hasher: hasher.clone(),
            invitations: auth_store.clone(),
            // Counted in the database: every process sharing it enforces one budget.
            throttle: Arc::new(login_throttle.clone()),
            budget: budget.clone(),
            audit: audit_log.clone(),
            clock: clock.clone(),
        };
        Ok(Arc::new(Self {
            auth: AuthService::new(
                ports,
                tokens,
                SessionConfig {
                    self_service_signup: config.self_service_signup,
                    require_verified_email: config.require_verified_email,
                },
            ),
            organizations: OrganizationService::new(
                Arc::new(storage.organizations()),
                clock.clone(),
                OrganizationPolicy { self_service_signup: config.self_service_signup },
            ),
            members: MemberService::new(auth_store.clone(), clock.clone()),
            invitations: InvitationService::new(
                auth_store.clone(),
                auth_store.clone(),
                auth_store.clone(),
                budget.clone(),
                clock.clone(),
            ),
            api_keys: ApiKeyService::new(auth_store.clone(), auth_store, clock.clone()),
            teams: TeamService::new(teams_store.clone(), teams_store, clock.clone()),
            audit: AuditService::new(audit_log),
            // Plans are the super admin's to change; owners pay for one through `billing`.
            subscriptions: SubscriptionService::new(Arc::new(storage.subscriptions()), clock.clone()),
            billing: BillingService::new(Arc::new(storage.subscriptions()), billing_provider, clock.clone()),
            proposals: leadflow_leads::proposals::ProposalService::new(leads_store.clone(), clock.clone()),
            // Submissions per address are counted in the database, like every action budget.
            forms: leadflow_leads::forms::FormService::new(
                leads_store.clone(),
                Arc::new(login_throttle.clone()),
                clock.clone(),
            ),
            leads: LeadService::new(leads_store.clone(), leads_store.clone(), leads_store, clock.clone()),
            workflows: WorkflowService::new(workflows_store.clone(), workflows_store, clock.clone()),
            engine,
            recovery,
            emails: EmailService::new(delivery_store.clone(), clock.clone()),
            webhooks: WebhookService::new(delivery_store, clock, config.delivery.webhook_allow_private),
            dispatcher,
            storage,
            trusted_proxies: config.trusted_proxies.clone(),
            metrics_token: config.metrics.token.clone(),
        }))
    }
}

/// The workflow steps: the rule-based adapters, with the website read when
/// enabled, on a language model when one is configured (the rules then run
/// past an organization's token budget); tests may replace any of them.
fn step_adapters(
    config: &Config,
    overrides: StepOverrides,
    store: &Arc<leadflow_storage::workflows::SeaOrmWorkflows>,
) -> anyhow::Result<Steps> {
    let mut facts: Arc<dyn Researcher> = Arc::new(RuleResearcher);
    if let Some(template) = &config.website_research {
        let guard = AddressGuard::new(config.delivery.webhook_allow_private);
        let reader = leadflow_integrations::website::WebsiteReader::new(
            guard,
            std::time::Duration::from_secs(3),
            Some(template.clone()),
        )?;
        facts = Arc::new(leadflow_integrations::website::WebsiteResearcher::new(facts, reader));
    }
    let mut steps = Steps {
        researcher: facts.clone(),
        qualifier: Arc::new(RuleQualifier),
        drafter: Arc::new(TemplateDrafter),
        mailer: store.clone(),
        notifier: store.clone(),
        router: store.clone(),
        metered: None,
    };
    if let Some(settings) = &config.llm {
        let client = leadflow_integrations::llm::ChatClient::new(settings.clone())?;
        let model = Arc::new(leadflow_integrations::llm::LlmSteps::new(client, facts)?);
        // Past an organization's token budget, the rule-based adapters run.
        steps.metered = Some(leadflow_workflows::Metered {
            budget: store.clone(),
            researcher: steps.researcher.clone(),
            qualifier: steps.qualifier.clone(),
            drafter: steps.drafter.clone(),
        });
        (steps.researcher, steps.qualifier, steps.drafter) = (model.clone(), model.clone(), model);
    }
    Ok(Steps {
        researcher: overrides.researcher.unwrap_or(steps.researcher),
        qualifier: overrides.qualifier.unwrap_or(steps.qualifier),
        drafter: overrides.drafter.unwrap_or(steps.drafter),
        mailer: overrides.mailer.unwrap_or(steps.mailer),
        notifier: overrides.notifier.unwrap_or(steps.notifier),
        router: steps.router,
        metered: steps.metered,
    })
}
