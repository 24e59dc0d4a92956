//! PCI configuration space through the legacy CF8/CFC ports, on a
//! `PlatformIo` (`HwIo` in the guest, a mock host in `pci/tests.rs`).

use crate::platform::{HwIo, PlatformIo};

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;

fn address(bus: u8, device: u8, function: u8, offset: u8) -> u32 {
    0x8000_0000
        | (u32::from(bus) << 16)
        | (u32::from(device & 0x1F) << 11)
        | (u32::from(function & 0x7) << 8)
        | u32::from(offset & 0xFC)
}

/// One PCI function on the configuration bus, reached through `io`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Function<I: PlatformIo = HwIo> {
    io: I,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

const COMMAND: u8 = 0x04;
const STATUS: u8 = 0x06;
const HEADER_TYPE: u8 = 0x0E;
const BAR0: u8 = 0x10;
const CAP_POINTER: u8 = 0x34;
const STATUS_CAP_LIST: u16 = 1 << 4;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;

impl<I: PlatformIo> Function<I> {
    pub fn new(io: I, bus: u8, device: u8, function: u8) -> Self {
        Function {
            io,
            bus,
            device,
            function,
        }
    }

    /// The platform this function is reached through.
    pub fn io(&self) -> I
    where
        I: Copy,
    {
        self.io
    }

    fn select(&self, offset: u8) {
        let a = address(self.bus, self.device, self.function, offset);
        self.io.outl(CONFIG_ADDRESS, a);
    }
    pub fn read32(&self, offset: u8) -> u32 {
        self.select(offset);
        self.io.inl(CONFIG_DATA)
    }
    pub fn write32(&self, offset: u8, value: u32) {
        self.select(offset);
        self.io.outl(CONFIG_DATA, value);
    }
    /// 16-bit config read (`offset` 2-aligned).
    pub fn read16(&self, offset: u8) -> u16 {
        self.select(offset);
        self.io.inw(CONFIG_DATA + u16::from(offset & 2))
    }
    /// 16-bit config write (`offset` 2-aligned): no read-modify-write of the
    /// neighbouring register (the status register's bits are write-1-to-clear).
    pub fn write16(&self, offset: u8, value: u16) {
        self.select(offset);
        self.io.outw(CONFIG_DATA + u16::from(offset & 2), value);
    }
    pub fn read8(&self, offset: u8) -> u8 {
        self.select(offset);
        self.io.inb(CONFIG_DATA + u16::from(offset & 3))
    }
    pub fn vendor_id(&self) -> u16 {
        self.read16(0)
    }
    pub fn device_id(&self) -> u16 {
        self.read16(2)
    }
    pub fn command(&self) -> u16 {
        self.read16(COMMAND)
    }
    pub fn set_command(&self, value: u16) {
        self.write16(COMMAND, value)
    }

    /// Capabilities as (id, config-space offset). The list is device-supplied:
    /// offsets below 0x40 (into the header) end it, the two low bits of each
    /// pointer are reserved and masked (PCI 3.0, 6.7), and the walk stops
    /// after 48 entries (as Linux does), so a looping list cannot hang the
    /// caller.
    pub fn capabilities(&self) -> Capabilities<'_, I> {
        let next = if self.read16(STATUS) & STATUS_CAP_LIST != 0 {
            self.read8(CAP_POINTER) & 0xFC
        } else {
            0
        };
        Capabilities {
            function: self,
            next,
            remaining: 48,
        }
    }
}

pub(crate) struct Capabilities<'a, I: PlatformIo> {
    function: &'a Function<I>,
    next: u8,
    remaining: u8,
}

impl<I: PlatformIo> Iterator for Capabilities<'_, I> {
    type Item = (u8, u8);
    fn next(&mut self) -> Option<(u8, u8)> {
        if self.next < 0x40 || self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let offset = self.next;
        let id = self.function.read8(offset);
        self.next = self.function.read8(offset + 1) & 0xFC;
        Some((id, offset))
    }
}

/// Every present function on bus 0 (the q35 root bus; the appliance puts its
/// devices there, and no firmware has numbered bridges).
pub(crate) fn bus0_functions<I: PlatformIo + Copy>(io: I) -> impl Iterator<Item = Function<I>> {
    (0u8..32).flat_map(move |device| {
        let f0 = Function::new(io, 0, device, 0);
        let functions = if f0.vendor_id() == 0xFFFF {
            0
        } else if f0.read8(HEADER_TYPE) & 0x80 != 0 {
            8
        } else {
            1
        };
        (0u8..functions)
            .map(move |function| Function::new(io, 0, device, function))
            .filter(|f| f.vendor_id() != 0xFFFF)
    })
}

/// A memory BAR after assignment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryBar {
    pub base: u64,
    pub size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PciError {
    /// A BAR's size mask is not a power of two or is larger than allowed.
    #[error("BAR{bar} has an invalid size {size:#x}")]
    BadBarSize { bar: u8, size: u64 },
    /// The MMIO window has no room left for a BAR.
    #[error("no room for BAR{bar} ({size:#x} bytes) in the PCI MMIO window")]
    WindowFull { bar: u8, size: u64 },
    /// A 64-bit BAR in the last slot (it would need slot 6).
    #[error("64-bit BAR in slot 5")]
    Bar64InLastSlot,
}

/// Bump allocator over the 32-bit PCI MMIO hole. No firmware runs before
/// the kernel, so nothing has assigned BARs; the kernel places them here.
pub struct MmioWindow {
    next: u64,
    end: u64,
}

/// Largest BAR the kernel maps (device-reported sizes are untrusted).
const MAX_BAR_SIZE: u64 = 256 << 20;

impl MmioWindow {
    /// q35: RAM below 4 GiB ends at or before 0xB000_0000 (QEMU caps low RAM
    /// there), the MMCONFIG/ECAM window is 0xB000_0000-0xC000_0000, and the
    /// IOAPIC sits at 0xFEC0_0000. The window in between is free for BARs.
    pub const Q35: (u64, u64) = (0xC000_0000, 0xFEC0_0000);

    /// The q35 window (`Q35`): the one the guest assigns BARs from.
    pub const fn q35() -> Self {
        MmioWindow {
            next: Self::Q35.0,
            end: Self::Q35.1,
        }
    }

    /// Host tests place windows anywhere; the guest uses `q35()` only.
    ///
    /// # Safety
    /// `start .. end` is device address space, disjoint from RAM and from
    /// every other device's registers: BARs placed in it become `MmioRegion`s.
    #[cfg(test)]
    pub const unsafe fn new(start: u64, end: u64) -> Self {
        MmioWindow { next: start, end }
    }

    /// Address just past the last assigned byte.
    pub fn used_end(&self) -> u64 {
        self.next
    }

    fn take(&mut self, bar: u8, size: u64) -> Result<u64, PciError> {
        let base = self
            .next
            .checked_add(size - 1)
            .map(|v| v & !(size - 1))
            .ok_or(PciError::WindowFull { bar, size })?;
        match base.checked_add(size) {
            Some(end) if end <= self.end => {
                self.next = end;
                Ok(base)
            }
            _ => Err(PciError::WindowFull { bar, size }),
        }
    }
}

/// Size every memory BAR of `f` and place it in `window` (below 4 GiB, even
/// for 64-bit BARs). Memory decoding is off while BARs are probed and stays
/// off: the caller enables it. I/O BARs are left unassigned.
pub(crate) fn assign_memory_bars<I: PlatformIo>(
    f: &Function<I>,
    window: &mut MmioWindow,
) -> Result<[Option<MemoryBar>; 6], PciError> {
    f.set_command(f.command() & !(COMMAND_MEMORY | COMMAND_BUS_MASTER | 1));
    let mut bars = [None; 6];
    let mut i: u8 = 0;
    while i < 6 {
        let reg = BAR0 + 4 * i;
        let original = f.read32(reg);
        if original & 1 != 0 {
            i += 1; // I/O BAR
            continue;
        }
        let is64 = (original >> 1) & 3 == 2;
        if is64 && i == 5 {
            return Err(PciError::Bar64InLastSlot);
        }
        f.write32(reg, 0xFFFF_FFFF);
        let low = f.read32(reg) & !0xF;
        let high = if is64 {
            f.write32(reg + 4, 0xFFFF_FFFF);
            f.read32(reg + 4)
        } else {
            0xFFFF_FFFF
        };
        let mask = (u64::from(high) << 32) | u64::from(low);
        let size = (!mask).wrapping_add(1);
        if low == 0 && (!is64 || high == 0) {
            // Unimplemented BAR (no writable address bit): leave it at zero.
            f.write32(reg, 0);
            if is64 {
                f.write32(reg + 4, 0);
            }
            i += if is64 { 2 } else { 1 };
            continue;
        }
        if !size.is_power_of_two() || size > MAX_BAR_SIZE {
            return Err(PciError::BadBarSize { bar: i, size });
        }
        // Whole pages per BAR, so uncaching the window never covers RAM.
        let base = window.take(i, size.max(4096))?;
        f.write32(reg, base as u32);
        if is64 {
            f.write32(reg + 4, (base >> 32) as u32);
        }
        bars[usize::from(i)] = Some(MemoryBar { base, size });
        i += if is64 { 2 } else { 1 };
    }
    Ok(bars)
}

#[cfg(test)]
mod tests;
