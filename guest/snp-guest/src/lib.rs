//! SEV-SNP guest-side protocol logic, free of `unsafe` and testable on the host.
//!
//! The kernel implements [`SnpHardware`] with real instructions (WRMSR/RDMSR,
//! VMGEXIT, PVALIDATE, page-table edits); everything else here is plain logic
//! over that trait, tested against [`mock::MockHypervisor`] (feature `mock`).
//!
//! Guest identity mapping is assumed: virtual address == guest physical
//! address (the C-bit is not part of the GPA).
//!
//! Typical SNP boot order for the kernel:
//! 1. [`sev_status::detect`] (+ [`sev_status::SevMode::supported`]);
//! 2. [`cpuid_page::CpuidPage::parse`] and `c_bit_position()`;
//! 3. [`setup::init_ghcb`] (shares the GHCB page with MSR-protocol PSC,
//!    registers it, returns a [`GhcbChannel`]);
//! 4. [`accept::accept_range`] for every RAM range not validated at launch,
//!    with an [`AcceptedMemory`] record that already holds the ranges
//!    validated at launch;
//! 5. NAE calls on the channel ([`nae`]), [`accept::share_page`] for DMA pages;
//! 6. [`ap_create::create_ap`] with a VMSA from [`vmsa::ApState::build`] for
//!    each AP.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
// Tests may unwrap; library code may not (workspace lint `unwrap_used`).
#![cfg_attr(test, allow(clippy::unwrap_used))]

#[cfg(any(test, feature = "mock"))]
extern crate alloc;

pub mod accept;
pub mod accepted;
pub mod ap_create;
#[cfg(test)]
mod cpuid_kat;
pub mod cpuid_page;
pub mod error;
pub mod ghcb;
pub mod ghcb_copy;
pub mod msr_protocol;
pub mod nae;
pub mod rdrand;
pub mod setup;
pub mod sev_status;
pub mod vc;
pub mod vmsa;

#[cfg(any(test, feature = "mock"))]
pub mod mock;

#[cfg(test)]
mod tests;

pub use accept::{accept_range, share_page, unshare_page};
pub use accepted::AcceptedMemory;
pub use ap_create::create_ap;
pub use error::SnpError;
pub use ghcb::Ghcb;
pub use ghcb_copy::GhcbCopy;
pub use nae::GhcbChannel;
pub use setup::{init_ghcb, register_ghcb, share_page_msr};

/// 4 KiB.
pub const PAGE_SIZE_4K: u64 = 0x1000;
/// 2 MiB.
pub const PAGE_SIZE_2M: u64 = 0x20_0000;

/// Page size operand of PVALIDATE (ECX: 0 = 4 KiB, 1 = 2 MiB) and of PSC entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    Size4K,
    Size2M,
}

impl PageSize {
    /// Size in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => PAGE_SIZE_4K,
            PageSize::Size2M => PAGE_SIZE_2M,
        }
    }
}

/// PVALIDATE return codes in EAX (AMD APM vol. 3, PVALIDATE; Linux
/// arch/x86/include/asm/sev.h).
pub mod pvalidate_rc {
    pub const SUCCESS: u32 = 0;
    #[cfg(any(test, feature = "mock"))]
    pub const FAIL_INPUT: u32 = 1;
    #[cfg(any(test, feature = "mock"))]
    pub const FAIL_PERMISSION: u32 = 2;
    pub const FAIL_SIZEMISMATCH: u32 = 6;
}

/// Raw operations the kernel provides with real instructions; the mock provides them in tests.
pub trait SnpHardware {
    /// Write `value` to the GHCB MSR (0xC001_0130), execute VMGEXIT, return the value then read from that MSR.
    fn msr_protocol(&mut self, value: u64) -> u64;
    /// Copy the `copy.out()` bytes of `ghcb` into the shared GHCB page at `ghcb_gpa`, write that
    /// GPA to the GHCB MSR, VMGEXIT, copy the `copy.back()` bytes of the shared page back into
    /// `ghcb` (the kernel only ever works on this private copy; other bytes stay as they are).
    fn ghcb_exit(&mut self, ghcb_gpa: u64, ghcb: &mut Ghcb, copy: &GhcbCopy);
    /// PVALIDATE: returns (EAX return code, carry flag).
    fn pvalidate(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool);
    /// Set (encrypted=true) or clear the C-bit in the mapping of the 4 KiB page at `vaddr`, then flush its TLB entry.
    fn set_page_encrypted(&mut self, vaddr: u64, encrypted: bool);
    /// Evict the cache lines of the just-validated page at `vaddr` (`size`
    /// bytes) by reading the first and the last byte of each 4 KiB page in
    /// it with the guest key (CVE-2025-38560; Linux `sev_evict_cache`).
    /// [`accept`] calls it after every successful validating PVALIDATE
    /// unless the CPU reports COHERENCY_SFW_NO.
    fn evict_cache(&mut self, vaddr: u64, size: PageSize);
    /// RMPADJUST of the 4 KiB page at `vaddr` with `attrs` in RDX (target
    /// VMPL in bits 7:0, permissions 15:8, the VMSA bit 16): returns EAX
    /// (0 = success; APM vol. 3 "RMPADJUST").
    fn rmpadjust(&mut self, vaddr: u64, attrs: u64) -> u32;
}

/// Lets a [`GhcbChannel`] borrow the hardware instead of owning it.
#[cfg(any(test, feature = "mock"))]
impl<T: SnpHardware + ?Sized> SnpHardware for &mut T {
    fn msr_protocol(&mut self, value: u64) -> u64 {
        (**self).msr_protocol(value)
    }
    fn ghcb_exit(&mut self, ghcb_gpa: u64, ghcb: &mut Ghcb, copy: &GhcbCopy) {
        (**self).ghcb_exit(ghcb_gpa, ghcb, copy)
    }
    fn pvalidate(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool) {
        (**self).pvalidate(vaddr, size, validate)
    }
    fn set_page_encrypted(&mut self, vaddr: u64, encrypted: bool) {
        (**self).set_page_encrypted(vaddr, encrypted)
    }
    fn evict_cache(&mut self, vaddr: u64, size: PageSize) {
        (**self).evict_cache(vaddr, size)
    }
    fn rmpadjust(&mut self, vaddr: u64, attrs: u64) -> u32 {
        (**self).rmpadjust(vaddr, attrs)
    }
}
