//! Stable reason codes for refusals: snp-verify's codes for the evidence,
//! and the broker's own for the protocol.

use std::fmt;

use snp_verify::ReasonCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The SNP verifier (or the sample check, which reuses `measurement` and
    /// `report-data`) refused the evidence.
    Verify(ReasonCode),
    /// The body is not the expected JSON, or uses something we do not
    /// support (init-data, a non-EC TEE key).
    BadRequest,
    /// KBS protocol version other than 0.4.0.
    Version,
    /// A TEE type other than `snp` or `sample`.
    Tee,
    /// `sample` without `--insecure-allow-sample`.
    SampleRefused,
    /// No cookie, or an unknown session id.
    NoSession,
    /// The session outlived `--session-ttl-secs`.
    SessionExpired,
    /// The session's nonce was already used by an attest.
    NonceReplayed,
    /// The nonce is older than `--nonce-ttl-secs`.
    NonceExpired,
    /// runtime-data.nonce is not this session's nonce.
    NonceMismatch,
    /// `tee-pubkey` is not a usable P-256 ECDH-ES+A256KW key.
    TeePubkey,
    /// A resource request on a session that has not attested.
    NotAttested,
    /// A bearer token that is malformed, not signed by this broker process
    /// (forged or foreign), or binds no usable TEE key.
    Token,
    /// A bearer token past its `exp`.
    TokenExpired,
    /// Bad resource path or no such resource (one code, so paths cannot be
    /// probed).
    NoResource,
    /// Too many attested sessions.
    SessionLimit,
    /// `/auth` faster than the per-peer rate.
    AuthRate,
    /// The resource is bound to other measurements than the session's.
    ResourceMeasurement,
    /// A path or method the broker does not serve.
    NoRoute,
    /// Reading or encrypting the resource failed on our side.
    Internal,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify(code) => code.as_str(),
            Self::BadRequest => "bad-request",
            Self::Version => "version",
            Self::Tee => "tee",
            Self::SampleRefused => "sample-refused",
            Self::NoSession => "no-session",
            Self::SessionExpired => "session-expired",
            Self::NonceReplayed => "nonce-replayed",
            Self::NonceExpired => "nonce-expired",
            Self::NonceMismatch => "nonce-mismatch",
            Self::TeePubkey => "tee-pubkey",
            Self::NotAttested => "not-attested",
            Self::Token => "token",
            Self::TokenExpired => "token-expired",
            Self::NoResource => "no-resource",
            Self::SessionLimit => "session-limit",
            Self::AuthRate => "auth-rate",
            Self::ResourceMeasurement => "resource-measurement",
            Self::NoRoute => "no-route",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal on its way to the log and a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub reason: Reason,
    pub detail: String,
    /// The session's log number, when one is known.
    pub session: Option<u64>,
}

impl Refused {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            session: None,
        }
    }

    pub fn in_session(mut self, number: u64) -> Self {
        self.session = Some(number);
        self
    }
}

impl From<snp_verify::Refusal> for Refused {
    fn from(r: snp_verify::Refusal) -> Self {
        Self::new(Reason::Verify(r.reason), r.detail)
    }
}
