//! [`verify`]: everything the client checks before it sends a `POST`.
//!
//! Order: fetch `/v1/attestation` (parse strictly, version 1, known TEE),
//! fetch `/.well-known/ohttp-gateway` and require the same bytes as the
//! document's `ohttp_keys`, pick the X25519 / HKDF-SHA256 / AES-128-GCM key
//! configuration, compute the expected REPORT_DATA
//! ([`serving_api::binding::report_data`] of the keys and boot log), find
//! the boot log's one `runtime-config` SHA-256 (and require it to be an
//! allowed configuration, when the manifest or `--config-sha256` lists
//! any), check the evidence ([`snp`] or, only with `--insecure`,
//! [`sample`]), then the model digest when the manifest pins one. The first
//! failure is the refusal.
//!
//! Policy: the manifest's, read by appliance-manifest exactly as the key
//! broker reads it (measurements, POLICY exactly, VMPL 0, minimum TCB per
//! generation, report version, VLEK or not, runtime configurations). A
//! generation the manifest has no minimum TCB for is refused. Command-line
//! values ([`Options::stricter`]) may only tighten it; each tightening is a
//! line of the summary.

mod fetch;
mod sample;
mod snp;
mod summary;

use std::path::PathBuf;
use std::time::Duration;

use appliance_manifest::{Stricter, VerifierPolicy};
use serde::Serialize;
use serving_api::document::{BootEvent, Evidence};
use snp_verify::{CertTime, ReasonCode};

use crate::error::{Reason, Refusal};
use crate::http::Endpoint;
use crate::keys::KeyConfig;
use crate::manifest::Manifest;
pub use summary::{KeySummary, SnpSummary, Summary};

/// What the verifier accepts beyond the manifest.
#[derive(Debug, Clone)]
pub struct Options {
    /// Accept unsigned sample evidence (development only; warns on stderr).
    pub insecure: bool,
    /// `<CHIP_ID as 128 hex digits>.der` VCEKs for documents without
    /// certificates (the key broker's `--vcek-dir` layout).
    pub vcek_dir: Option<PathBuf>,
    /// Command-line values that tighten the manifest's policy (never loosen).
    pub stricter: Stricter,
    /// When the AMD certificates must be valid.
    pub cert_time: CertTime,
    /// Each evidence fetch.
    pub fetch_timeout: Duration,
    /// Each encrypted request (inference under TCG can be slow).
    pub request_timeout: Duration,
    /// Fleets only: verify (and use) listed nodes whose URL is on another
    /// host than the listing's. Off by default, so an untrusted listing
    /// cannot make the client send requests wherever it likes.
    pub allow_absolute_node_urls: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            insecure: false,
            vcek_dir: None,
            stricter: Stricter::default(),
            cert_time: CertTime::Now,
            fetch_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
            allow_absolute_node_urls: false,
        }
    }
}

/// An appliance whose evidence verified: the only way to send it a request.
#[derive(Debug, Clone)]
pub struct VerifiedAppliance {
    pub(crate) endpoint: Endpoint,
    pub(crate) key: KeyConfig,
    /// The verified `application/ohttp-keys` body.
    keys: Vec<u8>,
    pub(crate) request_timeout: Duration,
    fetch_timeout: Duration,
    summary: Summary,
}

impl VerifiedAppliance {
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The verified key configuration's id.
    pub fn key_id(&self) -> u8 {
        self.key.key_id
    }

    /// Whether the appliance now serves another key configuration than the
    /// verified one (fetched again; a reboot that drew the same key id still
    /// has another key). `Err` if it cannot be fetched.
    pub fn key_configuration_changed(&self) -> Result<bool, Refusal> {
        Ok(fetch::keys(&self.endpoint, self.fetch_timeout)? != self.keys)
    }
}

/// One check and the values it compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    /// What the appliance showed.
    pub found: String,
    /// What it was compared against (manifest, command line, binding).
    pub expected: String,
}

impl Check {
    pub(crate) fn new(check: &str, found: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            check: check.to_string(),
            found: found.into(),
            expected: expected.into(),
        }
    }
}

/// What the evidence check established.
pub(crate) struct Verdict {
    pub tee: &'static str,
    pub measurement: [u8; 48],
    pub guest_policy: Option<u64>,
    pub snp: Option<SnpSummary>,
    /// Every check passed, in order, with its values.
    pub checks: Vec<Check>,
}

/// Verifies the appliance at `url` against `manifest`; only `GET`s are sent.
pub fn verify(
    url: &str,
    manifest: &Manifest,
    options: &Options,
) -> Result<VerifiedAppliance, Refusal> {
    let policy = manifest
        .verifier_policy(&options.stricter)
        .map_err(|e| Refusal::new(Reason::Policy, e))?;
    let endpoint = Endpoint::new(url).map_err(|e| Refusal::new(Reason::Connection, e))?;
    let fetched = fetch::fetch(&endpoint, options.fetch_timeout)?;
    let key = crate::keys::select(&fetched.keys).map_err(|e| Refusal::new(Reason::KeyConfig, e))?;
    let doc = &fetched.document;
    let expected = serving_api::binding::report_data(&fetched.keys, &doc.boot_log)
        .map_err(|e| Refusal::new(Reason::Document, format!("boot_log: {e}")))?;
    let config = runtime_config(&doc.boot_log, &policy)?;
    let mut verdict = match &doc.evidence {
        Evidence::Snp {
            report,
            certificates,
        } => snp::check(report, certificates, &expected, &config, &policy, options)?,
        Evidence::Sample { .. } if !options.insecure => {
            return Err(Refusal::new(
                Reason::SampleRefused,
                "the appliance sent unsigned sample evidence (no SEV-SNP); pass --insecure to accept it for development",
            ))
        }
        Evidence::Sample {
            report_data,
            measurement,
            ..
        } => sample::check(report_data, measurement, &expected, manifest)?,
    };
    verdict.checks.push(Check::new(
        "runtime-config",
        hex::encode(config),
        config_expectation(&policy),
    ));
    let model = check_model(manifest, &doc.boot_log)?;
    if let Some(m) = &model {
        verdict.checks.push(Check::new(
            "model",
            m.clone(),
            "the manifest's model.sha384",
        ));
    }
    let summary = Summary::new(
        endpoint.url(),
        manifest,
        &verdict,
        options.insecure,
        &key,
        &fetched.keys,
        &doc.boot_log,
        model,
        &config,
        &policy.notes,
    );
    Ok(VerifiedAppliance {
        endpoint,
        key,
        keys: fetched.keys,
        request_timeout: options.request_timeout,
        fetch_timeout: options.fetch_timeout,
        summary,
    })
}

/// What the runtime configuration was compared against.
fn config_expectation(policy: &VerifierPolicy) -> String {
    match &policy.runtime_config_sha256 {
        None => "any (not pinned; HOST_DATA must equal it under SNP)".into(),
        Some(list) => format!(
            "one of {}",
            list.iter().map(hex::encode).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The SHA-256 of the runtime configuration the appliance accepted: its
/// boot log's one `runtime-config`/`sha256` event. It must be an allowed
/// configuration; under SNP, HOST_DATA must equal it too (see [`snp`]).
fn runtime_config(boot_log: &[BootEvent], policy: &VerifierPolicy) -> Result<[u8; 32], Refusal> {
    let refuse = |detail: String| Refusal::new(Reason::Evidence(ReasonCode::HostData), detail);
    let mut events = boot_log.iter().filter(|e| e.event == "runtime-config");
    let (Some(event), None) = (events.next(), events.next()) else {
        return Err(refuse(
            "the boot log does not have exactly one runtime-config event".into(),
        ));
    };
    let digest = event
        .algorithm
        .eq_ignore_ascii_case("sha256")
        .then(|| appliance_manifest::policy::parse_sha256(&event.digest).ok())
        .flatten()
        .ok_or_else(|| refuse("the runtime-config event is not a SHA-256".into()))?;
    if !policy.config_allowed(&digest) {
        return Err(refuse(format!(
            "runtime configuration {} is not allowed ({})",
            hex::encode(digest),
            config_expectation(policy)
        )));
    }
    Ok(digest)
}

/// With a pinned model, the boot log must show that the appliance loaded it.
fn check_model(manifest: &Manifest, boot_log: &[BootEvent]) -> Result<Option<String>, Refusal> {
    let Some(want) = manifest.model_sha384 else {
        return Ok(None);
    };
    let hex = hex::encode(want);
    let loaded = boot_log.iter().any(|e| {
        e.event == "model"
            && e.algorithm.eq_ignore_ascii_case("sha384")
            && snp_verify::parse_measurement(&e.digest).is_ok_and(|d| d == want)
    });
    if !loaded {
        return Err(Refusal::new(
            Reason::Model,
            format!("the boot log has no model/sha384 event with the manifest's digest {hex}"),
        ));
    }
    Ok(Some(hex))
}

/// The measurement must be one of the manifest's launch digests.
pub(crate) fn require_listed(manifest: &Manifest, measurement: &[u8; 48]) -> Result<(), Refusal> {
    if manifest.matching(measurement).is_empty() {
        return Err(Refusal::new(
            Reason::Evidence(ReasonCode::Measurement),
            format!(
                "measurement {} is not in the manifest",
                hex::encode(measurement)
            ),
        ));
    }
    Ok(())
}
