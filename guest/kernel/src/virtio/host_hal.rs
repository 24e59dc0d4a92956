//! `virtio_drivers::Hal` over the host's heap, for host builds only (unit
//! tests and `crate::fuzzing`): rings are zeroed page-aligned heap blocks
//! whose "device address" is their address, and buffers are handed to the
//! device as they are (no bounce). A mock device writes the rings through
//! `device_write`, which refuses any range outside a live ring.

use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use spin::Mutex;
use std::alloc::{alloc_zeroed, dealloc};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

const PAGE: usize = 4096;

/// Rings handed out and not yet freed: (address, bytes).
static LIVE: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

pub(crate) struct HostHal;

fn layout(pages: usize) -> Option<Layout> {
    let size = pages.checked_mul(PAGE).filter(|&s| s != 0)?;
    Layout::from_size_align(size, PAGE).ok()
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned heap blocks of the size asked for, used by nothing else until `dma_dealloc` frees them (once: the registry must still hold the block); the physical address is the block's address, which is what `device_write` writes through; `share` returns the buffer's own address and nothing ever reads or writes through it; `mmio_phys_to_virt` is never called (the transport does its own MMIO).
unsafe impl Hal for HostHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(layout) = layout(pages) else {
            return (0, NonNull::dangling());
        };
        // SAFETY: `layout` has a non-zero size.
        let Some(ptr) = NonNull::new(unsafe { alloc_zeroed(layout) }) else {
            return (0, NonNull::dangling());
        };
        let addr = ptr.as_ptr().expose_provenance();
        LIVE.lock().push((addr, layout.size()));
        (addr as PhysAddr, ptr)
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let mut live = LIVE.lock();
        let found = live.iter().position(|&(addr, size)| {
            addr as PhysAddr == paddr && Some(size) == layout(pages).map(|l| l.size())
        });
        let (Some(i), Some(layout)) = (found, layout(pages)) else {
            return -1;
        };
        live.swap_remove(i);
        // SAFETY: `vaddr` is the block `dma_alloc` returned for `paddr` with this layout (the registry held it, and drops it here, so it is freed once).
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(_paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::dangling()
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// The device writes `bytes` at device address `addr`: only inside a ring
/// `dma_alloc` handed out and not yet freed; `false` (nothing written)
/// anywhere else.
pub(crate) fn device_write(addr: u64, bytes: &[u8]) -> bool {
    let live = LIVE.lock();
    let Ok(addr) = usize::try_from(addr) else {
        return false;
    };
    let inside = live.iter().any(|&(start, size)| {
        addr >= start
            && addr
                .checked_add(bytes.len())
                .is_some_and(|end| end <= start + size)
    });
    if !inside {
        return false;
    }
    let dst = core::ptr::with_exposed_provenance_mut::<u8>(addr);
    // SAFETY: `addr .. addr + len` lies inside a live ring (checked under the lock `dma_dealloc` takes before freeing); the driver crate reaches ring memory only through raw pointers, and the callers are single-threaded and write between driver calls, so no access overlaps; bytes need no alignment.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
    true
}
