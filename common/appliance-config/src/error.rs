//! Why a configuration was refused. Messages name the key and are meant for
//! the boot console: input text is escaped before it is shown.

use alloc::string::{String, ToString};
use core::fmt;

/// A configuration that must stop boot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file exceeds [`crate::MAX_CONFIG_BYTES`].
    #[error(
        "appliance config: file is {len} bytes, more than the {} allowed",
        crate::MAX_CONFIG_BYTES
    )]
    TooLarge { len: usize },
    /// Not valid JSON (or not UTF-8, or data after the object), or a shape
    /// the schema refuses: an unknown, missing or repeated key, or another
    /// value where an object belongs. serde's message, which names the key
    /// ("unknown field `k`, expected ...", "missing field `k`", "duplicate
    /// field `k`"), ends with the line and column.
    #[error("appliance config: {}", Clean(.0))]
    Json(String),
    /// A key with a value outside its rule.
    #[error("appliance config: bad value for \"{key}\": {reason}")]
    BadValue {
        key: &'static str,
        reason: &'static str,
    },
    /// Under SNP: the file's SHA-256 is not the report's `HOST_DATA`.
    #[error("appliance config: SHA-256 {} does not match HOST_DATA {}", hex::encode(.digest), hex::encode(.host_data))]
    HostDataMismatch {
        digest: [u8; 32],
        host_data: [u8; 32],
    },
}

impl ConfigError {
    pub(crate) fn from_json(e: serde_json::Error) -> Self {
        ConfigError::Json(if e.is_data() {
            e.to_string()
        } else {
            alloc::format!("invalid JSON: {e}")
        })
    }
}

/// Shows input text with control characters escaped (no terminal escape
/// sequences from a hostile file reach the console).
struct Clean<'a>(&'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}
