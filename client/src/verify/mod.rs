//! [`verify`]: everything the client checks before it sends a `POST`.
//!
//! Order: fetch `/v1/attestation` (parse strictly, version 1, known TEE),
//! fetch `/.well-known/ohttp-gateway` and require the same bytes as the
//! document's `ohttp_keys`, pick the X25519 / HKDF-SHA256 / AES-128-GCM key
//! configuration, compute the expected REPORT_DATA
//! ([`serving_api::binding::report_data`] of the keys and boot log), check
//! the evidence ([`snp`] or, only with `--insecure`, [`sample`]), then the
//! model digest when the manifest pins one. The first failure is the
//! refusal.
//!
//! TCB: snp-verify wants a minimum per processor generation. Without
//! `--min-tcb` every generation gets a minimum of zero, so any TCB passes
//! and the summary prints the report's TCB for the operator to judge; with
//! `--min-tcb` only the generations given are accepted, at those minimums.

mod fetch;
mod sample;
mod snp;
mod summary;

use std::path::PathBuf;
use std::time::Duration;

use serving_api::document::{BootEvent, Evidence};
use snp_verify::{CertTime, Generation, ReasonCode, TcbVersion};

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
    /// Minimum REPORTED_TCB per generation; empty: every generation, zero.
    pub min_tcb: Vec<(Generation, TcbVersion)>,
    /// 3 (snp-verify's strict default); 2 accepts version-2 reports from
    /// Milan and Genoa, whose generation the VCEK chain then fixes.
    pub min_report_version: u32,
    /// Accept reports signed by a cloud provider's VLEK.
    pub allow_vlek: bool,
    /// When the AMD certificates must be valid.
    pub cert_time: CertTime,
    /// Each evidence fetch.
    pub fetch_timeout: Duration,
    /// Each encrypted request (inference under TCG can be slow).
    pub request_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            insecure: false,
            vcek_dir: None,
            min_tcb: Vec::new(),
            min_report_version: 3,
            allow_vlek: false,
            cert_time: CertTime::Now,
            fetch_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// An appliance whose evidence verified: the only way to send it a request.
#[derive(Debug, Clone)]
pub struct VerifiedAppliance {
    pub(crate) endpoint: Endpoint,
    pub(crate) key: KeyConfig,
    pub(crate) request_timeout: Duration,
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
}

/// What the evidence check established.
pub(crate) struct Verdict {
    pub tee: &'static str,
    pub measurement: [u8; 48],
    pub guest_policy: Option<u64>,
    pub snp: Option<SnpSummary>,
}

/// Verifies the appliance at `url` against `manifest`; only `GET`s are sent.
pub fn verify(
    url: &str,
    manifest: &Manifest,
    options: &Options,
) -> Result<VerifiedAppliance, Refusal> {
    let endpoint = Endpoint::new(url).map_err(|e| Refusal::new(Reason::Connection, e))?;
    let fetched = fetch::fetch(&endpoint, options.fetch_timeout)?;
    let key = crate::keys::select(&fetched.keys).map_err(|e| Refusal::new(Reason::KeyConfig, e))?;
    let doc = &fetched.document;
    let expected = serving_api::binding::report_data(&fetched.keys, &doc.boot_log)
        .map_err(|e| Refusal::new(Reason::Document, format!("boot_log: {e}")))?;
    let verdict = match &doc.evidence {
        Evidence::Snp {
            report,
            certificates,
        } => snp::check(report, certificates, &expected, manifest, options)?,
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
    let model = check_model(manifest, &doc.boot_log)?;
    let summary = Summary::new(
        endpoint.url(),
        manifest,
        &verdict,
        options.insecure,
        &key,
        &fetched.keys,
        &doc.boot_log,
        model,
    );
    Ok(VerifiedAppliance {
        endpoint,
        key,
        request_timeout: options.request_timeout,
        summary,
    })
}

/// With a pinned model, the boot log must show that the appliance loaded it.
fn check_model(manifest: &Manifest, boot_log: &[BootEvent]) -> Result<Option<String>, Refusal> {
    let Some(want) = manifest.model_sha384 else {
        return Ok(None);
    };
    let hex = serving_api::document::hex_encode(&want);
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
                serving_api::document::hex_encode(measurement)
            ),
        ));
    }
    Ok(())
}
