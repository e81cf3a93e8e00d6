//! A real SMTP server on 127.0.0.1 (`mailin-embedded`), recording every
//! message it accepts, and refusing on demand (4xx or 5xx at `DATA`).

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::response::{self, Response};
use mailin_embedded::{Handler, Server, SslConfig};

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The raw message (headers and MIME body).
    pub data: String,
}

impl Received {
    /// The value of header `name` (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        for line in self.data.split("\r\n") {
            if line.is_empty() {
                return None;
            }
            if line.to_ascii_lowercase().starts_with(&prefix) {
                return Some(line[prefix.len()..].trim().to_owned());
            }
        }
        None
    }
}

/// What the server answers to `RCPT TO` (refusing there: `mailin` keeps
/// reading a refused `DATA` as data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 250: accepted and recorded.
    Accept,
    /// 451: try again later.
    Transient,
    /// 550: never.
    Permanent,
    /// Records the message, then holds back the reply to `DATA` while the mode
    /// stays `Stall` (a sender killed meanwhile never learns the message arrived).
    Stall,
}

#[derive(Clone)]
struct Recorder {
    inbox: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, _to: &str) -> Response {
        match *self.mode.lock().unwrap() {
            Mode::Accept | Mode::Stall => response::OK,
            Mode::Transient => response::INTERNAL_ERROR,
            Mode::Permanent => response::NO_MAILBOX,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.inbox
            .lock()
            .unwrap()
            .push(Received { to: self.to.clone(), data: String::from_utf8_lossy(&self.data).into_owned() });
        while *self.mode.lock().unwrap() == Mode::Stall {
            std::thread::sleep(Duration::from_millis(20));
        }
        response::OK
    }
}

/// The running server.
pub struct Mailbox {
    /// `smtp://127.0.0.1:port` (plain, no TLS).
    pub url: String,
    inbox: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Mailbox {
    /// Starts a server on an ephemeral port (it lives until the test process ends).
    pub fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(mode));
        let handler = Recorder { inbox: inbox.clone(), mode: mode.clone(), to: Vec::new(), data: Vec::new() };
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("mailbox.test")
                .with_num_threads(16)
                .with_ssl(SslConfig::None)
                .unwrap()
                .with_tcp_listener(listener);
            let _ = server.serve();
        });
        Self { url, inbox, mode }
    }

    /// Changes what the server answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (10 s at most) until a message to `recipient` has arrived, and returns it.
    pub async fn wait_for_recipient(&self, recipient: &str) -> Received {
        self.wait_until(|m| m.to == [recipient]).await
    }

    /// Waits (10 s at most) until a message matching `wanted` has arrived, and returns it.
    pub async fn wait_until(&self, wanted: impl Fn(&Received) -> bool) -> Received {
        for _ in 0..500 {
            if let Some(m) = self.messages().into_iter().find(|m| wanted(m)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the expected message never came; got {:?}", self.messages());
    }

    /// Waits (10 s at most) until `count` messages have arrived, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..500 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {count} messages, got {:?}", self.messages());
    }
}
