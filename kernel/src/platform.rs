//! Boot-time bring-up of memory: E820 map, SNP acceptance, frame allocator,
//! heap. Everything later asks this module for frames.

use crate::boot::layout::PREVALIDATED_END;
use crate::memory::{self, FrameAllocator, MemoryMap, Range, PAGE_SIZE};
use spin::Mutex;

static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator::empty());

const FOUR_GIB: u64 = 1 << 32;
/// Frames kept back from the heap for page tables and shared (DMA) pages.
const FRAME_POOL_MIN: u64 = 8 << 20;

#[derive(Clone, Copy, Debug)]
pub struct MemoryInfo {
    pub ram_total: u64,
    pub heap_start: u64,
    pub heap_size: u64,
    pub frame_pool: u64,
}

#[derive(Debug)]
pub enum MemoryError {
    NoRam,
    Paging(crate::paging::PagingError),
    Snp(snp_guest::SnpError),
}

impl core::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MemoryError::NoRam => write!(f, "no usable RAM above the kernel region"),
            MemoryError::Paging(e) => write!(f, "paging: {e}"),
            MemoryError::Snp(e) => write!(f, "SNP memory acceptance: {e}"),
        }
    }
}

pub fn allocate_frame() -> Option<u64> {
    FRAMES.lock().allocate()
}

/// `pages` physically contiguous frames.
pub fn allocate_contiguous(pages: usize) -> Option<u64> {
    let mut frames = FRAMES.lock();
    let first = frames.allocate()?;
    let mut last = first;
    for _ in 1..pages {
        let next = frames.allocate()?;
        if next != last + PAGE_SIZE {
            return None; // crossed a range boundary; the pages are lost (rare, bounded)
        }
        last = next;
    }
    Some(first)
}

pub fn init_memory(map: &MemoryMap) -> Result<MemoryInfo, MemoryError> {
    let snp = crate::snp::active();
    let usable: heapless_ranges::Ranges = map.usable_above(PREVALIDATED_END).collect();
    if usable.is_empty() {
        return Err(MemoryError::NoRam);
    }
    // Low RAM first: it is mapped already, and (under SNP) accepted RAM is
    // where page tables for the high RAM come from.
    for r in usable.iter().filter(|r| r.start < FOUR_GIB) {
        let r = Range {
            start: r.start,
            end: r.end.min(FOUR_GIB),
        };
        if snp {
            crate::snp::accept(r.start, r.end).map_err(MemoryError::Snp)?;
        }
    }
    let largest_low = usable
        .iter()
        .filter(|r| r.start < FOUR_GIB)
        .max_by_key(|r| r.len())
        .copied()
        .ok_or(MemoryError::NoRam)?;
    // Seed the frame allocator from the top of the largest low range.
    let pool = (largest_low.len() / 32)
        .max(FRAME_POOL_MIN)
        .min(largest_low.len() / 2);
    let pool = memory::align_down(pool, PAGE_SIZE);
    FRAMES.lock().add(Range {
        start: largest_low.end - pool,
        end: largest_low.end,
    });

    let mut heap = Range {
        start: largest_low.start,
        end: largest_low.end - pool,
    };
    for r in usable.iter() {
        if *r == largest_low {
            continue;
        }
        if r.start >= FOUR_GIB {
            crate::paging::map_high(r.start, r.end).map_err(MemoryError::Paging)?;
            if snp {
                crate::snp::accept(r.start, r.end).map_err(MemoryError::Snp)?;
            }
            if r.len() > heap.len() {
                // A larger high range becomes the heap; the low one feeds frames.
                FRAMES.lock().add(heap);
                heap = *r;
                continue;
            }
        }
        FRAMES.lock().add(*r);
    }
    // SAFETY: `heap` is validated, identity-mapped RAM above the kernel region that no other allocator owns.
    unsafe { memory::heap::init(heap.start, heap.len()) };
    Ok(MemoryInfo {
        ram_total: map.total_ram(),
        heap_start: heap.start,
        heap_size: heap.len(),
        frame_pool: FRAMES.lock().free_bytes(),
    })
}

/// A fixed-capacity list of ranges (no heap exists yet when it is used).
mod heapless_ranges {
    use crate::memory::Range;

    const CAP: usize = crate::memory::e820::MAX_ENTRIES;

    pub struct Ranges {
        items: [Range; CAP],
        len: usize,
    }

    impl Ranges {
        pub fn iter(&self) -> core::slice::Iter<'_, Range> {
            self.items[..self.len].iter()
        }
        pub fn is_empty(&self) -> bool {
            self.len == 0
        }
    }

    impl FromIterator<Range> for Ranges {
        fn from_iter<I: IntoIterator<Item = Range>>(iter: I) -> Self {
            let mut r = Ranges {
                items: [Range::default(); CAP],
                len: 0,
            };
            for item in iter.into_iter().take(CAP) {
                r.items[r.len] = item;
                r.len += 1;
            }
            r
        }
    }
}
