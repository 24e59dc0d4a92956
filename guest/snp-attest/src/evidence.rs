//! `sample` evidence for native (non-SNP) mode:
//! `{"svn":"1","report_data":"<standard base64>","measurement":"<96 hex>"}`.
//!
//! `svn` and `report_data` are Trustee's sample quote (guest-components
//! attester/src/sample); Trustee's sample verifier compares the decoded
//! `report_data` to the 48-byte SHA-384 runtime-data digest exactly, with no
//! padding (only its SNP/TDX/CSV verifiers pad to 64), so that is all it
//! carries. `measurement` is our key broker's addition (its allow-list);
//! Trustee ignores unknown members.

use alloc::string::String;
use base64::Engine;

/// Unsigned evidence: the 48-byte runtime-data digest and the guest's
/// self-computed launch digest. Base64 and hex need no JSON escaping, so
/// this is built by hand.
pub fn sample_evidence(runtime_digest: &[u8; 48], measurement: &[u8; 48]) -> String {
    let mut out = String::with_capacity(64 + 64 + 96);
    out.push_str(r#"{"svn":"1","report_data":""#);
    base64::engine::general_purpose::STANDARD.encode_string(runtime_digest, &mut out);
    out.push_str(r#"","measurement":""#);
    out.push_str(&hex::encode(measurement));
    out.push_str(r#""}"#);
    out
}
