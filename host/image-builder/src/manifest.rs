//! `manifest.json`: the reference values a verifier needs, written next to
//! the image. Everything in it is derived from the image bytes and the
//! toolchain, so it is reproducible too.

use std::collections::BTreeMap;

use serde::Serialize;
use snp_measure::{launch_digest, LaunchConfig, VcpuType, DEFAULT_GUEST_FEATURES};
use snp_verify::{Generation, TcbVersion};

/// Launch configurations whose digests the manifest lists (the SNP launcher
/// refuses any other). vCPU models as named by QEMU and sev-snp-measure. The
/// sample configuration comes first.
pub const VCPU_COUNTS: [u32; 3] = [snp_measure::SAMPLE_VCPUS, 2, 4];
pub const VCPU_TYPES: [&str; 3] = [snp_measure::SAMPLE_VCPU_TYPE, "EPYC-Milan", "EPYC-Genoa"];
/// SNP guest policy the launcher sets and the key broker enforces:
/// bit 17 reserved-must-be-one, SMT allowed (16), no debug (19), no
/// migration agent (18), ABI 0.0.
pub const GUEST_POLICY: u64 = 0x30000;

#[derive(Serialize)]
pub struct Manifest {
    pub format_version: u32,
    pub image: ImageInfo,
    pub toolchain: String,
    pub launch_configurations: Vec<LaunchEntry>,
    pub policy: PolicyInfo,
    /// Report fields the launch digest does not cover; a verifier checks
    /// them separately.
    pub not_covered_by_digest: Vec<&'static str>,
    /// The model the image is pinned to (`build --model-digest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelInfo>,
}

#[derive(Serialize)]
pub struct ModelInfo {
    /// SHA-384 of the plain model blob, 96 lowercase hex.
    pub sha384: String,
}

#[derive(Serialize)]
pub struct ImageInfo {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Serialize)]
pub struct LaunchEntry {
    pub vcpus: u32,
    pub vcpu_type: String,
    pub guest_features: String,
    pub launch_digest: String,
}

/// The verifier policy both the key broker and the client read
/// (host/appliance-manifest `policy`).
#[derive(Serialize)]
pub struct PolicyInfo {
    pub guest_policy: String,
    pub debug_allowed: bool,
    pub migration_agent_allowed: bool,
    pub required_vmpl: u32,
    pub min_report_version: u32,
    pub vlek_allowed: bool,
    /// Minimum REPORTED_TCB per generation (lower-case name); a generation
    /// not listed is refused by both verifiers.
    pub min_tcb: BTreeMap<String, TcbInfo>,
    /// Allowed SHA-256 of the runtime configuration (= HOST_DATA); empty:
    /// any (the guest stops unless HOST_DATA is its configuration's digest).
    pub runtime_config_sha256: Vec<String>,
}

#[derive(Serialize)]
pub struct TcbInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fmc: Option<u8>,
    pub bootloader: u8,
    pub tee: u8,
    pub snp: u8,
    pub microcode: u8,
}

/// The operator's verifier choices (`build --min-tcb ... --config-sha256 ...`).
#[derive(Debug, Clone, Default)]
pub struct VerifierChoices {
    pub min_tcb: Vec<(Generation, TcbVersion)>,
    pub min_report_version: u32,
    pub allow_vlek: bool,
    /// Lower-case 64-hex SHA-256 digests.
    pub runtime_config_sha256: Vec<String>,
}

/// The `policy` object; an error if a generation is given twice.
pub fn policy_info(choices: &VerifierChoices) -> Result<PolicyInfo, String> {
    let mut min_tcb = BTreeMap::new();
    for (generation, t) in &choices.min_tcb {
        let info = TcbInfo {
            fmc: t.fmc,
            bootloader: t.bootloader,
            tee: t.tee,
            snp: t.snp,
            microcode: t.microcode,
        };
        let name = generation.name().to_ascii_lowercase();
        if min_tcb.insert(name, info).is_some() {
            return Err(format!("--min-tcb names {generation} twice"));
        }
    }
    Ok(PolicyInfo {
        guest_policy: format!("{GUEST_POLICY:#x}"),
        debug_allowed: false,
        migration_agent_allowed: false,
        required_vmpl: 0,
        min_report_version: choices.min_report_version,
        vlek_allowed: choices.allow_vlek,
        min_tcb,
        runtime_config_sha256: choices.runtime_config_sha256.clone(),
    })
}

pub fn build(
    image: &[u8],
    file: &str,
    sha256: String,
    toolchain: String,
    choices: &VerifierChoices,
) -> Result<Manifest, String> {
    let mut launch_configurations = Vec::new();
    for vcpu_type in VCPU_TYPES {
        let kind = VcpuType::from_name(vcpu_type)
            .ok_or_else(|| format!("unknown vCPU type {vcpu_type}"))?;
        for vcpus in VCPU_COUNTS {
            let digest =
                launch_digest(image, &LaunchConfig::new(vcpus, kind)).map_err(|e| e.to_string())?;
            launch_configurations.push(LaunchEntry {
                vcpus,
                vcpu_type: vcpu_type.to_string(),
                guest_features: format!("{DEFAULT_GUEST_FEATURES:#x}"),
                launch_digest: hex::encode(digest),
            });
        }
    }
    Ok(Manifest {
        format_version: 1,
        image: ImageInfo {
            file: file.to_string(),
            size: image.len() as u64,
            sha256,
        },
        toolchain,
        launch_configurations,
        policy: policy_info(choices)?,
        not_covered_by_digest: vec![
            "POLICY",
            "HOST_DATA",
            "REPORTED_TCB",
            "VMPL",
            "REPORT_DATA",
            "CHIP_ID",
        ],
        model: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `build` writes parses back through the verifiers' reader with
    /// the same values.
    #[test]
    fn the_policy_reads_back_through_appliance_manifest() {
        let tcb = TcbVersion {
            fmc: None,
            bootloader: 3,
            tee: 0,
            snp: 8,
            microcode: 115,
        };
        let choices = VerifierChoices {
            min_tcb: vec![(Generation::Milan, tcb)],
            min_report_version: 3,
            allow_vlek: false,
            runtime_config_sha256: vec!["12".repeat(32)],
        };
        let policy = serde_json::to_string(&policy_info(&choices).expect("policy")).expect("json");
        let json = format!(
            r#"{{"launch_configurations":[{{"vcpus":1,"vcpu_type":"EPYC-v4","launch_digest":"{}"}}],"policy":{policy}}}"#,
            "ab".repeat(48)
        );
        let m = appliance_manifest::Manifest::from_json(json.as_bytes()).expect("parses");
        assert_eq!(m.policy.guest_policy, 0x30000);
        assert_eq!(m.policy.min_tcb.get(&Generation::Milan), Some(&tcb));
        assert_eq!(m.policy.min_tcb.len(), 1);
        assert_eq!(m.policy.runtime_config_sha256, vec![[0x12; 32]]);
        assert!(!m.policy.vlek_allowed);

        let twice = VerifierChoices {
            min_tcb: vec![(Generation::Milan, tcb), (Generation::Milan, tcb)],
            ..choices
        };
        assert!(policy_info(&twice).is_err());
    }
}
