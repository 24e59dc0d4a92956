//! CPU features, computed once at boot. SSE is on from the boot stub; here AVX
//! and AVX-512 state are enabled in XCR0 where the CPU offers them
//! (`int8_kernels::SimdPlan` decides), and the engine's kernel is chosen from
//! the same CPUID answers. Under SNP those answers come from the post-processed
//! CPUID page (`io::cpuid` -> `snp::cpuid`); no other guest code asks the CPU,
//! and the appliance takes the result from `BootInfo::cpu`.

use crate::io::cpuid;
use core::sync::atomic::{AtomicU64, Ordering};
use int8_kernels::{Kernel, KernelKind, SimdPlan};
use snp_guest::rdrand::{RdrandError, RdrandFilter};
use spin::{Mutex, Once};

/// XCR0 as loaded: 1 (its reset value) until `enable_simd` sets it.
static XCR0: AtomicU64 = AtomicU64::new(1);

/// What the kernel found and enabled.
#[derive(Clone, Copy, Debug)]
pub struct CpuFeatures {
    /// XCR0 as enabled (0: no XSAVE, left at its reset value).
    pub xcr0: u64,
    /// The int8 kernel the appliance runs (made here, the guest's only place that
    /// vouches for a SIMD kernel).
    pub kernel: Kernel,
}

/// Enables the SIMD state the engine can use and picks its kernel. Once, at boot.
pub(crate) fn enable_simd() -> CpuFeatures {
    let plan = SimdPlan::from_cpuid(|leaf, subleaf| {
        let r = cpuid(leaf, subleaf);
        [r.eax, r.ebx, r.ecx, r.edx]
    });
    if plan.xsave {
        // SAFETY: CPUID said XSAVE exists (`plan.xsave`).
        unsafe { crate::arch::enable_osxsave() };
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
        kernel,
    }
}

/// The boot vCPU's SIMD state on an AP: CR4.OSXSAVE and the same XCR0, so
/// the kernel `enable_simd` chose runs here too. Natively only (an SNP AP
/// starts with the boot vCPU's CR4 and XCR0 in its VMSA).
pub(crate) fn enable_simd_on_ap() {
    let xcr0 = xcr0();
    if xcr0 != 1 {
        // SAFETY: the boot vCPU found XSAVE and loaded this XCR0 (only components CPUID reports); every vCPU of the VM has the same CPUID, and nothing on this AP has used AVX state yet.
        unsafe {
            crate::arch::enable_osxsave();
            crate::arch::xsetbv(xcr0);
        }
    }
}

/// XCR0 as loaded (for CPUID leaf 0xD answers and SNP AP VMSAs).
pub(crate) fn xcr0() -> u64 {
    XCR0.load(Ordering::Relaxed)
}

/// Loads XCR0 and records it. XSETBV runs natively on both platforms: it
/// is not intercepted for SEV-ES/SNP guests. The hypervisor is never told:
/// under SNP, CPUID is answered from the CPUID page with this record
/// (`xcr0`, in `snp::cpuid`), never by a CPUID exit that would carry it.
fn set_xcr0(value: u64) {
    // SAFETY: `value` is `SimdPlan::xcr0`: only components CPUID reports, x87 and SSE always on, and nothing running uses AVX state before this.
    unsafe { crate::arch::xsetbv(value) };
    XCR0.store(value, Ordering::Relaxed);
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
    RDRAND.lock().draw(crate::arch::rdrand64)
}
