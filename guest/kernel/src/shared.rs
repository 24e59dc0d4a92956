//! The only way to hand memory to the host.
//!
//! A `SharedBuffer` is a run of whole pages that the host may read and write
//! at any time (under SNP: rescinded, switched to shared, C-bit clear).
//! Callers never get a reference into it: data moves in and out by volatile
//! copies, so the host cannot change bytes behind a Rust reference, and no
//! private pointer ever reaches the host.

use crate::memory::PAGE_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedError {
    /// No RAM left for shared pages.
    OutOfMemory,
    /// Offset and length reach past the buffer.
    OutOfBounds {
        offset: usize,
        len: usize,
        size: usize,
    },
    /// The hypervisor refused the page-state change.
    PageStateChange,
}

impl core::fmt::Display for SharedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SharedError::OutOfMemory => write!(f, "out of memory for shared pages"),
            SharedError::OutOfBounds { offset, len, size } => {
                write!(
                    f,
                    "shared-buffer access {offset}+{len} beyond its {size} bytes"
                )
            }
            SharedError::PageStateChange => write!(f, "could not share a page with the host"),
        }
    }
}

pub struct SharedBuffer {
    gpa: u64,
    size: usize,
}

impl SharedBuffer {
    /// `pages` contiguous pages, zeroed, shared with the host.
    pub fn allocate(pages: usize) -> Result<Self, SharedError> {
        let gpa =
            crate::memory::init::allocate_contiguous(pages).ok_or(SharedError::OutOfMemory)?;
        for i in 0..pages as u64 {
            let page = gpa + i * PAGE_SIZE;
            if crate::snp::active() {
                crate::snp::share_page(page).map_err(|_| SharedError::PageStateChange)?;
            }
        }
        let buf = SharedBuffer {
            gpa,
            size: pages * PAGE_SIZE as usize,
        };
        buf.fill(0);
        Ok(buf)
    }

    /// Guest-physical address to give the device or hypervisor.
    pub fn gpa(&self) -> u64 {
        self.gpa
    }

    pub fn size(&self) -> usize {
        self.size
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), SharedError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(SharedError::OutOfBounds {
                offset,
                len,
                size: self.size,
            }),
        }
    }

    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), SharedError> {
        self.check(offset, data.len())?;
        let dst = (self.gpa as usize + offset) as *mut u8;
        // Whole u64 words first where the shared side is aligned: one volatile
        // access per word instead of per byte.
        let head = if dst.align_offset(8) == 0 {
            data.len() / 8 * 8
        } else {
            0
        };
        for (i, word) in data[..head].chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            // SAFETY: in bounds (checked above), 8-byte aligned, within pages owned by this buffer.
            unsafe { core::ptr::write_volatile((dst as *mut u64).add(i), u64::from_ne_bytes(w)) };
        }
        for (i, b) in data.iter().enumerate().skip(head) {
            // SAFETY: in bounds (checked above) of pages owned by this buffer.
            unsafe { core::ptr::write_volatile(dst.add(i), *b) };
        }
        Ok(())
    }

    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), SharedError> {
        self.check(offset, out.len())?;
        let src = (self.gpa as usize + offset) as *const u8;
        let head = if src.align_offset(8) == 0 {
            out.len() / 8 * 8
        } else {
            0
        };
        for (i, word) in out[..head].chunks_exact_mut(8).enumerate() {
            // SAFETY: in bounds (checked above), 8-byte aligned, within pages owned by this buffer.
            let w = unsafe { core::ptr::read_volatile((src as *const u64).add(i)) };
            word.copy_from_slice(&w.to_ne_bytes());
        }
        for (i, b) in out.iter_mut().enumerate().skip(head) {
            // SAFETY: in bounds (checked above) of pages owned by this buffer.
            *b = unsafe { core::ptr::read_volatile(src.add(i)) };
        }
        Ok(())
    }

    pub fn fill(&self, value: u8) {
        let dst = self.gpa as *mut u8;
        for i in 0..self.size {
            // SAFETY: within the buffer's own pages.
            unsafe { core::ptr::write_volatile(dst.add(i), value) };
        }
    }
}
