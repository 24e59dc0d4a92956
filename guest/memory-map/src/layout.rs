//! The fixed guest-physical regions that RAM from the host never covers.
//!
//! Kept in step with `guest/kernel/layout.ld` and `kernel::boot::layout` (the
//! kernel asserts the shared values at compile time) and with the PCI window
//! in `kernel::pci::MmioWindow::Q35`.

use crate::range::Range;

pub const PAGE_SIZE: u64 = 4096;
pub const FOUR_GIB: u64 = 1 << 32;
/// SEV-SNP guests have at most 52 physical address bits (the C-bit sits
/// above); an entry ending beyond this is absurd.
pub const PHYS_LIMIT: u64 = 1 << 52;

/// The ASEV pre-validated region and everything below it: secrets page
/// (0x1000), CPUID page (0x2000), and the kernel copy, BSS and boot stack
/// (0x10_0000..0x50_0000). The launch validated it; accepting it again would
/// be a double PVALIDATE, and handing it out would overwrite the kernel.
pub const PREVALIDATED: Range = Range::new(0, 0x50_0000);

/// The launched image (firmware ROM under plain QEMU, launch-measured memory
/// under SNP), [4 GiB - 2 MiB, 4 GiB). Read in place for self-measurement.
pub const FIRMWARE: Range = Range::new(FOUR_GIB - 0x20_0000, FOUR_GIB);

/// Device space below 4 GiB, [0xB000_0000, 4 GiB). On q35 the MCH decodes
/// the PCIe ECAM window at 0xB000_0000..0xC000_0000, the kernel places BARs
/// in 0xC000_0000..0xFEC0_0000 (`pci::MmioWindow::Q35`), then come the IOAPIC
/// (0xFEC0_0000), HPET (0xFED0_0000), LAPIC (0xFEE0_0000) and the firmware.
/// QEMU never puts q35 low RAM above 0xB000_0000, so clipping here removes no
/// RAM from an honest map; it only removes RAM a host claims under devices.
pub const MMIO_HOLE: Range = Range::new(0xB000_0000, FOUR_GIB);

/// The kernel maps high RAM through the single boot PDPT (PML4 entry 0), so
/// it can address up to 512 GiB; RAM above is not used.
pub const MAPPABLE_LIMIT: u64 = 512 << 30;

/// Everything [`crate::MemoryMap::usable`] removes from RAM, sorted by start.
pub const HOLES: [Range; 4] = [
    PREVALIDATED,
    MMIO_HOLE,
    FIRMWARE,
    Range::new(MAPPABLE_LIMIT, PHYS_LIMIT),
];
