//! 4 KiB frame allocator: a bump pointer over a few free ranges. Frames are
//! for page tables and the shared-page pool; they are never returned, so the
//! simplest allocator is also the one with the least to get wrong. The
//! bookkeeping is `memory_map::FramePool` (host-tested); it refuses a range
//! that overlaps one it already has, so no frame can be handed out twice.

use super::{Range, PAGE_SIZE};
use memory_map::{FramePool, FramePoolError};

pub struct FrameAllocator {
    pool: FramePool,
}

impl FrameAllocator {
    pub const fn empty() -> Self {
        FrameAllocator {
            pool: FramePool::new(),
        }
    }

    /// Adds a free range: validated, identity-mapped RAM that nothing else
    /// owns. A range overlapping one already added is refused.
    pub fn add(&mut self, range: Range) -> Result<(), FramePoolError> {
        self.pool.add(range)
    }

    /// A zeroed 4 KiB frame, by physical (= virtual) address.
    pub fn allocate(&mut self) -> Option<u64> {
        let frame = self.pool.take()?;
        // SAFETY: the frame lies in a range added to this allocator alone (identity-mapped and, under SNP, accepted before `add`), and `take` returns each address once.
        unsafe { core::ptr::write_bytes(frame as *mut u8, 0, PAGE_SIZE as usize) };
        Some(frame)
    }

    pub fn free_bytes(&self) -> u64 {
        self.pool.free_bytes()
    }

    pub fn allocated_bytes(&self) -> u64 {
        self.pool.taken_bytes()
    }
}
