use core::fmt;

/// Why the transport (the GHCB guest request) did not deliver a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The hypervisor reported BUSY: resend the same bytes.
    Busy,
    /// Anything else; `code` is SW_EXITINFO2 (VMM error << 32 | firmware
    /// error) or 0 when there is none.
    Failed { code: u64 },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy => f.write_str("guest request busy"),
            Self::Failed { code } => write!(f, "guest request failed (exit info 0x{code:x})"),
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestError {
    /// Secrets page version below 2.
    SecretsVersion(u32),
    /// VMPCK0 is all zero (not provisioned, or wiped by an earlier stage).
    ZeroVmpck,
    /// The key was wiped after a failure; no more requests.
    KeyWiped,
    /// A request is outstanding; finish it (response or failure) first.
    RequestPending,
    /// A response arrived with no request outstanding.
    NoPendingRequest,
    /// The 32-bit sequence counter would overflow.
    SequenceExhausted,
    Transport(TransportError),
    /// The response is shorter than its header or its `msg_sz`.
    Truncated {
        len: usize,
    },
    BadHeader {
        field: HeaderField,
        value: u32,
    },
    BadSequence {
        expected: u64,
        got: u64,
    },
    /// AES-GCM authentication failed.
    BadTag,
    /// MSG_REPORT_RSP status other than 0.
    FirmwareStatus(u32),
    BadReportSize(u32),
    /// The report does not carry the REPORT_DATA that was asked for.
    ReportDataMismatch,
}

impl fmt::Display for AttestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretsVersion(v) => write!(f, "secrets page version {v} (need 2 or later)"),
            Self::ZeroVmpck => f.write_str("VMPCK0 is all zero"),
            Self::KeyWiped => f.write_str("VMPCK0 was wiped after an earlier failure"),
            Self::RequestPending => f.write_str("a guest request is already outstanding"),
            Self::NoPendingRequest => f.write_str("response without an outstanding request"),
            Self::SequenceExhausted => f.write_str("message sequence number exhausted"),
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::Truncated { len } => write!(f, "response truncated ({len} bytes)"),
            Self::BadHeader { field, value } => {
                write!(
                    f,
                    "response header {field:?} has unexpected value 0x{value:x}"
                )
            }
            Self::BadSequence { expected, got } => {
                write!(f, "response sequence number {got}, expected {expected}")
            }
            Self::BadTag => f.write_str("response authentication tag mismatch"),
            Self::FirmwareStatus(s) => write!(f, "report request status 0x{s:x}"),
            Self::BadReportSize(n) => write!(f, "report size {n}, expected 1184"),
            Self::ReportDataMismatch => f.write_str("report carries different REPORT_DATA"),
        }
    }
}
