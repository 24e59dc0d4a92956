//! The one path to port I/O, CPUID and MMIO, dispatched on the platform kind.
//!
//! Natively each operation is the instruction itself (`arch`). Under SEV-SNP
//! each is an explicit GHCB call (`snp`), so no instruction that the
//! hypervisor intercepts ever runs in 64-bit code and no #VC is ever raised.
//! Every operation is counted (`counts`): natively too, so a plain-QEMU run
//! shows what an SNP run would cost. Crate-internal: drivers reach port I/O
//! and MMIO through `platform::HwIo`, whose `PlatformIo` implementation
//! this is; CPUID is the CPU code's (`cpu`). XSETBV is not here: it runs
//! natively on both platforms (`cpu::set_xcr0`).

mod counts;

pub use counts::{exit_counts, ExitCounts};

use crate::arch;
pub(crate) use crate::arch::{rdtsc, Cpuid};
pub(crate) use crate::platform::Width;
use crate::platform::{self, HwIo, Kind, PlatformIo};
use counts::{count, Kind as Exit};

/// The GHCB path is in use (for drivers that must refuse a device that
/// would bypass it; the answer is the platform's one flag).
pub(crate) fn snp_active() -> bool {
    platform::kind() == Kind::Snp
}

// Port I/O is safe inside the crate: `PlatformIo` (the drivers' contract)
// offers it safely, and every port the kernel touches belongs to one driver
// of its own (serial, fw_cfg, PCI configuration, PIT, debug exit, ACPI PM).
impl PlatformIo for HwIo {
    fn port_write(&self, port: u16, value: u32, width: Width) {
        count(Exit::PortOut, 1);
        match platform::kind() {
            Kind::Snp => crate::snp::port_write(port, value, width),
            // SAFETY: the port belongs to the calling driver (see above).
            Kind::Native => unsafe { arch::port_write(port, value, width) },
        }
    }

    fn port_read(&self, port: u16, width: Width) -> u32 {
        count(Exit::PortIn, 1);
        match platform::kind() {
            Kind::Snp => crate::snp::port_read(port, width),
            // SAFETY: as in `port_write`.
            Kind::Native => unsafe { arch::port_read(port, width) },
        }
    }

    /// `buf.len()` bytes from one port (string input), as fast as the
    /// platform allows: `rep insb` natively, a GHCB shared buffer per exit
    /// under SNP.
    fn port_read_bytes(&self, port: u16, buf: &mut [u8]) {
        count(Exit::PortIn, counts::string_exits(buf.len()));
        match platform::kind() {
            Kind::Snp => crate::snp::port_read_bytes(port, buf),
            // SAFETY: as in `port_write`.
            Kind::Native => unsafe { arch::rep_insb(port, buf) },
        }
    }

    /// `bytes` to one port (string output): `rep outsb` natively, a GHCB
    /// shared buffer per exit under SNP.
    fn port_write_bytes(&self, port: u16, bytes: &[u8]) {
        count(Exit::PortOut, counts::string_exits(bytes.len()));
        match platform::kind() {
            Kind::Snp => crate::snp::port_write_bytes(port, bytes),
            // SAFETY: as in `port_write`.
            Kind::Native => unsafe { arch::rep_outsb(port, bytes) },
        }
    }

    unsafe fn mmio_read(&self, gpa: u64, width: Width) -> u32 {
        count(Exit::MmioRead, 1);
        if platform::kind() == Kind::Snp {
            return crate::snp::mmio_read(gpa, width) as u32;
        }
        // SAFETY: `gpa` is identity-mapped device memory the caller owns (the trait's contract); a volatile read has no effect on Rust-visible memory.
        unsafe {
            match width {
                Width::Byte => u32::from(core::ptr::read_volatile(gpa as *const u8)),
                Width::Word => u32::from(core::ptr::read_volatile(gpa as *const u16)),
                Width::Dword => core::ptr::read_volatile(gpa as *const u32),
            }
        }
    }

    unsafe fn mmio_write(&self, gpa: u64, value: u32, width: Width) {
        count(Exit::MmioWrite, 1);
        if platform::kind() == Kind::Snp {
            crate::snp::mmio_write(gpa, u64::from(value), width);
            return;
        }
        // SAFETY: as `mmio_read`.
        unsafe {
            match width {
                Width::Byte => core::ptr::write_volatile(gpa as *mut u8, value as u8),
                Width::Word => core::ptr::write_volatile(gpa as *mut u16, value as u16),
                Width::Dword => core::ptr::write_volatile(gpa as *mut u32, value),
            }
        }
    }

    unsafe fn msr_read(&self, msr: u32) -> u64 {
        count(Exit::MsrRead, 1);
        match platform::kind() {
            Kind::Snp => crate::snp::rdmsr(msr),
            Kind::Native => arch::rdmsr(msr),
        }
    }

    unsafe fn msr_write(&self, msr: u32, value: u64) {
        count(Exit::MsrWrite, 1);
        match platform::kind() {
            Kind::Snp => crate::snp::wrmsr(msr, value),
            // SAFETY: the caller's promise (the trait's contract).
            Kind::Native => unsafe { arch::wrmsr(msr, value) },
        }
    }
}

/// CPUID. Under SNP the answer comes from the launch-validated CPUID page,
/// post-processed for this vCPU (`snp::cpuid`); the hypervisor is never
/// asked, and no instruction runs.
pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> Cpuid {
    count(Exit::Cpuid, 1);
    match platform::kind() {
        Kind::Snp => crate::snp::cpuid(leaf, subleaf),
        Kind::Native => arch::cpuid(leaf, subleaf),
    }
}
