//! Why the client stopped. A [`Refusal`] is about the appliance's evidence
//! or answers (exit 1) unless its reason is [`Reason::Connection`] (exit 2);
//! a [`ClientError`] is about one encrypted request.

use std::fmt;

use snp_verify::ReasonCode;

/// Stable refusal reasons; [`Reason::as_str`] is what the CLI prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The appliance could not be reached, or its HTTP framing is broken, or
    /// a gateway in front of it (a fleet's balancer) answered 502/503/504.
    Connection,
    /// An endpoint answered with an unexpected status or media type.
    Endpoint,
    /// The attestation document is not the expected JSON.
    Document,
    /// The evidence names a TEE this client does not know.
    Tee,
    /// Unsigned sample evidence without `--insecure`.
    SampleRefused,
    /// `/.well-known/ohttp-gateway` differs from the document's `ohttp_keys`.
    KeysMismatch,
    /// No X25519 / HKDF-SHA256 / AES-128-GCM key configuration.
    KeyConfig,
    /// The evidence failed a check; SNP codes come from snp-verify
    /// (`guest-policy`: POLICY is not the manifest's; `host-data`: HOST_DATA
    /// is not the boot log's runtime configuration, or that configuration is
    /// not allowed), sample evidence uses `measurement` and `report-data` too.
    Evidence(ReasonCode),
    /// A command-line value would loosen the manifest's policy.
    Policy,
    /// The boot log lacks the manifest's model digest.
    Model,
    /// A fleet node's URL is off the balancer and absolute node URLs were
    /// not allowed (`--allow-absolute-node-urls`); nothing was sent to it.
    NodeUrl,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Endpoint => "endpoint",
            Self::Document => "document",
            Self::Tee => "tee",
            Self::SampleRefused => "sample-refused",
            Self::KeysMismatch => "keys-mismatch",
            Self::KeyConfig => "key-config",
            Self::Evidence(code) => code.as_str(),
            Self::Policy => "policy",
            Self::Model => "model",
            Self::NodeUrl => "node-url",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The appliance was not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub detail: String,
}

impl Refusal {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// A transport failure rather than a verdict on the evidence.
    pub fn is_connection(&self) -> bool {
        self.reason == Reason::Connection
    }
}

impl From<snp_verify::Refusal> for Refusal {
    fn from(r: snp_verify::Refusal) -> Self {
        Self::new(Reason::Evidence(r.reason), r.detail)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Refusal {}

/// An OpenAI-style error the appliance answered inside the encapsulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub message: String,
    pub kind: Option<String>,
    pub code: Option<String>,
}

/// One encrypted request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// Connecting, sending or receiving failed.
    Connection(String),
    /// The appliance no longer accepts the verified key configuration (RFC
    /// 9458 `ohttp-key` problem): its evidence must be verified again.
    KeyRejected,
    /// The gateway refused the request outside the encapsulation.
    Gateway { status: u16, detail: String },
    /// The appliance is up but cannot take the request now (503 with
    /// `Retry-After`, as the guest answers when its body budget or its
    /// sockets are full): worth a retry, elsewhere or later.
    Busy(String),
    /// Encapsulation, decapsulation or the inner message failed.
    Protocol(String),
    /// The appliance answered an OpenAI error.
    Api(ApiFailure),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connection(d) => write!(f, "connection: {d}"),
            Self::KeyRejected => f.write_str("the appliance no longer accepts the verified key"),
            Self::Gateway { status, detail } => write!(f, "gateway answered {status}: {detail}"),
            Self::Busy(d) => write!(f, "appliance busy (503, retry later): {d}"),
            Self::Protocol(d) => write!(f, "protocol: {d}"),
            Self::Api(a) => write!(f, "{} {}", a.status, a.message),
        }
    }
}

impl std::error::Error for ClientError {}
