//! The verifier policy the manifest carries, written by `image-builder
//! build` beside the guest policy: minimum TCB per processor generation,
//! lowest report version, whether a VLEK may sign, the required VMPL, and
//! optionally the runtime configurations allowed (SHA-256 = HOST_DATA).
//! The key broker and the client both turn it into an snp-verify
//! [`Policy`] here, so they enforce the same checks.
//!
//! A command line may only make a check stricter ([`Stricter`]): a higher
//! minimum, a higher report version, no VLEK, fewer configurations. A value
//! that would loosen a check is an error, and every tightening is reported
//! in [`VerifierPolicy::notes`].

use std::collections::BTreeMap;

use hex::FromHex;
use snp_verify::{describe_tcb, Generation, Policy, ReportDataCheck, TcbVersion};

use crate::schema::{PolicyInfo, TcbInfo};

/// The lowest report version either side accepts by default (as Trustee).
pub const DEFAULT_MIN_REPORT_VERSION: u32 = 3;

/// The manifest's verifier policy (besides its measurements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPolicy {
    /// POLICY must equal this exactly.
    pub guest_policy: u64,
    /// Minimum REPORTED_TCB per generation; a generation without one is refused.
    pub min_tcb: BTreeMap<Generation, TcbVersion>,
    pub min_report_version: u32,
    pub vlek_allowed: bool,
    /// Allowed SHA-256 digests of the runtime configuration (= HOST_DATA);
    /// empty: any (the guest itself stops unless HOST_DATA is its digest).
    pub runtime_config_sha256: Vec<[u8; 32]>,
}

/// `0x30000`, `196608`, or a JSON number.
fn parse_guest_policy(value: &serde_json::Value) -> Result<u64, String> {
    use serde_json::Value;
    let bad = || format!("policy.guest_policy {value} is not a 64-bit number");
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad()),
                None => s.parse().map_err(|_| bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// `milan`, `Genoa`, ... (any case).
pub fn parse_generation(name: &str) -> Result<Generation, String> {
    Generation::ALL
        .into_iter()
        .find(|g| g.name().eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| format!("unknown processor generation {name:?} (milan, genoa, turin)"))
}

/// 64 hex digits (either case) as a SHA-256 digest.
pub fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    <[u8; 32]>::from_hex(text.trim())
        .map_err(|_| format!("{text:?} is not a SHA-256 as 64 hex digits"))
}

impl PolicyInfo {
    /// The policy image-builder writes for `policy` (see [`ManifestPolicy`]).
    pub fn from_policy(policy: &ManifestPolicy) -> Self {
        PolicyInfo {
            guest_policy: serde_json::Value::String(format!("{:#x}", policy.guest_policy)),
            debug_allowed: false,
            migration_agent_allowed: false,
            required_vmpl: 0,
            min_report_version: Some(policy.min_report_version),
            vlek_allowed: policy.vlek_allowed,
            min_tcb: policy
                .min_tcb
                .iter()
                .map(|(generation, t)| {
                    let tcb = TcbInfo {
                        fmc: t.fmc,
                        bootloader: t.bootloader,
                        tee: t.tee,
                        snp: t.snp,
                        microcode: t.microcode,
                    };
                    (generation.name().to_ascii_lowercase(), tcb)
                })
                .collect(),
            runtime_config_sha256: policy
                .runtime_config_sha256
                .iter()
                .map(hex::encode)
                .collect(),
        }
    }

    /// Checks and decodes the policy; refuses one no verifier accepts.
    pub fn parse(self) -> Result<ManifestPolicy, String> {
        if self.debug_allowed || self.migration_agent_allowed {
            return Err(
                "policy allows debugging or a migration agent; no verifier accepts that".into(),
            );
        }
        if self.required_vmpl != 0 {
            return Err(format!(
                "policy.required_vmpl {} is not 0; the appliance runs at VMPL 0",
                self.required_vmpl
            ));
        }
        let min_report_version = self
            .min_report_version
            .unwrap_or(DEFAULT_MIN_REPORT_VERSION);
        if !(2..=5).contains(&min_report_version) {
            return Err(format!(
                "policy.min_report_version {min_report_version} is not 2 to 5"
            ));
        }
        let mut min_tcb = BTreeMap::new();
        for (name, t) in self.min_tcb {
            let generation = parse_generation(&name).map_err(|e| format!("policy.min_tcb: {e}"))?;
            let tcb = TcbVersion {
                fmc: t.fmc,
                bootloader: t.bootloader,
                tee: t.tee,
                snp: t.snp,
                microcode: t.microcode,
            };
            if min_tcb.insert(generation, tcb).is_some() {
                return Err(format!("policy.min_tcb names {generation} twice"));
            }
        }
        let runtime_config_sha256 = self
            .runtime_config_sha256
            .iter()
            .map(|d| parse_sha256(d).map_err(|e| format!("policy.runtime_config_sha256: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ManifestPolicy {
            guest_policy: parse_guest_policy(&self.guest_policy)?,
            min_tcb,
            min_report_version,
            vlek_allowed: self.vlek_allowed,
            runtime_config_sha256,
        })
    }
}

/// Command-line values: each may only make a check stricter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stricter {
    /// Raise the manifest's minimum TCB of a generation it names.
    pub min_tcb: Vec<(Generation, TcbVersion)>,
    /// Raise the lowest report version.
    pub min_report_version: Option<u32>,
    /// Refuse VLEK-signed reports even if the manifest allows them.
    pub refuse_vlek: bool,
    /// Allow only these runtime configuration digests (a subset of the
    /// manifest's, when it lists any).
    pub runtime_config_sha256: Vec<[u8; 32]>,
}

/// What a verifier enforces: the manifest's policy, tightened by the
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierPolicy {
    pub measurements: Vec<[u8; 48]>,
    pub guest_policy: u64,
    pub min_tcb: BTreeMap<Generation, TcbVersion>,
    pub min_report_version: u32,
    pub allow_vlek: bool,
    /// `None`: any configuration (HOST_DATA not compared with a list).
    pub runtime_config_sha256: Option<Vec<[u8; 32]>>,
    /// One line per check the command line made stricter.
    pub notes: Vec<String>,
}

fn component_at_least(cli: &TcbVersion, manifest: &TcbVersion) -> bool {
    cli.fmc.unwrap_or(0) >= manifest.fmc.unwrap_or(0)
        && cli.bootloader >= manifest.bootloader
        && cli.tee >= manifest.tee
        && cli.snp >= manifest.snp
        && cli.microcode >= manifest.microcode
}

impl ManifestPolicy {
    /// The policy for `measurements` with `cli` applied; an error if a
    /// command-line value would loosen a check.
    pub fn tighten(
        &self,
        measurements: Vec<[u8; 48]>,
        cli: &Stricter,
    ) -> Result<VerifierPolicy, String> {
        let mut notes = Vec::new();
        let mut min_tcb = self.min_tcb.clone();
        for (generation, want) in &cli.min_tcb {
            let Some(have) = self.min_tcb.get(generation) else {
                return Err(format!(
                    "--min-tcb {generation}: the manifest has no minimum TCB for {generation}, so \
                     its evidence is refused; a command line cannot add one (build the manifest \
                     with image-builder build --min-tcb {}:...)",
                    generation.name().to_ascii_lowercase()
                ));
            };
            if !component_at_least(want, have) {
                return Err(format!(
                    "--min-tcb {generation}: {} is below the manifest's {} in some component; a \
                     command line may only raise a minimum",
                    describe_tcb(want),
                    describe_tcb(have)
                ));
            }
            if want != have {
                notes.push(format!(
                    "stricter: minimum TCB for {generation} raised by --min-tcb to {} (manifest: {})",
                    describe_tcb(want),
                    describe_tcb(have)
                ));
            }
            min_tcb.insert(*generation, *want);
        }
        let mut min_report_version = self.min_report_version;
        if let Some(v) = cli.min_report_version {
            if v < self.min_report_version {
                return Err(format!(
                    "--min-report-version {v} is below the manifest's {}; a command line may only raise it",
                    self.min_report_version
                ));
            }
            if v > self.min_report_version {
                notes.push(format!(
                    "stricter: report version at least {v} (--min-report-version; manifest: {})",
                    self.min_report_version
                ));
            }
            min_report_version = v;
        }
        let mut allow_vlek = self.vlek_allowed;
        if cli.refuse_vlek && allow_vlek {
            notes.push(
                "stricter: VLEK-signed reports refused (--refuse-vlek; the manifest allows them)"
                    .into(),
            );
            allow_vlek = false;
        }
        let manifest_configs = &self.runtime_config_sha256;
        let runtime_config_sha256 = if cli.runtime_config_sha256.is_empty() {
            (!manifest_configs.is_empty()).then(|| manifest_configs.clone())
        } else {
            if let Some(extra) = cli
                .runtime_config_sha256
                .iter()
                .find(|d| !manifest_configs.is_empty() && !manifest_configs.contains(d))
            {
                return Err(format!(
                    "--config-sha256 {} is not one of the manifest's runtime configurations; a \
                     command line may only narrow them",
                    hex::encode(extra)
                ));
            }
            notes.push(format!(
                "stricter: runtime configuration must be one of {} digest(s) from --config-sha256 (manifest: {})",
                cli.runtime_config_sha256.len(),
                if manifest_configs.is_empty() {
                    "any".to_string()
                } else {
                    format!("{} digest(s)", manifest_configs.len())
                }
            ));
            Some(cli.runtime_config_sha256.clone())
        };
        Ok(VerifierPolicy {
            measurements,
            guest_policy: self.guest_policy,
            min_tcb,
            min_report_version,
            allow_vlek,
            runtime_config_sha256,
            notes,
        })
    }
}

impl VerifierPolicy {
    /// The snp-verify policy: measurements, POLICY exactly, VMPL 0, no debug,
    /// no migration agent, the minimum TCBs (a generation without one is
    /// refused), the report version, VLEK or not, HOST_DATA one of the
    /// allowed configuration digests (when there is a list), and
    /// `report_data`. Certificates valid now.
    pub fn snp_policy(&self, report_data: ReportDataCheck) -> Policy {
        let mut policy = Policy::new(report_data);
        policy.allowed_measurements = self.measurements.clone();
        policy.min_tcb = self.min_tcb.clone();
        policy.require_vmpl0 = true;
        policy.allow_debug = false;
        policy.allow_migration_agent = false;
        policy.guest_policy = Some(self.guest_policy);
        policy.allow_vlek = self.allow_vlek;
        policy.min_report_version = self.min_report_version;
        policy.allowed_host_data = self.runtime_config_sha256.clone();
        policy
    }

    /// Whether `digest` is an allowed runtime configuration.
    pub fn config_allowed(&self, digest: &[u8; 32]) -> bool {
        self.runtime_config_sha256
            .as_ref()
            .is_none_or(|list| list.contains(digest))
    }

    /// `(check, expected value)` for every check, in snp-verify's order,
    /// for start-up logs and summaries.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (
                "measurement",
                format!("one of {} launch digest(s)", self.measurements.len()),
            ),
            ("vmpl", "0".to_string()),
            ("debug", "off".to_string()),
            ("migration-agent", "off".to_string()),
            ("guest-policy", format!("{:#x} exactly", self.guest_policy)),
        ];
        for generation in Generation::ALL {
            let value = match self.min_tcb.get(&generation) {
                Some(min) => format!("{generation}: at least {}", describe_tcb(min)),
                None => format!("{generation}: none known, refused"),
            };
            out.push(("tcb", value));
        }
        out.push((
            "version",
            format!("report version at least {}", self.min_report_version),
        ));
        out.push((
            "signing-key",
            if self.allow_vlek {
                "VCEK or VLEK"
            } else {
                "VCEK only"
            }
            .to_string(),
        ));
        out.push((
            "host-data",
            match &self.runtime_config_sha256 {
                None => "any runtime configuration digest".to_string(),
                Some(list) => format!(
                    "one of {}",
                    list.iter().map(hex::encode).collect::<Vec<_>>().join(", ")
                ),
            },
        ));
        out
    }
}

#[cfg(test)]
mod tests;
