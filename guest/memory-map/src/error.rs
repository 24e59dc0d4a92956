//! Why a memory map or plan was refused. Each variant names the entry (its
//! index in the file and its bytes) so the stop reason says what to look at.

use crate::range::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The file is not a whole number of 20-byte entries.
    Truncated { len: usize },
    /// More than `MAX_ENTRIES` entries.
    TooManyEntries { count: usize },
    /// An entry of length zero.
    ZeroLength { index: usize, addr: u64, kind: u32 },
    /// `addr + len` does not fit in 64 bits.
    Wraps { index: usize, addr: u64, len: u64 },
    /// The entry ends above the 52-bit physical address space.
    BeyondPhysical { index: usize, range: Range },
    /// Two RAM entries share at least one byte (duplicates included).
    RamOverlap {
        first: usize,
        first_range: Range,
        second: usize,
        second_range: Range,
    },
    /// A RAM entry shares at least one byte with a non-RAM entry.
    RamOverlapsReserved {
        ram: usize,
        ram_range: Range,
        reserved: usize,
        reserved_range: Range,
        kind: u32,
    },
    /// RAM (after merging adjacent entries) that holds no whole 4 KiB page.
    RamTooSmall { range: Range },
    /// No RAM left after clipping against the kernel's own regions.
    NoUsableRam,
    /// No RAM below 4 GiB to seed the frame pool from (high RAM needs page
    /// tables, and those come from the pool).
    NoLowRam,
    /// The largest low range is too small to split into heap and pool.
    TooLittleRam { largest_low: Range },
    /// More ranges than a fixed-capacity list holds.
    TooManyRanges { capacity: usize },
    /// `Plan::new` was given ranges that are not sorted, disjoint, aligned.
    BadInput { range: Range },
    /// `Plan::check` found a piece that breaks an invariant.
    BadPlan { piece: Range, why: &'static str },
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MapError::Truncated { len } => write!(
                f,
                "etc/e820 is {len} bytes, not a whole number of 20-byte entries"
            ),
            MapError::TooManyEntries { count } => write!(
                f,
                "etc/e820 has {count} entries, more than {}",
                crate::MAX_ENTRIES
            ),
            MapError::ZeroLength { index, addr, kind } => write!(
                f,
                "etc/e820 entry {index} (type {kind} at {addr:#x}) has length zero"
            ),
            MapError::Wraps { index, addr, len } => write!(
                f,
                "etc/e820 entry {index} ({addr:#x} + {len:#x}) wraps past 2^64"
            ),
            MapError::BeyondPhysical { index, range } => write!(
                f,
                "etc/e820 entry {index} {range} ends above the 52-bit physical address space"
            ),
            MapError::RamOverlap {
                first,
                first_range,
                second,
                second_range,
            } => write!(
                f,
                "etc/e820 RAM entry {second} {second_range} overlaps RAM entry {first} {first_range}"
            ),
            MapError::RamOverlapsReserved {
                ram,
                ram_range,
                reserved,
                reserved_range,
                kind,
            } => write!(
                f,
                "etc/e820 RAM entry {ram} {ram_range} overlaps entry {reserved} {reserved_range} of type {kind}"
            ),
            MapError::RamTooSmall { range } => {
                write!(f, "etc/e820 RAM {range} holds no whole 4 KiB page")
            }
            MapError::NoUsableRam => write!(
                f,
                "etc/e820 lists no RAM outside the kernel's own and the device regions"
            ),
            MapError::NoLowRam => write!(f, "etc/e820 lists no usable RAM below 4 GiB"),
            MapError::TooLittleRam { largest_low } => write!(
                f,
                "the largest RAM range below 4 GiB, {largest_low}, is too small for heap and frame pool"
            ),
            MapError::TooManyRanges { capacity } => {
                write!(f, "memory map needs more than {capacity} ranges")
            }
            MapError::BadInput { range } => write!(
                f,
                "memory plan input {range} is not sorted, disjoint and page-aligned"
            ),
            MapError::BadPlan { piece, why } => write!(f, "memory plan piece {piece}: {why}"),
        }
    }
}
