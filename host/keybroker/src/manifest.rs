//! The measurement allow-list from image-builder's `manifest.json`: every
//! `launch_configurations[].launch_digest` (one per vCPU count and type the
//! launcher accepts).

use std::path::Path;

use appliance_manifest::Manifest;

use crate::error::Error;

/// The distinct launch digests of the manifest at `path`; an error if there
/// are none or the manifest is broken (fail closed). The reader is shared
/// with the client (host/appliance-manifest).
pub fn load(path: &Path) -> Result<Vec<[u8; 48]>, Error> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&text).map_err(|detail| Error::Manifest {
        path: path.to_path_buf(),
        detail,
    })
}

fn parse(text: &[u8]) -> Result<Vec<[u8; 48]>, String> {
    Ok(Manifest::from_json(text)?.measurements())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_deduplicated_and_validated() {
        let a = "ab".repeat(48);
        let json = format!(
            r#"{{"launch_configurations":[{{"vcpus":1,"launch_digest":"{a}"}},{{"launch_digest":"{a}"}}],"policy":{{"guest_policy":"0x30000"}}}}"#
        );
        assert_eq!(parse(json.as_bytes()), Ok(vec![[0xab; 48]]));
        assert!(parse(br#"{"launch_configurations":[]}"#).is_err());
        assert!(parse(br#"{"launch_configurations":[{"launch_digest":"abc"}]}"#).is_err());
        assert!(parse(b"{}").is_err());
    }
}
