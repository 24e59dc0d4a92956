//! Which pinned generation endorses the VEK, and whether it is a VCEK or VLEK.
//!
//! The generation comes from the certificates alone (which pinned chain
//! verifies the VEK), so nothing in the report is trusted before its
//! signature is checked.

use sev::certs::snp::Verifiable;
use snp_report::Generation;
use x509_cert::Certificate;

use crate::reason::{ReasonCode, Refusal};
use crate::roots::{pinned, Pinned};

/// The kind of versioned endorsement key that signed the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VekKind {
    /// Chip-unique, signed by the ASK.
    Vcek,
    /// Loaded by a cloud provider, signed by the ASVK.
    Vlek,
}

/// True if `signer` issued `signee`: names chain and the RSA-PSS (SHA-384)
/// signature verifies. The signature check is the `sev` crate's
/// (`crypto_nossl`, pure Rust).
pub(crate) fn signed_by(signer: &Certificate, signee: &Certificate) -> bool {
    if signee.tbs_certificate.issuer != signer.tbs_certificate.subject {
        return false;
    }
    let signer = sev::certs::snp::Certificate::from(signer.clone());
    let signee = sev::certs::snp::Certificate::from(signee.clone());
    (&signer, &signee).verify().is_ok()
}

fn same_key(a: &Certificate, b: &Certificate) -> bool {
    a.tbs_certificate.subject_public_key_info == b.tbs_certificate.subject_public_key_info
}

/// Intermediates to try for one generation: (signer of VCEKs, of VLEKs).
struct Candidate<'a> {
    generation: Generation,
    ask: &'a Certificate,
    asvk: &'a Certificate,
}

/// Applies a supplied ARK and ASK (ASVK) to the pinned set.
fn candidates<'a>(
    roots: &'a [Pinned],
    ask: Option<&'a Certificate>,
    ark: Option<&Certificate>,
) -> Result<Vec<Candidate<'a>>, Refusal> {
    let mut out: Vec<Candidate<'a>> = roots
        .iter()
        .filter(|p| ark.is_none_or(|a| *a == p.ark))
        .map(|p| Candidate {
            generation: p.generation,
            ask: &p.ask,
            asvk: &p.asvk,
        })
        .collect();
    if out.is_empty() {
        return Err(Refusal::new(
            ReasonCode::Chain,
            "supplied ARK is not a pinned AMD root",
        ));
    }
    let Some(ask) = ask else { return Ok(out) };
    // A supplied intermediate must be signed by the pinned ARK and carry the
    // key of that generation's ASK or ASVK; it then stands in for that one.
    out.retain_mut(|c| {
        let Some(p) = roots.iter().find(|p| p.generation == c.generation) else {
            return false;
        };
        if !signed_by(&p.ark, ask) {
            return false;
        }
        if same_key(ask, &p.ask) {
            c.ask = ask;
        } else if same_key(ask, &p.asvk) {
            c.asvk = ask;
        } else {
            return false;
        }
        true
    });
    if out.is_empty() {
        return Err(Refusal::new(
            ReasonCode::Chain,
            "supplied ASK is not a pinned generation's ASK or ASVK signed by its ARK",
        ));
    }
    Ok(out)
}

/// The chain that endorses a VEK.
pub(crate) struct Endorsement {
    pub generation: Generation,
    pub kind: VekKind,
    /// The ASK or ASVK that signed the VEK, and the pinned ARK above it.
    pub intermediate: Certificate,
    pub ark: Certificate,
}

fn endorsement(roots: &[Pinned], c: &Candidate<'_>, kind: VekKind) -> Result<Endorsement, Refusal> {
    let ark = roots
        .iter()
        .find(|p| p.generation == c.generation)
        .map(|p| p.ark.clone())
        .ok_or_else(|| Refusal::new(ReasonCode::Chain, "no pinned ARK"))?;
    let intermediate = match kind {
        VekKind::Vcek => c.ask.clone(),
        VekKind::Vlek => c.asvk.clone(),
    };
    Ok(Endorsement {
        generation: c.generation,
        kind,
        intermediate,
        ark,
    })
}

/// Finds the generation whose chain endorses `vek`.
pub(crate) fn resolve(
    vek: &Certificate,
    ask: Option<&Certificate>,
    ark: Option<&Certificate>,
    allow_vlek: bool,
) -> Result<Endorsement, Refusal> {
    let roots = pinned()?;
    let candidates = candidates(roots, ask, ark)?;
    if let Some(c) = candidates.iter().find(|c| signed_by(c.ask, vek)) {
        return endorsement(roots, c, VekKind::Vcek);
    }
    if let Some(c) = candidates.iter().find(|c| signed_by(c.asvk, vek)) {
        if !allow_vlek {
            return Err(Refusal::new(
                ReasonCode::VlekNotAllowed,
                format!("the report is endorsed by a {} VLEK", c.generation),
            ));
        }
        return endorsement(roots, c, VekKind::Vlek);
    }
    let tried: Vec<&str> = candidates.iter().map(|c| c.generation.name()).collect();
    Err(Refusal::new(
        ReasonCode::VcekSignature,
        format!(
            "the VCEK/VLEK is not signed by the ASK or ASVK of {}",
            tried.join(", ")
        ),
    ))
}
