//! The one path to port I/O, MSRs, CPUID and MMIO.
//!
//! Natively each operation is the instruction itself. Under SEV-SNP each is an
//! explicit GHCB call (see `snp`), so no instruction that the hypervisor
//! intercepts ever runs in 64-bit code and no #VC is ever raised. Code
//! outside this module must not use `in`/`out`/`rdmsr`/`wrmsr`/`cpuid` or
//! dereference device memory; `tests/check_no_raw_io.sh` enforces that.

mod counts;

pub use counts::{exit_counts, ExitCounts};

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};
use counts::{count, Kind};

static SNP_ACTIVE: AtomicBool = AtomicBool::new(false);

/// Route all I/O through the GHCB from now on. Called once, after the GHCB
/// has been registered.
pub(crate) fn enable_snp_path() {
    SNP_ACTIVE.store(true, Ordering::SeqCst);
}

pub fn snp_active() -> bool {
    SNP_ACTIVE.load(Ordering::Relaxed)
}

pub use crate::platform::Width;

pub fn outb(port: u16, value: u8) {
    port_write(port, u32::from(value), Width::Byte);
}
pub fn outw(port: u16, value: u16) {
    port_write(port, u32::from(value), Width::Word);
}
pub fn outl(port: u16, value: u32) {
    port_write(port, value, Width::Dword);
}
pub fn inb(port: u16) -> u8 {
    port_read(port, Width::Byte) as u8
}
pub fn inw(port: u16) -> u16 {
    port_read(port, Width::Word) as u16
}
pub fn inl(port: u16) -> u32 {
    port_read(port, Width::Dword)
}

#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn port_write(port: u16, value: u32, width: Width) {
    count(Kind::PortOut, 1);
    if snp_active() {
        crate::snp::port_write(port, value, width);
        return;
    }
    // SAFETY: port I/O has no memory effects visible to Rust; callers own the device protocol on `port`.
    unsafe {
        match width {
            Width::Byte => {
                asm!("out dx, al", in("dx") port, in("al") value as u8, options(nomem, nostack, preserves_flags))
            }
            Width::Word => {
                asm!("out dx, ax", in("dx") port, in("ax") value as u16, options(nomem, nostack, preserves_flags))
            }
            Width::Dword => {
                asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
            }
        }
    }
}

#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn port_read(port: u16, width: Width) -> u32 {
    count(Kind::PortIn, 1);
    if snp_active() {
        return crate::snp::port_read(port, width);
    }
    // SAFETY: as in `port_write`.
    unsafe {
        match width {
            Width::Byte => {
                let v: u8;
                asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags));
                u32::from(v)
            }
            Width::Word => {
                let v: u16;
                asm!("in ax, dx", in("dx") port, out("ax") v, options(nomem, nostack, preserves_flags));
                u32::from(v)
            }
            Width::Dword => {
                let v: u32;
                asm!("in eax, dx", in("dx") port, out("eax") v, options(nomem, nostack, preserves_flags));
                v
            }
        }
    }
}

/// Read `buf.len()` bytes from one port (string input), as fast as the
/// platform allows: `rep insb` natively, a GHCB shared buffer per exit
/// under SNP.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub fn insb(port: u16, buf: &mut [u8]) {
    count(Kind::PortIn, counts::string_exits(buf.len()));
    if snp_active() {
        crate::snp::port_read_bytes(port, buf);
        return;
    }
    // SAFETY: `rep insb` writes exactly `buf.len()` bytes starting at `buf`, which we borrow mutably; the direction flag is clear (Rust ABI).
    unsafe {
        asm!("rep insb", in("dx") port, inout("rdi") buf.as_mut_ptr() => _, inout("rcx") buf.len() => _, options(nostack, preserves_flags));
    }
}

/// Write `bytes` to one port (string output): `rep outsb` natively, a GHCB
/// shared buffer per exit under SNP.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub fn outsb(port: u16, bytes: &[u8]) {
    count(Kind::PortOut, counts::string_exits(bytes.len()));
    if snp_active() {
        crate::snp::port_write_bytes(port, bytes);
        return;
    }
    // SAFETY: `rep outsb` reads exactly `bytes.len()` bytes starting at `bytes`, which we borrow; the direction flag is clear (Rust ABI).
    unsafe {
        asm!("rep outsb", in("dx") port, inout("rsi") bytes.as_ptr() => _, inout("rcx") bytes.len() => _, options(nostack, preserves_flags, readonly));
    }
}

/// Read an MSR.
pub fn rdmsr(msr: u32) -> u64 {
    count(Kind::MsrRead, 1);
    if snp_active() {
        return crate::snp::rdmsr(msr);
    }
    raw_rdmsr(msr)
}

/// Write an MSR.
pub fn wrmsr(msr: u32, value: u64) {
    count(Kind::MsrWrite, 1);
    if snp_active() {
        crate::snp::wrmsr(msr, value);
        return;
    }
    raw_wrmsr(msr, value);
}

/// RDMSR without the GHCB: only for MSRs the hardware never intercepts
/// (the GHCB MSR itself, SEV_STATUS) and for native mode.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn raw_rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reading an MSR has no memory effects; callers pass MSRs that exist on this CPU (checked through CPUID or the SEV status).
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn raw_wrmsr(msr: u32, value: u64) {
    // SAFETY: as `raw_rdmsr`; the MSRs written here (GHCB, EFER, PAT) do not change memory safety of Rust code.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack, preserves_flags));
    }
}

/// CPUID result registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpuid {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// CPUID. Under SNP the answer comes from the launch-validated CPUID page,
/// post-processed for this vCPU (`snp::cpuid`); the hypervisor is never
/// asked, and no instruction runs.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub fn cpuid(leaf: u32, subleaf: u32) -> Cpuid {
    count(Kind::Cpuid, 1);
    if snp_active() {
        return crate::snp::cpuid(leaf, subleaf);
    }
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    Cpuid {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// Read a device register.
///
/// # Safety
/// `gpa .. gpa + width` is identity-mapped device memory the caller owns.
pub(crate) unsafe fn mmio_read(gpa: u64, width: Width) -> u32 {
    match width {
        Width::Byte => u32::from(mmio_read8(gpa)),
        Width::Word => u32::from(mmio_read16(gpa)),
        Width::Dword => mmio_read32(gpa),
    }
}

/// Write a device register.
///
/// # Safety
/// As `mmio_read`.
pub(crate) unsafe fn mmio_write(gpa: u64, value: u32, width: Width) {
    match width {
        Width::Byte => mmio_write8(gpa, value as u8),
        Width::Word => mmio_write16(gpa, value as u16),
        Width::Dword => mmio_write32(gpa, value),
    }
}

/// Read a 32-bit device register at guest-physical address `gpa`.
pub fn mmio_read32(gpa: u64) -> u32 {
    count(Kind::MmioRead, 1);
    if snp_active() {
        return crate::snp::mmio_read(gpa, Width::Dword) as u32;
    }
    // SAFETY: `gpa` is identity-mapped device memory the caller owns; a volatile read has no effect on Rust-visible memory.
    unsafe { core::ptr::read_volatile(gpa as *const u32) }
}

/// Write a 32-bit device register at guest-physical address `gpa`.
pub fn mmio_write32(gpa: u64, value: u32) {
    count(Kind::MmioWrite, 1);
    if snp_active() {
        crate::snp::mmio_write(gpa, u64::from(value), Width::Dword);
        return;
    }
    // SAFETY: as `mmio_read32`.
    unsafe { core::ptr::write_volatile(gpa as *mut u32, value) }
}

/// Read an 8-bit device register at guest-physical address `gpa`.
pub fn mmio_read8(gpa: u64) -> u8 {
    count(Kind::MmioRead, 1);
    if snp_active() {
        return crate::snp::mmio_read(gpa, Width::Byte) as u8;
    }
    // SAFETY: as `mmio_read32`.
    unsafe { core::ptr::read_volatile(gpa as *const u8) }
}

/// Write an 8-bit device register at guest-physical address `gpa`.
pub fn mmio_write8(gpa: u64, value: u8) {
    count(Kind::MmioWrite, 1);
    if snp_active() {
        crate::snp::mmio_write(gpa, u64::from(value), Width::Byte);
        return;
    }
    // SAFETY: as `mmio_read32`.
    unsafe { core::ptr::write_volatile(gpa as *mut u8, value) }
}

/// Read a 16-bit device register at guest-physical address `gpa`.
pub fn mmio_read16(gpa: u64) -> u16 {
    count(Kind::MmioRead, 1);
    if snp_active() {
        return crate::snp::mmio_read(gpa, Width::Word) as u16;
    }
    // SAFETY: as `mmio_read32`.
    unsafe { core::ptr::read_volatile(gpa as *const u16) }
}

/// Write a 16-bit device register at guest-physical address `gpa`.
pub fn mmio_write16(gpa: u64, value: u16) {
    count(Kind::MmioWrite, 1);
    if snp_active() {
        crate::snp::mmio_write(gpa, u64::from(value), Width::Word);
        return;
    }
    // SAFETY: as `mmio_read32`.
    unsafe { core::ptr::write_volatile(gpa as *mut u16, value) }
}

/// Read the time-stamp counter. KVM does not intercept RDTSC for SEV-ES/SNP
/// guests by default, so this runs natively; a hypervisor may intercept it
/// (it is a NAE event in the GHCB spec, exit code 0x6E), and the #VC handler
/// then serves it through the GHCB (`snp::rdtsc_for_vc`). The value is
/// host-controlled either way (no Secure TSC).
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}
