//! `keybroker serve`: start-up checks, state and the router. The endpoint
//! handlers are in [`crate::handlers`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use snp_verify::{Generation, TcbVersion};

use crate::error::Error;
use crate::handlers::{attest, auth, no_route, resource, ATTEST, AUTH};
use crate::log;
use crate::resources::Store;
use crate::session::{Sessions, Ttls};
use crate::token::TokenSigner;
use crate::verify::Verifier;

/// `keybroker serve` settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub allow_non_loopback: bool,
    pub manifest: PathBuf,
    pub resources: PathBuf,
    pub allow_sample: bool,
    pub min_tcb: Vec<(Generation, TcbVersion)>,
    pub vcek_dir: Option<PathBuf>,
    pub ttls: Ttls,
}

/// What the handlers share.
pub(crate) struct Broker {
    pub(crate) sessions: Sessions,
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
    if !config.listen.ip().is_loopback() && !config.allow_non_loopback {
        return Err(Error::NonLoopback(config.listen));
    }
    let measurements = crate::manifest::load(&config.manifest)?;
    let store = Store::open(&config.resources)?;
    let policy = crate::policy::broker_policy(&measurements, &config.min_tcb);
    let signer = TokenSigner::generate();

    log::info(format_args!(
        "starting: {} allowed measurements from {}, resources in {}, nonce ttl {}s, session ttl {}s",
        measurements.len(),
        config.manifest.display(),
        config.resources.display(),
        config.ttls.nonce.as_secs(),
        config.ttls.session.as_secs()
    ));
    if config.min_tcb.is_empty() {
        log::warn("no --min-tcb given: every snp evidence will be refused with reason tcb");
    }
    for (generation, min) in &config.min_tcb {
        log::info(format_args!("minimum TCB for {generation}: {min:?}"));
    }
    if config.allow_sample {
        log::warn(SAMPLE_BANNER);
    }
    log::info(format_args!(
        "token signing key (ES256, this process only): {}",
        signer.public_jwk()
    ));

    let broker = Arc::new(Broker {
        sessions: Sessions::new(config.ttls),
        verifier: Verifier {
            policy,
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
        axum::serve(listener, router(broker))
            .await
            .map_err(|e| Error::Server(e.to_string()))
    })
}
