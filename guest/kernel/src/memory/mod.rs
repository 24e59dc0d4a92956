//! Physical memory: the E820 map from fw_cfg (checked by the `memory-map`
//! crate, which also plans who owns which range), a frame allocator and the
//! global heap. Alignment arithmetic is the crate's checked `align_up` /
//! `align_down`.

pub mod e820;
pub mod frames;
pub mod heap;
pub mod init;

pub use e820::MemoryMap;
pub use frames::FrameAllocator;
pub use memory_map::Range;

pub const PAGE_SIZE: u64 = memory_map::layout::PAGE_SIZE;
