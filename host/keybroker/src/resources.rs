//! The resource store: `DIR/<repository>/<type>/<tag>`, one file per
//! resource holding its raw bytes (for the model key: the 32-byte key file
//! image-builder writes). DIR and its subdirectories are 0700, files 0600;
//! the server refuses to start on a DIR that group or others can enter.
//! Paths follow kbs-protocol's `ResourcePath` rule, so no `..` or `/` can
//! appear in a segment.
//!
//! Binding: `add-resource --measurement HEX` / `--manifest FILE` stores the
//! launch digests allowed to read a resource beside it, as
//! `DIR/<repository>/<type>/.<tag>.measurements` (JSON `{"measurements":
//! ["<96 hex>", ...]}`; tags never start with '.', so no resource path can
//! name it). A session attested with another measurement is refused. A
//! resource without that file can be read by every measurement the broker
//! accepts.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jwe::Zeroizing;
use kbs_protocol::ResourcePath;

use crate::error::Error;

/// Largest resource accepted (keys are tiny; this bounds memory per request).
pub const MAX_RESOURCE_LEN: u64 = 1 << 20;

fn file_path(root: &Path, path: &ResourcePath) -> PathBuf {
    root.join(path.repository())
        .join(path.kind())
        .join(path.tag())
}

fn binding_path(root: &Path, path: &ResourcePath) -> PathBuf {
    root.join(path.repository())
        .join(path.kind())
        .join(format!(".{}.measurements", path.tag()))
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingFile {
    measurements: Vec<String>,
}

/// Writes `bytes` to `target` through a temporary name in the same
/// directory (0600), so a reader never sees a partial file.
fn write_private(dir: &Path, target: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        out.write_all(bytes)?;
        out.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        out.sync_all()?;
        std::fs::rename(&temp, target)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(target, e)
    })
}

/// Refuses a directory that group or others can read or enter.
fn check_private(dir: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::Permissions {
            path: dir.to_path_buf(),
            detail: "not a directory".into(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Permissions {
            path: dir.to_path_buf(),
            detail: format!(
                "mode {mode:03o}: must not be accessible to group or others (chmod 700)"
            ),
        });
    }
    Ok(())
}

/// Creates `dir` as 0700 if missing (parents with default permissions).
fn make_private_dir(dir: &Path) -> Result<(), Error> {
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    // The umask can only remove bits; set exactly 0700 anyway.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(dir, e))
}

/// `keybroker add-resource`: stores `file`'s bytes as resource `path`,
/// readable only by `allowed` measurements when that is not empty (else by
/// any the broker accepts). Returns the file written.
pub fn add(
    root: &Path,
    path: &str,
    file: &Path,
    replace: bool,
    allowed: &[[u8; 48]],
) -> Result<PathBuf, Error> {
    let parsed = ResourcePath::parse(path).map_err(|source| Error::ResourcePath {
        path: path.to_string(),
        source,
    })?;
    let len = std::fs::metadata(file)
        .map_err(|e| Error::io(file, e))?
        .len();
    if len > MAX_RESOURCE_LEN {
        return Err(Error::TooLarge {
            path: file.to_path_buf(),
            len,
            max: MAX_RESOURCE_LEN,
        });
    }
    let bytes = Zeroizing::new(std::fs::read(file).map_err(|e| Error::io(file, e))?);

    make_private_dir(root)?;
    check_private(root)?;
    let repo_dir = root.join(parsed.repository());
    make_private_dir(&repo_dir)?;
    let kind_dir = repo_dir.join(parsed.kind());
    make_private_dir(&kind_dir)?;

    let target = file_path(root, &parsed);
    if target.exists() && !replace {
        return Err(Error::ResourceExists(parsed.to_string()));
    }
    // The binding first, so a new resource is never readable more widely
    // than intended; written under names no resource can have, then renamed.
    let binding = binding_path(root, &parsed);
    if allowed.is_empty() {
        match std::fs::remove_file(&binding) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&binding, e)),
        }
    } else {
        let mut list: Vec<String> = allowed.iter().map(hex::encode).collect();
        list.sort();
        list.dedup();
        let json = serde_json::to_vec(&BindingFile { measurements: list })
            .map_err(|e| Error::io(&binding, std::io::Error::other(e)))?;
        write_private(
            &kind_dir,
            &binding,
            &format!("{}.measurements", parsed.tag()),
            &json,
        )?;
    }
    write_private(&kind_dir, &target, parsed.tag(), &bytes)?;
    Ok(target)
}

/// The server's read-only view of the store.
pub struct Store {
    root: PathBuf,
}

/// Why a resource could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no such resource")]
    Missing,
    #[error("resource is larger than {MAX_RESOURCE_LEN} bytes")]
    TooLarge,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("binding file is not valid: {0}")]
    Binding(String),
}

impl Store {
    /// Opens `root`, which must exist and be private to the broker.
    pub fn open(root: &Path) -> Result<Self, Error> {
        check_private(root)?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The measurements allowed to read `path` (`None`: any the broker
    /// accepts), read fresh on each request.
    pub fn allowed(&self, path: &ResourcePath) -> Result<Option<Vec<[u8; 48]>>, ReadError> {
        let full = binding_path(&self.root, path);
        let bytes = match std::fs::read(&full) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ReadError::Io(e)),
        };
        let file: BindingFile =
            serde_json::from_slice(&bytes).map_err(|e| ReadError::Binding(e.to_string()))?;
        file.measurements
            .iter()
            .map(|m| {
                snp_verify::parse_measurement(m).map_err(|e| ReadError::Binding(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The bytes of resource `path`, read fresh on each request (so
    /// `add-resource` works while the server runs).
    pub fn read(&self, path: &ResourcePath) -> Result<Zeroizing<Vec<u8>>, ReadError> {
        let full = file_path(&self.root, path);
        let meta = match std::fs::metadata(&full) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Err(ReadError::Missing),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing),
            Err(e) => return Err(ReadError::Io(e)),
        };
        if meta.len() > MAX_RESOURCE_LEN {
            return Err(ReadError::TooLarge);
        }
        std::fs::read(&full)
            .map(Zeroizing::new)
            .map_err(ReadError::Io)
    }
}
