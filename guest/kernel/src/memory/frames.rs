//! 4 KiB frame allocator: a bump pointer over a few free ranges. Frames are
//! for page tables and the shared-page pool; they are never returned, so the
//! simplest allocator is also the one with the least to get wrong. The
//! bookkeeping is `memory_map::FramePool` (host-tested); it refuses a range
//! that overlaps one it already has, so no frame can be handed out twice.

use super::{Range, PAGE_SIZE};
use memory_map::{FramePool, FramePoolError};

pub(crate) struct FrameAllocator {
    pool: FramePool,
}

impl FrameAllocator {
    pub(crate) const fn empty() -> Self {
        FrameAllocator {
            pool: FramePool::new(),
        }
    }

    /// Adds a free range. A range overlapping one already added is refused.
    ///
    /// # Safety
    /// `range` is accepted (under SNP: private and validated), identity-mapped
    /// RAM that nothing else owns or refers to for the rest of the VM's life:
    /// `allocate` zeroes what it hands out.
    pub(crate) unsafe fn add(&mut self, range: Range) -> Result<(), FramePoolError> {
        self.pool.add(range)
    }

    /// A zeroed 4 KiB frame, by physical (= virtual) address.
    pub(crate) fn allocate(&mut self) -> Option<u64> {
        let frame = self.pool.take()?;
        // SAFETY: the frame lies in a range whose `add` caller vouched it is accepted, identity-mapped RAM owned by this allocator alone, and `take` returns each address once.
        unsafe { core::ptr::write_bytes(frame as *mut u8, 0, PAGE_SIZE as usize) };
        Some(frame)
    }

    pub(crate) fn free_bytes(&self) -> u64 {
        self.pool.free_bytes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::FrameAllocator;
    use memory_map::{FramePoolError, Range};

    /// Host memory standing in for identity-mapped RAM: 4 KiB-aligned pages.
    #[repr(C, align(4096))]
    struct Page([u8; 4096]);

    fn pages(n: usize, fill: u8) -> Vec<Page> {
        (0..n).map(|_| Page([fill; 4096])).collect()
    }

    fn range_of(p: &mut [Page]) -> Range {
        let start = p.as_mut_ptr() as u64;
        Range::new(start, start + 4096 * p.len() as u64)
    }

    #[test]
    fn hands_out_each_frame_once_zeroed_then_runs_dry() {
        let mut ram = pages(3, 0xA5);
        let range = range_of(&mut ram);
        let mut frames = FrameAllocator::empty();
        // SAFETY: `ram` is ours, page-aligned, and outlives `frames`; nothing reads it through a reference until the allocator is done.
        unsafe { frames.add(range) }.unwrap();
        assert_eq!(frames.free_bytes(), 3 * 4096);
        let mut got = Vec::new();
        while let Some(frame) = frames.allocate() {
            got.push(frame);
        }
        assert_eq!(got, [range.start, range.start + 4096, range.start + 8192]);
        assert_eq!(frames.free_bytes(), 0);
        assert!(ram.iter().all(|p| p.0.iter().all(|&b| b == 0)));
    }

    #[test]
    fn refuses_memory_it_already_has() {
        let mut ram = pages(2, 0);
        let range = range_of(&mut ram);
        let mut frames = FrameAllocator::empty();
        // SAFETY: as above.
        unsafe { frames.add(range) }.unwrap();
        let inner = Range::new(range.start + 4096, range.end);
        // SAFETY: refused before anything is touched (the point of the test).
        let again = unsafe { frames.add(inner) };
        assert_eq!(
            again,
            Err(FramePoolError::Overlaps {
                range: inner,
                existing: range
            })
        );
        // SAFETY: refused: not page-aligned.
        let odd = unsafe { frames.add(Range::new(range.end + 1, range.end + 4097)) };
        assert!(matches!(odd, Err(FramePoolError::Unaligned { .. })));
        assert_eq!(frames.free_bytes(), 2 * 4096);
    }
}
