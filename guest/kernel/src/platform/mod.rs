//! The platform boundary: what the kernel's drivers ask of the machine.
//!
//! Drivers (fw_cfg, PCI, virtio, serial, the clock) are written against
//! `PlatformIo`, never against instructions. The guest runs them on `HwIo`
//! (native instructions, or GHCB calls under SEV-SNP); host unit tests run
//! the same drivers on a mock that plays a hostile host.
//!
//! Device memory is reachable only through `MmioRegion`, whose constructor
//! is `unsafe`: whoever makes one vouches that the range is device memory
//! they own, so no safe code can aim a write at RAM.

mod evidence;
mod kind;
mod mmio;
#[cfg(any(test, feature = "fuzz"))]
pub(crate) mod mock;
mod pages;

pub use evidence::{evidence, evidence_kind, Evidence, EvidenceError, EvidenceKind, REPORT_LEN};
pub(crate) use kind::Kind;
pub(crate) use mmio::{MmioError, MmioRegion};
pub(crate) use pages::{HwPages, PageVisibility};

/// The platform, recorded once by `start` (`set_kind`).
static KIND: kind::KindCell = kind::KindCell::new();

/// What the guest runs on; `Native` until `start` records it.
pub(crate) fn kind() -> Kind {
    KIND.get()
}

/// Records the platform. Once, in `start`: a second call is refused.
pub(crate) fn set_kind(kind: Kind) -> Result<(), kind::AlreadySet> {
    KIND.set(kind)
}

/// Makes the RAM range `[start, end)` usable as private memory: PSC and
/// PVALIDATE under SEV-SNP (a page accepted before is refused); nothing to
/// do natively.
///
/// # Safety
/// As `snp::accept`: checked RAM, identity-mapped, holding no Rust object.
pub(crate) unsafe fn accept(start: u64, end: u64) -> Result<(), snp_guest::SnpError> {
    match kind() {
        Kind::Native => Ok(()),
        // SAFETY: forwarded from the caller.
        Kind::Snp => unsafe { crate::snp::accept(start, end) },
    }
}

/// Access width of a port or MMIO operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    Byte = 1,
    Word = 2,
    Dword = 4,
}

/// Port I/O and device-register access as a driver sees it.
pub(crate) trait PlatformIo {
    fn port_read(&self, port: u16, width: Width) -> u32;
    fn port_write(&self, port: u16, value: u32, width: Width);
    /// String input from one port (`rep insb`, or GHCB buffers under SNP).
    fn port_read_bytes(&self, port: u16, buf: &mut [u8]);
    /// String output to one port.
    fn port_write_bytes(&self, port: u16, bytes: &[u8]);

    /// Reads a device register.
    ///
    /// # Safety
    /// `gpa .. gpa + width` lies in device memory the caller owns (in practice:
    /// inside an `MmioRegion`, whose constructor carries this promise).
    unsafe fn mmio_read(&self, gpa: u64, width: Width) -> u32;

    /// Writes a device register.
    ///
    /// # Safety
    /// As `mmio_read`.
    unsafe fn mmio_write(&self, gpa: u64, value: u32, width: Width);

    /// Reads a model-specific register (the local APIC's, in x2APIC mode).
    ///
    /// # Safety
    /// `msr` exists on this CPU and belongs to the calling driver.
    unsafe fn msr_read(&self, msr: u32) -> u64;

    /// Writes a model-specific register.
    ///
    /// # Safety
    /// As `msr_read`, and the value keeps every promise the kernel relies on
    /// (an MSR write can reprogram the CPU).
    unsafe fn msr_write(&self, msr: u32, value: u64);

    fn inb(&self, port: u16) -> u8 {
        self.port_read(port, Width::Byte) as u8
    }
    fn inw(&self, port: u16) -> u16 {
        self.port_read(port, Width::Word) as u16
    }
    fn inl(&self, port: u16) -> u32 {
        self.port_read(port, Width::Dword)
    }
    fn outb(&self, port: u16, value: u8) {
        self.port_write(port, u32::from(value), Width::Byte);
    }
    fn outw(&self, port: u16, value: u16) {
        self.port_write(port, u32::from(value), Width::Word);
    }
    fn outl(&self, port: u16, value: u32) {
        self.port_write(port, value, Width::Dword);
    }
}

/// The machine the guest runs on: native instructions, or GHCB calls once
/// SEV-SNP is up. Zero-sized; every driver in the image uses this one. Its
/// `PlatformIo` implementation is the crate's I/O layer (`io`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HwIo;

/// A borrowed platform is a platform: host tests hand drivers `&Mock`.
#[cfg(any(test, feature = "fuzz"))]
impl<T: PlatformIo + ?Sized> PlatformIo for &T {
    fn port_read(&self, port: u16, width: Width) -> u32 {
        (**self).port_read(port, width)
    }
    fn port_write(&self, port: u16, value: u32, width: Width) {
        (**self).port_write(port, value, width);
    }
    fn port_read_bytes(&self, port: u16, buf: &mut [u8]) {
        (**self).port_read_bytes(port, buf);
    }
    fn port_write_bytes(&self, port: u16, bytes: &[u8]) {
        (**self).port_write_bytes(port, bytes);
    }
    unsafe fn mmio_read(&self, gpa: u64, width: Width) -> u32 {
        // SAFETY: forwarded from the caller's promise.
        unsafe { (**self).mmio_read(gpa, width) }
    }
    unsafe fn mmio_write(&self, gpa: u64, value: u32, width: Width) {
        // SAFETY: forwarded from the caller's promise.
        unsafe { (**self).mmio_write(gpa, value, width) }
    }
    unsafe fn msr_read(&self, msr: u32) -> u64 {
        // SAFETY: forwarded from the caller's promise.
        unsafe { (**self).msr_read(msr) }
    }
    unsafe fn msr_write(&self, msr: u32, value: u64) {
        // SAFETY: forwarded from the caller's promise.
        unsafe { (**self).msr_write(msr, value) }
    }
}
