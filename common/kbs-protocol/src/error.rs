//! Error types of this crate.

use core::fmt;

/// Why a value has no canonical JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanonicalError {
    /// NaN or an infinity (not representable in JSON / I-JSON).
    NonFiniteNumber,
    /// The value could not be converted to JSON.
    Serialize,
    /// Internal number formatting failed.
    Format,
}

impl fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFiniteNumber => f.write_str("number is not finite"),
            Self::Serialize => f.write_str("value cannot be serialised as JSON"),
            Self::Format => f.write_str("number formatting failed"),
        }
    }
}

impl core::error::Error for CanonicalError {}

/// Why a KBS resource path was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePathError {
    /// Not exactly `<repository>/<type>/<tag>`.
    SegmentCount,
    /// A segment is empty or starts with `.`.
    BadStart,
    /// A segment contains a byte outside `[A-Za-z0-9_.-]`.
    BadCharacter,
}

impl fmt::Display for ResourcePathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SegmentCount => f.write_str("resource path must be <repository>/<type>/<tag>"),
            Self::BadStart => f.write_str("resource path segment is empty or starts with '.'"),
            Self::BadCharacter => {
                f.write_str("resource path segment has a character outside [A-Za-z0-9_.-]")
            }
        }
    }
}

impl core::error::Error for ResourcePathError {}
