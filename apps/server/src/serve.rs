//! The HTTP server loop: hyper serving the poem endpoint, with the limits a
//! public server needs and poem's own server does not set. A client that
//! sends its request headers too slowly (slowloris) is disconnected after
//! [`ServerLimits::header_read_timeout`]; headers beyond
//! [`ServerLimits::max_header_bytes`] are answered 431; an HTTP/1
//! connection waiting for its next request is closed after the same
//! header-read timeout, an HTTP/2 one is pinged every
//! [`ServerLimits::idle_timeout`] and closed when it stops answering.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::net::TcpListener;

/// The connection limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// The most bytes of request headers (at least 8 KiB); more is answered 431.
    pub max_header_bytes: usize,
    /// How often an HTTP/2 connection is pinged (it is closed when a ping goes unanswered).
    pub idle_timeout: Duration,
}

impl Default for ServerLimits {
    /// 10 s to send the headers, 16 KiB of them, 60 s idle.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Serves `endpoint` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish for up to `drain`.
///
/// # Errors
/// When the listener's address cannot be read.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> anyhow::Result<()>
where
    E: Endpoint + 'static,
{
    let local = listener.local_addr()?;
    let endpoint = Arc::new(endpoint);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8 * 1024));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.idle_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, a reset before accept: keep serving.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        continue;
                    }
                };
                let endpoint = endpoint.clone();
                let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    let endpoint = endpoint.clone();
                    async move {
                        let request = poem::Request::from((
                            request,
                            LocalAddr(Addr::SocketAddr(local)),
                            RemoteAddr(Addr::SocketAddr(peer)),
                            Scheme::HTTP,
                        ));
                        let response: hyper::Response<BoxBody<Bytes, std::io::Error>> =
                            endpoint.get_response(request).await.into();
                        Ok::<_, Infallible>(response)
                    }
                });
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                // An HTTP/1 connection waiting for its next request is also bound by the
                // header-read timeout; an HTTP/2 one is pinged and closed when it stops answering.
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => tracing::warn!("requests still running after the drain period"),
    }
    Ok(())
}
