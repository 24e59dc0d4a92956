//! Certificate validity periods. AMD's ARKs run to the 2040s and VCEKs for
//! seven years, but a VLEK lives one year (the test VLEK expired 2025-12-10),
//! so an expired endorsement is a real case.

use std::time::SystemTime;

use x509_cert::Certificate;

use crate::reason::{ReasonCode, Refusal};

/// When certificates must be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertTime {
    /// The system clock at verification.
    Now,
    /// A fixed instant (tests, or replaying stored evidence).
    At(SystemTime),
    /// Validity periods are not checked.
    Unchecked,
}

/// Every certificate in `chain` must be valid at `when`.
pub(crate) fn check(chain: &[(&str, &Certificate)], when: CertTime) -> Result<(), Refusal> {
    let at = match when {
        CertTime::Now => SystemTime::now(),
        CertTime::At(t) => t,
        CertTime::Unchecked => return Ok(()),
    };
    for (name, cert) in chain {
        let v = &cert.tbs_certificate.validity;
        if at < v.not_before.to_system_time() || at > v.not_after.to_system_time() {
            return Err(Refusal::new(
                ReasonCode::CertificateValidity,
                format!("{name} is valid from {} to {}", v.not_before, v.not_after),
            ));
        }
    }
    Ok(())
}
