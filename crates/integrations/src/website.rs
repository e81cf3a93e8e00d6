//! Website research: for a lead with a business email, read its domain's
//! home page — https only, public addresses only (the one [`AddressGuard`],
//! also at every redirect), 3 s, at most 512 KiB, HTML only — and keep its
//! title, description and the start of its text on the research.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use leadflow_workflows::ports::{Produced, Researcher, StepError};
use leadflow_workflows::{LeadSnapshot, Research, WebsiteFacts};

use crate::guard::AddressGuard;

/// Largest page read.
pub const MAX_PAGE_BYTES: usize = 512 * 1024;
/// Longest excerpt kept.
pub const EXCERPT_CHARS: usize = 600;

/// Reads home pages behind the guard.
pub struct WebsiteReader {
    client: reqwest::Client,
    guard: AddressGuard,
    /// `https://{domain}/` unless configured otherwise (a test site, a caching proxy).
    url_template: String,
}

impl WebsiteReader {
    /// A reader with `timeout` per page; `url_template` names the page of
    /// `{domain}` (default `https://{domain}/`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(guard: AddressGuard, timeout: Duration, url_template: Option<String>) -> anyhow::Result<Self> {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            // A redirect is a new URL: it must pass the guard too (names are
            // checked again by the resolver when it connects).
            if attempt.previous().len() >= 3 {
                attempt.error("too many redirects")
            } else if let Err(refused) = guard.check_url(attempt.url()) {
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirects)
            .dns_resolver(guard.resolver())
            .no_proxy()
            .user_agent(concat!("leadflow/", env!("CARGO_PKG_VERSION"), " (lead research)"))
            .build()?;
        Ok(Self { client, guard, url_template: url_template.unwrap_or_else(|| "https://{domain}/".into()) })
    }

    /// Reads `domain`'s home page.
    ///
    /// # Errors
    /// Why it could not be read (refused by the guard, unreachable, not HTML, too slow).
    pub async fn read(&self, domain: &str) -> Result<WebsiteFacts, String> {
        if domain.is_empty() || !domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
            return Err(format!("{domain:?} is not a domain name"));
        }
        let url =
            reqwest::Url::parse(&self.url_template.replace("{domain}", domain)).map_err(|e| e.to_string())?;
        self.guard.check_url(&url)?;
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { format!("{e}") })?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
        if !html {
            return Err("not an HTML page".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            let room = MAX_PAGE_BYTES - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_PAGE_BYTES {
                break;
            }
        }
        Ok(facts(url.as_str(), &String::from_utf8_lossy(&body)))
    }
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(text: &str, max: usize) -> String {
    let squashed = squash(text);
    match squashed.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", squashed[..cut].trim_end()),
        None => squashed,
    }
}

/// The title, description and text excerpt of a page.
#[must_use]
pub fn facts(url: &str, html: &str) -> WebsiteFacts {
    let dom = tl::parse(html, tl::ParserOptions::default());
    let Ok(dom) = dom else {
        return WebsiteFacts { url: url.to_owned(), ..WebsiteFacts::default() };
    };
    let parser = dom.parser();
    let title = dom
        .query_selector("title")
        .and_then(|mut q| q.next())
        .and_then(|h| h.get(parser))
        .map(|n| clip(&n.inner_text(parser), 200))
        .filter(|t| !t.is_empty());
    let description = dom
        .query_selector("meta[name=description]")
        .and_then(|mut q| q.next())
        .and_then(|h| h.get(parser))
        .and_then(|n| n.as_tag())
        .and_then(|t| t.attributes().get("content").flatten().map(|c| clip(&c.as_utf8_str(), 300)))
        .filter(|d| !d.is_empty());
    let mut text = String::new();
    if let Some(body) = dom.query_selector("body").and_then(|mut q| q.next()).and_then(|h| h.get(parser)) {
        visible_text(body, parser, &mut text);
    }
    let excerpt = Some(clip(&text, EXCERPT_CHARS)).filter(|e| !e.is_empty());
    WebsiteFacts { url: url.to_owned(), title, description, excerpt }
}

/// Appends the text of `node` a reader sees (no scripts, styles or templates).
fn visible_text(node: &tl::Node<'_>, parser: &tl::Parser<'_>, out: &mut String) {
    match node {
        tl::Node::Raw(raw) => {
            out.push(' ');
            out.push_str(&raw.as_utf8_str());
        }
        tl::Node::Tag(tag) => {
            let name = tag.name().as_utf8_str().to_ascii_lowercase();
            if matches!(name.as_str(), "script" | "style" | "noscript" | "template" | "svg") {
                return;
            }
            for child in tag.children().top().iter() {
                if let Some(child) = child.get(parser) {
                    visible_text(child, parser, out);
                }
                if out.len() > EXCERPT_CHARS * 8 {
                    return;
                }
            }
        }
        tl::Node::Comment(_) => {}
    }
}

/// A researcher that adds the website's facts to what `inner` found, for
/// business email domains (not free-mail, not disposable). A page that
/// cannot be read is not a failure: the research goes on without it.
pub struct WebsiteResearcher {
    inner: Arc<dyn Researcher>,
    reader: WebsiteReader,
}

impl WebsiteResearcher {
    /// Decorates `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Researcher>, reader: WebsiteReader) -> Self {
        Self { inner, reader }
    }
}

#[async_trait]
impl Researcher for WebsiteResearcher {
    async fn research(&self, lead: &LeadSnapshot) -> Result<Produced<Research>, StepError> {
        let mut produced = self.inner.research(lead).await?;
        let research = &mut produced.value;
        if !research.free_mail && !research.disposable {
            match self.reader.read(&research.domain).await {
                Ok(facts) => research.website = Some(facts),
                Err(why) => tracing::info!(domain = %research.domain, why = %why, "website not read"),
            }
        }
        Ok(produced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_its_title_description_and_visible_text() {
        let html = r#"<html><head><title> Big Corp —
            Widgets </title><meta name="description" content="We make widgets for factories.">
            <style>body{color:red}</style></head>
            <body><script>var x = "hidden";</script><h1>Widgets   at scale</h1><p>Since 1999.</p></body></html>"#;
        let f = facts("https://bigcorp.io/", html);
        assert_eq!(f.title.as_deref(), Some("Big Corp — Widgets"));
        assert_eq!(f.description.as_deref(), Some("We make widgets for factories."));
        assert_eq!(f.excerpt.as_deref(), Some("Widgets at scale Since 1999."));
        let long = format!("<body><p>{}</p></body>", "word ".repeat(1000));
        assert!(facts("u", &long).excerpt.unwrap().chars().count() <= EXCERPT_CHARS + 1);
    }

    #[tokio::test]
    async fn the_guard_refuses_private_addresses_and_names_that_resolve_to_them() {
        let guard = AddressGuard::new(false);
        for template in [
            "https://127.0.0.1/{domain}",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/",
            "http://{domain}/",
        ] {
            let reader = WebsiteReader::new(guard, Duration::from_secs(3), Some(template.into())).unwrap();
            let refused = reader.read("bigcorp.io").await.unwrap_err();
            assert!(refused.contains("refused"), "{template}: {refused}");
        }
        // A name that resolves to loopback is refused when connecting.
        let reader =
            WebsiteReader::new(guard, Duration::from_secs(3), Some("https://localhost/".into())).unwrap();
        let refused = reader.read("bigcorp.io").await.unwrap_err();
        assert!(
            refused.contains("public address") || refused.contains("refused") || refused.contains("error"),
            "{refused}"
        );
        assert!(reader.read("evil.io/../x").await.is_err());
    }
}
