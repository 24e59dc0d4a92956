/// Why the transport (the GHCB guest request) did not deliver a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The hypervisor reported BUSY: resend the same bytes.
    #[error("guest request busy")]
    Busy,
    /// Anything else; `code` is SW_EXITINFO2 (VMM error << 32 | firmware
    /// error) or 0 when there is none.
    #[error("guest request failed (exit info 0x{code:x})")]
    Failed { code: u64 },
}

/// A response header field that did not have the required value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderField {
    Algo,
    HeaderVersion,
    HeaderSize,
    MessageType,
    MessageVersion,
    MessageSize,
    Vmpck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    /// Secrets page version below 2.
    #[error("secrets page version {0} (need 2 or later)")]
    SecretsVersion(u32),
    /// VMPCK0 is all zero (not provisioned, or wiped by an earlier stage).
    #[error("VMPCK0 is all zero")]
    ZeroVmpck,
    /// VMPCK0 is all 0xFF: the secrets page was taken (and wiped) before.
    #[error("VMPCK0 is the wipe pattern: the secrets page was already taken")]
    WipedVmpck,
    /// The key was wiped after a failure; no more requests.
    #[error("VMPCK0 was wiped after an earlier failure")]
    KeyWiped,
    /// The 32-bit sequence counter would overflow.
    #[error("message sequence number exhausted")]
    SequenceExhausted,
    #[error("transport: {0}")]
    Transport(TransportError),
    /// The response is shorter than its header or its `msg_sz`.
    #[error("response truncated ({len} bytes)")]
    Truncated { len: usize },
    #[error("response header {field:?} has unexpected value 0x{value:x}")]
    BadHeader { field: HeaderField, value: u32 },
    #[error("response sequence number {got}, expected {expected}")]
    BadSequence { expected: u64, got: u64 },
    /// AES-GCM authentication failed.
    #[error("response authentication tag mismatch")]
    BadTag,
    /// MSG_REPORT_RSP status other than 0.
    #[error("report request status 0x{0:x}")]
    FirmwareStatus(u32),
    #[error("report size {0}, expected 1184")]
    BadReportSize(u32),
    /// The report does not carry the REPORT_DATA that was asked for.
    #[error("report carries different REPORT_DATA")]
    ReportDataMismatch,
}
