//! Loading the real AMD vectors in ../shared/testdata/snp (see its README).
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use snp_verify::{AttestationReport, CertTime, Generation, Policy, ReportDataCheck};

/// 2025-06-01T00:00:00Z: inside the test VLEK's one-year validity.
pub fn while_vlek_valid() -> CertTime {
    CertTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_736_000))
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/snp/");

pub fn vector(path: &str) -> Vec<u8> {
    let full = format!("{VECTORS}{path}");
    let data = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    if !path.ends_with(".hex") {
        return data;
    }
    let text = String::from_utf8(data).expect("hex file is ASCII");
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The n-th PEM block of a bundle.
pub fn pem_block(bundle: &[u8], n: usize) -> Vec<u8> {
    let text = std::str::from_utf8(bundle).expect("PEM is ASCII");
    let end = "-----END CERTIFICATE-----";
    let block = text.split_inclusive(end).nth(n).expect("block");
    block.trim_start().as_bytes().to_vec()
}

pub const MILAN_REPORT: &str = "virtee-sev/certs_data/report_milan.hex";
pub const MILAN_VCEK: &str = "virtee-sev/certs_data/vcek_milan.der";
pub const TRUSTEE_REPORT: &str = "trustee/verifier-snp/test-report.bin";
pub const TRUSTEE_VCEK: &str = "trustee/verifier-snp/test-vcek.der";
pub const VLEK_REPORT: &str = "trustee/verifier-snp/test-vlek-report.bin";
pub const VLEK: &str = "trustee/verifier-snp/test-vlek.der";
pub const AZ_REPORT: &str = "trustee/az-snp-vtpm/hcl-report.snp-report.bin";
pub const AZ_BUNDLE: &str = "trustee/az-snp-vtpm/vcek.pem";
pub const TURIN_VCEK: &str = "virtee-sev/certs_data/vcek_turin.der";

/// A policy that this exact report satisfies: its measurement, its TCB as
/// the minimum, its REPORT_DATA, and version 2 allowed.
pub fn policy_for(report: &[u8]) -> Policy {
    let r = AttestationReport::from_bytes(report).expect("report parses");
    let mut p = Policy::new(ReportDataCheck::Exact(r.report_data));
    p.allowed_measurements.push(r.measurement);
    p.min_report_version = 2;
    p.with_min_tcb(Generation::Milan, r.reported_tcb)
}
