//! SEV-SNP evidence: snp-verify with the manifest's policy as
//! appliance-manifest builds it for both verifiers (POLICY exactly, VMPL 0,
//! minimum TCB per generation, version, VLEK, measurements), REPORT_DATA
//! exactly the binding, and HOST_DATA exactly the boot log's runtime
//! configuration digest.

use appliance_manifest::VerifierPolicy;
use serving_api::document::{b64_decode, Certificate};
use snp_report::layout::CHIP_ID;
use snp_verify::{Evidence, ReasonCode, ReportDataCheck, VekKind};

use super::{Check, Options, SnpSummary, Verdict};
use crate::error::{Reason, Refusal};
use snp_verify::describe_tcb as describe;

/// The endorsement certificates the document carries, decoded.
#[derive(Default)]
struct Certs {
    vek: Option<Vec<u8>>,
    ask: Option<Vec<u8>>,
    ark: Option<Vec<u8>>,
}

fn decode_certs(certificates: &[Certificate]) -> Result<Certs, Refusal> {
    let mut certs = Certs::default();
    for cert in certificates {
        let der = b64_decode("certificates[].der", &cert.der)
            .map_err(|e| Refusal::new(Reason::Document, e.to_string()))?;
        let slot = match cert.kind.to_ascii_lowercase().as_str() {
            "vcek" | "vlek" => &mut certs.vek,
            "ask" | "asvk" => &mut certs.ask,
            "ark" => &mut certs.ark,
            _ => {
                let kind: String = cert.kind.chars().take(16).collect();
                return Err(Refusal::new(
                    Reason::Document,
                    format!("unknown certificate kind {kind:?}"),
                ));
            }
        };
        // The first of each kind, as Trustee picks them.
        slot.get_or_insert(der);
    }
    Ok(certs)
}

/// The VCEK cached for the report's CHIP_ID. The id is read unverified;
/// snp-verify then requires the VCEK's hwID to equal it.
fn vcek_from_dir(options: &Options, report: &[u8]) -> Option<Vec<u8>> {
    let dir = options.vcek_dir.as_ref()?;
    let chip_id = report.get(CHIP_ID..CHIP_ID + 64)?;
    std::fs::read(dir.join(format!("{}.der", hex::encode(chip_id)))).ok()
}

pub(super) fn check(
    report_b64: &str,
    certificates: &[Certificate],
    expected: &[u8; 64],
    config: &[u8; 32],
    verifier: &VerifierPolicy,
    options: &Options,
) -> Result<Verdict, Refusal> {
    let report = b64_decode("report", report_b64)
        .map_err(|e| Refusal::new(Reason::Document, e.to_string()))?;
    let certs = decode_certs(certificates)?;
    let (vek, vek_source) = match certs.vek {
        Some(vek) => (vek, "attestation document"),
        None => match vcek_from_dir(options, &report) {
            Some(vek) => (vek, "--vcek-dir"),
            None => return Err(Refusal::new(
                Reason::Evidence(ReasonCode::Certificate),
                "no VCEK/VLEK in the attestation document and none for this CHIP_ID in --vcek-dir",
            )),
        },
    };
    let evidence = Evidence {
        report: &report,
        vek: &vek,
        ask: certs.ask.as_deref(),
        ark: certs.ark.as_deref(),
    };
    let mut policy = verifier.snp_policy(ReportDataCheck::Exact(*expected));
    // The configuration the boot log names (already checked against the
    // allowed ones) is the only HOST_DATA accepted.
    policy.allowed_host_data = Some(vec![*config]);
    policy.cert_time = options.cert_time;
    let verified = snp_verify::verify(&evidence, &policy)?;
    let r = &verified.report;
    let generation = verified.generation;
    let min = policy.min_tcb.get(&generation).copied().unwrap_or_default();
    let signing_key = match verified.vek_kind {
        VekKind::Vcek => "VCEK",
        VekKind::Vlek => "VLEK",
    };
    let checks = vec![
        Check::new(
            "signature",
            format!("{signing_key} from the {vek_source}"),
            format!("chain to the pinned AMD {generation} root"),
        ),
        Check::new(
            "signing-key",
            signing_key,
            if verifier.allow_vlek {
                "VCEK or VLEK"
            } else {
                "VCEK"
            },
        ),
        Check::new(
            "version",
            r.version.to_string(),
            format!("at least {}", policy.min_report_version),
        ),
        Check::new("vmpl", r.vmpl.to_string(), "0"),
        Check::new(
            "guest-policy",
            format!("{:#x}", r.policy.0),
            format!(
                "{:#x} (manifest; no debug, no migration agent)",
                verifier.guest_policy
            ),
        ),
        Check::new(
            "tcb",
            describe(&r.reported_tcb),
            format!("{generation}: at least {}", describe(&min)),
        ),
        Check::new(
            "measurement",
            hex::encode(r.measurement),
            format!(
                "one of {} launch digest(s) (manifest)",
                verifier.measurements.len()
            ),
        ),
        Check::new(
            "host-data",
            hex::encode(r.host_data),
            format!("{} (the boot log's runtime-config)", hex::encode(config)),
        ),
        Check::new(
            "report-data",
            "equal",
            "SHA-512 binding of the served keys and boot log",
        ),
    ];
    Ok(Verdict {
        tee: "snp",
        measurement: r.measurement,
        guest_policy: Some(r.policy.0),
        snp: Some(SnpSummary {
            generation: generation.name().to_string(),
            signing_key: signing_key.to_string(),
            vek_source: vek_source.to_string(),
            report_version: r.version,
            vmpl: r.vmpl,
            reported_tcb: describe(&r.reported_tcb),
            min_tcb: describe(&min),
            chip_id: hex::encode(r.chip_id),
            host_data: hex::encode(r.host_data),
        }),
        checks,
    })
}
