//! Physical memory: the E820 map from fw_cfg (checked by the `memory-map`
//! crate, which also plans who owns which range), a frame allocator and the
//! global heap. Alignment arithmetic is the crate's checked `align_up` /
//! `align_down`.

pub(crate) mod e820;
mod frames;
pub(crate) mod heap;
pub(crate) mod init;

use frames::FrameAllocator;
use memory_map::Range;

pub(crate) const PAGE_SIZE: u64 = memory_map::layout::PAGE_SIZE;
