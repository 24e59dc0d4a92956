//! Why a memory map or plan was refused. Each variant names the entry (its
//! index in the file and its bytes) so the stop reason says what to look at.

use crate::range::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The file is not a whole number of 20-byte entries.
    #[error("etc/e820 is {len} bytes, not a whole number of 20-byte entries")]
    Truncated { len: usize },
    /// More than `MAX_ENTRIES` entries.
    #[error("etc/e820 has {count} entries, more than {}", crate::MAX_ENTRIES)]
    TooManyEntries { count: usize },
    /// An entry of length zero.
    #[error("etc/e820 entry {index} (type {kind} at {addr:#x}) has length zero")]
    ZeroLength { index: usize, addr: u64, kind: u32 },
    /// `addr + len` does not fit in 64 bits.
    #[error("etc/e820 entry {index} ({addr:#x} + {len:#x}) wraps past 2^64")]
    Wraps { index: usize, addr: u64, len: u64 },
    /// The entry ends above the 52-bit physical address space.
    #[error("etc/e820 entry {index} {range} ends above the 52-bit physical address space")]
    BeyondPhysical { index: usize, range: Range },
    /// Two RAM entries share at least one byte (duplicates included).
    #[error("etc/e820 RAM entry {second} {second_range} overlaps RAM entry {first} {first_range}")]
    RamOverlap {
        first: usize,
        first_range: Range,
        second: usize,
        second_range: Range,
    },
    /// A RAM entry shares at least one byte with a non-RAM entry.
    #[error("etc/e820 RAM entry {ram} {ram_range} overlaps entry {reserved} {reserved_range} of type {kind}")]
    RamOverlapsReserved {
        ram: usize,
        ram_range: Range,
        reserved: usize,
        reserved_range: Range,
        kind: u32,
    },
    /// RAM (after merging adjacent entries) that holds no whole 4 KiB page.
    #[error("etc/e820 RAM {range} holds no whole 4 KiB page")]
    RamTooSmall { range: Range },
    /// No RAM left after clipping against the kernel's own regions.
    #[error("etc/e820 lists no RAM outside the kernel's own and the device regions")]
    NoUsableRam,
    /// No RAM below 4 GiB to seed the frame pool from (high RAM needs page
    /// tables, and those come from the pool).
    #[error("etc/e820 lists no usable RAM below 4 GiB")]
    NoLowRam,
    /// The largest low range is too small to split into heap and pool.
    #[error(
        "the largest RAM range below 4 GiB, {largest_low}, is too small for heap and frame pool"
    )]
    TooLittleRam { largest_low: Range },
    /// More ranges than a fixed-capacity list holds.
    #[error("memory map needs more than {capacity} ranges")]
    TooManyRanges { capacity: usize },
    /// `Plan::new` was given ranges that are not sorted, disjoint, aligned.
    #[error("memory plan input {range} is not sorted, disjoint and page-aligned")]
    BadInput { range: Range },
    /// `Plan::check` found a piece that breaks an invariant.
    #[error("memory plan piece {piece}: {why}")]
    BadPlan { piece: Range, why: &'static str },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn messages_name_the_entry_and_the_limit() {
        assert_eq!(
            MapError::TooManyEntries { count: 65 }.to_string(),
            "etc/e820 has 65 entries, more than 64"
        );
        let piece = Range {
            start: 0x1000,
            end: 0x3000,
        };
        assert_eq!(
            MapError::BadPlan {
                piece,
                why: "overlaps the kernel"
            }
            .to_string(),
            "memory plan piece [0x1000, 0x3000): overlaps the kernel"
        );
    }
}
