//! Errors of the commands (start-up, files, arguments). Refusals of
//! evidence are not errors: see [`crate::reason`].

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a usable manifest: {detail}", path.display())]
    Manifest { path: PathBuf, detail: String },
    #[error("policy: {0}")]
    Policy(String),
    #[error("resource path {path:?}: {source}")]
    ResourcePath {
        path: String,
        source: kbs_protocol::ResourcePathError,
    },
    #[error("{}: {detail}", path.display())]
    Permissions { path: PathBuf, detail: String },
    #[error("resource {0} already exists (pass --replace to overwrite it)")]
    ResourceExists(String),
    #[error("{}: {len} bytes is more than the {max}-byte limit", path.display())]
    TooLarge { path: PathBuf, len: u64, max: u64 },
    #[error("refusing to listen on {0}: not a loopback address (pass --allow-non-loopback)")]
    NonLoopback(SocketAddr),
    #[error("refusing to listen on {0} with --insecure-allow-sample: unsigned evidence is for loopback development only")]
    SampleNonLoopback(SocketAddr),
    #[error("server: {0}")]
    Server(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
