//! Physical memory: the E820 map from fw_cfg, a frame allocator and the
//! global heap.

pub mod e820;
pub mod frames;
pub mod heap;

pub use e820::{MemoryMap, Range};
pub use frames::FrameAllocator;

pub const PAGE_SIZE: u64 = 4096;

pub const fn align_up(x: u64, a: u64) -> u64 {
    (x + a - 1) & !(a - 1)
}

pub const fn align_down(x: u64, a: u64) -> u64 {
    x & !(a - 1)
}
