//! An embedder's program: the leads domain and its storage, on SQLite, in a
//! process of its own, with no HTTP server.
//!
//! It creates an organization (the tenant), then submits and lists leads
//! through [`LeadService`], the same service the Leadflow API calls. Who acts
//! is an [`Actor`]: here an in-process API key of the organization, so every
//! call goes through the kernel's access check and the tenant scope it grants.
//!
//! Run it with `cargo run -p leadflow-example-embedded-leads [-- sqlite-path]`.

use std::sync::Arc;

use leadflow_kernel::{Actor, ApiKeyId, KeysetPage, Permission, PermissionSet, SystemClock};
use leadflow_leads::{LeadFilter, LeadInput, LeadService, Submission};
use leadflow_organizations::{OrganizationInput, OrganizationPolicy, OrganizationService};
use leadflow_storage::{PoolSettings, Storage};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let given = std::env::args().nth(1);
    let path = given.clone().unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("leadflow-embedded-{}.db", std::process::id()))
            .display()
            .to_string()
    });
    let storage = Storage::connect(&format!("sqlite://{path}?mode=rwc"), &PoolSettings::default()).await?;
    storage.migrate().await?;
    let clock = Arc::new(SystemClock);

    // The tenant, created by the platform (the system actor) as an operator would.
    let organizations = OrganizationService::new(
        Arc::new(storage.organizations()),
        clock.clone(),
        OrganizationPolicy::default(),
    );
    let input = OrganizationInput {
        name: format!("embedded-{}", std::process::id()),
        ..OrganizationInput::default()
    };
    let organization = organizations.create(&Actor::system(), input).await?;

    // The leads service on the storage adapters, as the server wires it.
    let leads_store = Arc::new(storage.leads());
    let leads = LeadService::new(leads_store.clone(), leads_store.clone(), leads_store, clock);
    let form = Actor::api_key(
        ApiKeyId::new(),
        "embedded form",
        organization.id,
        PermissionSet::of(&[Permission::LeadsCreate, Permission::LeadsViewAll]),
    );

    for (email, name) in
        [("ada@example.com", "Ada"), ("grace@example.com", "Grace"), ("alan@example.com", "Alan")]
    {
        let input = LeadInput {
            email: email.into(),
            name: name.into(),
            message: "Tell me more about your plans.".into(),
            ..LeadInput::default()
        };
        let Submission { lead, workflow_id, .. } = leads.submit(&form, input, None).await?;
        let workflow = workflow_id.map_or_else(|| "none".to_owned(), |w| w.to_string());
        println!("submitted {} <{}> (workflow {workflow})", lead.name, lead.email.as_ref());
    }

    let page = leads.list(&form, LeadFilter::default(), None, KeysetPage::new(Some(10), None)?).await?;
    println!("{} leads in {}:", page.items.len(), organization.name.as_ref());
    for lead in &page.items {
        println!("  {} <{}> {}", lead.name, lead.email.as_ref(), lead.status.as_str());
    }
    anyhow::ensure!(page.items.len() == 3, "expected the three leads back, got {}", page.items.len());
    if given.is_none() {
        drop(storage);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    Ok(())
}
