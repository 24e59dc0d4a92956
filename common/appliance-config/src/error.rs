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
    /// Not valid JSON (or not UTF-8, or data after the object).
    #[error("appliance config: invalid JSON at line {line} column {column}: {}", Clean(.message))]
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    /// A key the schema does not have.
    #[error("appliance config: unknown key \"{}\" (expected {})", Clean(.key), Clean(.expected))]
    UnknownKey { key: String, expected: String },
    /// A required key is absent.
    #[error("appliance config: missing key \"{}\"", Clean(.key))]
    MissingKey { key: String },
    /// A key appears twice in the same object.
    #[error("appliance config: key \"{}\" appears more than once", Clean(.key))]
    DuplicateKey { key: String },
    /// A JSON value of the wrong kind where an object is required.
    #[error("appliance config: {}", Clean(.message))]
    NotAnObject { message: String },
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
    /// Turns serde's structural errors into typed ones. serde words them
    /// as "unknown field `k`, expected ...", "missing field `k`" and
    /// "duplicate field `k`" (serde::de::Error defaults); anything else
    /// stays a JSON error with its position.
    pub(crate) fn from_json(e: serde_json::Error) -> Self {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        // serde_json appends the position; strip it, it is kept separately.
        let message = match full.rfind(" at line ") {
            Some(at) if e.line() > 0 => full.get(..at).unwrap_or(&full).to_string(),
            _ => full.clone(),
        };
        if e.is_data() {
            if let Some(rest) = message.strip_prefix("unknown field `") {
                // The key is input and may hold anything; serde's list of
                // expected names after it never holds "`, expected ".
                if let Some((key, expected)) = rest.rsplit_once("`, expected ") {
                    return ConfigError::UnknownKey {
                        key: key.to_string(),
                        expected: expected.to_string(),
                    };
                }
            }
            if let Some(key) = quoted(&message, "missing field `") {
                return ConfigError::MissingKey { key };
            }
            if let Some(key) = quoted(&message, "duplicate field `") {
                return ConfigError::DuplicateKey { key };
            }
            if message.starts_with("invalid type") {
                return ConfigError::NotAnObject { message };
            }
        }
        ConfigError::Json {
            message,
            line,
            column,
        }
    }
}

fn quoted(message: &str, prefix: &str) -> Option<String> {
    message
        .strip_prefix(prefix)?
        .strip_suffix('`')
        .map(ToString::to_string)
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
