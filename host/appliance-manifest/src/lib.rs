//! The reference values from image-builder's `manifest.json`: every
//! `launch_configurations[].launch_digest` (with its vCPU count and type),
//! the verifier policy ([`policy`]: guest policy, minimum TCB per
//! generation, report version, VLEK, allowed runtime configurations), and
//! the model digest when the image is pinned to one (`model.sha384`, or a
//! top-level `model_sha384`). The key broker and the client both read all
//! of it here and build their snp-verify policy from it the same way.
//! image-builder writes the file with the same types ([`schema`]).
#![forbid(unsafe_code)]

pub mod policy;
pub mod schema;

pub use policy::{ManifestPolicy, Stricter, VerifierPolicy};
pub use schema::ManifestFile;

use std::path::Path;

/// One launch the manifest allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchConfiguration {
    pub vcpus: Option<u32>,
    pub vcpu_type: Option<String>,
    pub launch_digest: [u8; 48],
}

impl LaunchConfiguration {
    /// E.g. `EPYC-Milan, 2 vCPUs`.
    pub fn label(&self) -> String {
        let kind = self.vcpu_type.as_deref().unwrap_or("vCPU type not named");
        match self.vcpus {
            Some(1) => format!("{kind}, 1 vCPU"),
            Some(n) => format!("{kind}, {n} vCPUs"),
            None => kind.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub launch_configurations: Vec<LaunchConfiguration>,
    /// The SNP guest policy the launcher sets; the report's POLICY must equal it.
    pub guest_policy: u64,
    /// The whole verifier policy (`guest_policy` is repeated in it).
    pub policy: ManifestPolicy,
    /// SHA-384 of the model the image is pinned to, if any.
    pub model_sha384: Option<[u8; 48]>,
}

fn digest(field: &str, hex: &str) -> Result<[u8; 48], String> {
    snp_verify::parse_measurement(hex).map_err(|e| format!("{field}: {e}"))
}

impl Manifest {
    /// Reads and checks `path`; a broken manifest is an error (fail closed).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_json(text: &[u8]) -> Result<Self, String> {
        let wire: ManifestFile = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        let mut launch_configurations = Vec::new();
        for entry in wire.launch_configurations {
            launch_configurations.push(LaunchConfiguration {
                launch_digest: digest("launch_digest", &entry.launch_digest)?,
                vcpus: entry.vcpus,
                vcpu_type: entry.vcpu_type,
            });
        }
        if launch_configurations.is_empty() {
            return Err("no launch_configurations".into());
        }
        let nested = wire
            .model
            .map(|m| digest("model.sha384", &m.sha384))
            .transpose()?;
        let flat = wire
            .model_sha384
            .map(|m| digest("model_sha384", &m))
            .transpose()?;
        let model_sha384 = match (nested, flat) {
            (Some(a), Some(b)) if a != b => {
                return Err("model.sha384 and model_sha384 differ".into())
            }
            (a, b) => a.or(b),
        };
        let policy = wire.policy.parse()?;
        Ok(Self {
            launch_configurations,
            guest_policy: policy.guest_policy,
            policy,
            model_sha384,
        })
    }

    /// The distinct allowed measurements.
    pub fn measurements(&self) -> Vec<[u8; 48]> {
        let mut out: Vec<[u8; 48]> = Vec::new();
        for c in &self.launch_configurations {
            if !out.contains(&c.launch_digest) {
                out.push(c.launch_digest);
            }
        }
        out
    }

    /// The verifier policy of this manifest tightened by `cli`.
    pub fn verifier_policy(&self, cli: &Stricter) -> Result<VerifierPolicy, String> {
        self.policy.tighten(self.measurements(), cli)
    }

    /// The launch configurations whose digest is `measurement`.
    pub fn matching(&self, measurement: &[u8; 48]) -> Vec<&LaunchConfiguration> {
        self.launch_configurations
            .iter()
            .filter(|c| &c.launch_digest == measurement)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_image_builder_manifests() {
        let a = "ab".repeat(48);
        let json = format!(
            r#"{{"format_version":1,"launch_configurations":[
                {{"vcpus":1,"vcpu_type":"EPYC-v4","guest_features":"0x1","launch_digest":"{a}"}},
                {{"vcpus":2,"vcpu_type":"EPYC-v4","launch_digest":"{a}"}}],
               "policy":{{"guest_policy":"0x30000","debug_allowed":false}},
               "model":{{"sha384":"{}"}}}}"#,
            "cd".repeat(48)
        );
        let m = Manifest::from_json(json.as_bytes()).expect("parses");
        assert_eq!(m.guest_policy, 0x30000);
        assert_eq!(m.measurements(), vec![[0xab; 48]]);
        assert_eq!(m.matching(&[0xab; 48]).len(), 2);
        assert_eq!(m.launch_configurations[1].label(), "EPYC-v4, 2 vCPUs");
        assert_eq!(m.model_sha384, Some([0xcd; 48]));
    }

    #[test]
    fn broken_manifests_are_errors() {
        let a = "ab".repeat(48);
        let with = |policy: &str, extra: &str| {
            format!(
                r#"{{"launch_configurations":[{{"launch_digest":"{a}"}}],"policy":{{"guest_policy":{policy}}}{extra}}}"#
            )
        };
        assert_eq!(
            Manifest::from_json(with("196608", "").as_bytes()).map(|m| m.guest_policy),
            Ok(0x30000)
        );
        for bad in [
            with("\"0xzz\"", ""),
            with("true", ""),
            with("\"0x30000\"", r#","model_sha384":"12""#),
            r#"{"launch_configurations":[],"policy":{"guest_policy":"0x1"}}"#.to_string(),
            format!(r#"{{"launch_configurations":[{{"launch_digest":"{a}"}}]}}"#),
            with(
                "\"0x1\"",
                &format!(
                    r#","model":{{"sha384":"{}"}},"model_sha384":"{}""#,
                    "00".repeat(48),
                    "01".repeat(48)
                ),
            ),
        ] {
            assert!(Manifest::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
