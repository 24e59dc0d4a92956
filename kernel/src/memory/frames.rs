//! 4 KiB frame allocator: a bump pointer over a few free ranges. Frames are
//! for page tables and the shared-page pool; they are never returned, so the
//! simplest allocator is also the one with the least to get wrong.

use super::{Range, PAGE_SIZE};

const MAX_RANGES: usize = 16;

pub struct FrameAllocator {
    ranges: [Range; MAX_RANGES],
    len: usize,
    allocated: u64,
}

impl FrameAllocator {
    pub const fn empty() -> Self {
        FrameAllocator {
            ranges: [Range { start: 0, end: 0 }; MAX_RANGES],
            len: 0,
            allocated: 0,
        }
    }

    /// Adds a free range; ranges beyond capacity are ignored (and reported).
    pub fn add(&mut self, range: Range) -> bool {
        if range.is_empty() || self.len == MAX_RANGES {
            return false;
        }
        self.ranges[self.len] = range;
        self.len += 1;
        true
    }

    /// A zeroed 4 KiB frame, by physical (= virtual) address.
    pub fn allocate(&mut self) -> Option<u64> {
        for r in self.ranges[..self.len].iter_mut() {
            if r.len() >= PAGE_SIZE {
                let frame = r.start;
                r.start += PAGE_SIZE;
                self.allocated += PAGE_SIZE;
                // SAFETY: the frame is RAM handed to this allocator alone, identity-mapped and (under SNP) already validated.
                unsafe { core::ptr::write_bytes(frame as *mut u8, 0, PAGE_SIZE as usize) };
                return Some(frame);
            }
        }
        None
    }

    pub fn free_bytes(&self) -> u64 {
        self.ranges[..self.len].iter().map(Range::len).sum()
    }

    pub fn allocated_bytes(&self) -> u64 {
        self.allocated
    }
}
