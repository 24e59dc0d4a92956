//! SNP attestation reports (1184 bytes) and Trustee's JSON evidence
//! (`{"attestation_report": .., "cert_chain": ..}`): parsing never panics,
//! an accepted report re-encodes to bytes that parse to the same report,
//! and the JSON shape round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snp_report::evidence::SnpEvidence;
use snp_report::{AttestationReport, REPORT_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = AttestationReport::from_bytes(data) {
        assert_eq!(data.len(), REPORT_LEN);
        // Reserved bytes must be zero, so nothing is lost in re-encoding.
        let bytes = report.to_bytes();
        assert_eq!(&bytes[..], data, "re-encoding changed the report");
        assert_eq!(AttestationReport::from_bytes(&bytes), Ok(report));
        let json = serde_json::to_vec(&report).expect("serialises");
        let back: AttestationReport = serde_json::from_slice(&json).expect("own JSON parses");
        assert_eq!(back, report);
    }
    if let Ok(ev) = serde_json::from_slice::<SnpEvidence>(data) {
        let json = serde_json::to_vec(&ev).expect("serialises");
        let back: SnpEvidence = serde_json::from_slice(&json).expect("own JSON parses");
        assert_eq!(back, ev);
        // The binary form of a JSON report is itself a parseable report.
        let _ = AttestationReport::from_bytes(&ev.attestation_report.to_bytes());
    }
});
