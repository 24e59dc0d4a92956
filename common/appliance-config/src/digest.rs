//! SHA-256 of the configuration file and its binding to SNP `HOST_DATA`.

use sha2::{Digest, Sha256};

use crate::ConfigError;

/// SHA-256 of `bytes` (the exact file bytes, as measured into the boot log).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks that the configuration file is the one the launcher bound into the
/// attestation report's 32-byte `HOST_DATA`; returns its digest. Both values
/// are public, so a plain comparison is fine.
pub fn check_host_data(config: &[u8], host_data: &[u8; 32]) -> Result<[u8; 32], ConfigError> {
    let digest = sha256(config);
    if &digest == host_data {
        Ok(digest)
    } else {
        Err(ConfigError::HostDataMismatch {
            digest,
            host_data: *host_data,
        })
    }
}
