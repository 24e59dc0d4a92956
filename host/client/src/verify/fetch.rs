//! The two `GET`s: the attestation document and the key configuration,
//! which must be the very bytes the document commits to.

use std::time::Duration;

use serde_json::Value;
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

fn get(endpoint: &Endpoint, path: &str, timeout: Duration) -> Result<Vec<u8>, Refusal> {
    let limits = Limits {
        timeout,
        max_body_bytes: 1 << 20,
    };
    let response = endpoint
        .get(path, limits)
        .map_err(|e| Refusal::new(Reason::Connection, e))?;
    if response.status != 200 {
        return Err(Refusal::new(
            Reason::Endpoint,
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

/// Parses the document: the TEE name first (so an unknown one gets its own
/// reason), then strictly (unknown fields are refused).
pub(super) fn parse_document(body: &[u8]) -> Result<AttestationDocument, Refusal> {
    let bad = |d: String| Refusal::new(Reason::Document, d);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("attestation document: {e}")))?;
    let tee = value.pointer("/evidence/tee");
    match tee.and_then(Value::as_str) {
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
        serde_json::from_value(value).map_err(|e| bad(format!("attestation document: {e}")))?;
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
    }
}
