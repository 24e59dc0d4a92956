//! `manifest.json` as JSON: the one set of serde types that image-builder
//! writes and the verifiers read, so a field cannot be written one way and
//! read another. Values stay text here (hex digests, the guest policy as
//! written); [`crate::Manifest::from_json`] checks and decodes them.
//!
//! The reader is lenient where hand-written manifests (tests, operators)
//! leave things out: every member except `launch_configurations`,
//! `policy` and `policy.guest_policy` may be missing. Unknown members of
//! `policy` are refused, so a typo cannot weaken the policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole file. Members in the order image-builder writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    /// `rustc --version` of the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    pub launch_configurations: Vec<LaunchEntry>,
    pub policy: PolicyInfo,
    /// Report fields the launch digest does not cover; a verifier checks
    /// them separately.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_covered_by_digest: Vec<String>,
    /// The model the image is pinned to (`build --model-digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelInfo>,
    /// Older flat form of `model.sha384` (read only; must agree with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_sha384: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub file: String,
    pub size: u64,
    /// SHA-256 of the image file, 64 lowercase hex.
    pub sha256: String,
}

/// One launch the manifest allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// QEMU's `-cpu` name, e.g. `EPYC-Milan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpu_type: Option<String>,
    /// VMSA SEV_FEATURES as `0x...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_features: Option<String>,
    /// SNP launch digest, 96 hex.
    pub launch_digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// SHA-384 of the plain model blob, 96 lowercase hex.
    pub sha384: String,
}

/// The verifier policy both the key broker and the client enforce
/// ([`crate::policy`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInfo {
    /// `"0x30000"` as written; a decimal string or a JSON number is read too.
    pub guest_policy: serde_json::Value,
    #[serde(default)]
    pub debug_allowed: bool,
    #[serde(default)]
    pub migration_agent_allowed: bool,
    #[serde(default)]
    pub required_vmpl: u32,
    /// Missing: [`crate::policy::DEFAULT_MIN_REPORT_VERSION`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_report_version: Option<u32>,
    #[serde(default)]
    pub vlek_allowed: bool,
    /// Minimum REPORTED_TCB per generation (lower-case name); a generation
    /// not listed is refused by both verifiers.
    #[serde(default)]
    pub min_tcb: BTreeMap<String, TcbInfo>,
    /// Allowed SHA-256 of the runtime configuration (= HOST_DATA), 64 hex
    /// each; empty: any (the guest stops unless HOST_DATA is its
    /// configuration's digest).
    #[serde(default)]
    pub runtime_config_sha256: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcbInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmc: Option<u8>,
    pub bootloader: u8,
    pub tee: u8,
    pub snp: u8,
    pub microcode: u8,
}
