//! The key broker's `/auth` and `/attest` bodies. The handlers' parsing is
//! private to the crate (`serde_json::from_slice` into kbs-protocol's
//! `Request` and `Attestation`), so this parses the same types and then runs
//! the broker's public verifier (`keybroker::verify::Verifier::attest`) on
//! every accepted attestation, for sample and SNP sessions alike.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use appliance_manifest::{Manifest, Stricter};
use kbs_protocol::{Attestation, Request, Tee};
use keybroker::session::Challenge;
use keybroker::verify::Verifier;
use libfuzzer_sys::fuzz_target;

const MEASUREMENT: &str = "8034d722aa0af95c385aada0e475a4f576a8c2d6472a4acc5c87e211fa8140481c40ab12eb700613a37db45583609e16";

fn verifier() -> Verifier {
    let json = format!(
        r#"{{"launch_configurations":[{{"vcpus":1,"launch_digest":"{MEASUREMENT}"}}],
            "policy":{{"guest_policy":"0x30000","min_tcb":{{"milan":{{"bootloader":0,"tee":0,"snp":0,"microcode":0}}}}}}}}"#
    );
    let manifest = Manifest::from_json(json.as_bytes()).expect("fixed manifest");
    Verifier {
        policies: vec![manifest
            .verifier_policy(&Stricter::default())
            .expect("policy")],
        allow_sample: true,
        vcek_dir: None,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<Request>(data) {
        let _ = (request.version.len(), request.tee.to_string());
    }
    let Ok(attestation) = serde_json::from_slice::<Attestation>(data) else {
        return;
    };
    let _ = kbs_protocol::expected_report_data(&attestation);
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    let verifier = VERIFIER.get_or_init(verifier);
    for tee in [Tee::Sample, Tee::Snp] {
        let challenge = Challenge {
            number: 1,
            tee,
            // The session's nonce as sent, so the checks behind it run too.
            nonce: attestation.runtime_data.nonce.clone(),
            expires: SystemTime::UNIX_EPOCH,
        };
        if let Ok(verdict) = verifier.attest(&challenge, &attestation) {
            // Unsigned sample evidence can pass only with an allowed
            // measurement; SNP evidence needs a real AMD signature.
            assert_eq!(tee, Tee::Sample, "SNP evidence accepted from fuzz bytes");
            assert_eq!(verdict.measurement, verifier.measurements()[0]);
        }
    }
});
