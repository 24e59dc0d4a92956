//! KBS resource paths: `<repository>/<type>/<tag>`.
//!
//! Same rule as Trustee's `ResourceDesc` (kbs/src/plugins/implementations/
//! resource/backend.rs): three segments, each `[A-Za-z0-9_-][A-Za-z0-9_.-]*`.
//! The broker uses it to reject traversal (`..`) and odd names; the guest uses
//! it to build the request URL.

use alloc::format;
use alloc::string::String;
use core::fmt;

use crate::error::ResourcePathError;
use crate::types::KBS_PREFIX;

/// A validated resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    repository: String,
    kind: String,
    tag: String,
}

impl ResourcePath {
    /// Parses `repository/type/tag`.
    pub fn parse(path: &str) -> Result<Self, ResourcePathError> {
        let mut parts = path.split('/');
        let (Some(repository), Some(kind), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ResourcePathError::SegmentCount);
        };
        for segment in [repository, kind, tag] {
            check_segment(segment)?;
        }
        Ok(Self {
            repository: repository.into(),
            kind: kind.into(),
            tag: tag.into(),
        })
    }

    /// The repository segment (the broker maps segments to files).
    #[cfg(feature = "broker")]
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The type segment.
    #[cfg(feature = "broker")]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The tag segment.
    #[cfg(feature = "broker")]
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The HTTP path of `GET`: `/kbs/v0/resource/<repository>/<type>/<tag>`.
    pub fn url_path(&self) -> String {
        format!("{KBS_PREFIX}/resource/{self}")
    }
}

impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.repository, self.kind, self.tag)
    }
}

fn check_segment(segment: &str) -> Result<(), ResourcePathError> {
    match segment.as_bytes().first() {
        None | Some(b'.') => return Err(ResourcePathError::BadStart),
        Some(_) => {}
    }
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    if segment.as_bytes().iter().all(allowed) {
        Ok(())
    } else {
        Err(ResourcePathError::BadCharacter)
    }
}
