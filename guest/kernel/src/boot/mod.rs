//! Reset vector, mode switches and the values the assembly stub hands over.

#[cfg(not(any(test, feature = "fuzz")))] // guest image only: host builds link without the stubs
core::arch::global_asm!(include_str!("reset.s"), options(att_syntax, raw));
#[cfg(not(any(test, feature = "fuzz")))]
core::arch::global_asm!(include_str!("exceptions.s"), options(att_syntax, raw));

extern "C" {
    static boot_sev_status: u64;
    static boot_cbit_mask: u64;
    static boot_reset_tsc: u64;
}

/// What the 32-bit stub found before entering long mode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BootHandover {
    /// SEV_STATUS MSR (0 when SEV is absent).
    pub sev_status: u64,
    /// The C-bit as a page-table-entry mask (0 when not under SNP).
    pub c_bit_mask: u64,
    /// TSC at the reset vector.
    pub reset_tsc: u64,
}

pub(crate) fn handover() -> BootHandover {
    // SAFETY: the stub wrote these once before entering long mode and nothing writes them afterwards; reading plain integers is always valid.
    unsafe {
        BootHandover {
            sev_status: core::ptr::read(&raw const boot_sev_status),
            c_bit_mask: core::ptr::read(&raw const boot_cbit_mask),
            reset_tsc: core::ptr::read(&raw const boot_reset_tsc),
        }
    }
}

/// SEV-ES or SNP is active (SEV_STATUS bits 1 or 2, as the stub read it):
/// intercepted instructions raise #VC, so port I/O is unusable until the
/// GHCB exists.
pub(crate) fn sev_es_active() -> bool {
    handover().sev_status & 0b110 != 0
}

/// Physical layout fixed by `layout.ld` (kept in step by hand: the linker
/// script asserts the kernel fits, and `image-builder` checks the image).
pub(crate) mod layout {
    pub(crate) const SECRETS_PAGE: u64 = 0x1000;
    pub(crate) const CPUID_PAGE: u64 = 0x2000;
    pub(crate) const KERNEL_BASE: u64 = 0x10_0000;
    pub(crate) const PREVALIDATED_END: u64 = 0x50_0000;
    pub(crate) const IMAGE_SIZE: u64 = 0x20_0000;
    pub(crate) const IMAGE_BASE: u64 = 0x1_0000_0000 - IMAGE_SIZE;
}
