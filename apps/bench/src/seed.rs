//! Seeding a chosen scale fast: organizations and leads go in by bulk
//! inserts; only the organizations the scenarios sign in to go through the API.

use std::time::Duration;

use chrono::Utc;
use leadflow_storage::entities::{lead, organization};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, EntityTrait as _, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// Rows per bulk insert (well under PostgreSQL's 65,535 parameters).
const CHUNK: usize = 2000;

/// An organization a scenario acts in.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Its id.
    pub id: Uuid,
    /// The owner's bearer header value.
    pub bearer: String,
    /// A `leads:create` key.
    pub key: String,
    /// The owner's email (for logins).
    pub email: String,
}

/// The owners' password.
pub const PASSWORD: &str = "correct horse battery staple";

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    auth: Option<(&str, &str)>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut request = client.request(method, url).json(&body);
    if let Some((name, value)) = auth {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "{status}: {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Registers an owner with an organization on the enterprise plan (no quota) and makes a key.
///
/// # Errors
/// When the API refuses.
pub async fn tenant(base: &str, slug: &str) -> anyhow::Result<Tenant> {
    let client = reqwest::Client::new();
    let email = format!("owner@{slug}.example");
    let registered = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/register"),
        None,
        json!({ "email": email, "password": PASSWORD, "name": "Owner", "organization": { "name": slug } }),
    )
    .await?;
    let bearer = format!("Bearer {}", registered["tokens"]["accessToken"].as_str().unwrap_or_default());
    let id = registered["organization"]["id"].as_str().unwrap_or_default().parse()?;
    // Plans are the super admin's to change (no billing provider).
    let root = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/login"),
        None,
        json!({ "email": "admin@leadflow.local", "password": crate::server::SUPER_ADMIN_PASSWORD }),
    )
    .await?;
    let root = format!("Bearer {}", root["tokens"]["accessToken"].as_str().unwrap_or_default());
    call(
        &client,
        reqwest::Method::PUT,
        format!("{base}/api/v1/admin/organizations/{id}/subscription"),
        Some(("authorization", &root)),
        json!({ "plan": "enterprise" }),
    )
    .await?;
    let key = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/api-keys"),
        Some(("authorization", &bearer)),
        json!({ "name": "bench", "scopes": ["leads:create"] }),
    )
    .await?;
    Ok(Tenant { id, bearer, key: key["secret"].as_str().unwrap_or_default().to_owned(), email })
}

/// Inserts `count` leads into `organization`, newest `spacing` apart going back from now.
///
/// # Errors
/// When the database refuses.
pub async fn leads(
    db: &DatabaseConnection,
    organization: Uuid,
    count: usize,
    spacing: Duration,
) -> anyhow::Result<Vec<Uuid>> {
    let now = Utc::now();
    let spacing = chrono::Duration::from_std(spacing)?;
    let mut ids = Vec::with_capacity(count);
    let mut remaining = count;
    while remaining > 0 {
        let n = remaining.min(CHUNK);
        let rows: Vec<lead::ActiveModel> = (0..n)
            .map(|_| {
                let i = ids.len();
                let id = Uuid::now_v7();
                ids.push(id);
                let at = now - spacing * i32::try_from(i).unwrap_or(i32::MAX);
                lead::ActiveModel {
                    id: Set(id),
                    organization_id: Set(organization),
                    email: Set(format!("lead{i}@prospect{}.example", i % 97)),
                    name: Set(format!("Lead {i}")),
                    company: Set(Some(format!("Prospect {}", i % 97))),
                    phone: Set(None),
                    message: Set("We would like a demo of your product for our sales team.".into()),
                    source: Set(Some("website".into())),
                    metadata: Set(json!({ "utm_source": "bench", "n": i })),
                    status: Set("pending".into()),
                    qualification_category: Set(None),
                    qualification_reason: Set(None),
                    qualification_score: Set(None),
                    assignee_id: Set(None),
                    created_at: Set(at),
                    updated_at: Set(at),
                    created_by_type: Set(Some("system".into())),
                    created_by_id: Set(None),
                    duplicate_of: Set(None),
                }
            })
            .collect();
        lead::Entity::insert_many(rows).exec_without_returning(db).await?;
        remaining -= n;
    }
    Ok(ids)
}

/// Creates `count` other organizations with `leads_each` leads each: the
/// neighbours whose data must not slow the measured tenant down.
///
/// # Errors
/// When the database refuses.
pub async fn neighbours(db: &DatabaseConnection, count: usize, leads_each: usize) -> anyhow::Result<()> {
    let now = Utc::now();
    for n in 0..count {
        let id = Uuid::now_v7();
        organization::Entity::insert(organization::ActiveModel {
            id: Set(id),
            name: Set(format!("neighbour-{n}-{}", &id.simple().to_string()[24..])),
            display_name: Set(format!("Neighbour {n}")),
            email: Set(None),
            phone: Set(None),
            is_active: Set(true),
            settings: Set(json!({})),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
        leads(db, id, leads_each, Duration::from_secs(1)).await?;
    }
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}
