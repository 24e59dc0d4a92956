//! The global heap over one contiguous RAM range, with counters: bytes in
//! use, their high-water mark, and the last request the heap could not
//! satisfy (read by the panic handler to report running out of memory).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use linked_list_allocator::LockedHeap;

/// The allocator, counting what it hands out (requested sizes, not the
/// allocator's rounding).
struct Counted(LockedHeap);

#[cfg_attr(not(any(test, feature = "fuzz")), global_allocator)]
static HEAP: Counted = Counted(LockedHeap::empty());

static USED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Size of the last request the heap refused (0: none yet).
static FAILED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `LockedHeap`, a correct
// `GlobalAlloc`; the counters only observe sizes and results.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let ptr = unsafe { self.0.alloc(layout) };
        if ptr.is_null() {
            FAILED.store(layout.size(), Relaxed);
        } else {
            PEAK.fetch_max(
                USED.fetch_add(layout.size(), Relaxed) + layout.size(),
                Relaxed,
            );
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` (`ptr` came from this allocator with `layout`) is passed on as is.
        unsafe { self.0.dealloc(ptr, layout) };
        USED.fetch_sub(layout.size(), Relaxed);
    }
}

/// # Safety
/// `start..start+size` must be identity-mapped, validated RAM used by
/// nothing else for the rest of the VM's life; call once.
pub(crate) unsafe fn init(start: u64, size: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { HEAP.0.lock().init(start as *mut u8, size as usize) };
}

/// Heap bytes in use now (sum of the sizes requested and not yet freed).
pub fn used() -> usize {
    USED.load(Relaxed)
}

/// The most heap bytes in use at any one time since boot.
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Size of the last allocation the heap refused (0: none yet).
#[cfg(not(any(test, feature = "fuzz")))]
pub(crate) fn failed_size() -> usize {
    FAILED.load(Relaxed)
}

/// Free heap bytes now (test image only).
#[cfg(feature = "test-api")]
pub fn free() -> usize {
    HEAP.0.lock().free()
}
