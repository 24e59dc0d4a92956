//! CPU features, computed once at boot. SSE is on from the boot stub; here AVX
//! and AVX-512 state are enabled in XCR0 where the CPU offers them
//! (`int8_kernels::SimdPlan` decides), and the engine's kernel is chosen from
//! the same CPUID answers. Under SNP those answers come from the post-processed
//! CPUID page (`io::cpuid` -> `snp::cpuid`); no other guest code asks the CPU,
//! and the appliance takes the result from `BootInfo::cpu`.

use crate::io::cpuid;
use core::sync::atomic::{AtomicU64, Ordering};
use int8_kernels::{CpuidValues, Kernel, KernelKind, SimdPlan};
use snp_guest::rdrand::{RdrandError, RdrandFilter};
use spin::{Mutex, Once};
use x86_64::registers::control::{Cr4, Cr4Flags};

/// XCR0 as loaded: 1 (its reset value) until `enable_simd` sets it.
static XCR0: AtomicU64 = AtomicU64::new(1);

/// What the kernel found and enabled.
#[derive(Clone, Copy, Debug)]
pub struct CpuFeatures {
    /// XCR0 as enabled (0: no XSAVE, left at its reset value).
    pub xcr0: u64,
    /// The CPUID/XCR0 values the engine's kernel choice rests on.
    pub cpuid: CpuidValues,
    /// The int8 kernel the appliance runs (made here, the guest's only place that
    /// vouches for a SIMD kernel).
    pub kernel: Kernel,
}

/// Enables the SIMD state the engine can use and picks its kernel. Once, at boot.
pub fn enable_simd() -> CpuFeatures {
    let plan = SimdPlan::from_cpuid(|leaf, subleaf| {
        let r = cpuid(leaf, subleaf);
        [r.eax, r.ebx, r.ecx, r.edx]
    });
    if plan.xsave {
        // SAFETY: OSXSAVE only makes XGETBV/XSETBV usable; CPUID said XSAVE exists.
        unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE)) };
        set_xcr0(plan.xcr0);
    }
    // CPUID now mirrors CR4.OSXSAVE (natively, or through the CPUID-page
    // post-processing under SNP); a mismatch means the answers the plan used
    // are not the ones the kernels would see, so stay with the scalar kernel.
    let osxsave = cpuid(1, 0).ecx & (1 << 27) != 0;
    let kind = if osxsave == plan.xsave {
        plan.kind()
    } else {
        log::warn!(
            "cpu: CPUID OSXSAVE {osxsave} after enabling {}: scalar kernel",
            plan.xsave
        );
        KernelKind::Scalar
    };
    // Why the promise below holds: `kind` is what `SimdPlan` allows from this CPU's CPUID answers: under SNP
    // the post-processed CPUID page (`snp::cpuid`), which the secure processor checked
    // against the hardware at launch (a page it rejects never boots), natively CPUID
    // itself. It needs AVX2 + FMA (AVX-512 F/BW/VL/VNNI for the VNNI kind) and the YMM
    // (ZMM) state in XCR0: `set_xcr0` above loaded exactly `plan.xcr0`, which includes
    // that state whenever the plan allows the kind (XSETBV faults rather than load a
    // bit the CPU lacks), and CPUID now reports OSXSAVE as the plan assumed (checked
    // just above; scalar otherwise). This is the guest's only such promise.
    // SAFETY: the CPU supports `kind` and XCR0 enables its state, as argued above.
    let kernel = unsafe { Kernel::assume_supported(kind) };
    CpuFeatures {
        xcr0: plan.xcr0,
        cpuid: plan.values,
        kernel,
    }
}

/// XCR0 as loaded (for CPUID leaf 0xD answers).
pub fn xcr0() -> u64 {
    XCR0.load(Ordering::Relaxed)
}

/// CR4.OSXSAVE and CR4.PKE, read from CR4 (for CPUID leaf 1 and 7 answers).
pub fn cr4_osxsave_pke() -> (bool, bool) {
    let cr4 = Cr4::read();
    (
        cr4.contains(Cr4Flags::OSXSAVE),
        cr4.contains(Cr4Flags::PROTECTION_KEY_USER),
    )
}

fn set_xcr0(value: u64) {
    if crate::io::snp_active() {
        crate::snp::set_xcr0(value);
    } else {
        raw_xsetbv(value);
    }
    XCR0.store(value, Ordering::Relaxed);
}

/// XSETBV. Not intercepted for SEV-ES/SNP guests by KVM (see `snp::set_xcr0`).
pub(crate) fn raw_xsetbv(value: u64) {
    // SAFETY: only bits the CPU reported as supported are set, with x87 and SSE always on, so the instruction cannot fault.
    unsafe {
        core::arch::asm!("xsetbv", in("ecx") 0u32, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack, preserves_flags));
    }
}

/// The filter remembers the last value handed out (a stuck generator repeats it).
static RDRAND: Mutex<RdrandFilter> = Mutex::new(RdrandFilter::new());

/// CPUID 1 ECX[30] (RDRAND), asked once: a CPUID per draw would be a host exit
/// per draw natively (and a CPUID-page lookup under SNP) for a constant answer.
static RDRAND_SUPPORTED: Once<bool> = Once::new();

/// A random number from RDRAND (never intercepted, also not under SNP), checked
/// by `snp_guest::rdrand` (no CF=0, no all-ones, no repeat; 10 attempts).
/// An error means the caller must stop: there is no other entropy source.
pub fn rdrand64() -> Result<u64, RdrandError> {
    if !*RDRAND_SUPPORTED.call_once(|| cpuid(1, 0).ecx & (1 << 30) != 0) {
        return Err(RdrandError::Unsupported);
    }
    RDRAND.lock().draw(raw_rdrand64)
}

/// One RDRAND: (value, CF).
fn raw_rdrand64() -> (u64, bool) {
    let value: u64;
    let ok: u8;
    // SAFETY: RDRAND only writes the named registers and flags; the caller checked CPUID.
    unsafe {
        core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
    }
    (value, ok != 0)
}
