//! Kernel choice and run-time CPU feature detection without std.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

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

/// Bit set of detected kernels; 0 means "not detected yet".
static DETECTED: AtomicU8 = AtomicU8::new(0);
const DONE: u8 = 1;
const AVX2: u8 = 2;
const VNNI: u8 = 4;

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512Vnni];

    /// The fastest kernel this CPU can run.
    pub fn detect() -> Kernel {
        let bits = detected();
        if bits & VNNI != 0 {
            Kernel::Avx512Vnni
        } else if bits & AVX2 != 0 {
            Kernel::Avx2
        } else {
            Kernel::Scalar
        }
    }

    /// The kernels this CPU can run, slowest first (always starts with `Scalar`).
    pub fn available() -> Vec<Kernel> {
        Self::ALL.into_iter().filter(|k| k.is_available()).collect()
    }

    /// Whether this CPU (and the OS-enabled register state) supports the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            Kernel::Avx2 => detected() & AVX2 != 0,
            Kernel::Avx512Vnni => detected() & VNNI != 0,
        }
    }

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
}

fn detected() -> u8 {
    let bits = DETECTED.load(Ordering::Relaxed);
    if bits & DONE != 0 {
        return bits;
    }
    // Racing first calls compute the same value; no lock needed.
    let bits = DONE | probe();
    DETECTED.store(bits, Ordering::Relaxed);
    bits
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
            .filter(|k| match k {
                Kernel::Scalar => true,
                Kernel::Avx2 => bits & AVX2 != 0,
                Kernel::Avx512Vnni => bits & VNNI != 0,
            })
            .collect()
    }
}

/// Uses `values` instead of executing CPUID. For guests where CPUID traps (an SEV-SNP
/// guest without a #VC handler takes an exception on CPUID): pass the values from the
/// SNP CPUID page and XCR0. Call it before any kernel runs; later detection is skipped.
///
/// # Safety
/// The values must describe this CPU and its enabled register state: the chosen SIMD
/// kernels execute those instructions, which is undefined behaviour where unsupported.
pub unsafe fn set_cpuid_values(values: CpuidValues) {
    DETECTED.store(DONE | decode(values), Ordering::Relaxed);
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

#[cfg(target_arch = "x86_64")]
fn probe() -> u8 {
    use core::arch::x86_64::__cpuid_count;

    const OSXSAVE: u32 = 1 << 27;
    let max_leaf = __cpuid_count(0, 0).eax;
    if max_leaf < 7 {
        return 0;
    }
    let leaf1_ecx = __cpuid_count(1, 0).ecx;
    let xcr0 = if leaf1_ecx & OSXSAVE != 0 {
        // SAFETY: OSXSAVE is set, so XGETBV is supported and CR4.OSXSAVE is on.
        unsafe { read_xcr0() }
    } else {
        0
    };
    let leaf7 = __cpuid_count(7, 0);
    decode(CpuidValues {
        max_leaf,
        leaf1_ecx,
        leaf7_ebx: leaf7.ebx,
        leaf7_ecx: leaf7.ecx,
        xcr0,
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn probe() -> u8 {
    0
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
