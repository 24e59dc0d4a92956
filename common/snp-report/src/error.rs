/// Why 1184 bytes are not an attestation report this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is not exactly [`crate::REPORT_LEN`] bytes.
    #[error("attestation report is {0} bytes, expected 1184")]
    Length(usize),
    /// VERSION is not one of [`crate::SUPPORTED_VERSIONS`].
    #[error("attestation report version {0} is not supported (2..=5)")]
    UnsupportedVersion(u32),
    /// A version-3+ report names a CPUID family whose TCB layout is unknown.
    #[error("CPUID family {0:#04x} has no known TCB layout")]
    UnknownCpuFamily(u8),
    /// A reserved byte at this offset is not zero.
    #[error("reserved byte at {0:#05x} is not zero")]
    ReservedNonZero(usize),
}
