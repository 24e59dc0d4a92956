//! The measurement allow-list from image-builder's `manifest.json`: every
//! `launch_configurations[].launch_digest` (one per vCPU count and type the
//! launcher accepts).

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

#[derive(Deserialize)]
struct Wire {
    launch_configurations: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    launch_digest: String,
}

/// The distinct launch digests of the manifest at `path`; an error if there
/// are none or one is not 96 hex digits (fail closed on a broken manifest).
pub fn load(path: &Path) -> Result<Vec<[u8; 48]>, Error> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&text).map_err(|detail| Error::Manifest {
        path: path.to_path_buf(),
        detail,
    })
}

fn parse(text: &[u8]) -> Result<Vec<[u8; 48]>, String> {
    let wire: Wire = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let mut out: Vec<[u8; 48]> = Vec::new();
    for entry in &wire.launch_configurations {
        let digest =
            snp_verify::parse_measurement(&entry.launch_digest).map_err(|e| e.to_string())?;
        if !out.contains(&digest) {
            out.push(digest);
        }
    }
    if out.is_empty() {
        return Err("no launch_configurations".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_deduplicated_and_validated() {
        let a = "ab".repeat(48);
        let json = format!(
            r#"{{"launch_configurations":[{{"vcpus":1,"launch_digest":"{a}"}},{{"launch_digest":"{a}"}}],"policy":{{}}}}"#
        );
        assert_eq!(parse(json.as_bytes()), Ok(vec![[0xab; 48]]));
        assert!(parse(br#"{"launch_configurations":[]}"#).is_err());
        assert!(parse(br#"{"launch_configurations":[{"launch_digest":"abc"}]}"#).is_err());
        assert!(parse(b"{}").is_err());
    }
}
