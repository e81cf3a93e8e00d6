//! A local OpenAI-compatible chat-completions stand-in on 127.0.0.1: it
//! checks each request's shape (model, system and user messages, a JSON
//! schema response format), records it, and answers from a script — a valid
//! answer for the schema asked, invalid JSON, a 429 with `Retry-After`, a
//! 500, or a hang — with the token usage a provider reports.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json};
use poem::{EndpointExt as _, IntoResponse as _, Response, Route, handler, http::StatusCode};
use serde_json::{Value, json};

/// What the stand-in does with one request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// A valid answer for the schema asked.
    Valid,
    /// `content` that is not JSON.
    InvalidJson,
    /// A JSON object the schema does not allow (a score of 250).
    OutOfRange,
    /// 429 with `Retry-After: secs`.
    RateLimited(u64),
    /// 500.
    Failed,
    /// No answer for a minute.
    Hang,
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Call {
    /// The JSON body.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

impl Call {
    /// The schema name asked for (`research`, `qualification`, `email`).
    pub fn schema(&self) -> &str {
        self.body["response_format"]["json_schema"]["name"].as_str().unwrap_or("")
    }

    /// The user message.
    pub fn prompt(&self) -> &str {
        self.body["messages"][1]["content"].as_str().unwrap_or("")
    }
}

#[derive(Clone)]
struct Shared {
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    usage: (u64, u64),
    latency: Duration,
}

fn valid(schema: &str) -> Value {
    match schema {
        "research" => {
            json!({ "company": "BigCorp Industries", "intents": ["demo", "pricing"], "summary": "BigCorp makes widgets. They want a demo and pricing for 40 seats." })
        }
        "qualification" => {
            json!({ "category": "qualified", "score": 88, "reason": "A manufacturer asking for a demo and pricing." })
        }
        _ => {
            json!({ "subject": "Your BigCorp demo", "body": "Hi Sam,\n\nThanks for asking about a demo. Could we talk this week?\n\nThe Acme team" })
        }
    }
}

fn well_formed(body: &Value) -> bool {
    body["model"].as_str().is_some_and(|m| !m.is_empty())
        && body["messages"][0]["role"] == "system"
        && body["messages"][1]["role"] == "user"
        && body["messages"][1]["content"].as_str().is_some_and(|c| !c.is_empty())
        && body["response_format"]["type"] == "json_schema"
        && body["response_format"]["json_schema"]["schema"]["type"] == "object"
}

#[handler]
async fn complete(req: &poem::Request, Json(body): Json<Value>, shared: Data<&Shared>) -> Response {
    let authorization = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    shared.calls.lock().unwrap().push(Call { body: body.clone(), at: Instant::now(), authorization });
    if !well_formed(&body) {
        return (StatusCode::BAD_REQUEST, "malformed chat completion request").into_response();
    }
    tokio::time::sleep(shared.latency).await;
    let reply = shared.script.lock().unwrap().pop_front().unwrap_or(Reply::Valid);
    let schema = body["response_format"]["json_schema"]["name"].as_str().unwrap_or("").to_owned();
    let content = match reply {
        Reply::Valid => valid(&schema).to_string(),
        Reply::InvalidJson => "Sure! Here is the JSON you asked for: {category: qualified".to_owned(),
        Reply::OutOfRange => json!({ "category": "qualified", "score": 250, "reason": "x" }).to_string(),
        Reply::RateLimited(secs) => {
            return Response::builder()
                .status(StatusCode::TOO_MANY_REQUESTS)
                .header("retry-after", secs.to_string())
                .body(
                    json!({ "error": { "message": "Rate limit reached", "type": "requests" } }).to_string(),
                );
        }
        Reply::Failed => return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
    };
    Json(json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": body["model"],
        "choices": [ { "index": 0, "finish_reason": "stop", "message": { "role": "assistant", "content": content } } ],
        "usage": { "prompt_tokens": shared.usage.0, "completion_tokens": shared.usage.1, "total_tokens": shared.usage.0 + shared.usage.1 },
    }))
    .into_response()
}

/// The running stand-in.
pub struct ModelStandIn {
    /// `http://127.0.0.1:port/v1`: `LEADFLOW_LLM_BASE_URL`.
    pub base_url: String,
    shared: Shared,
}

impl ModelStandIn {
    /// Answers `script` in order, then valid answers; each reports `usage`
    /// (prompt, completion) tokens, after `latency`.
    pub async fn start(script: &[Reply], usage: (u64, u64), latency: Duration) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let shared = Shared {
            calls: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            usage,
            latency,
        };
        let app = Route::new().at("/v1/chat/completions", poem::post(complete)).data(shared.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self { base_url: format!("http://{addr}/v1"), shared }
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }
}
