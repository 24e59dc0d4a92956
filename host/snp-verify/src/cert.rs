//! Decoding certificates (DER or PEM) and reading the AMD VEK extensions.

use x509_cert::der::asn1::OctetStringRef;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::Decode;
use x509_cert::Certificate;

use crate::reason::{ReasonCode, Refusal};

const HW_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.4");
pub(crate) const BL_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.1");
pub(crate) const TEE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.2");
pub(crate) const SNP_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.3");
pub(crate) const UCODE_SPL: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.8");
pub(crate) const FMC_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.9");

/// One certificate from DER, or the first of one or more PEM blocks (a KDS
/// or extended-report bundle starts with the leaf).
pub(crate) fn decode(input: &[u8], what: &str) -> Result<Certificate, Refusal> {
    let cert = if input.trim_ascii_start().starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(input)
            .map_err(|e| e.to_string())
            .and_then(|certs| {
                certs
                    .into_iter()
                    .next()
                    .ok_or_else(|| "no PEM block".into())
            })
    } else {
        Certificate::from_der(input).map_err(|e| e.to_string())
    };
    cert.map_err(|e| Refusal::new(ReasonCode::Certificate, format!("{what}: {e}")))
}

/// The raw value of a non-critical extension, if present once.
fn extension<'a>(cert: &'a Certificate, oid: &ObjectIdentifier) -> Option<&'a [u8]> {
    let exts = cert.tbs_certificate.extensions.as_ref()?;
    let mut found = exts.iter().filter(|e| &e.extn_id == oid);
    let first = found.next()?;
    found.next().is_none().then(|| first.extn_value.as_bytes())
}

/// A TCB SPL extension: a DER INTEGER that must fit a byte.
pub(crate) fn spl(cert: &Certificate, oid: &ObjectIdentifier) -> Option<u8> {
    u8::from_der(extension(cert, oid)?).ok()
}

/// The hwID extension: raw bytes in older VCEKs, a DER OCTET STRING in newer
/// ones (Trustee `get_oid_octets` accepts both).
pub(crate) fn hw_id(cert: &Certificate, len: usize) -> Option<Vec<u8>> {
    let raw = extension(cert, &HW_ID)?;
    if raw.len() == len {
        return Some(raw.to_vec());
    }
    let inner = OctetStringRef::from_der(raw).ok()?;
    (inner.as_bytes().len() == len).then(|| inner.as_bytes().to_vec())
}

/// SEC1 bytes of the subject public key.
pub(crate) fn public_key(cert: &Certificate) -> &[u8] {
    cert.tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
}
