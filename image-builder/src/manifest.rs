//! `manifest.json`: the reference values a verifier needs, written next to
//! the image. Everything in it is derived from the image bytes and the
//! toolchain, so it is reproducible too.

use serde::Serialize;
use snp_measure::{launch_digest, Hex, LaunchConfig, VcpuType, DEFAULT_GUEST_FEATURES};

/// Launch configurations whose digests the manifest lists (the SNP launcher
/// refuses any other). vCPU models as named by QEMU and sev-snp-measure.
pub const VCPU_COUNTS: [u32; 3] = [1, 2, 4];
pub const VCPU_TYPES: [&str; 3] = ["EPYC-v4", "EPYC-Milan", "EPYC-Genoa"];
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

#[derive(Serialize)]
pub struct PolicyInfo {
    pub guest_policy: String,
    pub debug_allowed: bool,
    pub migration_agent_allowed: bool,
    pub required_vmpl: u32,
}

pub fn build(
    image: &[u8],
    file: &str,
    sha256: String,
    toolchain: String,
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
                launch_digest: Hex(&digest).to_string(),
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
        policy: PolicyInfo {
            guest_policy: format!("{GUEST_POLICY:#x}"),
            debug_allowed: false,
            migration_agent_allowed: false,
            required_vmpl: 0,
        },
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
