//! `proxy`: a plain OpenAI-compatible endpoint on loopback for existing
//! SDKs. It verifies the appliance once before listening, forwards every
//! embeddings request encrypted to the verified key, and verifies again when
//! the appliance's gateway answers 400 and its key configuration changed
//! (e.g. after a reboot). Requests whose `Host` is not a loopback name or
//! address are refused (DNS rebinding). One line is printed per request:
//! method, path, status, latency; never a text.

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
use crate::manifest::Manifest;
use crate::verify::{verify, Options};

/// Why the proxy did not start.
#[derive(Debug)]
pub enum ProxyError {
    /// `--listen` is not loopback, or could not be bound.
    Listen(String),
    /// The first verification failed.
    Refused(Refusal),
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Listen(d) => write!(f, "listen: {d}"),
            Self::Refused(r) => write!(f, "refused: {r}"),
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
pub fn serve(listener: TcpListener, upstream: Arc<Upstream>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let upstream = Arc::clone(&upstream);
        std::thread::spawn(move || {
            crate::serve::serve_connection(stream, server_config(), |request| {
                let started = Instant::now();
                let response = match request.header("host") {
                    Some(h) if is_loopback_host(h) => handle(&upstream, &request),
                    _ => routes::host_refused(),
                };
                let path = request.path.split('?').next().unwrap_or("");
                println!(
                    "{} {} -> {} in {:.1} ms",
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
    let listener =
        TcpListener::bind(listen).map_err(|e| ProxyError::Listen(format!("{listen}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ProxyError::Listen(e.to_string()))?;
    let url = url.to_string();
    let reverify: Reverify = Box::new(move || verify(&url, &manifest, &options));
    println!("proxy listening on http://{bound}");
    serve(listener, Arc::new(Upstream::new(verified, reverify)));
    Ok(())
}
