//! A real HTTP receiver of webhooks on 127.0.0.1: it records every request and
//! answers from a script (a status, or hanging past the sender's timeout),
//! then 200.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt as _, Request, Response, Route, handler, http::StatusCode, web::Data};

/// What the receiver does with one request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// Answer this status.
    Status(u16),
    /// Never answer (well past any timeout).
    Hang,
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Hit {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body.
    pub body: String,
}

#[derive(Clone, Default)]
struct Shared {
    hits: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

#[handler]
async fn receive(req: &Request, body: String, shared: Data<&Shared>) -> Response {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    shared.hits.lock().unwrap().push(Hit {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let answer = shared.script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
    match answer {
        Answer::Status(code) => Response::builder().status(StatusCode::from_u16(code).unwrap()).finish(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Response::builder().status(StatusCode::OK).finish()
        }
    }
}

/// The running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:port/hooks`.
    pub url: String,
    shared: Shared,
}

impl Receiver {
    /// Starts a receiver answering `script` in order, then 200.
    pub async fn start(script: &[Answer]) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let shared =
            Shared { hits: Arc::default(), script: Arc::new(Mutex::new(script.iter().copied().collect())) };
        let app = Route::new().at("/hooks", poem::post(receive)).data(shared.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self { url: format!("http://{addr}/hooks"), shared }
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    /// Waits (`secs` at most) until `count` requests have arrived.
    pub async fn wait_for(&self, count: usize, secs: u64) -> Vec<Hit> {
        for _ in 0..secs * 50 {
            let hits = self.hits();
            if hits.len() >= count {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {count} webhook requests, got {:?}", self.hits());
    }
}

/// Checks a request's signature with the Standard Webhooks reference implementation.
pub fn verify(secret: &str, hit: &Hit) -> Result<(), String> {
    let wh = standardwebhooks::Webhook::new(secret).map_err(|e| format!("{e:?}"))?;
    let mut headers = poem::http::HeaderMap::new();
    headers.insert("webhook-id", hit.id.parse().unwrap());
    headers.insert("webhook-timestamp", hit.timestamp.parse().unwrap());
    headers.insert("webhook-signature", hit.signature.parse().unwrap());
    wh.verify(hit.body.as_bytes(), &headers).map_err(|e| format!("{e:?}"))
}
