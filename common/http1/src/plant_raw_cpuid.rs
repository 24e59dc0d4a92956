//! Test-only (feature `plant-raw-cpuid`): a raw CPUID in a crate linked into
//! the guest, which `tests/check_guest_binary.py` must report. No shipped
//! image enables the feature; `tests/e2e_binary_check.py` builds the variant.

/// The highest basic CPUID leaf, read with the CPUID instruction itself:
/// what guest code must never do (CPUID raises #VC under SEV-SNP). Out of
/// line so the binary check can name it.
#[inline(never)]
pub fn max_basic_leaf() -> u32 {
    core::arch::x86_64::__cpuid(0).eax
}
