//! Language-model steps over any OpenAI-compatible chat-completions API
//! (OpenAI, Ollama, vLLM, llama.cpp's server): research, qualification and
//! the outreach draft. Each call asks for a JSON answer against a schema
//! (`response_format: json_schema`), validates it into the domain's types, and
//! reports the tokens spent; a failed, late or invalid answer is a step
//! failure that the workflow engine retries (after `Retry-After` on a 429).

mod prompts;
mod steps;

use std::time::Duration;

use anyhow::Context as _;
use leadflow_workflows::TokenUsage;
use leadflow_workflows::ports::StepError;
use serde::Deserialize;
use serde_json::{Value, json};

pub use prompts::Prompts;
pub use steps::LlmSteps;

/// Where the model is and how long to wait for it.
#[derive(Clone)]
pub struct LlmSettings {
    /// The API's base URL, up to and including `/v1` (`https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` for Ollama).
    pub base_url: String,
    /// The bearer key, if the provider needs one.
    pub api_key: Option<String>,
    /// The model name (`gpt-4o-mini`, `llama3.1`, …).
    pub model: String,
    /// Timeout of each call.
    pub timeout: Duration,
}

impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A chat-completions client.
pub struct ChatClient {
    settings: LlmSettings,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// A model's answer: its JSON and what it cost.
pub struct Answer {
    /// The JSON object answered (not yet validated).
    pub json: Result<Value, String>,
    /// Tokens spent.
    pub usage: TokenUsage,
}

impl ChatClient {
    /// A client for `settings`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: LlmSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("leadflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the model client")?;
        Ok(Self { settings, client })
    }

    /// Asks the model, with `system` and `user` messages, for a JSON object
    /// following `schema` (named `name`).
    ///
    /// # Errors
    /// [`StepError`] when the provider fails, times out, rate-limits (with its
    /// `Retry-After`) or answers something that is not a completion.
    pub async fn ask(
        &self,
        name: &str,
        schema: Value,
        system: &str,
        user: &str,
    ) -> Result<Answer, StepError> {
        let url = format!("{}/chat/completions", self.settings.base_url.trim_end_matches('/'));
        let body = json!({
            "model": self.settings.model,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": user },
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": { "name": name, "strict": true, "schema": schema },
            },
            "temperature": 0,
        });
        let mut request = self.client.post(&url).json(&body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                StepError::new(format!(
                    "the model provider did not answer within {} s",
                    self.settings.timeout.as_secs()
                ))
            } else {
                StepError::new("the model provider could not be reached")
            }
        })?;
        let status = response.status();
        if status.as_u16() == 429 {
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let error = StepError::new("the model provider is rate limiting (429)");
            return Err(match wait {
                Some(wait) => error.retry_after(wait),
                None => error,
            });
        }
        if !status.is_success() {
            return Err(StepError::new(format!("the model provider answered {status}")));
        }
        let completion: Completion = response
            .json()
            .await
            .map_err(|_| StepError::new("the model provider's answer is not a chat completion"))?;
        let usage = completion.usage.map_or(TokenUsage::default(), |u| TokenUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        });
        let content =
            completion.choices.into_iter().next().and_then(|c| c.message.content).unwrap_or_default();
        let json = serde_json::from_str::<Value>(content.trim())
            .map_err(|e| format!("not JSON ({e})"))
            .and_then(|v| if v.is_object() { Ok(v) } else { Err("not a JSON object".to_owned()) });
        Ok(Answer { json, usage })
    }
}
