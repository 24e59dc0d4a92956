//! What `verify` found, for people ([`Summary::lines`]) and for scripts
//! (`--json`: the same struct serialised).

use serde::Serialize;
use serving_api::document::BootEvent;
use sha2::{Digest, Sha256};

use super::{Check, Verdict};
use crate::keys::KeyConfig;
use crate::manifest::Manifest;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnpSummary {
    /// Processor generation whose pinned AMD chain endorsed the key.
    pub generation: String,
    /// `VCEK` or `VLEK`.
    pub signing_key: String,
    /// Where the VCEK/VLEK came from.
    pub vek_source: String,
    pub report_version: u32,
    pub vmpl: u32,
    pub reported_tcb: String,
    pub min_tcb: String,
    pub chip_id: String,
    /// Equal to the runtime configuration's SHA-256.
    pub host_data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    pub key_id: u8,
    pub suite: String,
    pub public_key: String,
    /// SHA-256 of the whole `application/ohttp-keys` body.
    pub keys_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub url: String,
    /// `snp` or `sample`.
    pub tee: String,
    /// True when unsigned sample evidence was accepted.
    pub insecure: bool,
    pub measurement: String,
    /// The manifest's launch configurations with this measurement.
    pub launch_configurations: Vec<String>,
    /// The report's POLICY (equal to the manifest's); none for sample.
    pub guest_policy: Option<String>,
    pub snp: Option<SnpSummary>,
    pub key: KeySummary,
    pub boot_log: Vec<BootEvent>,
    /// The manifest's model digest, found in the boot log.
    pub model_sha384: Option<String>,
    /// `ok`: REPORT_DATA binds the key configuration and boot log.
    pub binding: String,
    /// SHA-256 of the runtime configuration the appliance accepted (the
    /// boot log's `runtime-config`; HOST_DATA under SNP).
    pub runtime_config_sha256: String,
    /// Every check, with the value found and the value compared against.
    pub checks: Vec<Check>,
    /// Checks the command line made stricter than the manifest.
    pub stricter: Vec<String>,
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        url: &str,
        manifest: &Manifest,
        verdict: &Verdict,
        insecure: bool,
        key: &KeyConfig,
        keys_body: &[u8],
        boot_log: &[BootEvent],
        model_sha384: Option<String>,
        runtime_config: &[u8; 32],
        stricter: &[String],
    ) -> Self {
        Self {
            url: url.to_string(),
            tee: verdict.tee.to_string(),
            insecure: verdict.snp.is_none() && insecure,
            measurement: hex::encode(verdict.measurement),
            launch_configurations: manifest
                .matching(&verdict.measurement)
                .iter()
                .map(|c| c.label())
                .collect(),
            guest_policy: verdict.guest_policy.map(|p| format!("{p:#x}")),
            snp: verdict.snp.clone(),
            key: KeySummary {
                key_id: key.key_id,
                suite: "X25519 / HKDF-SHA256 / AES-128-GCM".into(),
                public_key: hex::encode(key.public_key),
                keys_sha256: hex::encode(Sha256::digest(keys_body)),
            },
            boot_log: boot_log.to_vec(),
            model_sha384,
            binding: "ok".into(),
            runtime_config_sha256: hex::encode(runtime_config),
            checks: verdict.checks.clone(),
            stricter: stricter.to_vec(),
        }
    }

    /// The readable summary `verify` prints.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("appliance: {}", self.url)];
        match &self.snp {
            Some(s) => out.push(format!(
                "tee: snp (AMD SEV-SNP {}, report signed by a {} from the {}, chain to the pinned AMD root)",
                s.generation, s.signing_key, s.vek_source
            )),
            None => out.push("tee: sample (UNSIGNED, accepted only because of --insecure)".into()),
        }
        out.push(format!("measurement: {}", self.measurement));
        out.push(format!(
            "launch configuration: {} (manifest)",
            self.launch_configurations.join("; ")
        ));
        match (&self.guest_policy, &self.snp) {
            (Some(p), Some(s)) => out.push(format!(
                "policy: {p} (the manifest's guest_policy; no debug, no migration agent; VMPL {})",
                s.vmpl
            )),
            _ => out.push("policy: none (sample evidence has no policy)".into()),
        }
        if let Some(s) = &self.snp {
            out.push(format!("tcb: {} (minimum {})", s.reported_tcb, s.min_tcb));
            out.push(format!(
                "report: version {}, chip id {}",
                s.report_version,
                s.chip_id.get(..16).unwrap_or(&s.chip_id)
            ));
        }
        out.push(format!(
            "key: id {}, {}, ohttp-keys sha256 {}",
            self.key.key_id, self.key.suite, self.key.keys_sha256
        ));
        if self.boot_log.is_empty() {
            out.push("boot log: (empty)".into());
        }
        for e in &self.boot_log {
            let pinned = self
                .model_sha384
                .as_deref()
                .filter(|m| e.event == "model" && e.digest.eq_ignore_ascii_case(m))
                .map(|_| " (the manifest's model)")
                .unwrap_or_default();
            out.push(format!(
                "boot log: {} {} {}{pinned}",
                e.event, e.algorithm, e.digest
            ));
        }
        out.push(format!(
            "binding: {} (REPORT_DATA commits to these keys and this boot log)",
            self.binding
        ));
        out.push(format!(
            "config: sha256 {}{}",
            self.runtime_config_sha256,
            if self.snp.is_some() {
                " (= HOST_DATA)"
            } else {
                " (boot log only: sample evidence has no HOST_DATA)"
            }
        ));
        for c in &self.checks {
            out.push(format!(
                "check {}: ok: {} (expected {})",
                c.check, c.found, c.expected
            ));
        }
        for note in &self.stricter {
            out.push(note.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snp_lines_name_the_chain_policy_and_tcb() {
        let m = "ab".repeat(48);
        let manifest = Manifest::from_json(
            format!(
                r#"{{"launch_configurations":[{{"vcpus":4,"vcpu_type":"EPYC-Genoa","launch_digest":"{m}"}}],"policy":{{"guest_policy":"0x30000"}}}}"#
            )
            .as_bytes(),
        )
        .expect("manifest");
        let verdict = Verdict {
            tee: "snp",
            measurement: [0xab; 48],
            guest_policy: Some(0x30000),
            snp: Some(SnpSummary {
                generation: "Genoa".into(),
                signing_key: "VCEK".into(),
                vek_source: "attestation document".into(),
                report_version: 3,
                vmpl: 0,
                reported_tcb: "bl=9 tee=0 snp=21 ucode=72".into(),
                min_tcb: "bl=9 tee=0 snp=20 ucode=70".into(),
                chip_id: "0c".repeat(64),
                host_data: "77".repeat(32),
            }),
            checks: vec![Check::new("guest-policy", "0x30000", "0x30000 (manifest)")],
        };
        let key = KeyConfig {
            key_id: 7,
            public_key: [1; 32],
            suites: vec![(1, 1)],
        };
        let s = Summary::new(
            "http://127.0.0.1:1",
            &manifest,
            &verdict,
            false,
            &key,
            b"k",
            &[],
            None,
            &[0x77; 32],
            &["stricter: report version at least 4".to_string()],
        );
        let text = s.lines().join("\n");
        for want in [
            "tee: snp (AMD SEV-SNP Genoa, report signed by a VCEK from the attestation document",
            "launch configuration: EPYC-Genoa, 4 vCPUs (manifest)",
            "policy: 0x30000 (the manifest's guest_policy; no debug, no migration agent; VMPL 0)",
            "tcb: bl=9 tee=0 snp=21 ucode=72 (minimum bl=9 tee=0 snp=20 ucode=70)",
            &format!("config: sha256 {} (= HOST_DATA)", "77".repeat(32)),
            "check guest-policy: ok: 0x30000 (expected 0x30000 (manifest))",
            "stricter: report version at least 4",
            "key: id 7,",
            "binding: ok",
        ] {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
        assert!(!s.insecure);
    }
}
