//! Shared by the integration tests: manifests, the real AMD vectors, and
//! the fake appliance ([`fake`]).
#![allow(dead_code)]

pub mod balancer;
pub mod fake;
pub mod proxy_bin;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use appliance_client::Manifest;

/// The measurement the fake appliance claims by default.
pub const MEASUREMENT: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
pub const OTHER_MEASUREMENT: &str = "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5";
/// image-builder's GUEST_POLICY.
pub const GUEST_POLICY: u64 = 0x30000;

/// A fresh private directory under the system temp dir.
pub fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "appliance-client-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// image-builder's manifest shape: one EPYC-v4 entry per measurement.
pub fn manifest_json(measurements: &[&str], guest_policy: u64, model: Option<&str>) -> String {
    manifest_json_with(measurements, guest_policy, model, "")
}

/// As [`manifest_json`], with `policy_extra` (`,"member":value...`) added to
/// the `policy` object.
pub fn manifest_json_with(
    measurements: &[&str],
    guest_policy: u64,
    model: Option<&str>,
    policy_extra: &str,
) -> String {
    let entries: Vec<String> = measurements
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                r#"{{"vcpus":{},"vcpu_type":"EPYC-v4","guest_features":"0x1","launch_digest":"{m}"}}"#,
                i + 1
            )
        })
        .collect();
    let model = model
        .map(|m| format!(r#","model":{{"sha384":"{m}"}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"format_version":1,"launch_configurations":[{}],"policy":{{"guest_policy":"{guest_policy:#x}","debug_allowed":false,"migration_agent_allowed":false,"required_vmpl":0{policy_extra}}}{model}}}"#,
        entries.join(",")
    )
}

pub fn manifest(measurements: &[&str]) -> Manifest {
    Manifest::from_json(manifest_json(measurements, GUEST_POLICY, None).as_bytes())
        .expect("manifest")
}

/// Writes a manifest file for the CLI.
pub fn manifest_file(measurements: &[&str], guest_policy: u64, model: Option<&str>) -> PathBuf {
    let path = temp_dir().join("manifest.json");
    std::fs::write(&path, manifest_json(measurements, guest_policy, model)).expect("write");
    path
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/snp/");

/// A file of ../shared/testdata/snp (see its README); `.hex` files decoded.
pub fn vector(path: &str) -> Vec<u8> {
    let full = format!("{VECTORS}{path}");
    let data = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    if !path.ends_with(".hex") {
        return data;
    }
    let text = String::from_utf8(data).expect("ASCII");
    hex::decode(text.trim()).expect("hex")
}

pub const MILAN_REPORT: &str = "virtee-sev/certs_data/report_milan.hex";
pub const MILAN_VCEK: &str = "virtee-sev/certs_data/vcek_milan.der";

pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A test server on 127.0.0.1: each connection is answered by `respond`
/// from `state`, on its own thread, unless `drop_unanswered` says the
/// server is down. Returns the bound address.
pub fn serve_loopback<S: Send + Sync + 'static>(
    state: std::sync::Arc<std::sync::Mutex<S>>,
    drop_unanswered: fn(&S) -> bool,
    respond: fn(&std::sync::Mutex<S>, &http1::Request) -> http1::Response,
) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if drop_unanswered(&state.lock().expect("state")) {
                // Dropped unanswered, like a node that crashed.
                continue;
            }
            let state = std::sync::Arc::clone(&state);
            std::thread::spawn(move || {
                appliance_client::serve::serve_connection(
                    stream,
                    http1::ServerConfig::default(),
                    |r| respond(&state, &r),
                );
            });
        }
    });
    addr
}
