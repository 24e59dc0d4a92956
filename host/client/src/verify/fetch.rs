//! The two `GET`s: the attestation document and the key configuration,
//! which must be the very bytes the document commits to.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use serving_api::document::{AttestationDocument, DOCUMENT_VERSION};

use crate::error::{Reason, Refusal};
use crate::http::{excerpt, has_media_type, Endpoint, Limits};

pub(super) struct Fetched {
    pub document: AttestationDocument,
    /// The `application/ohttp-keys` body (equal in both places).
    pub keys: Vec<u8>,
}

pub(super) const ATTESTATION_PATH: &str = "/v1/attestation";
pub(super) const KEYS_PATH: &str = "/.well-known/ohttp-gateway";
const KEYS_MEDIA_TYPE: &str = "application/ohttp-keys";
/// Either body's limit. The largest real document, SNP evidence with its
/// report (1184 bytes) and VCEK, ASK and ARK certificates (about 1.4 KB
/// DER each) in base64, plus keys and boot log, is about 10 KB. A fleet
/// verifies many nodes at once, so a hostile one must not make us buffer
/// much.
pub(super) const MAX_BODY_BYTES: usize = 64 << 10;

fn get(endpoint: &Endpoint, path: &str, timeout: Duration) -> Result<Vec<u8>, Refusal> {
    let limits = Limits {
        timeout,
        max_body_bytes: MAX_BODY_BYTES,
    };
    let response = endpoint
        .get(path, limits)
        .map_err(|e| Refusal::new(Reason::Connection, e))?;
    if response.status != 200 {
        // A balancer's 502/503/504 means the appliance behind it could not be
        // reached: no verdict on its evidence.
        let reason = if matches!(response.status, 502..=504) {
            Reason::Connection
        } else {
            Reason::Endpoint
        };
        return Err(Refusal::new(
            reason,
            format!(
                "GET {path} answered {}: {}",
                response.status,
                excerpt(&response.body)
            ),
        ));
    }
    if path == KEYS_PATH && !has_media_type(&response, KEYS_MEDIA_TYPE) {
        return Err(Refusal::new(
            Reason::Endpoint,
            format!("GET {path} is not {KEYS_MEDIA_TYPE}"),
        ));
    }
    Ok(response.body)
}

/// Just `evidence.tee` of a document (serde skips every other member
/// without building it), so an unknown TEE gets its own reason before the
/// strict parse.
#[derive(Deserialize)]
struct TeeOnly<'a> {
    #[serde(borrow)]
    evidence: Option<TeeName<'a>>,
}

#[derive(Deserialize)]
struct TeeName<'a> {
    /// Borrowed unless the JSON string has escapes.
    #[serde(borrow)]
    tee: Option<Cow<'a, str>>,
}

/// Parses the document: the TEE name first (so an unknown one gets its own
/// reason), then strictly (unknown fields are refused).
pub(super) fn parse_document(body: &[u8]) -> Result<AttestationDocument, Refusal> {
    let bad = |d: String| Refusal::new(Reason::Document, d);
    let peek: TeeOnly<'_> =
        serde_json::from_slice(body).map_err(|e| bad(format!("attestation document: {e}")))?;
    match peek.evidence.and_then(|e| e.tee).as_deref() {
        Some("snp" | "sample") => {}
        Some(other) => {
            let name: String = other.chars().take(32).collect();
            return Err(Refusal::new(
                Reason::Tee,
                format!(
                    "evidence for TEE {name:?}: this client knows snp (and sample with --insecure)"
                ),
            ));
        }
        None => return Err(bad("attestation document has no evidence.tee".into())),
    }
    let doc: AttestationDocument =
        serde_json::from_slice(body).map_err(|e| bad(format!("attestation document: {e}")))?;
    if doc.version != DOCUMENT_VERSION {
        return Err(bad(format!(
            "attestation document version {} (this client reads {DOCUMENT_VERSION})",
            doc.version
        )));
    }
    Ok(doc)
}

/// The `application/ohttp-keys` body the appliance serves now.
pub(super) fn keys(endpoint: &Endpoint, timeout: Duration) -> Result<Vec<u8>, Refusal> {
    get(endpoint, KEYS_PATH, timeout)
}

pub(super) fn fetch(endpoint: &Endpoint, timeout: Duration) -> Result<Fetched, Refusal> {
    let document = parse_document(&get(endpoint, ATTESTATION_PATH, timeout)?)?;
    let keys = document
        .ohttp_keys_bytes()
        .map_err(|e| Refusal::new(Reason::Document, e.to_string()))?;
    let served = get(endpoint, KEYS_PATH, timeout)?;
    if served != keys {
        return Err(Refusal::new(
            Reason::KeysMismatch,
            format!("{KEYS_PATH} serves other keys than the attestation document commits to"),
        ));
    }
    Ok(Fetched { document, keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_refusals() {
        let reason = |b: &str| parse_document(b.as_bytes()).expect_err(b).reason;
        assert_eq!(reason("{not json"), Reason::Document);
        assert_eq!(reason("[]"), Reason::Document);
        assert_eq!(
            reason(r#"{"version":1,"evidence":{"tee":"tdx"},"ohttp_keys":"","boot_log":[]}"#),
            Reason::Tee
        );
        assert_eq!(
            reason(
                r#"{"version":2,"evidence":{"tee":"snp","report":"","certificates":[]},"ohttp_keys":"","boot_log":[]}"#
            ),
            Reason::Document
        );
        assert_eq!(
            reason(
                r#"{"version":1,"evidence":{"tee":"snp","report":"","certificates":[]},"ohttp_keys":"","boot_log":[],"x":0}"#
            ),
            Reason::Document
        );
        // Only the name is read first: the rest is still parsed strictly.
        assert_eq!(
            reason(r#"{"version":1,"evidence":{"tee":"sn\u0070","x":1},"boot_log":7}"#),
            Reason::Document
        );
        assert_eq!(
            reason(r#"{"version":1,"evidence":{"tee":"t\u0064x"},"ohttp_keys":"","boot_log":[]}"#),
            Reason::Tee
        );
        assert_eq!(reason(r#"{"evidence":"snp"}"#), Reason::Document);
        assert_eq!(reason(r#"{"evidence":{"tee":1}}"#), Reason::Document);
        assert_eq!(reason(r#"{"evidence":{}}"#), Reason::Document);
    }
}
