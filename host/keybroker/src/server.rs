//! `keybroker serve`: start-up checks, state and the router. The endpoint
//! handlers are in [`crate::handlers`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use appliance_manifest::{Manifest, Stricter};
use axum::routing::{get, post};
use axum::Router;

use crate::error::Error;
use crate::handlers::{attest, auth, no_route, resource, ATTEST, AUTH};
use crate::log;
use crate::rate::AuthRate;
use crate::resources::Store;
use crate::session::{Limits, Sessions, Ttls};
use crate::token::TokenSigner;
use crate::verify::Verifier;

/// `keybroker serve` settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub allow_non_loopback: bool,
    /// One or more manifests (one per image the broker serves).
    pub manifests: Vec<PathBuf>,
    pub resources: PathBuf,
    pub allow_sample: bool,
    /// Command-line tightening of every manifest's policy.
    pub stricter: Stricter,
    pub vcek_dir: Option<PathBuf>,
    pub ttls: Ttls,
    pub limits: Limits,
    /// `/auth` per second per peer address (0: no limit).
    pub auth_per_sec: u32,
}

/// What the handlers share.
pub(crate) struct Broker {
    pub(crate) sessions: Sessions,
    pub(crate) auth_rate: AuthRate,
    pub(crate) verifier: Verifier,
    pub(crate) signer: TokenSigner,
    pub(crate) store: Store,
}

pub(crate) type Shared = Arc<Broker>;

const SAMPLE_BANNER: &str = "*** INSECURE: --insecure-allow-sample is set: UNSIGNED sample evidence \
is accepted, so anyone who knows an allowed measurement can obtain resources. Development only. ***";

fn router(broker: Shared) -> Router {
    Router::new()
        .route(AUTH, post(auth))
        .route(ATTEST, post(attest))
        .route("/kbs/v0/resource/{repo}/{kind}/{tag}", get(resource))
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .with_state(broker)
}

/// `keybroker serve`: loads the manifest, opens the store, binds and serves
/// until killed.
pub fn serve(config: ServeConfig) -> Result<(), Error> {
    if !config.listen.ip().is_loopback() {
        // Unsigned evidence never leaves loopback, whatever else is set.
        if config.allow_sample {
            return Err(Error::SampleNonLoopback(config.listen));
        }
        if !config.allow_non_loopback {
            return Err(Error::NonLoopback(config.listen));
        }
    }
    let mut policies = Vec::new();
    for path in &config.manifests {
        let manifest = Manifest::load(path).map_err(|detail| Error::Manifest {
            path: path.clone(),
            detail,
        })?;
        let policy = manifest
            .verifier_policy(&config.stricter)
            .map_err(Error::Policy)?;
        log::info(format_args!(
            "manifest {}: {} launch digest(s)",
            path.display(),
            policy.measurements.len()
        ));
        for (check, value) in policy.describe() {
            log::info(format_args!("  check {check}: {value}"));
        }
        for note in &policy.notes {
            log::info(format_args!("  {note}"));
        }
        if policy.min_tcb.is_empty() {
            log::warn(format_args!(
                "manifest {} has no minimum TCB: every snp evidence for it is refused with reason tcb (image-builder build --min-tcb GEN:...)",
                path.display()
            ));
        }
        policies.push(policy);
    }
    if policies.is_empty() {
        return Err(Error::Policy("no --manifest".into()));
    }
    let store = Store::open(&config.resources)?;
    let signer = TokenSigner::generate();

    log::info(format_args!(
        "starting: resources in {}, nonce ttl {}s, session ttl {}s, at most {} unattested sessions (oldest evicted), /auth at most {}/s per peer",
        config.resources.display(),
        config.ttls.nonce.as_secs(),
        config.ttls.session.as_secs(),
        config.limits.unattested,
        config.auth_per_sec
    ));
    if config.allow_sample {
        log::warn(SAMPLE_BANNER);
    }
    log::info(format_args!(
        "token signing key (ES256, this process only): {}",
        signer.public_jwk()
    ));

    let broker = Arc::new(Broker {
        sessions: Sessions::with_limits(config.ttls, config.limits),
        auth_rate: AuthRate::new(config.auth_per_sec),
        verifier: Verifier {
            policies,
            allow_sample: config.allow_sample,
            vcek_dir: config.vcek_dir.clone(),
        },
        signer,
        store,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| Error::Server(format!("runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Server(format!("bind {}: {e}", config.listen)))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::Server(format!("local address: {e}")))?;
        log::info(format_args!("listening on {local}"));
        let app = router(broker).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .await
            .map_err(|e| Error::Server(e.to_string()))
    })
}
