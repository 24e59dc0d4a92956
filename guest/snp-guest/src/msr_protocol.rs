//! GHCB MSR protocol (GHCB spec 56421 §2.3.1; Linux
//! arch/x86/include/asm/sev-common.h). Bits [11:0] of the GHCB MSR carry the
//! request/response code, bits [63:12] the data. It is the only channel
//! before a GHCB page is registered.

use crate::{SnpError, SnpHardware};

/// The GHCB MSR.
pub const GHCB_MSR: u32 = 0xC001_0130;

const CODE_MASK: u64 = 0xFFF;

pub const SEV_INFO_REQ: u64 = 0x002;
pub const SEV_INFO_RESP: u64 = 0x001;
#[cfg(any(test, feature = "mock"))]
pub const CPUID_REQ: u64 = 0x004;
#[cfg(any(test, feature = "mock"))]
pub const CPUID_RESP: u64 = 0x005;
pub const REGISTER_GHCB_REQ: u64 = 0x012;
pub const REGISTER_GHCB_RESP: u64 = 0x013;
pub const PSC_REQ: u64 = 0x014;
pub const PSC_RESP: u64 = 0x015;
pub const HV_FEATURES_REQ: u64 = 0x080;
pub const HV_FEATURES_RESP: u64 = 0x081;
pub const TERMINATION_REQ: u64 = 0x100;

/// GFN value in a registration response meaning "refused" (52 bits of ones).
pub const GHCB_REGISTRATION_REFUSED_GFN: u64 = 0xF_FFFF_FFFF_FFFF;
/// The GHCB protocol version this crate speaks (v2 is the first with SNP).
pub const GHCB_PROTOCOL_VERSION: u16 = 2;
/// Hypervisor feature bit 0: SEV-SNP supported (GHCB spec §2.3.1 "HV features").
pub const HV_FEATURE_SNP: u64 = 1 << 0;
pub const HV_FEATURE_AP_CREATION: u64 = 1 << 1;
#[cfg(any(test, feature = "mock"))]
pub const HV_FEATURE_RESTRICTED_INJECTION: u64 = 1 << 2;
#[cfg(any(test, feature = "mock"))]
pub const HV_FEATURE_RESTRICTED_INJECTION_TIMER: u64 = 1 << 3;

/// The GFN field of a request (52 bits, MSR bits 63:12); a GPA above 52
/// bits is refused before it is encoded.
const GFN_MASK: u64 = 0xF_FFFF_FFFF_FFFF;

fn code(v: u64) -> u64 {
    v & CODE_MASK
}

fn expect(request: u64, response: u64, code_want: u64) -> Result<u64, SnpError> {
    if code(response) == code_want {
        Ok(response)
    } else {
        Err(SnpError::MsrUnexpectedResponse { request, response })
    }
}

/// Decoded SEV information response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SevInfo {
    pub max_version: u16,
    pub min_version: u16,
    /// C-bit position as the hypervisor claims it (untrusted; cross-check only).
    pub c_bit: u8,
}

impl SevInfo {
    pub fn supports(&self, version: u16) -> bool {
        self.min_version <= version && version <= self.max_version
    }
}

/// Register selector of the MSR CPUID request, bits [31:30].
#[cfg(any(test, feature = "mock"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuidReg {
    Eax = 0,
    Ebx = 1,
    Ecx = 2,
    Edx = 3,
}

/// Page state change operation, both for the MSR protocol (bits [55:52]) and
/// for PSC NAE entries (GHCB spec: 1 = private, 2 = shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PscOp {
    Private = 1,
    Shared = 2,
}

/// Termination reason: set [15:12], code [23:16].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminationReason {
    pub set: u8,
    pub code: u8,
}

impl TerminationReason {
    /// Set 0 is defined by the GHCB spec.
    pub const GENERAL: Self = Self { set: 0, code: 0 };
    pub const GHCB_PROTOCOL_UNSUPPORTED: Self = Self { set: 0, code: 1 };
    pub const SNP_UNSUPPORTED: Self = Self { set: 0, code: 2 };
    /// Set 1 is guest-defined (Linux uses it for its own reasons too); these
    /// codes are this appliance's.
    pub const APPLIANCE_GHCB_REGISTER: Self = Self { set: 1, code: 0 };
    pub const APPLIANCE_PSC: Self = Self { set: 1, code: 1 };
    pub const APPLIANCE_PVALIDATE: Self = Self { set: 1, code: 2 };
    pub const APPLIANCE_CPUID: Self = Self { set: 1, code: 3 };
}

// ---- request encoders ----

#[cfg(test)]
pub const fn sev_info_request() -> u64 {
    SEV_INFO_REQ
}

#[cfg(any(test, feature = "mock"))]
pub const fn cpuid_request(leaf: u32, reg: CpuidReg) -> u64 {
    CPUID_REQ | (reg as u64) << 30 | (leaf as u64) << 32
}

/// GPA must be 4 KiB aligned; the caller checks.
pub const fn register_ghcb_request(gpa: u64) -> u64 {
    ((gpa >> 12) & GFN_MASK) << 12 | REGISTER_GHCB_REQ
}

pub const fn psc_request(gpa: u64, op: PscOp) -> u64 {
    PSC_REQ | ((gpa >> 12) & 0xFF_FFFF_FFFF) << 12 | (op as u64) << 52
}

#[cfg(test)]
pub const fn hv_features_request() -> u64 {
    HV_FEATURES_REQ
}

pub const fn termination_request(reason: TerminationReason) -> u64 {
    TERMINATION_REQ | ((reason.set & 0xF) as u64) << 12 | (reason.code as u64) << 16
}

// ---- response decoders ----

pub fn decode_sev_info(response: u64) -> Result<SevInfo, SnpError> {
    let r = expect(SEV_INFO_REQ, response, SEV_INFO_RESP)?;
    Ok(SevInfo {
        max_version: (r >> 48) as u16,
        min_version: (r >> 32) as u16,
        c_bit: (r >> 24) as u8,
    })
}

/// Checks the response code and that the echoed register matches.
#[cfg(any(test, feature = "mock"))]
pub fn decode_cpuid(request: u64, response: u64) -> Result<u32, SnpError> {
    let r = expect(request, response, CPUID_RESP)?;
    if (r >> 30) & 3 != (request >> 30) & 3 {
        return Err(SnpError::MsrUnexpectedResponse { request, response });
    }
    Ok((r >> 32) as u32)
}

pub fn decode_register_ghcb(gpa: u64, response: u64) -> Result<(), SnpError> {
    let r = expect(register_ghcb_request(gpa), response, REGISTER_GHCB_RESP)?;
    let gfn = r >> 12;
    if gfn == GHCB_REGISTRATION_REFUSED_GFN {
        Err(SnpError::GhcbRegistrationRefused { gpa })
    } else if gfn != gpa >> 12 {
        Err(SnpError::GhcbRegistrationMismatch {
            gpa,
            answered_gfn: gfn,
        })
    } else {
        Ok(())
    }
}

pub fn decode_psc(gpa: u64, op: PscOp, response: u64) -> Result<(), SnpError> {
    let r = expect(psc_request(gpa, op), response, PSC_RESP)?;
    let error = (r >> 32) as u32;
    if error != 0 {
        Err(SnpError::MsrPscFailed { gpa, error })
    } else {
        Ok(())
    }
}

pub fn decode_hv_features(response: u64) -> Result<u64, SnpError> {
    expect(HV_FEATURES_REQ, response, HV_FEATURES_RESP).map(|r| r >> 12)
}

// ---- round trips ----

pub fn sev_info<H: SnpHardware + ?Sized>(hw: &mut H) -> Result<SevInfo, SnpError> {
    decode_sev_info(hw.msr_protocol(SEV_INFO_REQ))
}

/// CPUID through the MSR protocol: subleaf 0 only, one round trip per
/// register. The answers come from the hypervisor (untrusted); prefer the
/// CPUID page.
#[cfg(any(test, feature = "mock"))]
pub fn cpuid<H: SnpHardware + ?Sized>(hw: &mut H, leaf: u32) -> Result<[u32; 4], SnpError> {
    let mut out = [0u32; 4];
    for (slot, reg) in
        out.iter_mut()
            .zip([CpuidReg::Eax, CpuidReg::Ebx, CpuidReg::Ecx, CpuidReg::Edx])
    {
        let req = cpuid_request(leaf, reg);
        *slot = decode_cpuid(req, hw.msr_protocol(req))?;
    }
    Ok(out)
}

/// Registers `gpa` as this vCPU's GHCB (required under SNP before any NAE exit).
pub fn register_ghcb_gpa<H: SnpHardware + ?Sized>(hw: &mut H, gpa: u64) -> Result<(), SnpError> {
    if !gpa.is_multiple_of(crate::PAGE_SIZE_4K) || gpa >> 52 != 0 {
        return Err(SnpError::InvalidArgument {
            what: "GHCB GPA must be a 4 KiB aligned 52-bit address",
            value: gpa,
        });
    }
    decode_register_ghcb(gpa, hw.msr_protocol(register_ghcb_request(gpa)))
}

/// Page state change of one 4 KiB page through the MSR protocol.
pub fn page_state_change<H: SnpHardware + ?Sized>(
    hw: &mut H,
    gpa: u64,
    op: PscOp,
) -> Result<(), SnpError> {
    if !gpa.is_multiple_of(crate::PAGE_SIZE_4K) || gpa >> 52 != 0 {
        return Err(SnpError::InvalidArgument {
            what: "PSC GPA must be a 4 KiB aligned 52-bit address",
            value: gpa,
        });
    }
    decode_psc(gpa, op, hw.msr_protocol(psc_request(gpa, op)))
}

/// Hypervisor feature bitmap.
pub fn hv_features<H: SnpHardware + ?Sized>(hw: &mut H) -> Result<u64, SnpError> {
    decode_hv_features(hw.msr_protocol(HV_FEATURES_REQ))
}

/// Asks the hypervisor to terminate the guest (the kernel sends
/// [`termination_request`] itself, then halts).
#[cfg(test)]
pub fn request_termination<H: SnpHardware + ?Sized>(hw: &mut H, reason: TerminationReason) {
    let _ = hw.msr_protocol(termination_request(reason));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encodings() {
        assert_eq!(sev_info_request(), 0x002);
        assert_eq!(
            cpuid_request(0x8000_001F, CpuidReg::Ebx),
            0x8000_001F_4000_0004
        );
        assert_eq!(cpuid_request(1, CpuidReg::Edx), 0x0000_0001_C000_0004);
        assert_eq!(register_ghcb_request(0x7_F000), 0x7_F012);
        assert_eq!(
            psc_request(0x12_3000, PscOp::Private),
            0x0010_0000_0012_3014
        );
        assert_eq!(psc_request(0x12_3000, PscOp::Shared), 0x0020_0000_0012_3014);
        assert_eq!(hv_features_request(), 0x080);
        assert_eq!(
            termination_request(TerminationReason::SNP_UNSUPPORTED),
            0x2_0100
        );
        assert_eq!(
            termination_request(TerminationReason { set: 1, code: 0xAB }),
            0xAB_1100
        );
    }

    #[test]
    fn response_decodings() {
        let info = decode_sev_info(0x0002_0001_3300_0001).unwrap();
        assert_eq!(
            info,
            SevInfo {
                max_version: 2,
                min_version: 1,
                c_bit: 51
            }
        );
        assert!(info.supports(2) && !info.supports(3));
        assert!(matches!(
            decode_sev_info(0x0002_0001_3300_0005),
            Err(SnpError::MsrUnexpectedResponse { .. })
        ));

        let req = cpuid_request(0x8000_001F, CpuidReg::Ebx);
        assert_eq!(decode_cpuid(req, 0x0000_0173_4000_0005), Ok(0x173));
        // Wrong register echoed.
        assert!(decode_cpuid(req, 0x0000_0173_8000_0005).is_err());

        assert_eq!(decode_register_ghcb(0x7_F000, 0x7_F013), Ok(()));
        assert_eq!(
            decode_register_ghcb(0x7_F000, 0xFFFF_FFFF_FFFF_F013),
            Err(SnpError::GhcbRegistrationRefused { gpa: 0x7_F000 })
        );
        assert_eq!(
            decode_register_ghcb(0x7_F000, 0x8_0013),
            Err(SnpError::GhcbRegistrationMismatch {
                gpa: 0x7_F000,
                answered_gfn: 0x80
            })
        );

        assert_eq!(decode_psc(0x1000, PscOp::Shared, 0x015), Ok(()));
        assert_eq!(
            decode_psc(0x1000, PscOp::Shared, 0x0000_0100_0000_0015),
            Err(SnpError::MsrPscFailed {
                gpa: 0x1000,
                error: 0x100
            })
        );
        assert_eq!(decode_hv_features(0x3081), Ok(3));
        assert!(decode_hv_features(0x3080).is_err());
    }
}
