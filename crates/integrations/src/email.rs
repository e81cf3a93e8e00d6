//! Email transports: SMTP (`lettre`), `.eml` files in a folder, or nowhere.
//! Every message is built by `lettre`'s builder — headers are encoded by the
//! library, never by string concatenation — as `multipart/alternative` with a
//! text and an HTML part, and carries the outbox row's stable `Message-ID`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use leadflow_delivery::ports::{EmailTransport, OutgoingMessage, SendError};
use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// Builds the MIME message of `m` from `from`.
///
/// # Errors
/// When an address does not parse (a permanent failure).
pub fn build_message(from: &Mailbox, m: &OutgoingMessage) -> Result<Message, SendError> {
    let to: Mailbox =
        m.to.parse().map_err(|e| SendError::Permanent(format!("invalid recipient {:?}: {e}", m.to)))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}>", m.message_id)))
        .header(header::MIME_VERSION_1_0)
        .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
        .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
}

/// Sends over SMTP.
pub struct SmtpTransport {
    from: Mailbox,
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    /// A transport to `url`: `smtp://[user:pass@]host[:port][?tls=starttls|opportunistic]`
    /// (no `tls`: plain, for a relay on the same host) or `smtps://…` (TLS from the start).
    ///
    /// # Errors
    /// When the URL or the sender address does not parse.
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        // `lettre` names STARTTLS `required`; SPEC §5 names it `starttls`.
        let url = url.replace("tls=starttls", "tls=required");
        let inner = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .context("LEADFLOW_SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .timeout(Some(timeout))
            .build();
        Ok(Self { from: from.parse().context("LEADFLOW_EMAIL_FROM is not a valid address")?, inner })
    }
}

/// Whether the chain of `e` shows that no connection was made (so nothing was sent).
fn never_connected(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as K;
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::AddrNotAvailable
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::NotFound
            )
        {
            return true;
        }
        source = err.source();
    }
    false
}

#[async_trait]
impl EmailTransport for SmtpTransport {
    async fn send(&self, m: &OutgoingMessage) -> Result<String, SendError> {
        let message = build_message(&self.from, m)?;
        match self.inner.send(message).await {
            Ok(response) => {
                Ok(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")))
            }
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) if e.is_transient() || e.is_tls() || never_connected(&e) => {
                Err(SendError::Transient(e.to_string()))
            }
            // Broken off mid-conversation (a timeout, a closed connection): the
            // server may have accepted the message.
            Err(e) => Err(SendError::Interrupted(e.to_string())),
        }
    }
}

/// Writes each message as an `.eml` file into a folder (the embedded default:
/// a newcomer reads every message Leadflow would have sent).
pub struct FileTransport {
    from: Mailbox,
    dir: PathBuf,
}

impl FileTransport {
    /// A transport into `dir` (created when missing).
    ///
    /// # Errors
    /// When the sender address does not parse.
    pub fn new(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        Ok(Self { from: from.parse().context("LEADFLOW_EMAIL_FROM is not a valid address")?, dir })
    }

    /// The folder messages are written to.
    #[must_use]
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl EmailTransport for FileTransport {
    async fn send(&self, m: &OutgoingMessage) -> Result<String, SendError> {
        let bytes = build_message(&self.from, m)?.formatted();
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| SendError::Transient(format!("creating {}: {e}", self.dir.display())))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
        let id = m.message_id.split('@').next().unwrap_or("message");
        let path = self.dir.join(format!("{stamp}-{}-{id}.eml", m.kind));
        // Written beside, then renamed: a reader never sees half a message.
        let partial = path.with_extension("eml.part");
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(|e| SendError::Transient(format!("writing {}: {e}", partial.display())))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| SendError::Transient(format!("naming {}: {e}", path.display())))?;
        Ok(format!("written to {}", path.display()))
    }
}

/// Sends nothing: messages stay `pending` in the outbox (`LEADFLOW_EMAIL_TRANSPORT=none`).
pub struct NoTransport;

#[async_trait]
impl EmailTransport for NoTransport {
    async fn send(&self, _m: &OutgoingMessage) -> Result<String, SendError> {
        Err(SendError::Transient("email is turned off (LEADFLOW_EMAIL_TRANSPORT=none)".into()))
    }

    fn delivers(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(subject: &str) -> OutgoingMessage {
        OutgoingMessage {
            message_id: "0190abcd@leadflow.test".into(),
            to: "Sam <sam@bigcorp.io>".into(),
            subject: subject.into(),
            text: "Hello Sam".into(),
            html: "<html><body><p>Hello Sam</p></body></html>".into(),
            kind: "outreach",
        }
    }

    #[test]
    fn messages_are_multipart_with_the_stable_message_id() {
        let from: Mailbox = "Leadflow <noreply@leadflow.test>".parse().unwrap();
        let raw = String::from_utf8(build_message(&from, &message("Hi")).unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <0190abcd@leadflow.test>"), "{raw}");
        assert!(
            raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html")
        );
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let from: Mailbox = "noreply@leadflow.test".parse().unwrap();
        let raw =
            String::from_utf8(build_message(&from, &message("Hi\r\nBcc: victim@x.y")).unwrap().formatted())
                .unwrap();
        assert!(!raw.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
    }

    #[tokio::test]
    async fn the_file_transport_writes_one_eml_per_message() {
        let dir = std::env::temp_dir().join(format!("leadflow-mail-{}", std::process::id()));
        let transport = FileTransport::new(dir.clone(), "noreply@leadflow.test").unwrap();
        transport.send(&message("Hi")).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].extension().is_some_and(|e| e == "eml"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
