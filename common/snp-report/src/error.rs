use core::fmt;

/// Why 1184 bytes are not an attestation report this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The input is not exactly [`crate::REPORT_LEN`] bytes.
    Length(usize),
    /// VERSION is not one of [`crate::SUPPORTED_VERSIONS`].
    UnsupportedVersion(u32),
    /// A version-3+ report names a CPUID family whose TCB layout is unknown.
    UnknownCpuFamily(u8),
    /// A reserved byte at this offset is not zero.
    ReservedNonZero(usize),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(n) => write!(f, "attestation report is {n} bytes, expected 1184"),
            Self::UnsupportedVersion(v) => {
                write!(f, "attestation report version {v} is not supported (2..=5)")
            }
            Self::UnknownCpuFamily(fam) => {
                write!(f, "CPUID family {fam:#04x} has no known TCB layout")
            }
            Self::ReservedNonZero(off) => write!(f, "reserved byte at {off:#05x} is not zero"),
        }
    }
}

impl core::error::Error for ParseError {}
