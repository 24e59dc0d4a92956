//! The only way to hand memory to the host.
//!
//! A `SharedBuffer` is a run of whole pages that the host may read and write
//! at any time (under SNP: rescinded, switched to shared, C-bit clear); a
//! `SharedBox<T>` is one plain-old-data value in such pages (compiled for
//! the host tests only until a driver uses one). Callers never
//! get a reference into them: data moves in and out by volatile copies, so
//! the host cannot change bytes behind a Rust reference, and no private
//! pointer ever reaches the host.
//!
//! Sharing a run is all or nothing: if page k of n cannot be shared, pages
//! 0..k are made private again before the error is returned. Dropping a
//! buffer makes its pages private again. The pages never go back to the
//! frame allocator (it has no free), so a page that cannot be made private
//! again is simply never used again: it stays the host's, and leaked.
//!
//! Page state changes go through `PageVisibility` (`HwPages` in the guest:
//! GHCB calls under SNP, nothing natively), so the host unit tests below
//! run this logic against the mock hypervisor.

use crate::memory::PAGE_SIZE;
use crate::platform::{HwPages, PageVisibility};
#[cfg(test)]
use core::marker::PhantomData;
#[cfg(test)]
use zerocopy::{FromBytes, Immutable, IntoBytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SharedError {
    /// No RAM left for shared pages.
    #[error("out of memory for shared pages")]
    OutOfMemory,
    /// Offset and length reach past the buffer.
    #[error("shared-buffer access {offset}+{len} beyond its {size} bytes")]
    OutOfBounds {
        offset: usize,
        len: usize,
        size: usize,
    },
    /// The hypervisor refused the page-state change.
    #[error("could not share a page with the host")]
    PageStateChange,
}

pub(crate) struct SharedBuffer<V: PageVisibility = HwPages> {
    gpa: u64,
    size: usize,
    pages: V,
}

impl SharedBuffer {
    /// `pages` contiguous pages from the frame allocator, zeroed, shared
    /// with the host.
    pub(crate) fn allocate(pages: usize) -> Result<Self, SharedError> {
        let gpa =
            crate::memory::init::allocate_contiguous(pages).ok_or(SharedError::OutOfMemory)?;
        // SAFETY: fresh frames: accepted, identity-mapped RAM that the allocator handed out once, to us.
        unsafe { Self::share(HwPages, gpa, pages) }
    }
}

impl<V: PageVisibility> SharedBuffer<V> {
    /// Shares `count` pages from `gpa` through `pages`, all or none, and
    /// zeroes them.
    ///
    /// # Safety
    /// `gpa .. gpa + count * 4 KiB` is page-aligned, accepted, identity-mapped
    /// RAM that the caller owns and hands over for good: no reference into it
    /// exists, and it is never used as private memory again (see the module
    /// note on leaking).
    pub(crate) unsafe fn share(pages: V, gpa: u64, count: usize) -> Result<Self, SharedError> {
        for i in 0..count {
            // SAFETY: the caller owns the run and keeps no reference into it.
            if unsafe { pages.make_shared(page_at(gpa, i)) }.is_err() {
                // Roll back pages 0..i; one that cannot be made private
                // stays shared and is leaked (never reused: the run is ours
                // for good and never returns to the allocator).
                for j in (0..i).rev() {
                    // SAFETY: page j was made shared just above and is still ours.
                    let _ = unsafe { pages.make_private(page_at(gpa, j)) };
                }
                return Err(SharedError::PageStateChange);
            }
        }
        let buf = SharedBuffer {
            gpa,
            size: count * PAGE_SIZE as usize,
            pages,
        };
        buf.fill(0);
        Ok(buf)
    }

    /// Guest-physical address to give the device or hypervisor.
    pub(crate) fn gpa(&self) -> u64 {
        self.gpa
    }

    pub(crate) fn size(&self) -> usize {
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

    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result<(), SharedError> {
        self.check(offset, data.len())?;
        let dst = (self.gpa as usize + offset) as *mut u8;
        let head = word_bytes(dst as usize, data.len());
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

    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), SharedError> {
        self.check(offset, out.len())?;
        let src = (self.gpa as usize + offset) as *const u8;
        let head = word_bytes(src as usize, out.len());
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

    pub(crate) fn fill(&self, value: u8) {
        let dst = self.gpa as *mut u8;
        for i in 0..self.size {
            // SAFETY: within the buffer's own pages.
            unsafe { core::ptr::write_volatile(dst.add(i), value) };
        }
    }
}

/// How many of `len` bytes at `addr` in shared memory are copied as whole
/// u64 words (one volatile access per word instead of per byte): all but
/// the last `len % 8` where `addr` is 8-aligned, none otherwise.
fn word_bytes(addr: usize, len: usize) -> usize {
    if addr.is_multiple_of(8) {
        len / 8 * 8
    } else {
        0
    }
}

fn page_at(gpa: u64, i: usize) -> u64 {
    gpa + i as u64 * PAGE_SIZE
}

impl<V: PageVisibility> Drop for SharedBuffer<V> {
    /// The host loses access: every page private again. A page that cannot
    /// be made private stays shared and is leaked (never reused).
    fn drop(&mut self) {
        for i in 0..self.size / PAGE_SIZE as usize {
            // SAFETY: the page is ours and was shared by `share`; nothing refers to it (the buffer is going away).
            let _ = unsafe { self.pages.make_private(page_at(self.gpa, i)) };
        }
    }
}

/// One `T` in pages shared with the host, read and written whole by
/// volatile copies (never a reference into the shared bytes, so what the
/// host does to them can only ever produce some `T`: any bytes are a valid
/// `T` by `FromBytes`). No driver in the image uses one yet, so it is
/// compiled for the host unit tests only; a driver that needs one drops
/// the `cfg(test)`.
#[cfg(test)]
pub(crate) struct SharedBox<T, V: PageVisibility = HwPages> {
    buffer: SharedBuffer<V>,
    value: PhantomData<T>,
}

#[cfg(test)]
impl<T: FromBytes + IntoBytes + Immutable, V: PageVisibility> SharedBox<T, V> {
    /// A box over `buffer` (zeroed by `share`: the value is all zeros).
    pub(crate) fn in_buffer(buffer: SharedBuffer<V>) -> Result<Self, SharedError> {
        if buffer.size() < core::mem::size_of::<T>() {
            return Err(SharedError::OutOfBounds {
                offset: 0,
                len: core::mem::size_of::<T>(),
                size: buffer.size(),
            });
        }
        Ok(SharedBox {
            buffer,
            value: PhantomData,
        })
    }

    /// Guest-physical address of the value.
    pub(crate) fn gpa(&self) -> u64 {
        self.buffer.gpa()
    }

    /// A copy of the value as the host left it.
    pub(crate) fn read(&self) -> Result<T, SharedError> {
        let mut value = T::new_zeroed();
        self.buffer.read(0, value.as_mut_bytes())?;
        Ok(value)
    }

    pub(crate) fn write(&self, value: &T) -> Result<(), SharedError> {
        self.buffer.write(0, value.as_bytes())
    }
}

#[cfg(test)]
mod tests;
