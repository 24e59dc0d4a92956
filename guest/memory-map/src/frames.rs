//! Bookkeeping of the frame allocator: a bump pointer over a few ranges. The
//! kernel zeroes and hands out the frames; this part decides which address
//! comes next and refuses to be given the same memory twice.

use crate::layout::PAGE_SIZE;
use crate::plan::MAX_PIECES;
use crate::range::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramePoolError {
    #[error("frame range {range} is empty")]
    Empty { range: Range },
    #[error("frame range {range} is not page-aligned")]
    Unaligned { range: Range },
    /// Shares at least one byte with a range added before.
    #[error("frame range {range} overlaps {existing}, which the pool already has")]
    Overlaps { range: Range, existing: Range },
    #[error("no room in the frame pool for {range}")]
    Full { range: Range },
}

pub struct FramePool {
    /// Each range as it was added (for the overlap check; never shrinks).
    given: [Range; MAX_PIECES],
    /// The next free address in each range.
    next: [u64; MAX_PIECES],
    len: usize,
}

impl FramePool {
    pub const fn new() -> Self {
        FramePool {
            given: [Range::new(0, 0); MAX_PIECES],
            next: [0; MAX_PIECES],
            len: 0,
        }
    }

    pub fn add(&mut self, range: Range) -> Result<(), FramePoolError> {
        if range.is_empty() {
            return Err(FramePoolError::Empty { range });
        }
        if !range.is_page_aligned() {
            return Err(FramePoolError::Unaligned { range });
        }
        if let Some(existing) = self.given[..self.len].iter().find(|g| g.overlaps(&range)) {
            return Err(FramePoolError::Overlaps {
                range,
                existing: *existing,
            });
        }
        if self.len == MAX_PIECES {
            return Err(FramePoolError::Full { range });
        }
        self.given[self.len] = range;
        self.next[self.len] = range.start;
        self.len += 1;
        Ok(())
    }

    /// The address of the next free 4 KiB frame; each address once.
    pub fn take(&mut self) -> Option<u64> {
        for (given, next) in self.given[..self.len].iter().zip(self.next.iter_mut()) {
            if given.end - *next >= PAGE_SIZE {
                let frame = *next;
                *next += PAGE_SIZE;
                return Some(frame);
            }
        }
        None
    }

    pub fn free_bytes(&self) -> u64 {
        self.given[..self.len]
            .iter()
            .zip(self.next.iter())
            .map(|(g, n)| g.end - n)
            .sum()
    }

    #[cfg(feature = "inspect")]
    pub fn taken_bytes(&self) -> u64 {
        self.given[..self.len]
            .iter()
            .zip(self.next.iter())
            .map(|(g, n)| n - g.start)
            .sum()
    }
}

impl Default for FramePool {
    fn default() -> Self {
        Self::new()
    }
}
