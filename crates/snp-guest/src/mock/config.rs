//! [`MockConfig`]: the knobs that make the mock hypervisor misbehave.

use crate::msr_protocol as msrp;

/// Behaviour switches.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub ghcb_min_version: u16,
    pub ghcb_max_version: u16,
    /// C-bit reported in the SEV-info response.
    pub c_bit: u8,
    pub refuse_registration: bool,
    /// Answer registration with this GFN instead of the requested one.
    pub registration_answer_gfn: Option<u64>,
    pub hv_features: u64,
    pub preferred_ghcb_gfn: u64,
    /// Error field of MSR-protocol PSC responses.
    pub msr_psc_error: u32,
    /// PSC NAE entries processed per exit.
    pub psc_max_per_exit: usize,
    /// PSC NAE returns success without processing anything.
    pub psc_stall: bool,
    /// PSC NAE returns this SW_EXITINFO2 error.
    pub psc_error: Option<u64>,
    /// Back 2 MiB private PSC entries with 4 KiB RMP entries.
    pub psc_2m_as_4k: bool,
    /// PSC NAE reports every entry done without changing the RMP (a lying
    /// hypervisor; PVALIDATE then catches it).
    pub psc_pretend: bool,
    /// The next NAE exit (only) fails with this (SW_EXITINFO1, SW_EXITINFO2).
    pub fail_next_exit: Option<(u64, u64)>,
    /// Clear the valid bit of this GHCB offset in successful responses.
    pub omit_output_valid: Option<usize>,
    /// Write junk into non-output fields and unused register bits.
    pub garbage: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            ghcb_min_version: 1,
            ghcb_max_version: 2,
            c_bit: 51,
            refuse_registration: false,
            registration_answer_gfn: None,
            hv_features: msrp::HV_FEATURE_SNP | msrp::HV_FEATURE_AP_CREATION,
            preferred_ghcb_gfn: msrp::GHCB_REGISTRATION_REFUSED_GFN,
            msr_psc_error: 0,
            psc_max_per_exit: usize::MAX,
            psc_stall: false,
            psc_error: None,
            psc_2m_as_4k: false,
            psc_pretend: false,
            fail_next_exit: None,
            omit_output_valid: None,
            garbage: false,
        }
    }
}
