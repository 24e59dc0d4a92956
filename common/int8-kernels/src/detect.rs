//! Which kernel kinds CPU feature values allow, and the `std` run-time probe.
//!
//! The crate never asks the CPU on its own in a guest build: the caller passes the
//! CPUID / XCR0 values ([`CpuidValues`]) it trusts, reads the fastest kind with
//! [`CpuidValues::best_kind`] and vouches for it with the `unsafe`
//! [`Kernel::assume_supported`] (see `kernel.rs` for why the values themselves prove
//! nothing). In an SEV-SNP guest CPUID raises #VC and its honest answers come from the
//! post-processed CPUID page, which only the guest kernel has.
//!
//! The run-time probe ([`probe_cpuid_values`], behind [`Kernel::detect`],
//! [`Kernel::available`], [`KernelKind::is_available`]) executes CPUID and XGETBV and
//! exists only with the `std` feature (host tools, tests, benchmarks). There the entry
//! points also re-check every kernel against it ([`runnable`]); without it a
//! [`Kernel`] is taken as the proof it is.

use crate::{Kernel, KernelKind};
#[cfg(feature = "extra-ops")]
use alloc::vec::Vec;

const AVX2: u8 = 1;
const VNNI: u8 = 2;

fn allowed_by(kind: KernelKind, bits: u8) -> bool {
    match kind {
        #[cfg(feature = "scalar")]
        KernelKind::Scalar => true,
        KernelKind::Avx2 => bits & AVX2 != 0,
        KernelKind::Avx512Vnni => bits & VNNI != 0,
    }
}

/// The CPUID / XCR0 values that decide which kernels may run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidValues {
    /// CPUID leaf 0, EAX: highest standard leaf.
    pub max_leaf: u32,
    /// CPUID leaf 1, ECX (OSXSAVE, AVX, FMA).
    pub leaf1_ecx: u32,
    /// CPUID leaf 7 subleaf 0, EBX (AVX2, AVX-512 F/BW/VL).
    pub leaf7_ebx: u32,
    /// CPUID leaf 7 subleaf 0, ECX (AVX-512 VNNI).
    pub leaf7_ecx: u32,
    /// XCR0 (XGETBV 0): register state enabled by the OS; ignored without OSXSAVE.
    pub xcr0: u64,
}

impl CpuidValues {
    /// The kinds these values allow (with feature `scalar` always including `Scalar`),
    /// slowest first.
    #[cfg(feature = "extra-ops")]
    pub fn kinds(self) -> Vec<KernelKind> {
        let bits = decode(self);
        KernelKind::ALL
            .into_iter()
            .filter(|&k| allowed_by(k, bits))
            .collect()
    }

    /// The fastest SIMD kind these values allow; `None` when they allow none (only the
    /// host's scalar kernel would run: the guest stops, naming [`missing`](Self::missing)).
    /// A kind, not a [`Kernel`]: anyone can write down values (see `kernel.rs`); a caller
    /// that read them from this CPU turns the answer into a kernel with
    /// [`Kernel::assume_supported`].
    pub fn best_kind(self) -> Option<KernelKind> {
        let bits = decode(self);
        [KernelKind::Avx512Vnni, KernelKind::Avx2]
            .into_iter()
            .find(|&k| allowed_by(k, bits))
    }

    /// What the AVX2 kernel needs that these values lack, for a message: e.g.
    /// "XSAVE, AVX, AVX2, FMA" (empty when [`best_kind`](Self::best_kind) is `Some`).
    pub fn missing(self) -> Missing {
        Missing(avx2_needs(self))
    }

    /// Whether these values allow `kind`.
    #[cfg(feature = "extra-ops")]
    pub fn allows(self, kind: KernelKind) -> bool {
        allowed_by(kind, decode(self))
    }
}

/// The features the AVX2 kernel needs that some [`CpuidValues`] lack, shown as their
/// names separated by ", " ([`CpuidValues::missing`]).
#[derive(Clone, Copy, Debug)]
pub struct Missing([(&'static str, bool); 5]);

impl core::fmt::Display for Missing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut sep = "";
        for (name, _) in self.0.iter().filter(|n| !n.1) {
            write!(f, "{sep}{name}")?;
            sep = ", ";
        }
        Ok(())
    }
}

const OSXSAVE: u32 = 1 << 27; // leaf 1 ECX
const AVX_BIT: u32 = 1 << 28; // leaf 1 ECX
const FMA: u32 = 1 << 12; // leaf 1 ECX
const AVX2_BIT: u32 = 1 << 5; // leaf 7 EBX
                              // XCR0: SSE + AVX (YMM upper halves) state; AVX-512 adds opmask, ZMM_Hi256, Hi16_ZMM.
const XCR0_YMM: u64 = 0b110;
const XCR0_ZMM: u64 = 0b1110_0110;

/// What the AVX2 kernel needs (the f32 helpers use FMA on both SIMD kernels; every AVX2
/// CPU has it, a VM might not say so), each with whether `v` has it.
fn avx2_needs(v: CpuidValues) -> [(&'static str, bool); 5] {
    [
        ("CPUID leaf 7", v.max_leaf >= 7),
        ("XSAVE", v.leaf1_ecx & OSXSAVE != 0),
        (
            "AVX",
            v.leaf1_ecx & AVX_BIT != 0 && v.xcr0 & XCR0_YMM == XCR0_YMM,
        ),
        ("AVX2", v.leaf7_ebx & AVX2_BIT != 0),
        ("FMA", v.leaf1_ecx & FMA != 0),
    ]
}

fn decode(v: CpuidValues) -> u8 {
    const AVX512F: u32 = 1 << 16; // leaf 7 EBX
    const AVX512BW: u32 = 1 << 30; // leaf 7 EBX
    const AVX512VL: u32 = 1 << 31; // leaf 7 EBX
    const AVX512VNNI: u32 = 1 << 11; // leaf 7 ECX

    if avx2_needs(v).iter().any(|n| !n.1) {
        return 0;
    }
    let f = AVX512F | AVX512BW | AVX512VL;
    if v.xcr0 & XCR0_ZMM == XCR0_ZMM && v.leaf7_ebx & f == f && v.leaf7_ecx & AVX512VNNI != 0 {
        AVX2 | VNNI
    } else {
        AVX2
    }
}

/// Whether the entry points may run `kernel`: with the probe, whether this CPU runs
/// it (a check on [`Kernel::assume_supported`] callers in host tools); without it the
/// token stands, except that no SIMD code exists off x86-64.
pub(crate) fn runnable(kernel: Kernel) -> bool {
    #[cfg(any(test, feature = "std"))]
    {
        kernel.kind().is_available()
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        match kernel.kind() {
            #[cfg(feature = "scalar")]
            KernelKind::Scalar => true,
            _ => cfg!(target_arch = "x86_64"),
        }
    }
}

#[cfg(any(test, feature = "std"))]
pub use probe::probe_cpuid_values;
#[cfg(any(test, feature = "std"))]
pub(crate) use probe::probed_allows;

/// The run-time probe: CPUID and XGETBV on this CPU (host builds only).
#[cfg(any(test, feature = "std"))]
mod probe {
    use super::{allowed_by, CpuidValues, KernelKind};
    use core::sync::atomic::{AtomicU8, Ordering};

    /// Probe result cache: bit 7 set once probed, low bits as in `decode`.
    static PROBED: AtomicU8 = AtomicU8::new(0);
    const DONE: u8 = 0x80;

    /// Whether this CPU runs `kind` (probed once, then cached).
    pub(crate) fn probed_allows(kind: KernelKind) -> bool {
        allowed_by(kind, probed_bits())
    }

    fn probed_bits() -> u8 {
        let bits = PROBED.load(Ordering::Relaxed);
        if bits & DONE != 0 {
            return bits;
        }
        // Racing first calls compute the same value; no lock needed.
        let bits = DONE | super::decode(probe_cpuid_values());
        PROBED.store(bits, Ordering::Relaxed);
        bits
    }

    /// This CPU's [`CpuidValues`], read with CPUID and XGETBV (`std` only).
    #[cfg(target_arch = "x86_64")]
    pub fn probe_cpuid_values() -> CpuidValues {
        use core::arch::x86_64::__cpuid_count;

        const OSXSAVE: u32 = 1 << 27;
        let max_leaf = __cpuid_count(0, 0).eax;
        if max_leaf < 7 {
            return CpuidValues::default();
        }
        let leaf1_ecx = __cpuid_count(1, 0).ecx;
        let xcr0 = if leaf1_ecx & OSXSAVE != 0 {
            // SAFETY: OSXSAVE is set, so XGETBV is supported and CR4.OSXSAVE is on.
            unsafe { read_xcr0() }
        } else {
            0
        };
        let leaf7 = __cpuid_count(7, 0);
        CpuidValues {
            max_leaf,
            leaf1_ecx,
            leaf7_ebx: leaf7.ebx,
            leaf7_ecx: leaf7.ecx,
            xcr0,
        }
    }

    /// No SIMD kernels off x86-64.
    #[cfg(not(target_arch = "x86_64"))]
    pub fn probe_cpuid_values() -> CpuidValues {
        CpuidValues::default()
    }

    /// Reads XCR0 (the register state the OS saves on context switches).
    ///
    /// # Safety
    /// The CPU must report OSXSAVE (CPUID.1:ECX bit 27); otherwise XGETBV faults.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "xsave")]
    unsafe fn read_xcr0() -> u64 {
        // SAFETY: the caller guarantees XGETBV is enabled.
        unsafe { core::arch::x86_64::_xgetbv(0) }
    }
}
