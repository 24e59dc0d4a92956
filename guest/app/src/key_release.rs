//! Key release and model unsealing (native mode, sample evidence):
//!
//! 1. a fresh P-256 TEE key from RDRAND;
//! 2. the KBS 0.4.0 exchange with the configured broker over smoltcp:
//!    `POST /kbs/v0/auth` (nonce + session cookie), `POST /kbs/v0/attest`
//!    with evidence whose REPORT_DATA binds nonce and TEE key, then
//!    `GET /kbs/v0/resource/<path>`: a JWE wrapped to the TEE key;
//! 3. the JWE opened to the 32-byte model key;
//! 4. fw_cfg `opt/appliance/model.sealed` streamed through the unsealer into
//!    private memory, every chunk's tag checked, then the plaintext SHA-384
//!    against the digest pinned in this (measured) image;
//! 5. every key wiped once used; only "model unsealed sha384:<hex>" is
//!    printed, and the digest enters the measured boot log.
//!
//! Evidence: under plain QEMU there is no secure processor, so the guest
//! sends the broker's `sample` evidence (accepted only with
//! `--insecure-allow-sample`). Nothing in it is signed: it is the host's word,
//! since a host can boot any program that claims anything. So the launch
//! digest it carries is the host's claim too: fw_cfg
//! `opt/appliance/sample-measurement`, 96 hex digits (an optional trailing
//! newline, nothing else), which `qemu/run.sh` computes for the image it
//! boots with `image-builder measure` under the sample launch configuration
//! (the manifest's first: 1 vCPU of EPYC-v4), so an unchanged image matches
//! the allow-list and any other image does not. It is read once per boot, only
//! when the evidence is unsigned, and passed on to serving; missing or
//! malformed, the appliance stops.
//! Under SNP the guest sends `snp` evidence instead: a report from the secure
//! processor through `kernel::evidence` (guest/snp-attest over the GHCB guest
//! request), never run on SNP hardware here.
//!
//! Failures stop the appliance (exit status 35) with a fixed message; an
//! unreachable broker is retried with exponential backoff first.

use crate::boot_log::BootLog;
use crate::kbs_client::{self, TransportError};
use crate::rng::RdRand;
use alloc::string::String;
use alloc::vec::Vec;
use appliance_config::{Config, KbsAddress};
use hex::FromHex;
use http1::Header;
use jwe::{EcPrivateKey, Jwe};
use kbs_protocol::{
    Attestation, AttestationToken, Challenge, CompositeEvidence, ResourcePath, RuntimeData, Tee,
    TeePubKey, ATTEST_PATH, AUTH_PATH,
};
use kernel::fw_cfg::{FileRef, FwCfg, FwCfgError};
use kernel::net::{IpConfig, NetStack};
use kernel::{println, BootInfo};
use model_seal::{SealKey, Unsealer};
use zeroize::Zeroizing;

/// The sealed model (image-builder `seal`), passed by the host.
pub const SEALED_MODEL: &str = "opt/appliance/model.sealed";
/// The launch digest sample evidence claims, passed by the host and read only
/// when the evidence is unsigned (see the module notes).
const SAMPLE_MEASUREMENT: &str = "opt/appliance/sample-measurement";
/// Prefix of the line that stops the appliance when it is missing or malformed.
const SAMPLE_WHAT: &str = "sample measurement opt/appliance/sample-measurement";
/// 96 hex digits and an optional newline.
const SAMPLE_MAX: usize = 97;
/// SHA-384 of the model this image accepts, fixed at build time by
/// `image-builder build --model-digest` (so it is covered by the launch
/// digest). Without it the image refuses to unseal anything.
const PINNED_SHA384: Option<&str> = option_env!("APPLIANCE_MODEL_SHA384");

const DHCP_TIMEOUT_MS: u64 = 20_000;
const FIRST_RETRY_MS: u64 = 500;
const MAX_RETRY_MS: u64 = 8_000;
/// No new attempt starts after this long of failures.
const RETRY_BUDGET_MS: u64 = 60_000;

/// Prefix of the line that stops the appliance ("...: FAILED: reason").
const WHAT: &str = "key release";

/// Whether the host passed a sealed model (then `run` must be called).
pub fn requested(info: &BootInfo) -> bool {
    info.fw_cfg
        .as_ref()
        .is_some_and(|fw| !matches!(fw.find(SEALED_MODEL), Err(FwCfgError::NotFound)))
}

/// What key release leaves for serving.
pub struct Released {
    /// The unsealed model blob (zeroized when dropped).
    pub model: Zeroizing<Vec<u8>>,
    /// The network stack, already configured (the device is probed once).
    pub net: NetStack,
    /// The launch digest sample evidence claims (the host's, see the module
    /// notes); `None` when the evidence is a signed report.
    pub sample_measurement: Option<[u8; 48]>,
}

/// The whole flow. Does not return on any failure.
pub fn run(info: &BootInfo, config: &Config, boot_log: &mut BootLog) -> Released {
    let Some(fw) = info.fw_cfg.as_ref() else {
        kernel::fail(WHAT, &"no fw_cfg")
    };
    let file = fw
        .find(SEALED_MODEL)
        .unwrap_or_else(|e| kernel::fail(WHAT, &alloc::format!("{SEALED_MODEL}: {e}")));
    let Some(pinned) = PINNED_SHA384.and_then(|text| <[u8; 48]>::from_hex(text).ok()) else {
        kernel::fail(WHAT, &"this image pins no model digest (image-builder build --model-digest); refusing to unseal")
    };
    let Ok(resource) = ResourcePath::parse(config.resource_path.as_str()) else {
        kernel::fail(WHAT, &"resource path")
    };

    let mut rng = RdRand::new();
    let tee_key = EcPrivateKey::generate(&mut rng);
    let sample_measurement = match kernel::evidence_kind() {
        kernel::EvidenceKind::Unsigned => Some(sample_measurement(fw)),
        kernel::EvidenceKind::SnpReport => None,
    };

    let mut net = kernel::net::bring_up(IpConfig::Dhcp).unwrap_or_else(|e| kernel::fail(WHAT, &e));
    if let Err(e) = net.wait_for_address(DHCP_TIMEOUT_MS) {
        kernel::fail(WHAT, &e);
    }
    let jwe = with_retries(&mut net, |net| {
        attempt(
            net,
            config.kbs,
            &resource,
            &tee_key,
            sample_measurement.as_ref(),
        )
    });
    let key = {
        let plain = jwe::decrypt(&jwe, &tee_key)
            .unwrap_or_else(|_| kernel::fail(WHAT, &"the released key does not decrypt"));
        SealKey::from_bytes(&plain).unwrap_or_else(|e| kernel::fail(WHAT, &e))
        // `plain` (zeroizing) is wiped here.
    };
    // The TEE key is single-use: wipe it now (SecretKey zeroizes on drop).
    drop(tee_key);
    let model = unseal(fw, file, &key, pinned);
    drop(key); // SealKey zeroizes on drop
    boot_log.record("model", "sha384", &pinned);
    println!("model unsealed sha384:{}", hex::encode(pinned));
    Released {
        model,
        net,
        sample_measurement,
    }
}

/// The host's claim for sample evidence: fw_cfg `opt/appliance/sample-measurement`,
/// exactly 96 hex digits with an optional trailing newline. Stops the
/// appliance when it is missing or malformed.
fn sample_measurement(fw: &FwCfg) -> [u8; 48] {
    let fail = |why: &dyn core::fmt::Display| -> ! { kernel::fail(SAMPLE_WHAT, why) };
    let file = match fw.find(SAMPLE_MEASUREMENT) {
        Ok(file) => file,
        Err(FwCfgError::NotFound) => fail(
            &"missing: sample evidence needs the launch digest from the host (qemu/run.sh passes it)",
        ),
        Err(e) => fail(&e),
    };
    if file.size as usize > SAMPLE_MAX {
        fail(&alloc::format!(
            "{} bytes, not 96 hex digits and an optional newline",
            file.size
        ));
    }
    let bytes = fw
        .read_file_vec(file, SAMPLE_MAX)
        .unwrap_or_else(|e| fail(&e));
    let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    <[u8; 48]>::from_hex(text)
        .unwrap_or_else(|_| fail(&"not 96 hex digits and an optional newline"))
}

enum Attempt {
    /// The broker could not be reached or did not answer: retry.
    Unreachable(TransportError),
    /// The broker answered something unusable (no cookie, a body that does
    /// not parse): retry; a broker being restarted or a garbling network
    /// may do better next time, and nothing was accepted from it.
    Garbled(&'static str),
    /// The broker said 401: final.
    Refused,
    /// Any other failure: final.
    Failed(&'static str),
}

impl From<TransportError> for Attempt {
    fn from(e: TransportError) -> Self {
        Attempt::Unreachable(e)
    }
}

/// Runs `attempt` until it succeeds or fails for good, backing off
/// exponentially between attempts while the retry budget lasts.
fn with_retries(
    net: &mut NetStack,
    mut attempt: impl FnMut(&mut NetStack) -> Result<Jwe, Attempt>,
) -> Jwe {
    let started = net.now_ms();
    let mut delay = FIRST_RETRY_MS;
    loop {
        let (state, why): (&str, String) = match attempt(net) {
            Ok(jwe) => return jwe,
            Err(Attempt::Refused) => {
                println!("key broker refused attestation");
                kernel::exit(kernel::ExitCode::Failure)
            }
            Err(Attempt::Failed(what)) => kernel::fail(WHAT, &what),
            Err(Attempt::Unreachable(e)) => ("unreachable", alloc::format!("{e}")),
            Err(Attempt::Garbled(what)) => ("answer unusable", what.into()),
        };
        let elapsed = net.now_ms() - started;
        if elapsed + delay > RETRY_BUDGET_MS {
            println!("key broker {state} ({why}), giving up after {elapsed} ms");
            kernel::exit(kernel::ExitCode::Failure)
        }
        log::info!("key release: {why}");
        println!("key broker {state}, retrying in {delay} ms");
        let until = net.now_ms() + delay;
        while net.now_ms() < until {
            net.poll();
            net.wait(until.saturating_sub(net.now_ms()));
        }
        delay = (delay * 2).min(MAX_RETRY_MS);
    }
}

/// One full KBS session: auth, attest, resource.
fn attempt(
    net: &mut NetStack,
    kbs: KbsAddress,
    resource: &ResourcePath,
    tee_key: &EcPrivateKey,
    sample_measurement: Option<&[u8; 48]>,
) -> Result<Jwe, Attempt> {
    let json = [Header::new("Content-Type", b"application/json")];
    // Sample evidence exactly when the host's claim was read (unsigned).
    let mut request = kbs_protocol::snp_request();
    if sample_measurement.is_some() {
        request.tee = Tee::Sample;
    }
    let body = serde_json::to_vec(&request).map_err(|_| Attempt::Failed("auth request"))?;
    let auth = kbs_client::request(net, kbs, "POST", AUTH_PATH, &json, &body)?;
    check_status(auth.status)?;
    let cookie = session_cookie(auth.header("set-cookie"))
        .ok_or(Attempt::Garbled("key broker sent no session cookie"))?;
    let challenge: Challenge = serde_json::from_slice(&auth.body)
        .map_err(|_| Attempt::Garbled("key broker sent an unreadable challenge"))?;

    let public = tee_key.public_key();
    let tee_pubkey: TeePubKey = kbs_protocol::ec_p256_tee_pubkey(public.jwk_x(), public.jwk_y());
    // SNP evidence carries the digest padded to the 64-byte REPORT_DATA;
    // sample evidence exactly the 48-byte digest (what Trustee's sample
    // verifier compares).
    let primary_evidence = match sample_measurement {
        None => {
            let report_data = kbs_protocol::report_data(&challenge.nonce, &tee_pubkey, "")
                .map_err(|_| Attempt::Failed("REPORT_DATA"))?;
            snp_evidence(report_data)?
        }
        Some(measurement) => {
            let digest = kbs_protocol::runtime_data_digest(&challenge.nonce, &tee_pubkey, "")
                .map_err(|_| Attempt::Failed("REPORT_DATA"))?;
            let evidence = snp_attest::sample_evidence(&digest, measurement);
            serde_json::from_str(&evidence).map_err(|_| Attempt::Failed("evidence"))?
        }
    };
    let attestation = Attestation {
        init_data: None,
        runtime_data: RuntimeData {
            nonce: challenge.nonce,
            tee_pubkey,
        },
        tee_evidence: CompositeEvidence {
            primary_evidence,
            additional_evidence: String::new(),
        },
    };
    let body = serde_json::to_vec(&attestation).map_err(|_| Attempt::Failed("attestation"))?;
    let with_cookie = [
        Header::new("Content-Type", b"application/json"),
        Header::new("Cookie", cookie.as_bytes()),
    ];
    let attest = kbs_client::request(net, kbs, "POST", ATTEST_PATH, &with_cookie, &body)?;
    check_status(attest.status)?;
    // The token is informational (resources are released on the session).
    serde_json::from_slice::<AttestationToken>(&attest.body)
        .map_err(|_| Attempt::Garbled("key broker sent an unreadable token"))?;

    let cookie_only = [Header::new("Cookie", cookie.as_bytes())];
    let got = kbs_client::request(net, kbs, "GET", &resource.url_path(), &cookie_only, &[])?;
    check_status(got.status)?;
    Jwe::from_json(&got.body).map_err(|_| Attempt::Garbled("key broker sent an unreadable JWE"))
}

/// Under SNP: a report from the secure processor with this REPORT_DATA, as
/// Trustee-shaped `SnpEvidence`. No certificate table is sent (no extended
/// guest request yet): the broker takes the VCEK from its `--vcek-dir`.
/// Compile-checked only: no SNP hardware where this was written.
fn snp_evidence(report_data: [u8; 64]) -> Result<serde_json::Value, Attempt> {
    let Ok(kernel::Evidence::SnpReport(raw)) = kernel::evidence(&report_data) else {
        return Err(Attempt::Failed("attestation report"));
    };
    let report = snp_report::AttestationReport::from_bytes(&raw[..])
        .map_err(|_| Attempt::Failed("attestation report"))?;
    let evidence = snp_report::evidence::SnpEvidence {
        attestation_report: report,
        cert_chain: None,
    };
    serde_json::to_value(&evidence).map_err(|_| Attempt::Failed("evidence"))
}

fn check_status(status: u16) -> Result<(), Attempt> {
    match status {
        200 => Ok(()),
        401 | 403 => Err(Attempt::Refused),
        // A broker that is up but failing may recover: retry like no answer.
        500..=599 => Err(Attempt::Unreachable(TransportError::ServerError(status))),
        _ => Err(Attempt::Failed(
            "unexpected HTTP status from the key broker",
        )),
    }
}

/// `kbs-session-id=<value>` from a `Set-Cookie` value (attributes dropped).
fn session_cookie(set_cookie: Option<&[u8]>) -> Option<String> {
    kbs_protocol::session_cookie_pair(core::str::from_utf8(set_cookie?).ok()?)
}

/// Stream the sealed model through the unsealer into a buffer reserved
/// once (the plaintext is never longer than the sealed file), so no copy of
/// plaintext is left behind by a reallocation. Every failure wipes it.
fn unseal(fw: &FwCfg, file: FileRef, key: &SealKey, pinned: [u8; 48]) -> Zeroizing<Vec<u8>> {
    let refuse = |what: &dyn core::fmt::Display| -> ! {
        kernel::fail(
            WHAT,
            &alloc::format!("sealed model {SEALED_MODEL} refused: {what}"),
        )
    };
    let mut model = Zeroizing::new(Vec::new());
    if model.try_reserve_exact(file.size as usize).is_err() {
        refuse(&"not enough memory");
    }
    let mut unsealer = Unsealer::new(key, pinned);
    let mut failure = None;
    let streamed = fw.stream_file(file, |piece| {
        if failure.is_none() {
            if let Err(e) = unsealer.update(piece, |plain| model.extend_from_slice(plain)) {
                failure = Some(e);
            }
        }
    });
    if let Some(e) = failure {
        drop(model);
        refuse(&e);
    }
    if let Err(e) = streamed {
        drop(model);
        refuse(&e);
    }
    if let Err(e) = unsealer.finish() {
        drop(model);
        refuse(&e);
    }
    model
}
