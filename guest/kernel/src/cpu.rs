//! CPU features, computed once at boot. SSE is on from the boot stub; here AVX
//! and AVX-512 state are enabled in XCR0 where the CPU offers them
//! (`int8_kernels::SimdPlan` decides), and the engine's kernel is chosen from
//! the same CPUID answers. Under SNP those answers come from the post-processed
//! CPUID page (`io::cpuid` -> `snp::cpuid`); no other guest code asks the CPU,
//! and the appliance takes the result from `BootInfo::cpu`. The guest has no
//! scalar kernel: a vCPU without AVX2 + FMA stops the appliance at boot.

use crate::io::cpuid;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use int8_kernels::{Kernel, KernelKind, Missing, SimdPlan};
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

/// Enables the SIMD state the engine can use and picks its kernel. Once, at boot;
/// stops the appliance (`fail`) on a vCPU the kernels cannot run on.
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
    let osxsave = cpuid(1, 0).ecx & (1 << 27) != 0;
    let kind = choose(&plan, osxsave).unwrap_or_else(|why| crate::fail("cpu", &why));
    // Why the promise below holds: `kind` is what `SimdPlan` allows from this CPU's CPUID answers: under SNP
    // the post-processed CPUID page (`snp::cpuid`), which the secure processor checked
    // against the hardware at launch (a page it rejects never boots), natively CPUID
    // itself. It needs AVX2 + FMA (AVX-512 F/BW/VL/VNNI for the VNNI kind) and the YMM
    // (ZMM) state in XCR0: `set_xcr0` above loaded exactly `plan.xcr0`, which includes
    // that state whenever the plan allows the kind (XSETBV faults rather than load a
    // bit the CPU lacks), and CPUID now reports OSXSAVE as the plan assumed (`choose`
    // checked it). This is the guest's only such promise.
    // SAFETY: the CPU supports `kind` and XCR0 enables its state, as argued above.
    let kernel = unsafe { Kernel::assume_supported(kind) };
    CpuFeatures {
        xcr0: plan.xcr0,
        kernel,
    }
}

/// Why the appliance does not run on this vCPU.
#[derive(Debug)]
enum Refusal {
    /// No AVX2 + FMA (with the YMM state): what is missing.
    NoSimd(Missing),
    /// CPUID does not mirror CR4.OSXSAVE after enabling it, so the answers the
    /// plan used are not the ones the kernels would see.
    Osxsave(bool),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoSimd(m) => write!(
                f,
                "the appliance needs AVX2 and FMA (every SEV-SNP CPU has them); this vCPU \
                 lacks {m}: use -cpu EPYC-Milan, EPYC-Genoa or max"
            ),
            Refusal::Osxsave(on) => write!(
                f,
                "CPUID reports OSXSAVE {on} but CR4.OSXSAVE is {}: the SIMD kernels cannot \
                 be trusted to run",
                !on
            ),
        }
    }
}

/// The kernel `plan` allows once applied, given the OSXSAVE bit CPUID reports after.
fn choose(plan: &SimdPlan, osxsave: bool) -> Result<KernelKind, Refusal> {
    let kind = plan.kind().ok_or(Refusal::NoSimd(plan.values.missing()))?;
    if osxsave != plan.xsave {
        return Err(Refusal::Osxsave(osxsave));
    }
    Ok(kind)
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// CPUID as `-cpu qemu64` answers it for what `SimdPlan` reads: SSE3 only in leaf 1,
    /// leaf 7 empty, leaf 0xD x87 | SSE.
    fn qemu64(leaf: u32, _: u32) -> [u32; 4] {
        match leaf {
            0 => [0xD, 0, 0, 0],
            1 => [0x663, 0, 0x8000_2001, 0x0781_abfd],
            0xD => [0x3, 0, 0, 0],
            _ => [0; 4],
        }
    }

    /// An EPYC-Milan-like vCPU: XSAVE, AVX, FMA, AVX2, the YMM state.
    fn milan(leaf: u32, _: u32) -> [u32; 4] {
        match leaf {
            0 => [0xD, 0, 0, 0],
            1 => [0, 0, (1 << 26) | (1 << 28) | (1 << 12), 0],
            7 => [0, 1 << 5, 0, 0],
            0xD => [0x7, 0, 0, 0],
            _ => [0; 4],
        }
    }

    #[test]
    fn a_vcpu_without_avx2_and_fma_is_refused_with_what_it_lacks() {
        let why = choose(&SimdPlan::from_cpuid(qemu64), false).expect_err("refused");
        assert_eq!(
            why.to_string(),
            "the appliance needs AVX2 and FMA (every SEV-SNP CPU has them); this vCPU lacks \
             XSAVE, AVX, AVX2, FMA: use -cpu EPYC-Milan, EPYC-Genoa or max"
        );
        // AVX without AVX2 and FMA (a Sandy Bridge-like vCPU).
        let sandy = |l, s| match l {
            1 => [0, 0, (1 << 26) | (1 << 28), 0],
            _ => milan(l, s).map(|r| if l == 7 { 0 } else { r }),
        };
        let why = choose(&SimdPlan::from_cpuid(sandy), true).expect_err("refused");
        assert!(why.to_string().contains("lacks AVX2, FMA:"), "{why}");
    }

    #[test]
    fn an_avx2_vcpu_runs_and_a_wrong_osxsave_is_refused() {
        let plan = SimdPlan::from_cpuid(milan);
        assert_eq!(choose(&plan, true).ok(), Some(KernelKind::Avx2));
        let why = choose(&plan, false).expect_err("refused");
        assert!(
            why.to_string()
                .starts_with("CPUID reports OSXSAVE false but CR4.OSXSAVE is true"),
            "{why}"
        );
    }
}
