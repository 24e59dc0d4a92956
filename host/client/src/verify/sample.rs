//! Sample evidence (no SEV-SNP): unsigned, so it proves nothing; only ever
//! reached with `--insecure`. The measurement must still be in the manifest
//! and REPORT_DATA must still be the binding, so a wrong image or key is
//! caught even in development.

use serving_api::document::sample_report_data;
use snp_verify::ReasonCode;

use super::{Check, Verdict};
use crate::error::{Reason, Refusal};
use crate::manifest::Manifest;

pub(crate) const WARNING: &str = "WARNING: INSECURE: sample evidence is unsigned and proves nothing about the appliance; accepted only because of --insecure (development without SEV-SNP)";

pub(super) fn check(
    report_data: &str,
    measurement: &str,
    expected: &[u8; 64],
    manifest: &Manifest,
) -> Result<Verdict, Refusal> {
    // Library callers (proxy, bench) get the warning too, not only the CLI.
    eprintln!("{WARNING}");
    let measurement = snp_verify::parse_measurement(measurement)
        .map_err(|e| Refusal::new(Reason::Document, format!("sample evidence: {e}")))?;
    super::require_listed(manifest, &measurement)?;
    let report_data = sample_report_data(report_data)
        .map_err(|e| Refusal::new(Reason::Document, format!("sample evidence: {e}")))?;
    if report_data != *expected {
        return Err(Refusal::new(
            Reason::Evidence(ReasonCode::ReportData),
            "sample REPORT_DATA does not bind the served key configuration and boot log",
        ));
    }
    Ok(Verdict {
        tee: "sample",
        measurement,
        guest_policy: None,
        snp: None,
        checks: vec![
            Check::new(
                "signature",
                "none (unsigned sample evidence)",
                "accepted only with --insecure",
            ),
            Check::new(
                "measurement",
                hex::encode(measurement),
                format!(
                    "one of {} launch digest(s) (manifest)",
                    manifest.measurements().len()
                ),
            ),
            Check::new(
                "report-data",
                "equal",
                "SHA-512 binding of the served keys and boot log",
            ),
        ],
    })
}
