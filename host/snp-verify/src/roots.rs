//! The pinned AMD certificates per generation (see certs/README.md).

use std::sync::OnceLock;

use snp_report::Generation;
use x509_cert::Certificate;

use crate::chain::signed_by;
use crate::reason::{ReasonCode, Refusal};

/// ARK (trust anchor), ASK (signs VCEKs) and ASVK (signs VLEKs) of one generation.
pub(crate) struct Pinned {
    pub generation: Generation,
    pub ark: Certificate,
    pub ask: Certificate,
    pub asvk: Certificate,
}

fn bundle(generation: Generation) -> &'static [u8] {
    match generation {
        Generation::Milan => include_bytes!("../certs/milan_ask_ark_asvk.pem"),
        Generation::Genoa => include_bytes!("../certs/genoa_ask_ark_asvk.pem"),
        Generation::Turin => include_bytes!("../certs/turin_ask_ark_asvk.pem"),
    }
}

/// Parses one bundle (ASK, ARK, ASVK) and checks it hangs together, so a
/// corrupted embedded file fails loudly instead of refusing every report.
fn load(generation: Generation) -> Result<Pinned, String> {
    let certs = Certificate::load_pem_chain(bundle(generation))
        .map_err(|e| format!("pinned {generation} bundle: {e}"))?;
    let [ask, ark, asvk]: [Certificate; 3] = certs
        .try_into()
        .map_err(|_| format!("pinned {generation} bundle is not ASK, ARK, ASVK"))?;
    for (signee, name) in [(&ark, "ARK self-signature"), (&ask, "ASK"), (&asvk, "ASVK")] {
        if !signed_by(&ark, signee) {
            return Err(format!("pinned {generation} {name} does not verify"));
        }
    }
    Ok(Pinned {
        generation,
        ark,
        ask,
        asvk,
    })
}

/// All pinned generations, loaded and checked once.
pub(crate) fn pinned() -> Result<&'static [Pinned], Refusal> {
    static ROOTS: OnceLock<Result<Vec<Pinned>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| Generation::ALL.into_iter().map(load).collect())
        .as_deref()
        .map_err(|e| Refusal::new(ReasonCode::Chain, e.clone()))
}
