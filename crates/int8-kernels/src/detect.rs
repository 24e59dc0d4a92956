//! Kernel choice and run-time CPU feature detection without std.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

/// One implementation of the int8 kernels. All give identical results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable Rust; the reference, runs everywhere (incl. QEMU TCG).
    Scalar,
    /// AVX2, exact int16 products (no `vpmaddubsw` saturation).
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

#[cfg(target_arch = "x86_64")]
fn probe() -> u8 {
    use core::arch::x86_64::__cpuid_count;

    const OSXSAVE: u32 = 1 << 27; // leaf 1 ECX
    const AVX: u32 = 1 << 28; // leaf 1 ECX
    const AVX2_BIT: u32 = 1 << 5; // leaf 7 EBX
    const AVX512F: u32 = 1 << 16; // leaf 7 EBX
    const AVX512BW: u32 = 1 << 30; // leaf 7 EBX
    const AVX512VL: u32 = 1 << 31; // leaf 7 EBX
    const AVX512VNNI: u32 = 1 << 11; // leaf 7 ECX
                                     // XCR0: SSE + AVX (YMM upper halves) state; AVX-512 adds opmask, ZMM_Hi256, Hi16_ZMM.
    const XCR0_YMM: u64 = 0b110;
    const XCR0_ZMM: u64 = 0b1110_0110;

    if __cpuid_count(0, 0).eax < 7 {
        return 0;
    }
    let leaf1 = __cpuid_count(1, 0);
    if leaf1.ecx & OSXSAVE == 0 || leaf1.ecx & AVX == 0 {
        return 0;
    }
    // SAFETY: OSXSAVE is set, so XGETBV is supported and CR4.OSXSAVE is on.
    let xcr0 = unsafe { read_xcr0() };
    let leaf7 = __cpuid_count(7, 0);
    let mut bits = 0;
    if xcr0 & XCR0_YMM == XCR0_YMM && leaf7.ebx & AVX2_BIT != 0 {
        bits |= AVX2;
        let f = AVX512F | AVX512BW | AVX512VL;
        if xcr0 & XCR0_ZMM == XCR0_ZMM && leaf7.ebx & f == f && leaf7.ecx & AVX512VNNI != 0 {
            bits |= VNNI;
        }
    }
    bits
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
