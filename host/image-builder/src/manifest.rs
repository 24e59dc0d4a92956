//! `manifest.json`: the reference values a verifier needs, written next to
//! the image. Everything in it is derived from the image bytes and the
//! toolchain, so it is reproducible too.

use std::collections::BTreeMap;

use appliance_manifest::schema::{ImageInfo, LaunchEntry, ManifestFile, PolicyInfo};
use appliance_manifest::ManifestPolicy;
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

/// The operator's verifier choices (`build --min-tcb ... --config-sha256 ...`).
#[derive(Debug, Clone, Default)]
pub struct VerifierChoices {
    pub min_tcb: Vec<(Generation, TcbVersion)>,
    pub min_report_version: u32,
    pub allow_vlek: bool,
    /// SHA-256 digests of the allowed runtime configurations.
    pub runtime_config_sha256: Vec<[u8; 32]>,
}

/// The `policy` object; an error if a generation is given twice.
pub fn policy_info(choices: &VerifierChoices) -> Result<PolicyInfo, String> {
    let mut min_tcb = BTreeMap::new();
    for (generation, t) in &choices.min_tcb {
        if min_tcb.insert(*generation, *t).is_some() {
            return Err(format!("--min-tcb names {generation} twice"));
        }
    }
    Ok(PolicyInfo::from_policy(&ManifestPolicy {
        guest_policy: GUEST_POLICY,
        min_tcb,
        min_report_version: choices.min_report_version,
        vlek_allowed: choices.allow_vlek,
        runtime_config_sha256: choices.runtime_config_sha256.clone(),
    }))
}

pub fn build(
    image: &[u8],
    file: &str,
    sha256: String,
    toolchain: String,
    choices: &VerifierChoices,
) -> Result<ManifestFile, String> {
    let mut launch_configurations = Vec::new();
    for vcpu_type in VCPU_TYPES {
        let kind = VcpuType::from_name(vcpu_type)
            .ok_or_else(|| format!("unknown vCPU type {vcpu_type}"))?;
        for vcpus in VCPU_COUNTS {
            let digest =
                launch_digest(image, &LaunchConfig::new(vcpus, kind)).map_err(|e| e.to_string())?;
            launch_configurations.push(LaunchEntry {
                vcpus: Some(vcpus),
                vcpu_type: Some(vcpu_type.to_string()),
                guest_features: Some(format!("{DEFAULT_GUEST_FEATURES:#x}")),
                launch_digest: hex::encode(digest),
            });
        }
    }
    Ok(ManifestFile {
        format_version: Some(1),
        image: Some(ImageInfo {
            file: file.to_string(),
            size: image.len() as u64,
            sha256,
        }),
        toolchain: Some(toolchain),
        launch_configurations,
        policy: policy_info(choices)?,
        not_covered_by_digest: [
            "POLICY",
            "HOST_DATA",
            "REPORTED_TCB",
            "VMPL",
            "REPORT_DATA",
            "CHIP_ID",
        ]
        .map(String::from)
        .to_vec(),
        model: None,
        model_sha384: None,
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
            runtime_config_sha256: vec![[0x12; 32]],
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
