//! The report signature: ECDSA P-384 over SHA-384 of bytes 0x000..0x2A0.
//!
//! Checked on the raw bytes, not a re-encoding: `sev`'s own report check
//! re-serialises its parsed struct, which needs its parser's generation guess
//! (it refuses a version-2 report with a masked CHIP_ID).

use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use snp_report::layout::{SIGNATURE_R, SIGNATURE_S, SIG_COMPONENT_LEN};
use snp_report::{REPORT_LEN, SIGNED_LEN};
use x509_cert::Certificate;

use crate::cert::public_key;
use crate::reason::{ReasonCode, Refusal};

const SCALAR_LEN: usize = 48;

fn refuse(detail: &str) -> Refusal {
    Refusal::new(ReasonCode::ReportSignature, detail)
}

/// A little-endian, zero-extended 72-byte field as a big-endian scalar.
fn scalar(field: &[u8]) -> Result<[u8; SCALAR_LEN], Refusal> {
    if field[SCALAR_LEN..].iter().any(|&b| b != 0) {
        return Err(refuse("signature component wider than 384 bits"));
    }
    let mut be = [0u8; SCALAR_LEN];
    for (dst, src) in be.iter_mut().zip(field[..SCALAR_LEN].iter().rev()) {
        *dst = *src;
    }
    Ok(be)
}

pub(crate) fn verify(vek: &Certificate, report: &[u8; REPORT_LEN]) -> Result<(), Refusal> {
    let key = VerifyingKey::from_sec1_bytes(public_key(vek))
        .map_err(|_| refuse("the VCEK/VLEK does not hold a P-384 public key"))?;
    let r = scalar(&report[SIGNATURE_R..SIGNATURE_R + SIG_COMPONENT_LEN])?;
    let s = scalar(&report[SIGNATURE_S..SIGNATURE_S + SIG_COMPONENT_LEN])?;
    let sig = Signature::from_scalars(r, s)
        .map_err(|_| refuse("signature r or s is zero or out of range (unsigned report?)"))?;
    key.verify(&report[..SIGNED_LEN], &sig)
        .map_err(|_| refuse("the report is not signed by this VCEK/VLEK"))
}
