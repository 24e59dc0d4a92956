//! Device registers, reachable only inside a region someone vouched for.

use super::{HwIo, PlatformIo, Width};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MmioError {
    /// Offset and width reach past the region (or the arithmetic overflows).
    #[error("device register {offset:#x}+{len} outside its {size:#x}-byte region")]
    OutOfBounds { offset: u64, len: u64, size: u64 },
}

/// A run of device memory (a PCI BAR or part of one), at its guest-physical
/// address, identity-mapped. Every access is bounds-checked against the
/// region, so values a hostile device reports (capability offsets, lengths)
/// can at worst fail an access, never reach RAM.
#[derive(Debug)]
pub(crate) struct MmioRegion<I: PlatformIo = HwIo> {
    io: I,
    base: u64,
    size: u64,
}

impl<I: PlatformIo> MmioRegion<I> {
    /// # Safety
    /// `base .. base + size` is device memory (never RAM, never a page the
    /// kernel or the heap uses), identity-mapped, and nothing else accesses it
    /// while the region and the regions cut from it live.
    pub(crate) unsafe fn new(io: I, base: u64, size: u64) -> Self {
        MmioRegion { io, base, size }
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    fn check(&self, offset: u64, len: u64) -> Result<u64, MmioError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(self.base + offset),
            _ => Err(MmioError::OutOfBounds {
                offset,
                len,
                size: self.size,
            }),
        }
    }

    /// The part `offset .. offset + len` of this region, as a region of its own.
    pub(crate) fn subregion(&self, offset: u64, len: u64) -> Result<Self, MmioError>
    where
        I: Clone,
    {
        let base = self.check(offset, len)?;
        Ok(MmioRegion {
            io: self.io.clone(),
            base,
            size: len,
        })
    }

    fn read(&self, offset: u64, width: Width) -> Result<u32, MmioError> {
        let gpa = self.check(offset, width as u64)?;
        // SAFETY: `gpa` lies inside this region (checked), which the constructor's caller vouched is device memory owned by it.
        Ok(unsafe { self.io.mmio_read(gpa, width) })
    }

    fn write(&self, offset: u64, value: u32, width: Width) -> Result<(), MmioError> {
        let gpa = self.check(offset, width as u64)?;
        // SAFETY: as in `read`.
        unsafe { self.io.mmio_write(gpa, value, width) };
        Ok(())
    }

    pub(crate) fn read8(&self, offset: u64) -> Result<u8, MmioError> {
        self.read(offset, Width::Byte).map(|v| v as u8)
    }
    pub(crate) fn read16(&self, offset: u64) -> Result<u16, MmioError> {
        self.read(offset, Width::Word).map(|v| v as u16)
    }
    pub(crate) fn read32(&self, offset: u64) -> Result<u32, MmioError> {
        self.read(offset, Width::Dword)
    }
    pub(crate) fn write8(&self, offset: u64, value: u8) -> Result<(), MmioError> {
        self.write(offset, u32::from(value), Width::Byte)
    }
    pub(crate) fn write16(&self, offset: u64, value: u16) -> Result<(), MmioError> {
        self.write(offset, u32::from(value), Width::Word)
    }
    pub(crate) fn write32(&self, offset: u64, value: u32) -> Result<(), MmioError> {
        self.write(offset, value, Width::Dword)
    }
}
