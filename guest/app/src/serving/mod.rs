//! Serving: after the model is unsealed, the appliance makes its OHTTP key
//! (X25519 / HKDF-SHA256 / AES-128-GCM, from RDRAND), binds it and the
//! measured boot log into its attestation evidence, and answers encrypted
//! embeddings requests until powered off.

mod attestation;
mod inference;
mod routes;

use crate::boot_log::BootLog;
use crate::exit_report::CounterLine;
use crate::http_server::{self, Options};
use crate::key_release::Released;
use crate::rng::RdRand;
use appliance_config::Config;
use embed_engine::Embedder;
use http1::ServerConfig;
use kernel::{println, BootInfo};
use ohttp_gateway::Gateway;
use zeroize::Zeroizing;

/// Largest encapsulated request: the API's own text limits (256 KiB of
/// text) with room for JSON escaping and the encapsulation.
const BODY_LIMIT: usize = 2 << 20;
/// Largest response: 128 inputs x 384 floats as JSON text.
const MAX_RESPONSE: usize = 2 << 20;

pub fn run(info: &BootInfo, config: &Config, boot_log: &BootLog, released: Released) -> ! {
    let Released {
        model,
        net,
        sample_measurement,
    } = released;
    // The one load of the unsealed blob (it checks every tensor checksum), on
    // the int8 kernel the platform chose at boot.
    let mut embedder = Embedder::with_kernel(&model, info.cpu.kernel)
        .unwrap_or_else(|e| kernel::fail("serving", &alloc::format!("model does not load: {e}")));
    crate::vcpus::use_all(&mut embedder);
    println!(
        "model loaded: sentence embedder, {} KiB, kernel {}, {} vCPUs",
        model.len() >> 10,
        embedder.kernel().name(),
        1 + kernel::smp::workers()
    );
    let mut rng = RdRand::new();
    let gateway = {
        let ikm = Zeroizing::new(rng.bytes::<32>());
        let key_id = key_id(config, &mut rng);
        Gateway::from_ikm(key_id, &ikm)
    };
    let document = attestation::document(
        info,
        gateway.ohttp_keys(),
        boot_log,
        sample_measurement.as_ref(),
    );
    println!(
        "serving: OHTTP key {}{} bound to the attestation evidence ({} evidence, {} boot log events)",
        gateway.key_id(),
        match config.previous_ohttp_key_id {
            Some(p) => alloc::format!(" (not the previous boot's {p})"),
            None => alloc::string::String::new(),
        },
        kernel::evidence_kind().name(),
        boot_log.events().len()
    );
    let mut routes = routes::ServingRoutes {
        gateway,
        document,
        embedder,
        rng,
        served: 0,
        refused: 0,
        counters: CounterLine::default(),
    };
    println!("appliance ready to serve");
    http_server::serve(
        Options {
            port: config.listen_port,
            config: ServerConfig {
                max_body_bytes: BODY_LIMIT,
                ..ServerConfig::default()
            },
            max_queued: MAX_RESPONSE,
        },
        net,
        &mut routes,
    )
}

/// The OHTTP key id: the configuration's, else a random byte other than
/// the previous boot's id when the configuration names it. A fresh id lets
/// a client of the old key get RFC 9458's "unknown key" problem; the
/// binding, not the id, is what it trusts (and a client that meets a plain
/// 400 refetches the keys anyway).
fn key_id(config: &Config, rng: &mut RdRand) -> u8 {
    if let Some(id) = config.ohttp_key_id {
        return id;
    }
    loop {
        let id = rng.bytes::<1>()[0];
        if Some(id) != config.previous_ohttp_key_id {
            return id;
        }
    }
}
