//! Kernel choice from CPU feature values.
//!
//! The crate never asks the CPU on its own in a guest build: the caller passes the
//! CPUID / XCR0 values ([`CpuidValues`]) it trusts and picks a kernel with
//! [`CpuidValues::best_kernel`]. In an SEV-SNP guest CPUID raises #VC and its honest
//! answers come from the post-processed CPUID page, which only the guest kernel has.
//!
//! The run-time probe ([`Kernel::detect`], [`Kernel::available`],
//! [`Kernel::is_available`]) executes CPUID and XGETBV and exists only with the `std`
//! feature (host tools, tests, benchmarks). Without it the SIMD entry points cannot
//! check the CPU: a SIMD [`Kernel`] value is the caller's statement that the CPU runs
//! it and that its register state is enabled in XCR0 (the guest derives it from the
//! CPUID page after enabling that state; an instruction the CPU lacks raises #UD,
//! which stops the guest).

use alloc::vec::Vec;

/// One implementation of the int8 kernels. All give identical results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable Rust; the reference, runs everywhere (incl. QEMU TCG).
    Scalar,
    /// AVX2 (+ FMA for the f32 helpers), exact int16 products (no `vpmaddubsw` saturation).
    Avx2,
    /// AVX-512 F/BW/VL + VNNI (`vpdpbusd`).
    Avx512Vnni,
}

const AVX2: u8 = 1;
const VNNI: u8 = 2;

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512Vnni];

    /// The kernel with this [`name`](Self::name), e.g. from a command-line flag.
    pub fn from_name(name: &str) -> Option<Kernel> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Short stable name, for logs and benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512Vnni => "avx512-vnni",
        }
    }

    fn allowed_by(self, bits: u8) -> bool {
        match self {
            Kernel::Scalar => true,
            Kernel::Avx2 => bits & AVX2 != 0,
            Kernel::Avx512Vnni => bits & VNNI != 0,
        }
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
    /// The kernels these values allow (always includes `Scalar`), slowest first.
    pub fn kernels(self) -> Vec<Kernel> {
        let bits = decode(self);
        Kernel::ALL
            .into_iter()
            .filter(|k| k.allowed_by(bits))
            .collect()
    }

    /// The fastest kernel these values allow.
    pub fn best_kernel(self) -> Kernel {
        let bits = decode(self);
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| k.allowed_by(bits))
            .unwrap_or(Kernel::Scalar)
    }

    /// Whether these values allow `kernel`.
    pub fn allows(self, kernel: Kernel) -> bool {
        kernel.allowed_by(decode(self))
    }
}

fn decode(v: CpuidValues) -> u8 {
    const OSXSAVE: u32 = 1 << 27; // leaf 1 ECX
    const AVX: u32 = 1 << 28; // leaf 1 ECX
    const FMA: u32 = 1 << 12; // leaf 1 ECX
    const AVX2_BIT: u32 = 1 << 5; // leaf 7 EBX
    const AVX512F: u32 = 1 << 16; // leaf 7 EBX
    const AVX512BW: u32 = 1 << 30; // leaf 7 EBX
    const AVX512VL: u32 = 1 << 31; // leaf 7 EBX
    const AVX512VNNI: u32 = 1 << 11; // leaf 7 ECX

    // XCR0: SSE + AVX (YMM upper halves) state; AVX-512 adds opmask, ZMM_Hi256, Hi16_ZMM.
    const XCR0_YMM: u64 = 0b110;
    const XCR0_ZMM: u64 = 0b1110_0110;

    if v.max_leaf < 7 || v.leaf1_ecx & OSXSAVE == 0 || v.leaf1_ecx & AVX == 0 {
        return 0;
    }
    let mut bits = 0;
    // The f32 helpers use FMA on both SIMD kernels (every AVX2 CPU has it; a VM might not say so).
    if v.xcr0 & XCR0_YMM == XCR0_YMM && v.leaf7_ebx & AVX2_BIT != 0 && v.leaf1_ecx & FMA != 0 {
        bits |= AVX2;
        let f = AVX512F | AVX512BW | AVX512VL;
        if v.xcr0 & XCR0_ZMM == XCR0_ZMM && v.leaf7_ebx & f == f && v.leaf7_ecx & AVX512VNNI != 0 {
            bits |= VNNI;
        }
    }
    bits
}

/// Whether the entry points may run `kernel`: with the probe, whether this CPU runs
/// it; without it (guest builds) the caller's choice stands (see the module doc).
pub(crate) fn runnable(kernel: Kernel) -> bool {
    #[cfg(any(test, feature = "std"))]
    {
        kernel.is_available()
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        kernel == Kernel::Scalar || cfg!(target_arch = "x86_64")
    }
}

#[cfg(any(test, feature = "std"))]
pub use probe::probe_cpuid_values;

/// The run-time probe: CPUID and XGETBV on this CPU (host builds only).
#[cfg(any(test, feature = "std"))]
mod probe {
    use super::{CpuidValues, Kernel};
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// Probe result cache: bit 7 set once probed, low bits as in `decode`.
    static PROBED: AtomicU8 = AtomicU8::new(0);
    const DONE: u8 = 0x80;

    impl Kernel {
        /// The fastest kernel this CPU can run (executes CPUID; `std` only).
        pub fn detect() -> Kernel {
            probe_cpuid_values().best_kernel()
        }

        /// The kernels this CPU can run, slowest first (always starts with `Scalar`; `std` only).
        pub fn available() -> Vec<Kernel> {
            Self::ALL.into_iter().filter(|k| k.is_available()).collect()
        }

        /// Whether this CPU (and the OS-enabled register state) supports the kernel (`std` only).
        pub fn is_available(self) -> bool {
            self.allowed_by(probed_bits())
        }
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
