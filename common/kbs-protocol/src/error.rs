//! Error types of this crate.

/// Why a value has no canonical JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// NaN or an infinity (not representable in JSON / I-JSON).
    #[cfg(feature = "numbers")]
    #[error("number is not finite")]
    NonFiniteNumber,
    /// Internal number formatting failed.
    #[cfg(feature = "numbers")]
    #[error("number formatting failed")]
    Format,
    /// A number, in a build without feature `numbers`.
    #[error("numbers need feature `numbers` of kbs-protocol")]
    NumbersDisabled,
}

/// Why a KBS resource path was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResourcePathError {
    /// Not exactly `<repository>/<type>/<tag>`.
    #[error("resource path must be <repository>/<type>/<tag>")]
    SegmentCount,
    /// A segment is empty or starts with `.`.
    #[error("resource path segment is empty or starts with '.'")]
    BadStart,
    /// A segment contains a byte outside `[A-Za-z0-9_.-]`.
    #[error("resource path segment has a character outside [A-Za-z0-9_.-]")]
    BadCharacter,
}
