//! Boot-time bring-up of memory: E820 map, SNP acceptance, frame allocator,
//! heap. Everything later asks this module for frames.
//!
//! The host's map is checked and planned by the `memory-map` crate: the heap
//! and the frame pool are disjoint pieces of the usable RAM, and each piece
//! is accepted exactly once, here, in one pass.

use crate::boot::layout;
use crate::memory::{FrameAllocator, PAGE_SIZE};
use memory_map::{FramePoolError, MapError, MemoryMap, Owner, Plan};
use spin::Mutex;

static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator::empty());

// The crate's fixed regions must match the linker script and the PCI window.
const _: () = {
    assert!(memory_map::layout::PREVALIDATED.start == 0);
    assert!(memory_map::layout::PREVALIDATED.end == layout::PREVALIDATED_END);
    assert!(layout::SECRETS_PAGE < layout::PREVALIDATED_END);
    assert!(layout::CPUID_PAGE < layout::PREVALIDATED_END);
    assert!(memory_map::layout::FIRMWARE.start == layout::IMAGE_BASE);
    assert!(memory_map::layout::FIRMWARE.end == layout::IMAGE_BASE + layout::IMAGE_SIZE);
    let (bar_start, bar_end) = crate::pci::MmioWindow::Q35;
    assert!(memory_map::layout::MMIO_HOLE.start <= bar_start);
    assert!(bar_end <= memory_map::layout::MMIO_HOLE.end);
};

#[derive(Clone, Copy, Debug)]
pub struct MemoryInfo {
    pub ram_total: u64,
    pub heap_start: u64,
    pub heap_size: u64,
    pub frame_pool: u64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum MemoryError {
    /// The map has no usable layout, or the plan failed its check.
    #[error("{0}")]
    Map(MapError),
    #[error("{0}")]
    Frames(FramePoolError),
    #[error("paging: {0}")]
    Paging(crate::paging::PagingError),
    #[error("SNP memory acceptance: {0}")]
    Snp(snp_guest::SnpError),
}

pub(crate) fn allocate_frame() -> Option<u64> {
    FRAMES.lock().allocate()
}

/// `pages` physically contiguous frames.
pub(crate) fn allocate_contiguous(pages: usize) -> Option<u64> {
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

pub(crate) fn init_memory(map: &MemoryMap) -> Result<MemoryInfo, MemoryError> {
    let usable = map.usable().map_err(MemoryError::Map)?;
    let plan = Plan::new(usable.as_slice()).map_err(MemoryError::Map)?;
    // Fail closed before touching memory: pieces disjoint, inside RAM, clear
    // of reserved entries and of the kernel's and the devices' regions.
    plan.check(map).map_err(MemoryError::Map)?;
    // Pieces come in ascending order: every low piece (mapped by the boot
    // tables) is handled before any high one, so the low frame pool exists
    // when `map_high` needs page tables. Each piece is accepted once, here,
    // before its owner sees it.
    for piece in plan.pieces() {
        let r = piece.range;
        if r.is_high() {
            crate::paging::map_high(r.start, r.end).map_err(MemoryError::Paging)?;
        }
        // SAFETY: `r` is a piece of the checked plan: RAM, identity-mapped (above), outside the kernel's regions, and nothing lives in it yet.
        unsafe { crate::platform::accept(r.start, r.end) }.map_err(MemoryError::Snp)?;
        if piece.owner == Owner::Frames {
            // SAFETY: accepted just above, identity-mapped, and the plan gives this piece to the frame pool alone (pieces are disjoint, `Plan::check`).
            unsafe { FRAMES.lock().add(r) }.map_err(MemoryError::Frames)?;
        }
    }
    let heap = plan.heap();
    // SAFETY: `heap` is the plan's one heap piece: validated (accepted above under SNP), identity-mapped RAM outside the kernel's and the devices' regions, disjoint from every frame range (checked by `Plan::check`); this is the only call.
    unsafe { crate::memory::heap::init(heap.start, heap.len()) };
    Ok(MemoryInfo {
        ram_total: map.ram_total(),
        heap_start: heap.start,
        heap_size: heap.len(),
        frame_pool: FRAMES.lock().free_bytes(),
    })
}
