//! SEV-SNP evidence: snp-verify with a strict policy built from the
//! manifest, then POLICY against the manifest's guest policy (snp-verify
//! checks the debug and migration-agent bits; the launcher sets the whole
//! value, so any other bit is a different launch too).

use serving_api::document::{b64_decode, hex_encode, Certificate};
use snp_report::layout::CHIP_ID;
use snp_verify::{Evidence, Generation, Policy, ReasonCode, ReportDataCheck, TcbVersion, VekKind};

use super::{Options, SnpSummary, Verdict};
use crate::error::{Reason, Refusal};
use crate::manifest::Manifest;
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
    std::fs::read(dir.join(format!("{}.der", hex_encode(chip_id)))).ok()
}

/// The strict policy: the manifest's measurements, REPORT_DATA exactly the
/// binding, VMPL 0, no debug, no migration agent.
fn policy(manifest: &Manifest, options: &Options, expected: &[u8; 64]) -> Policy {
    let mut policy = Policy::new(ReportDataCheck::Exact(*expected));
    policy.allowed_measurements = manifest.measurements();
    policy.require_vmpl0 = true;
    policy.allow_debug = false;
    policy.allow_migration_agent = false;
    policy.allow_vlek = options.allow_vlek;
    policy.min_report_version = options.min_report_version;
    policy.cert_time = options.cert_time;
    if options.min_tcb.is_empty() {
        for generation in Generation::ALL {
            policy = policy.with_min_tcb(generation, TcbVersion::default());
        }
    } else {
        for (generation, min) in &options.min_tcb {
            policy = policy.with_min_tcb(*generation, *min);
        }
    }
    policy
}

pub(super) fn check(
    report_b64: &str,
    certificates: &[Certificate],
    expected: &[u8; 64],
    manifest: &Manifest,
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
    let policy = policy(manifest, options, expected);
    let verified = snp_verify::verify(&evidence, &policy)?;
    let r = &verified.report;
    if r.policy.0 != manifest.guest_policy {
        return Err(Refusal::new(
            Reason::GuestPolicy,
            format!(
                "report POLICY {:#x} is not the manifest's guest_policy {:#x}",
                r.policy.0, manifest.guest_policy
            ),
        ));
    }
    let min_tcb = match policy.min_tcb.get(&verified.generation) {
        Some(min) if options.min_tcb.is_empty() => {
            format!("{} (none enforced: pass --min-tcb)", describe(min))
        }
        Some(min) => describe(min),
        None => String::from("none"),
    };
    Ok(Verdict {
        tee: "snp",
        measurement: r.measurement,
        guest_policy: Some(r.policy.0),
        snp: Some(SnpSummary {
            generation: verified.generation.name().to_string(),
            signing_key: match verified.vek_kind {
                VekKind::Vcek => "VCEK",
                VekKind::Vlek => "VLEK",
            }
            .to_string(),
            vek_source: vek_source.to_string(),
            report_version: r.version,
            vmpl: r.vmpl,
            reported_tcb: describe(&r.reported_tcb),
            min_tcb,
            chip_id: hex_encode(&r.chip_id),
        }),
    })
}
