//! Lead intelligence against real local peers: the model steps on an
//! OpenAI-compatible stand-in (validation, retries, the timeout, the token
//! budget), and website research on a local site through the SSRF guard's
//! test switch.

use std::time::Duration;

use leadflow_storage::testing::Engine;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt as _, Route, handler, web::Path};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};
use crate::llm::{ModelStandIn, Reply};
use crate::workflows::{qualified_lead, status_is, submit, wait_for};

async fn with_model(engine: Engine, model: &ModelStandIn, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![
        ("LEADFLOW_WORKERS", "1"),
        ("LEADFLOW_LLM_BASE_URL", model.base_url.as_str()),
        ("LEADFLOW_LLM_MODEL", "leadflow-test-model"),
        ("LEADFLOW_LLM_API_KEY", "sk-test-llm"),
        ("LEADFLOW_LLM_TIMEOUT_SECS", "1"),
        ("LEADFLOW_WORKFLOW_MAX_ATTEMPTS", "8"),
    ];
    env.extend_from_slice(extra);
    TestApp::spawn_with(engine, &env).await
}

async fn tune(app: &TestApp, owner: &Session, settings: Value) {
    let path = format!("/api/v1/organizations/{}", owner.org_id.as_ref().unwrap());
    app.patch(&path, &owner.access, json!({ "settings": settings })).await.expect(200);
}

fn step<'a>(workflow: &'a Value, name: &str) -> &'a Value {
    workflow["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()
}

crate::on_both_engines!(
    model_steps_research_qualify_and_draft_and_count_their_tokens,
    invalid_answers_rate_limits_errors_and_hangs_are_retried,
    past_the_token_budget_the_rules_take_over,
    website_research_reads_the_home_page_only_through_the_guard,
);

async fn model_steps_research_qualify_and_draft_and_count_their_tokens(engine: Engine) {
    let model = ModelStandIn::start(&[], (100, 20), Duration::ZERO).await;
    let Some(app) = with_model(engine, &model, &[]).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    tune(
        &app,
        &owner,
        json!({
            "qualification": { "criteria": "Manufacturers with more than 20 seats" },
            "outreach": { "tone": "friendly and brief" },
        }),
    )
    .await;
    let (lead, workflow) = submit(&app, &owner, qualified_lead()).await;
    let done = wait_for(&app, &owner.access, &workflow, status_is("awaiting_approval")).await;

    // The model's answers, validated into the workflow.
    assert_eq!(done["research"]["company"], "BigCorp Industries");
    assert!(done["research"]["summary"].as_str().unwrap().starts_with("BigCorp makes widgets"));
    assert_eq!(done["research"]["domain"], "bigcorp.io");
    assert_eq!(done["qualification"]["score"], 88);
    assert_eq!(done["emailDraft"]["subject"], "Your BigCorp demo");
    let read = app.get(&format!("/api/v1/leads/{lead}"), &owner.access).await.expect(200);
    assert_eq!(read.body["qualification"]["category"], "qualified");
    for name in ["research", "qualify", "draft_email"] {
        assert_eq!(
            step(&done, name)["usage"],
            json!({ "promptTokens": 100, "completionTokens": 20 }),
            "{name}"
        );
        assert!(step(&done, name)["fallback"].is_null());
    }
    let usage = app.get("/api/v1/subscription/usage", &owner.access).await.expect(200);
    assert_eq!(usage.body["llmTokens"], json!({ "used": 360, "limit": 200_000, "remaining": 199_640 }));

    // What was sent: the model, the key, a JSON schema, the lead, the criteria and the tone.
    let calls = model.calls();
    let schemas: Vec<_> = calls.iter().map(crate::llm::Call::schema).collect();
    assert_eq!(schemas, ["research", "qualification", "email"]);
    assert!(calls.iter().all(|c| c.body["model"] == "leadflow-test-model"));
    assert!(calls.iter().all(|c| c.authorization.as_deref() == Some("Bearer sk-test-llm")));
    assert!(calls[0].prompt().contains("We want a demo and pricing for 40 seats"));
    assert!(calls[1].prompt().contains("Manufacturers with more than 20 seats"));
    assert!(calls[1].prompt().contains("BigCorp makes widgets"), "research feeds qualification");
    assert!(calls[2].prompt().contains("Tone: friendly and brief."));
    assert_eq!(
        calls[1].body["response_format"]["json_schema"]["schema"]["properties"]["category"]["enum"],
        json!(["qualified", "follow_up", "support", "unqualified"])
    );
    // Another organization's usage is its own.
    let other = app.register("bob@globex.io", Some("globex")).await;
    assert_eq!(app.get("/api/v1/subscription/usage", &other.access).await.body["llmTokens"]["used"], 0);
}

async fn invalid_answers_rate_limits_errors_and_hangs_are_retried(engine: Engine) {
    let script = [
        Reply::InvalidJson,
        Reply::RateLimited(1),
        Reply::Failed,
        Reply::Hang,
        Reply::Valid,
        Reply::OutOfRange,
    ];
    let model = ModelStandIn::start(&script, (10, 5), Duration::ZERO).await;
    let Some(app) = with_model(engine, &model, &[]).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let (_, workflow) = submit(&app, &owner, qualified_lead()).await;
    let mut done = Value::Null;
    for _ in 0..15 {
        let reply = app.get(&format!("/api/v1/workflows/{workflow}"), &owner.access).await.expect(200);
        if reply.body["status"] == "awaiting_approval" {
            done = reply.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(done["status"], "awaiting_approval", "{done}");
    // research: invalid JSON, 429, 500, a hang past the 1 s timeout, then valid.
    let research = step(&done, "research");
    assert_eq!(research["attempts"], 5);
    assert!(research["error"].is_null());
    // qualification: a score out of range is refused, then valid.
    assert_eq!(step(&done, "qualify")["attempts"], 2);
    assert_eq!(done["qualification"]["score"], 88);
    let calls = model.calls();
    // The retry after the 429 waited for its Retry-After.
    assert!(
        calls[2].at.duration_since(calls[1].at) >= Duration::from_millis(950),
        "{:?}",
        calls[2].at.duration_since(calls[1].at)
    );
    // Invalid answers' tokens count too: 2 invalid + 3 valid answers of 15 tokens.
    let usage = app.get("/api/v1/subscription/usage", &owner.access).await.expect(200);
    assert_eq!(usage.body["llmTokens"]["used"], 75);
}

async fn past_the_token_budget_the_rules_take_over(engine: Engine) {
    // Each answer reports 120,000 tokens: the starter plan's 200,000 last two steps.
    let model = ModelStandIn::start(&[], (119_990, 10), Duration::ZERO).await;
    let Some(app) = with_model(engine, &model, &[]).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let (_, workflow) = submit(&app, &owner, qualified_lead()).await;
    let done = wait_for(&app, &owner.access, &workflow, status_is("awaiting_approval")).await;
    assert!(step(&done, "research")["fallback"].is_null());
    assert!(step(&done, "qualify")["fallback"].is_null());
    let draft = step(&done, "draft_email");
    assert_eq!(draft["fallback"], "budget");
    assert!(draft["usage"].is_null());
    // The template wrote it, not the model.
    assert!(
        done["emailDraft"]["subject"].as_str().unwrap().ends_with("— about a demo"),
        "{}",
        done["emailDraft"]
    );
    assert_eq!(model.calls().len(), 2);
    let usage = app.get("/api/v1/subscription/usage", &owner.access).await.expect(200);
    assert_eq!(usage.body["llmTokens"]["remaining"], 0);

    // The next lead is researched and qualified by the rules alone.
    let body =
        json!({ "email": "kim@othercorp.io", "name": "Kim", "message": "Pricing for a purchase please" });
    let (_, second) = submit(&app, &owner, body).await;
    let done =
        wait_for(&app, &owner.access, &second, |w| w["status"] != "pending" && w["status"] != "running")
            .await;
    assert_eq!(step(&done, "research")["fallback"], "budget");
    assert_eq!(model.calls().len(), 2);
}

#[handler]
fn site(Path(domain): Path<String>) -> poem::Response {
    let html = format!(
        "<html><head><title>{domain} — Industrial widgets</title><meta name=\"description\" content=\"Widgets for factories since 1999.\"></head><body><script>var hidden=1;</script><h1>We build widgets</h1><p>For factories worldwide.</p></body></html>"
    );
    poem::Response::builder().content_type("text/html; charset=utf-8").body(html)
}

async fn website_research_reads_the_home_page_only_through_the_guard(engine: Engine) {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    tokio::spawn(
        poem::Server::new_with_acceptor(acceptor)
            .run(Route::new().at("/sites/:domain/", poem::get(site)).data(())),
    );
    let template = format!("http://{addr}/sites/{{domain}}/");
    let research = [
        ("LEADFLOW_WORKERS", "1"),
        ("LEADFLOW_WEBSITE_RESEARCH", "true"),
        ("LEADFLOW_WEBSITE_URL_TEMPLATE", template.as_str()),
    ];

    // With the guard's test switch on, the local site is read.
    let mut allowed = research.to_vec();
    allowed.push(("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true"));
    let Some(app) = TestApp::spawn_with(engine, &allowed).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let (_, workflow) = submit(&app, &owner, qualified_lead()).await;
    let done = wait_for(&app, &owner.access, &workflow, status_is("awaiting_approval")).await;
    assert_eq!(
        done["research"]["website"],
        json!({
            "url": format!("http://{addr}/sites/bigcorp.io/"),
            "title": "bigcorp.io — Industrial widgets",
            "description": "Widgets for factories since 1999.",
            "excerpt": "We build widgets For factories worldwide.",
        })
    );
    // A free-mail lead's domain is not visited.
    let (_, free) =
        submit(&app, &owner, json!({ "email": "sam@gmail.com", "name": "Sam", "message": "demo please" }))
            .await;
    let done = wait_for(&app, &owner.access, &free, |w| w["research"].is_object()).await;
    assert!(done["research"]["website"].is_null());

    // With the switch off (production), 127.0.0.1 is refused: research goes on without it.
    let Some(app) = TestApp::spawn_with(engine, &research).await else { return };
    let owner = app.register("ada@acme.io", Some("acme")).await;
    let (_, workflow) = submit(&app, &owner, qualified_lead()).await;
    let done = wait_for(&app, &owner.access, &workflow, status_is("awaiting_approval")).await;
    assert!(done["research"]["website"].is_null(), "{}", done["research"]);
    assert!(crate::helpers::captured_logs().contains("only https:// URLs are called; refused"));
}

mod an_unlimited_plan_has_no_budget {
    use super::*;

    async fn run(engine: Engine) {
        let model = ModelStandIn::start(&[], (300, 40), Duration::ZERO).await;
        // One connection: counting the lead and spending the tokens share the
        // connection's prepared statements (they once disagreed on a type).
        let Some(app) = with_model(engine, &model, &[("LEADFLOW_DATABASE_MAX_CONNECTIONS", "1")]).await
        else {
            return;
        };
        let owner = app.register("ada@acme.io", Some("acme")).await;
        app.upgrade(&owner, "enterprise").await;
        let (_, workflow) = submit(&app, &owner, qualified_lead()).await;
        let done = wait_for(&app, &owner.access, &workflow, status_is("awaiting_approval")).await;
        assert!(step(&done, "draft_email")["fallback"].is_null());
        let usage = app.get("/api/v1/subscription/usage", &owner.access).await.expect(200);
        assert_eq!(usage.body["llmTokens"], json!({ "used": 1020, "limit": null, "remaining": null }));
    }

    #[tokio::test]
    async fn sqlite() {
        run(Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(Engine::Postgres).await;
    }
}
