//! `sample` evidence: unsigned, for development without SNP hardware, and
//! accepted only under `--insecure-allow-sample`.
//!
//! Modeled on Trustee's sample TEE (`{"svn":"1","report_data":"<base64>"}`)
//! plus the launch digest the guest computed for its own image:
//!
//! ```json
//! {"svn": "1", "report_data": "<standard base64>", "measurement": "<96 hex>"}
//! ```
//!
//! `report_data` must decode (standard base64, nothing trimmed) to exactly
//! the 48-byte SHA-384 runtime-data digest, as Trustee's sample verifier
//! compares it (no padding; the zero-padded 64-byte form is the SNP one and
//! is refused here, as Trustee refuses it). `measurement` must be in the
//! manifest's allow-list. `svn` is accepted as a string or number and not
//! checked. Nothing here is signed: it proves only that the client knows an
//! allowed measurement.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use snp_verify::ReasonCode;

use crate::reason::{Reason, Refused};

#[derive(Debug, Deserialize)]
struct SampleEvidence {
    #[serde(default)]
    #[allow(dead_code)]
    svn: Option<Value>,
    report_data: String,
    measurement: String,
}

/// Checks sample evidence against the expected REPORT_DATA and the
/// allow-list; returns the (claimed) measurement.
pub fn check(
    evidence: &Value,
    expected: &[u8; 48],
    allowed: &[[u8; 48]],
) -> Result<[u8; 48], Refused> {
    let ev = SampleEvidence::deserialize(evidence)
        .map_err(|e| Refused::new(Reason::BadRequest, format!("sample evidence: {e}")))?;
    let measurement = snp_verify::parse_measurement(&ev.measurement)
        .map_err(|e| Refused::new(Reason::BadRequest, format!("sample evidence: {e}")))?;
    if !allowed.contains(&measurement) {
        return Err(Refused::new(
            Reason::Verify(ReasonCode::Measurement),
            format!("measurement {} is not allowed", hex::encode(measurement)),
        ));
    }
    let report_data = base64::engine::general_purpose::STANDARD
        .decode(&ev.report_data)
        .map_err(|_| Refused::new(Reason::BadRequest, "sample report_data is not base64"))?;
    if report_data[..] != expected[..] {
        return Err(Refused::new(
            Reason::Verify(ReasonCode::ReportData),
            "sample report_data does not bind the nonce and TEE key",
        ));
    }
    Ok(measurement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn sample_rules() {
        let expected = [7u8; 48];
        let m = hex::encode([9; 48]);
        let allowed = [[9u8; 48]];
        let ev = json!({"svn": "1", "report_data": b64(&expected), "measurement": m});
        assert_eq!(check(&ev, &expected, &allowed), Ok([9; 48]));
        let reason = |ev: Value| check(&ev, &expected, &allowed).expect_err("refused").reason;
        // The SNP form (digest + 16 zero bytes) is not the sample form.
        let mut padded = [0u8; 64];
        padded[..48].copy_from_slice(&expected);
        assert_eq!(
            reason(json!({"svn": "1", "report_data": b64(&padded), "measurement": m})),
            Reason::Verify(ReasonCode::ReportData)
        );
        let other = hex::encode([8; 48]);
        assert_eq!(
            reason(json!({"svn": 1, "report_data": b64(&expected), "measurement": other})),
            Reason::Verify(ReasonCode::Measurement)
        );
        for short in [&expected[..32], &expected[..47]] {
            assert_eq!(
                reason(json!({"report_data": b64(short), "measurement": m})),
                Reason::Verify(ReasonCode::ReportData)
            );
        }
        assert_eq!(
            reason(json!({"report_data": b64(&[6; 48]), "measurement": m})),
            Reason::Verify(ReasonCode::ReportData)
        );
        // Base64 is decoded as Trustee does: no whitespace trimmed.
        assert_eq!(
            reason(json!({"report_data": format!(" {}", b64(&expected)), "measurement": m})),
            Reason::BadRequest
        );
        assert_eq!(
            reason(json!({"report_data": "!!", "measurement": m})),
            Reason::BadRequest
        );
        assert_eq!(
            reason(json!({"report_data": b64(&expected)})),
            Reason::BadRequest
        );
        assert_eq!(reason(json!("sample")), Reason::BadRequest);
    }
}
