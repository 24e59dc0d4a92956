//! From CPUID answers to the SIMD register state an OS should enable, and the
//! [`CpuidValues`] (so the [`KernelKind`]) that hold once it is enabled.
//!
//! Pure: the caller supplies CPUID (natively, or in an SEV-SNP guest from the
//! post-processed CPUID page) and performs the two privileged steps itself (set
//! CR4.OSXSAVE, then XSETBV). It lives here, beside [`CpuidValues`], because the
//! kernels' needs decide which state is worth enabling, and both the guest kernel and
//! host tests (including the SNP CPUID-page tests in `snp-guest`) can call it.
//!
//! Rules (Intel SDM vol. 1 ch. 13, AMD APM vol. 2 §11.5):
//! - no XSAVE (leaf 1 ECX bit 26), or leaf 0xD out of range, or x87/SSE missing from
//!   the supported XCR0 mask (leaf 0xD subleaf 0 EDX:EAX): leave CR4.OSXSAVE clear,
//!   no XCR0; no SIMD kernel;
//! - otherwise XCR0 = x87 | SSE, + AVX (YMM) when leaf 1 offers AVX and the mask has
//!   bit 2, + opmask/ZMM_Hi256/Hi16_ZMM when AVX is on, leaf 7 offers AVX-512F and the
//!   mask has bits 5-7;
//! - afterwards CPUID leaf 1 reports OSXSAVE (it mirrors CR4.OSXSAVE) and XGETBV(0)
//!   returns that XCR0: [`SimdPlan::values`] is computed that way.

use crate::{CpuidValues, KernelKind};

const LEAF1_ECX_XSAVE: u32 = 1 << 26;
const LEAF1_ECX_OSXSAVE: u32 = 1 << 27;
const LEAF1_ECX_AVX: u32 = 1 << 28;
const LEAF7_EBX_AVX512F: u32 = 1 << 16;

/// XCR0 bit 0: x87 state (must always be set).
pub const XCR0_X87: u64 = 1 << 0;
/// XCR0 bit 1: SSE (XMM) state.
pub const XCR0_SSE: u64 = 1 << 1;
/// XCR0 bit 2: AVX (upper YMM halves) state.
pub const XCR0_AVX: u64 = 1 << 2;
/// XCR0 bits 5-7: opmask, ZMM_Hi256 and Hi16_ZMM state.
pub const XCR0_AVX512: u64 = 0b111 << 5;

/// What to enable, and what the kernels see after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimdPlan {
    /// The CPU has usable XSAVE: set CR4.OSXSAVE, then XSETBV(0, `xcr0`).
    pub xsave: bool,
    /// XCR0 to load (0 when `xsave` is false: leave XCR0 alone).
    pub xcr0: u64,
    /// CPUID/XCR0 values once the plan is applied.
    pub values: CpuidValues,
}

impl SimdPlan {
    /// The plan for the CPU `cpuid(leaf, subleaf) -> [eax, ebx, ecx, edx]` describes.
    pub fn from_cpuid(mut cpuid: impl FnMut(u32, u32) -> [u32; 4]) -> SimdPlan {
        let max_leaf = cpuid(0, 0)[0];
        let leaf1_ecx = if max_leaf >= 1 { cpuid(1, 0)[2] } else { 0 };
        let [_, leaf7_ebx, leaf7_ecx, _] = if max_leaf >= 7 { cpuid(7, 0) } else { [0; 4] };
        let supported = if max_leaf >= 0xD && leaf1_ecx & LEAF1_ECX_XSAVE != 0 {
            let [eax, _, _, edx] = cpuid(0xD, 0);
            (u64::from(edx) << 32) | u64::from(eax)
        } else {
            0
        };
        let base = XCR0_X87 | XCR0_SSE;
        let xsave = supported & base == base;
        let mut xcr0 = 0;
        if xsave {
            xcr0 = base;
            if leaf1_ecx & LEAF1_ECX_AVX != 0 && supported & XCR0_AVX != 0 {
                xcr0 |= XCR0_AVX;
                if leaf7_ebx & LEAF7_EBX_AVX512F != 0 && supported & XCR0_AVX512 == XCR0_AVX512 {
                    xcr0 |= XCR0_AVX512;
                }
            }
        }
        let osxsave = if xsave { LEAF1_ECX_OSXSAVE } else { 0 };
        SimdPlan {
            xsave,
            xcr0,
            values: CpuidValues {
                max_leaf,
                leaf1_ecx: (leaf1_ecx & !LEAF1_ECX_OSXSAVE) | osxsave,
                leaf7_ebx,
                leaf7_ecx,
                xcr0,
            },
        }
    }

    /// The fastest SIMD kernel kind once the plan is applied, `None` without AVX2 + FMA
    /// (a kind, not a [`Kernel`](crate::Kernel): the caller who applied the plan on this
    /// CPU vouches for it with [`Kernel::assume_supported`](crate::Kernel::assume_supported)).
    pub fn kind(&self) -> Option<KernelKind> {
        self.values.best_kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A CPUID table: (leaf, subleaf, [eax, ebx, ecx, edx]); absent leaves read zeros.
    fn table(entries: Vec<(u32, u32, [u32; 4])>) -> impl FnMut(u32, u32) -> [u32; 4] {
        move |leaf, sub| {
            entries
                .iter()
                .find(|e| e.0 == leaf && e.1 == sub)
                .map_or([0; 4], |e| e.2)
        }
    }

    // Bits as literals from the Intel SDM / AMD APM CPUID tables.
    const FMA: u32 = 1 << 12;
    const XSAVE: u32 = 1 << 26;
    const AVX: u32 = 1 << 28;
    const AVX2: u32 = 1 << 5;
    const AVX512_F_BW_VL: u32 = (1 << 16) | (1 << 30) | (1 << 31);
    const VNNI: u32 = 1 << 11;

    fn cpu(leaf1_ecx: u32, leaf7: (u32, u32), xcr0_mask: u32) -> impl FnMut(u32, u32) -> [u32; 4] {
        table(alloc::vec![
            (0, 0, [0xD, 0, 0, 0]),
            (1, 0, [0, 0, leaf1_ecx, 0]),
            (7, 0, [0, leaf7.0, leaf7.1, 0]),
            (0xD, 0, [xcr0_mask, 0, 0, 0]),
        ])
    }

    #[test]
    fn avx512_cpu_enables_zmm_and_picks_vnni() {
        let p = SimdPlan::from_cpuid(cpu(XSAVE | AVX | FMA, (AVX2 | AVX512_F_BW_VL, VNNI), 0xE7));
        assert!(p.xsave);
        assert_eq!(p.xcr0, 0xE7);
        assert_eq!(p.values.xcr0, 0xE7);
        assert_ne!(p.values.leaf1_ecx & (1 << 27), 0, "OSXSAVE after enabling");
        assert_eq!(p.kind(), Some(KernelKind::Avx512Vnni));
    }

    #[test]
    fn avx2_cpu_enables_ymm_only() {
        let p = SimdPlan::from_cpuid(cpu(XSAVE | AVX | FMA, (AVX2, 0), 0x7));
        assert_eq!(p.xcr0, 0x7);
        assert_eq!(p.kind(), Some(KernelKind::Avx2));
        // AVX-512F offered but the mask lacks the ZMM components: no ZMM state.
        let p = SimdPlan::from_cpuid(cpu(XSAVE | AVX | FMA, (AVX2 | AVX512_F_BW_VL, VNNI), 0x7));
        assert_eq!(p.xcr0, 0x7);
        assert_eq!(p.kind(), Some(KernelKind::Avx2));
    }

    #[test]
    fn no_xsave_or_no_avx_has_no_kernel() {
        let p = SimdPlan::from_cpuid(cpu(AVX | FMA, (AVX2, 0), 0x7));
        assert!(!p.xsave);
        assert_eq!(p.xcr0, 0);
        assert_eq!(p.values.leaf1_ecx & (1 << 27), 0);
        assert_eq!(p.kind(), None);
        let p = SimdPlan::from_cpuid(cpu(XSAVE | FMA, (AVX2, 0), 0x7));
        assert!(p.xsave);
        assert_eq!(p.xcr0, 0x3);
        assert_eq!(p.kind(), None);
        // A mask without SSE: XSETBV would fault, so nothing is enabled.
        let p = SimdPlan::from_cpuid(cpu(XSAVE | AVX | FMA, (AVX2, 0), 0x5));
        assert!(!p.xsave);
        assert_eq!(p.kind(), None);
    }

    #[test]
    fn low_max_leaf_hides_leaf_7_and_0xd() {
        let mut inner = cpu(XSAVE | AVX | FMA, (AVX2 | AVX512_F_BW_VL, VNNI), 0xE7);
        let p = SimdPlan::from_cpuid(move |l, s| {
            if (l, s) == (0, 0) {
                [6, 0, 0, 0]
            } else {
                inner(l, s)
            }
        });
        assert!(!p.xsave);
        assert_eq!(p.values.leaf7_ebx, 0);
        assert_eq!(p.kind(), None);
    }
}
