//! Verifier policy inputs: `--min-tcb` values and the JSON policy file of
//! `verify-report`.
//!
//! Policy file (every member optional; unknown members are an error so a
//! typo cannot silently weaken the policy):
//!
//! ```json
//! {
//!   "allowed_measurements": ["<96 hex>", "..."],
//!   "min_tcb": {"milan": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
//!               "turin": {"fmc": 1, "bootloader": 1, "tee": 1, "snp": 1, "microcode": 1}},
//!   "allow_vlek": false,
//!   "min_report_version": 3,
//!   "allow_debug": false,
//!   "allow_migration_agent": false,
//!   "report_data": "<128 hex>",
//!   "cert_time": 1748736000
//! }
//! ```
//!
//! `allowed_measurements` absent: those of `--manifest`. `min_tcb` absent:
//! no generation has a minimum, so every report is refused with `tcb` (fail
//! closed; snp-verify does not compare TCBs across generations).
//! `report_data` absent: not checked (offline inspection only; the server
//! always checks the binding). `cert_time`: check certificate validity at
//! this UNIX time instead of now.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use snp_verify::{CertTime, Generation, Policy, ReportDataCheck, TcbVersion};

use crate::error::Error;

/// `milan`, `Genoa`, ... (any case).
pub fn parse_generation(name: &str) -> Result<Generation, Error> {
    Generation::ALL
        .into_iter()
        .find(|g| g.name().eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| Error::Policy(format!("unknown processor generation {name:?}")))
}

/// `GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N]` (snp-verify's shared syntax).
pub fn parse_min_tcb(text: &str) -> Result<(Generation, TcbVersion), Error> {
    snp_verify::parse_min_tcb(text).map_err(|e| Error::Policy(e.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TcbJson {
    #[serde(default)]
    fmc: Option<u8>,
    bootloader: u8,
    tee: u8,
    snp: u8,
    microcode: u8,
}

/// The JSON policy file of `verify-report` (see the module docs).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    allowed_measurements: Option<Vec<String>>,
    #[serde(default)]
    min_tcb: BTreeMap<String, TcbJson>,
    #[serde(default)]
    allow_vlek: bool,
    #[serde(default)]
    min_report_version: Option<u32>,
    #[serde(default)]
    allow_debug: bool,
    #[serde(default)]
    allow_migration_agent: bool,
    #[serde(default)]
    report_data: Option<String>,
    #[serde(default)]
    cert_time: Option<u64>,
}

impl PolicyFile {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&text).map_err(|e| Error::Policy(format!("{}: {e}", path.display())))
    }

    /// The snp-verify policy; `manifest` supplies the measurements when the
    /// file has none, and `extra_min_tcb` (from `--min-tcb`) overrides.
    pub fn to_policy(
        &self,
        manifest: Option<&[[u8; 48]]>,
        extra_min_tcb: &[(Generation, TcbVersion)],
    ) -> Result<Policy, Error> {
        let report_data = match &self.report_data {
            None => ReportDataCheck::Skip,
            Some(text) => {
                let bytes = hex::decode(text.trim())
                    .ok()
                    .filter(|b| b.len() <= 64)
                    .ok_or_else(|| {
                        Error::Policy("report_data is not hex of at most 64 bytes".into())
                    })?;
                ReportDataCheck::padded(&bytes)
                    .ok_or_else(|| Error::Policy("report_data is longer than 64 bytes".into()))?
            }
        };
        let mut policy = Policy::new(report_data);
        match &self.allowed_measurements {
            Some(list) => {
                policy = policy
                    .with_measurements_hex(list)
                    .map_err(|e| Error::Policy(e.to_string()))?;
            }
            None => policy
                .allowed_measurements
                .extend_from_slice(manifest.unwrap_or_default()),
        }
        for (name, tcb) in &self.min_tcb {
            let min = TcbVersion {
                fmc: tcb.fmc,
                bootloader: tcb.bootloader,
                tee: tcb.tee,
                snp: tcb.snp,
                microcode: tcb.microcode,
            };
            policy = policy.with_min_tcb(parse_generation(name)?, min);
        }
        for (generation, min) in extra_min_tcb {
            policy = policy.with_min_tcb(*generation, *min);
        }
        policy.allow_vlek = self.allow_vlek;
        policy.allow_debug = self.allow_debug;
        policy.allow_migration_agent = self.allow_migration_agent;
        if let Some(v) = self.min_report_version {
            policy.min_report_version = v;
        }
        if let Some(secs) = self.cert_time {
            policy.cert_time = CertTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_tcb_errors_are_policy_errors() {
        assert!(parse_min_tcb("milan:bl=1,tee=1,snp=1,ucode=1").is_ok());
        assert!(matches!(parse_min_tcb("rome:bl=1"), Err(Error::Policy(_))));
    }

    #[test]
    fn policy_file_defaults_and_typos() {
        let file: PolicyFile = serde_json::from_str("{}").expect("parses");
        let p = file.to_policy(Some(&[[1; 48]]), &[]).expect("policy");
        assert_eq!(p.allowed_measurements, vec![[1; 48]]);
        assert!(p.min_tcb.is_empty());
        assert_eq!(p.report_data, ReportDataCheck::Skip);
        assert!(serde_json::from_str::<PolicyFile>(r#"{"allow_vlk":true}"#).is_err());
        let file: PolicyFile = serde_json::from_str(
            r#"{"allowed_measurements":[],"min_tcb":{"genoa":{"bootloader":1,"tee":2,"snp":3,"microcode":4}},
                "min_report_version":2,"report_data":"00ff"}"#,
        )
        .expect("parses");
        let p = file.to_policy(Some(&[[1; 48]]), &[]).expect("policy");
        assert!(p.allowed_measurements.is_empty());
        assert!(p.min_tcb.contains_key(&Generation::Genoa));
        assert_eq!(p.min_report_version, 2);
        let mut want = [0u8; 64];
        want[1] = 0xff;
        assert_eq!(p.report_data, ReportDataCheck::Exact(want));
    }
}
