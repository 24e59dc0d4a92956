//! `proxy`: a plain OpenAI-compatible endpoint on loopback for existing
//! SDKs. It verifies the appliance once before listening, forwards every
//! embeddings request encrypted to the verified key, and verifies again when
//! the appliance's gateway answers 400 and its key configuration changed
//! (e.g. after a reboot). Requests whose `Host` is not a loopback name or
//! address are refused (DNS rebinding). One line is printed per request:
//! method, path, status, latency (and ` via NODE` for a fleet); never a text.
//!
//! With `--fleet` ([`run_fleet`]) the upstream is a [`Pool`] of verified
//! nodes behind one balancer instead of one [`Upstream`]; the plain API in
//! front is the same ([`Relay`] is what both provide).

mod host;
mod routes;
mod upstream;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use http1::ServerConfig;

pub use host::is_loopback_host;
pub use routes::handle;
pub(crate) use upstream::key_rejection;
pub use upstream::{Failure, Reverify, Upstream};

use crate::error::Refusal;
use crate::exchange::InnerResponse;
use crate::fleet::{verdict_line, verify_fleet, verify_node, FleetError, Pool};
use crate::manifest::Manifest;
use crate::verify::{verify, Options};

/// One forwarded request's outcome, and the fleet node that answered.
pub struct Forwarded {
    pub result: Result<InnerResponse, Failure>,
    pub via: Option<String>,
}

/// Where the proxy sends embeddings requests: one appliance or a fleet.
pub trait Relay: Send + Sync {
    /// Forwards one request body encrypted to a verified key.
    fn relay(&self, json: &[u8]) -> Forwarded;
}

/// Why the proxy did not start.
#[derive(Debug)]
pub enum ProxyError {
    /// `--listen` is not loopback, or could not be bound.
    Listen(String),
    /// The first verification failed.
    Refused(Refusal),
    /// The fleet listing could not be fetched or parsed.
    Fleet(FleetError),
    /// No node of the fleet verified (each one's line was printed).
    NoneVerified,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Listen(d) => write!(f, "listen: {d}"),
            Self::Refused(r) => write!(f, "refused: {r}"),
            Self::Fleet(e) => e.fmt(f),
            Self::NoneVerified => f.write_str("no node of the fleet verified"),
        }
    }
}

/// Refuses a non-loopback address: the proxy's side is plaintext.
pub fn check_loopback(listen: SocketAddr) -> Result<(), ProxyError> {
    if listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(ProxyError::Listen(format!(
            "{listen} is not a loopback address; the proxy speaks plain HTTP and only listens on 127.0.0.1 or [::1]"
        )))
    }
}

fn server_config() -> ServerConfig {
    ServerConfig {
        // JSON escaping can grow the appliance's 256 KiB text limit.
        max_body_bytes: 4 << 20,
        // Requests wait for inference, which is slow under TCG.
        idle_timeout_ms: 120_000,
        ..ServerConfig::default()
    }
}

/// Serves `listener` forever, a thread per connection.
pub fn serve<R: Relay + 'static>(listener: TcpListener, upstream: Arc<R>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let upstream = Arc::clone(&upstream);
        std::thread::spawn(move || {
            crate::serve::serve_connection(stream, server_config(), |request| {
                let started = Instant::now();
                let (response, via) = match request.header("host") {
                    Some(h) if is_loopback_host(h) => handle(upstream.as_ref(), &request),
                    _ => (routes::host_refused(), None),
                };
                let path = request.path.split('?').next().unwrap_or("");
                let via = via.map(|n| format!(" via {n}")).unwrap_or_default();
                println!(
                    "{} {} -> {} in {:.1} ms{via}",
                    request.method,
                    path,
                    response.status,
                    started.elapsed().as_secs_f64() * 1e3
                );
                response
            });
        });
    }
}

fn bind(listen: SocketAddr) -> Result<(TcpListener, SocketAddr), ProxyError> {
    let listener =
        TcpListener::bind(listen).map_err(|e| ProxyError::Listen(format!("{listen}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ProxyError::Listen(e.to_string()))?;
    Ok((listener, bound))
}

/// Verifies, binds `listen`, prints `proxy listening on http://ADDR`, serves.
pub fn run(
    listen: SocketAddr,
    url: &str,
    manifest: Manifest,
    options: Options,
) -> Result<(), ProxyError> {
    check_loopback(listen)?;
    let verified = verify(url, &manifest, &options).map_err(ProxyError::Refused)?;
    for line in verified.summary().lines() {
        println!("{line}");
    }
    let (listener, bound) = bind(listen)?;
    let url = url.to_string();
    let reverify: Reverify = Box::new(move || verify(&url, &manifest, &options));
    println!("proxy listening on http://{bound}");
    serve(listener, Arc::new(Upstream::new(verified, reverify)));
    Ok(())
}

/// Verifies every node of the fleet listed at `fleet` (one line each),
/// starts if at least one verified, re-reads the listing every `refresh`,
/// prints `proxy listening on http://ADDR` and serves.
pub fn run_fleet(
    listen: SocketAddr,
    fleet: &str,
    manifest: Manifest,
    options: Options,
    refresh: std::time::Duration,
) -> Result<(), ProxyError> {
    check_loopback(listen)?;
    let verdicts = verify_fleet(fleet, &manifest, &options).map_err(ProxyError::Fleet)?;
    for (node, verdict) in &verdicts {
        println!("{}", verdict_line(node, verdict));
    }
    if !verdicts.iter().any(|(_, v)| v.is_ok()) {
        return Err(ProxyError::NoneVerified);
    }
    let (listener, bound) = bind(listen)?;
    let fetch_timeout = options.fetch_timeout;
    let pool = Arc::new(Pool::new(
        verdicts,
        Box::new(move |node| verify_node(node, &manifest, &options)),
    ));
    let fleet = fleet.to_string();
    pool.spawn_refresh(
        Box::new(move || crate::fleet::listing::fetch(&fleet, fetch_timeout)),
        refresh,
    );
    println!("proxy listening on http://{bound}");
    serve(listener, pool);
    Ok(())
}
