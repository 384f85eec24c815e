//! The main HTTP listener, hardened against clients that hold connections instead of using
//! them: our own accept loop over hyper's HTTP/1.1 connection, so every connection has a
//! deadline for its request head (which is also the keep-alive idle limit), the body a
//! deadline of its own (`limits::body_deadline`), a client that stops taking our answer loses
//! the connection (`StallGuard`), and the number of open connections has a cap overall and
//! per client address.
//!
//! A connection over a cap is answered at once with a fixed 429 problem and closed, without
//! reading from it: the accept loop never waits for a slot, so while one client holds its
//! share the others are still accepted and answered. Connections from a trusted proxy count
//! only against the overall cap (behind a proxy every passenger arrives from its address; the
//! rate limit keys them by `X-Forwarded-For` instead).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::extract::TrustedProxies;
use crate::limits::client_key;

/// A client has this long to deliver a complete request head, counted from when the
/// connection opens or the previous response on it ends: it bounds slow headers (slowloris)
/// and idle keep-alive connections alike.
pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// A request body must have arrived whole this long after the request began.
pub const BODY_READ_TIMEOUT_MS: u64 = 30_000;
/// A client that takes none of our answer for this long (it stopped reading, its window is
/// shut) loses the connection: a slow reader cannot hold a slot with an answer half-sent.
pub const WRITE_STALL_TIMEOUT_MS: u64 = 30_000;
/// Open connections overall; keep it under the process's descriptor limit less what the
/// store, the operators and the trackers need.
pub const CONNECTIONS_MAX: usize = 768;
/// Open connections from one client address (an IPv6 client: its /64).
pub const CONNECTIONS_PER_CLIENT_MAX: usize = 64;
/// After `accept` fails (descriptors exhausted, say), the loop waits this long before the next.
pub const ACCEPT_RETRY_MS: u64 = 50;
/// A request head (request line and headers) larger than this is refused (431).
pub const REQUEST_HEAD_BYTES_MAX: usize = 16 * 1024;
/// A refused connection is kept this long after its answer, reading and dropping what the
/// client sends, so closing it does not reset the connection before the client reads why.
pub const REFUSAL_LINGER_MS: u64 = 500;
/// At most this many refused connections linger at once; beyond, they are closed at once.
pub const REFUSALS_LINGERING_MAX: usize = 64;
/// At most this much of a refused client's request is read and dropped.
pub const REFUSAL_DRAIN_BYTES_MAX: usize = 64 * 1024;

/// The connection limits of [`crate::serve`]; the defaults are the constants above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout_ms: u64,
    pub body_read_timeout_ms: u64,
    pub write_stall_timeout_ms: u64,
    pub connections_max: usize,
    pub connections_per_client_max: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout_ms: HEADER_READ_TIMEOUT_MS,
            body_read_timeout_ms: BODY_READ_TIMEOUT_MS,
            write_stall_timeout_ms: WRITE_STALL_TIMEOUT_MS,
            connections_max: CONNECTIONS_MAX,
            connections_per_client_max: CONNECTIONS_PER_CLIENT_MAX,
        }
    }
}

/// The answer to a connection over a cap, written without waiting for the client: a 429
/// problem in the default language (nothing of the request has been read).
fn refusal() -> Vec<u8> {
    let code = domain::ErrorCode::RateLimited;
    let language = domain::Language::default();
    let body = serde_json::json!({
        "type": "https://smsbus.kz/problems/rate-limited",
        "title": code.message(domain::Language::En),
        "status": code.http_status(),
        "code": code.code(),
        "message": code.message(language),
        "language": language.code(),
        "detail": "too many open connections",
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nx-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    [head.into_bytes(), body.into_bytes()].concat()
}

/// Who holds the open connections.
struct Occupancy {
    limits: ConnectionLimits,
    state: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; its slots are given back when it is dropped.
struct Admitted {
    occupancy: Arc<Occupancy>,
    client: Option<IpAddr>,
}

impl Occupancy {
    /// Takes a slot for a connection from `client` (`None`: a trusted proxy, overall cap only).
    fn admit(self: &Arc<Occupancy>, client: Option<IpAddr>) -> Option<Admitted> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (open, per_client) = &mut *state;
        if *open >= self.limits.connections_max {
            return None;
        }
        if let Some(client) = client {
            let count = per_client.entry(client).or_insert(0);
            if *count >= self.limits.connections_per_client_max {
                return None;
            }
            *count += 1;
        }
        *open += 1;
        Some(Admitted {
            occupancy: Arc::clone(self),
            client,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut state = self
            .occupancy
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (open, per_client) = &mut *state;
        *open = open.saturating_sub(1);
        if let Some(client) = self.client
            && let Some(count) = per_client.get_mut(&client)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_client.remove(&client);
            }
        }
    }
}

/// Serves `router` on `listener` until the process ends, with the connection limits and the
/// trusted proxies of `settings` (the router was made from the same settings).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &crate::ApiSettings,
) -> std::io::Result<()> {
    let limits = settings.connections;
    let proxies = &settings.trusted_proxies;
    let occupancy = Arc::new(Occupancy {
        limits,
        state: Mutex::new((0, HashMap::new())),
    });
    let refusal = refusal();
    let lingering = Arc::new(AtomicUsize::new(0));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_header_size(REQUEST_HEAD_BYTES_MAX)
        .keep_alive(true);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                continue;
            }
        };
        let Some(admitted) = occupancy.admit(counted_client(peer, proxies)) else {
            refuse(stream, &refusal, &lingering);
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            tower_service::Service::call(&mut router.clone(), request)
        });
        let stall = Duration::from_millis(limits.write_stall_timeout_ms);
        let io = TokioIo::new(StallGuard::new(stream, stall));
        let connection = http.serve_connection(io, service);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended");
            }
            drop(admitted);
        });
    }
}

/// The key a connection counts under, or `None` for a trusted proxy.
fn counted_client(peer: SocketAddr, proxies: &TrustedProxies) -> Option<IpAddr> {
    let address = peer.ip().to_canonical();
    (!proxies.trusts(address)).then(|| client_key(address))
}

/// Answers a connection over a cap and closes it. The answer fits any socket buffer, so the
/// write does not wait; a client that cannot take it just sees the connection close. While
/// few refusals are lingering, this one lingers too (see [`REFUSAL_LINGER_MS`]).
fn refuse(stream: TcpStream, refusal: &[u8], lingering: &Arc<AtomicUsize>) {
    if let Err(error) = stream.try_write(refusal) {
        tracing::debug!(%error, "refused connection could not be told why");
        return;
    }
    if lingering.fetch_add(1, Ordering::SeqCst) >= REFUSALS_LINGERING_MAX {
        lingering.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let lingering = Arc::clone(lingering);
    tokio::spawn(async move {
        let mut stream = stream;
        let drain = async {
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut drained = 0;
            while drained < REFUSAL_DRAIN_BYTES_MAX {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => drained += n,
                }
            }
            Ok::<(), std::io::Error>(())
        };
        let linger = Duration::from_millis(REFUSAL_LINGER_MS);
        // Running out of the linger time is the normal end for a client that keeps quiet.
        if let Ok(Err(error)) = tokio::time::timeout(linger, drain).await {
            tracing::debug!(%error, "refused connection");
        }
        lingering.fetch_sub(1, Ordering::SeqCst);
    });
}

/// A connection whose writes fail once the client has taken nothing for `stall`. Reads pass
/// through; the deadline runs only while a write waits, and any progress ends it.
struct StallGuard {
    inner: TcpStream,
    stall: Duration,
    waiting_since: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl StallGuard {
    fn new(inner: TcpStream, stall: Duration) -> StallGuard {
        StallGuard {
            inner,
            stall,
            waiting_since: None,
        }
    }

    /// Passes a write's outcome through, timing how long it has been pending.
    fn watch<T>(
        &mut self,
        context: &mut Context<'_>,
        outcome: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if outcome.is_ready() {
            self.waiting_since = None;
            return outcome;
        }
        let stall = self.stall;
        let deadline = self
            .waiting_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match deadline.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(context, buffer)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write(context, bytes);
        self.watch(context, outcome)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write_vectored(context, buffers);
        self.watch(context, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        let outcome = Pin::new(&mut self.inner).poll_flush(context);
        self.watch(context, outcome)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_is_a_whole_problem() {
        let bytes = super::refusal();
        let text = std::str::from_utf8(&bytes).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(parsed["code"], "RATE_LIMITED");
    }
}
