//! The global heap over one contiguous RAM range.

use linked_list_allocator::LockedHeap;

#[cfg_attr(not(test), global_allocator)]
static HEAP: LockedHeap = LockedHeap::empty();

/// # Safety
/// `start..start+size` must be identity-mapped, validated RAM used by
/// nothing else for the rest of the VM's life; call once.
pub(crate) unsafe fn init(start: u64, size: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { HEAP.lock().init(start as *mut u8, size as usize) };
}

/// Free heap bytes now (test image only).
#[cfg(feature = "test-api")]
pub fn free() -> usize {
    HEAP.lock().free()
}
