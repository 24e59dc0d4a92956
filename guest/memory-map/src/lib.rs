//! Guest physical memory from the host's E820 map (fw_cfg `etc/e820`),
//! treated as hostile input.
//!
//! The host chooses the map. Under SEV-SNP every RAM page the kernel uses must
//! be accepted (PVALIDATE) exactly once, and the kernel later shares some
//! frames with the host. A map with overlapping RAM entries would have the
//! kernel accept a page twice (a hypervisor that clears the Validated bit in
//! between makes the second PVALIDATE succeed) and hand the same page to both
//! the heap and the frame pool, so that heap data ends up in a page shared with
//! the host. Hence, in order:
//!
//! 1. [`parse`]: whole 20-byte entries only, at most [`MAX_ENTRIES`].
//! 2. [`MemoryMap::from_entries`]: refuse zero-length entries, entries that
//!    wrap past 2^64 or end above the 52-bit physical address space, any
//!    overlap between two RAM entries (duplicates included) and any overlap
//!    between RAM and a non-RAM entry; then merge adjacent RAM and align it
//!    inwards to whole pages, with checked arithmetic.
//! 3. [`MemoryMap::usable`]: clip RAM against the regions the kernel owns or
//!    the chipset decodes ([`layout`]), and split it at 4 GiB.
//! 4. [`Plan::new`]: carve the heap and the frame pool out of that one sorted,
//!    disjoint list, each piece used once; [`Plan::check`] re-verifies the
//!    result independently and the kernel calls it before touching memory.
//! 5. [`FramePool`]: the frame allocator's bookkeeping, which refuses a range
//!    that overlaps one it already has.
//!
//! Every refusal is a [`MapError`] whose `Display` names the offending entry.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod error;
mod frames;
pub mod layout;
mod map;
mod parse;
mod plan;
mod range;

pub use error::MapError;
pub use frames::{FramePool, FramePoolError};
pub use map::{MemoryMap, Usable, MAX_RANGES};
pub use parse::{
    check_file_len, parse, Entries, Entry, ENTRY_LEN, MAX_ENTRIES, MAX_FILE_LEN, TYPE_RAM,
};
pub use plan::{Owner, Piece, Plan, FRAME_POOL_MIN, MAX_PIECES};
pub use range::{align_down, align_up, List, Range, RangeList};
