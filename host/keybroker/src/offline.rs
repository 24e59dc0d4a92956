//! `keybroker verify-report`: the server's SNP verifier on files.
//!
//! `--report` is the raw 1184-byte report, the same as hex text, or
//! Trustee `snp` evidence JSON (`{"attestation_report":..,"cert_chain":..}`).
//! The VEK is `--vcek` (DER or PEM; the first PEM block of a bundle), else
//! the evidence's VCEK/VLEK entry. `--chain` is a PEM bundle in AMD KDS
//! order (ASK, then ARK) or one DER ASK; else the evidence's entries, else
//! the pinned ones.

use std::path::{Path, PathBuf};

use snp_verify::{
    CertType, Evidence, Generation, Policy, ReasonCode, Refusal, SnpEvidence, TcbVersion,
    VerifiedReport,
};

use crate::error::Error;
use crate::policy::PolicyFile;

#[derive(Debug, Clone, Default)]
pub struct VerifyInputs {
    pub report: PathBuf,
    pub vcek: Option<PathBuf>,
    pub chain: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub min_tcb: Vec<(Generation, TcbVersion)>,
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// The report and any certificates the input file itself carries.
struct ReportInput {
    report: Vec<u8>,
    vek: Option<Vec<u8>>,
    ask: Option<Vec<u8>>,
    ark: Option<Vec<u8>>,
}

fn decode_report(bytes: Vec<u8>) -> Result<ReportInput, Refusal> {
    let plain = |report| ReportInput {
        report,
        vek: None,
        ask: None,
        ark: None,
    };
    let text = std::str::from_utf8(&bytes).ok().map(str::trim);
    if let Some(json) = text.filter(|t| t.starts_with('{')) {
        let ev: SnpEvidence =
            serde_json::from_str(json).map_err(|e| malformed(format!("evidence JSON: {e}")))?;
        let pick = |want: &dyn Fn(&CertType) -> bool| -> Option<Vec<u8>> {
            let chain = ev.cert_chain.as_ref()?;
            chain
                .iter()
                .find(|c| want(&c.cert_type))
                .map(|c| c.data.clone())
        };
        return Ok(ReportInput {
            report: ev.attestation_report.to_bytes().to_vec(),
            vek: pick(&|t| matches!(t, CertType::VCEK | CertType::VLEK)),
            ask: pick(&|t| *t == CertType::ASK),
            ark: pick(&|t| *t == CertType::ARK),
        });
    }
    if bytes.len() != snp_report::REPORT_LEN {
        if let Some(decoded) =
            text.and_then(|t| hex::decode(t.split_whitespace().collect::<String>()).ok())
        {
            return Ok(plain(decoded));
        }
    }
    Ok(plain(bytes))
}

fn malformed(detail: String) -> Refusal {
    Refusal {
        reason: ReasonCode::Malformed,
        detail,
    }
}

/// PEM blocks of `bytes`, or `bytes` itself as one DER certificate.
fn chain_certs(bytes: &[u8]) -> Vec<Vec<u8>> {
    const END: &str = "-----END CERTIFICATE-----";
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains(END) => text
            .split_inclusive(END)
            .filter(|b| b.contains(END))
            .map(|b| b.trim_start().as_bytes().to_vec())
            .collect(),
        _ => vec![bytes.to_vec()],
    }
}

/// The policy for these inputs (see [`crate::policy`]).
pub fn policy(inputs: &VerifyInputs) -> Result<Policy, Error> {
    let file = match &inputs.policy {
        Some(path) => PolicyFile::load(path)?,
        None => PolicyFile::default(),
    };
    let manifest = inputs
        .manifest
        .as_deref()
        .map(crate::manifest::load)
        .transpose()?;
    file.to_policy(manifest.as_deref(), &inputs.min_tcb)
}

/// Runs the verifier. `Err` only for inputs that cannot be read (files,
/// policy); a bad report or certificate is a refusal.
pub fn verify_files(inputs: &VerifyInputs) -> Result<Result<VerifiedReport, Refusal>, Error> {
    let policy = policy(inputs)?;
    let input = match decode_report(read(&inputs.report)?) {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    let vek = match &inputs.vcek {
        Some(path) => Some(read(path)?),
        None => input.vek,
    };
    let (ask, ark) = match &inputs.chain {
        Some(path) => {
            let mut certs = chain_certs(&read(path)?).into_iter();
            (certs.next(), certs.next())
        }
        None => (input.ask, input.ark),
    };
    let Some(vek) = vek else {
        return Ok(Err(Refusal {
            reason: ReasonCode::Certificate,
            detail: "no VCEK/VLEK: pass --vcek or evidence with a cert_chain".into(),
        }));
    };
    let evidence = Evidence {
        report: &input.report,
        vek: &vek,
        ask: ask.as_deref(),
        ark: ark.as_deref(),
    };
    Ok(snp_verify::verify(&evidence, &policy))
}

/// The lines `verify-report` prints; the last is `ok` or `refused: REASON`.
pub fn describe(outcome: &Result<VerifiedReport, Refusal>) -> Vec<String> {
    match outcome {
        Ok(v) => {
            let r = &v.report;
            let t = &r.reported_tcb;
            let fmc = t.fmc.map(|f| format!("fmc={f} ")).unwrap_or_default();
            vec![
                format!("generation: {}", v.generation),
                format!("signing key: {:?}", v.vek_kind),
                format!("report version: {}", r.version),
                format!("vmpl: {}", r.vmpl),
                format!("measurement: {}", hex::encode(r.measurement)),
                format!(
                    "reported tcb: {fmc}bl={} tee={} snp={} ucode={}",
                    t.bootloader, t.tee, t.snp, t.microcode
                ),
                format!("report data: {}", hex::encode(r.report_data)),
                "ok".to_string(),
            ]
        }
        Err(r) => vec![
            format!("detail: {}", r.detail),
            format!("refused: {}", r.reason),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_forms() {
        let raw = vec![7u8; snp_report::REPORT_LEN];
        assert_eq!(
            decode_report(raw.clone()).ok().map(|i| i.report),
            Some(raw.clone())
        );
        let hex = format!("{}\n", hex::encode(&raw));
        assert_eq!(
            decode_report(hex.into_bytes()).ok().map(|i| i.report),
            Some(raw)
        );
        let r = decode_report(b"{not json".to_vec()).err().map(|r| r.reason);
        assert_eq!(r, Some(ReasonCode::Malformed));
        // Anything else goes to the verifier, which refuses its length.
        assert_eq!(
            decode_report(b"xyz".to_vec()).ok().map(|i| i.report),
            Some(b"xyz".to_vec())
        );
    }

    #[test]
    fn chain_forms() {
        let pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n\
                   -----BEGIN CERTIFICATE-----\nAQ==\n-----END CERTIFICATE-----\n";
        let certs = chain_certs(pem.as_bytes());
        assert_eq!(certs.len(), 2);
        assert!(certs[1].starts_with(b"-----BEGIN"));
        assert_eq!(chain_certs(&[0x30, 0x82]), vec![vec![0x30, 0x82]]);
    }
}
