//! The attestation document the client fetches (`GET /v1/attestation`).
//! The client's own `parse_document` is private to its `verify` module, so
//! this fuzzes the same strict serde type from serving-api that it parses
//! into, plus the decoders the client applies to it: an accepted document
//! re-serialises to one that parses equal, and the REPORT_DATA binding is
//! a pure function of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serving_api::document::{sample_report_data, AttestationDocument, Evidence};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<AttestationDocument>(data) else {
        return;
    };
    let again: AttestationDocument =
        serde_json::from_slice(&doc.to_json()).expect("own JSON parses");
    assert_eq!(again, doc);
    assert_eq!(doc.expected_report_data(), again.expected_report_data());
    if let Ok(keys) = doc.ohttp_keys_bytes() {
        let _ = appliance_client::keys::select(&keys);
    }
    if let Evidence::Sample {
        report_data,
        measurement,
        ..
    } = &doc.evidence
    {
        let _ = sample_report_data(report_data);
        let _ = snp_verify::parse_measurement(measurement);
    }
    if let Evidence::Snp { report, .. } = &doc.evidence {
        if let Ok(bytes) = serving_api::document::b64_decode("report", report) {
            let _ = snp_report::AttestationReport::from_bytes(&bytes);
        }
    }
});
