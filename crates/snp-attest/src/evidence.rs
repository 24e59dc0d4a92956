//! `sample` evidence for native (non-SNP) mode, in the exact form the key
//! broker's `--insecure-allow-sample` accepts (keybroker/src/sample.rs):
//! `{"svn":"1","report_data":"<standard base64>","measurement":"<96 hex>"}`.

use alloc::string::String;
use base64::Engine;

/// Unsigned evidence: the REPORT_DATA (48-byte binding or the 64-byte padded
/// form; the broker accepts both) and the guest's self-computed launch
/// digest. Base64 and hex need no JSON escaping, so this is built by hand.
pub fn sample_evidence(report_data: &[u8], measurement: &[u8; 48]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64 + report_data.len() * 2 + 96);
    out.push_str(r#"{"svn":"1","report_data":""#);
    base64::engine::general_purpose::STANDARD.encode_string(report_data, &mut out);
    out.push_str(r#"","measurement":""#);
    for &b in measurement {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    out.push_str(r#""}"#);
    out
}
