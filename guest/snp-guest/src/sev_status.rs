//! SEV detection: CPUID 0x8000_0000 / 0x8000_001F and the SEV_STATUS MSR.
//!
//! Sources: AMD APM vol. 2 §15.34 (CPUID Fn8000_001F, SEV_STATUS MSR
//! C001_0131); bit names as in Linux arch/x86/include/asm/msr-index.h.

use crate::SnpError;

/// SEV_STATUS MSR number. Read it only when [`should_read_sev_status`] says so:
/// on hosts without SEV (and under TCG) RDMSR of it raises #GP.
#[cfg(any(test, feature = "mock"))]
pub const SEV_STATUS_MSR: u32 = 0xC001_0131;

/// CPUID leaf with the memory-encryption capabilities.
pub const CPUID_LEAF_MEM_ENCRYPT: u32 = 0x8000_001F;

/// CPUID 0x8000_001F EAX bit 1: SEV supported.
#[cfg(any(test, feature = "mock"))]
const CPUID_EAX_SEV: u32 = 1 << 1;

/// Decoded SEV_STATUS MSR (bit positions: APM vol. 2 table "SEV_STATUS MSR").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SevStatus(pub u64);

impl SevStatus {
    pub const VTOM: u64 = 1 << 3;
    pub const REFLECT_VC: u64 = 1 << 4;
    pub const RESTRICTED_INJECTION: u64 = 1 << 5;
    pub const ALTERNATE_INJECTION: u64 = 1 << 6;

    /// Features that change how this crate must talk to the hypervisor, which it
    /// does not implement: vTOM replaces the C-bit with a virtual top of memory,
    /// ReflectVC/restricted/alternate injection change #VC/#HV delivery.
    pub const UNSUPPORTED: u64 =
        Self::VTOM | Self::REFLECT_VC | Self::RESTRICTED_INJECTION | Self::ALTERNATE_INJECTION;

    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The SNP guest's check (the boot code found SNP active): refuses the
    /// [`Self::UNSUPPORTED`] features with their bits.
    pub fn check_supported(self) -> Result<(), SnpError> {
        match self.bits() & Self::UNSUPPORTED {
            0 => Ok(()),
            bits => Err(SnpError::UnsupportedSnpFeatures {
                status: self.bits(),
                bits,
            }),
        }
    }
}

/// The other SEV_STATUS bits and their accessors: only the model of the
/// boot code's detection ([`detect`]) and the tests read them.
#[cfg(any(test, feature = "mock"))]
impl SevStatus {
    pub const SEV: u64 = 1 << 0;
    pub const SEV_ES: u64 = 1 << 1;
    pub const SNP: u64 = 1 << 2;
    pub const DEBUG_SWAP: u64 = 1 << 7;
    pub const PREVENT_HOST_IBS: u64 = 1 << 8;
    pub const BTB_ISOLATION: u64 = 1 << 9;
    pub const VMPL_SSS: u64 = 1 << 10;
    pub const SECURE_TSC: u64 = 1 << 11;
    pub const VMGEXIT_PARAMETER: u64 = 1 << 12;
    pub const IBS_VIRT: u64 = 1 << 14;
    pub const VMSA_REG_PROT: u64 = 1 << 16;
    pub const SMT_PROTECTION: u64 = 1 << 17;

    pub const fn has(self, bit: u64) -> bool {
        self.0 & bit != 0
    }
    pub const fn sev(self) -> bool {
        self.has(Self::SEV)
    }
    pub const fn sev_es(self) -> bool {
        self.has(Self::SEV_ES)
    }
    pub const fn snp(self) -> bool {
        self.has(Self::SNP)
    }
}

/// What the guest runs as: the model of the boot code's detection
/// (`reset.s` reads CPUID and SEV_STATUS itself; the kernel then calls
/// [`SevStatus::check_supported`]), kept for the tests and the mock.
#[cfg(any(test, feature = "mock"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SevMode {
    /// No memory encryption (plain QEMU/KVM): the "Native" platform.
    None,
    /// SEV without ES/SNP: not supported by the product.
    Sev,
    /// SEV-ES without SNP: not supported by the product.
    SevEs,
    /// SEV-SNP with its SEV_STATUS.
    Snp(SevStatus),
}

#[cfg(any(test, feature = "mock"))]
impl SevMode {
    /// The product's policy: native or SNP only. `Ok(None)` = native,
    /// `Ok(Some(status))` = SNP, `Err` = stop with this reason.
    pub fn supported(self) -> Result<Option<SevStatus>, SnpError> {
        match self {
            SevMode::None => Ok(None),
            SevMode::Sev => Err(SnpError::UnsupportedSev),
            SevMode::SevEs => Err(SnpError::UnsupportedSevEs),
            SevMode::Snp(status) => status.check_supported().map(|()| Some(status)),
        }
    }
}

/// Whether CPUID says the SEV_STATUS MSR exists. `max_ext_leaf` is CPUID
/// 0x8000_0000 EAX; `leaf_8000001f_eax` is only looked at when that leaf is in
/// range, because out-of-range leaves return garbage (QEMU TCG repeats the
/// highest basic leaf; Intel does the same).
#[cfg(any(test, feature = "mock"))]
pub fn should_read_sev_status(max_ext_leaf: u32, leaf_8000001f_eax: u32) -> bool {
    max_ext_leaf >= CPUID_LEAF_MEM_ENCRYPT && leaf_8000001f_eax & CPUID_EAX_SEV != 0
}

/// Pure detection. `sev_status` is the SEV_STATUS MSR value, `None` when it
/// was not read (the kernel reads it only if [`should_read_sev_status`]).
///
/// A hypervisor can hide SEV by editing CPUID: the guest then runs as native,
/// cannot produce an SNP attestation report and so never receives the model
/// key; it fails closed.
#[cfg(any(test, feature = "mock"))]
pub fn detect(max_ext_leaf: u32, leaf_8000001f_eax: u32, sev_status: Option<u64>) -> SevMode {
    if !should_read_sev_status(max_ext_leaf, leaf_8000001f_eax) {
        return SevMode::None;
    }
    let Some(raw) = sev_status else {
        return SevMode::None;
    };
    let status = SevStatus(raw);
    if status.snp() {
        SevMode::Snp(status)
    } else if status.sev_es() {
        SevMode::SevEs
    } else if status.sev() {
        SevMode::Sev
    } else {
        SevMode::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcg_garbage_leaf_is_ignored() {
        // TCG with max ext leaf 0x8000_0008 returns garbage for 0x8000_001F,
        // here with bit 1 set: it must not count.
        assert!(!should_read_sev_status(0x8000_0008, 0xFFFF_FFFF));
        assert_eq!(detect(0x8000_0008, 0xFFFF_FFFF, Some(0x7)), SevMode::None);
        assert_eq!(detect(0x8000_0008, 0xFFFF_FFFF, None), SevMode::None);
    }

    #[test]
    fn leaf_in_range_without_sev_bit() {
        assert!(!should_read_sev_status(0x8000_0021, 0x1)); // SME only
        assert_eq!(detect(0x8000_0021, 0x1, None), SevMode::None);
    }

    #[test]
    fn modes_from_status() {
        let eax = 0x0001_019F; // SME, SEV, SEV-ES, SNP, ...
        assert!(should_read_sev_status(0x8000_001F, eax));
        assert_eq!(detect(0x8000_001F, eax, Some(0)), SevMode::None);
        assert_eq!(detect(0x8000_001F, eax, Some(0b001)), SevMode::Sev);
        assert_eq!(detect(0x8000_001F, eax, Some(0b011)), SevMode::SevEs);
        assert_eq!(
            detect(0x8000_0028, eax, Some(0b111)),
            SevMode::Snp(SevStatus(0b111))
        );
        // CPUID says SEV but the MSR was not read: treated as native.
        assert_eq!(detect(0x8000_001F, eax, None), SevMode::None);
    }

    #[test]
    fn policy() {
        assert_eq!(SevMode::None.supported(), Ok(None));
        assert_eq!(SevMode::Sev.supported(), Err(SnpError::UnsupportedSev));
        assert_eq!(SevMode::SevEs.supported(), Err(SnpError::UnsupportedSevEs));
        // QEMU default SEV_FEATURES 0x1 -> SEV_STATUS SEV|ES|SNP = 0x7.
        assert_eq!(
            SevMode::Snp(SevStatus(0x7)).supported(),
            Ok(Some(SevStatus(0x7)))
        );
        // DebugSwap + SecureTSC are fine.
        let ok = 0x7 | SevStatus::DEBUG_SWAP | SevStatus::SECURE_TSC;
        assert!(SevMode::Snp(SevStatus(ok)).supported().is_ok());
        assert_eq!(
            SevMode::Snp(SevStatus(0x7 | SevStatus::VTOM)).supported(),
            Err(SnpError::UnsupportedSnpFeatures {
                status: 0xF,
                bits: 0x8
            })
        );
    }

    #[test]
    fn bit_positions() {
        let s = SevStatus(1 << 11 | 1 << 7 | 1 << 3);
        let bits = [
            SevStatus::SECURE_TSC,
            SevStatus::DEBUG_SWAP,
            SevStatus::VTOM,
        ];
        assert!(bits.iter().all(|&b| s.has(b)));
        assert!(!s.snp());
        assert_eq!(SevStatus::SMT_PROTECTION, 0x2_0000);
        assert_eq!(SevStatus::VMSA_REG_PROT, 0x1_0000);
    }
}
