//! Validation and normalisation of the parsed entries.

use crate::error::MapError;
use crate::layout::{FOUR_GIB, HOLES, PAGE_SIZE, PHYS_LIMIT};
use crate::parse::{parse, Entry, MAX_ENTRIES};
use crate::range::{align_down, align_up, total, Bounded, Range, RangeList};

/// Bound on usable ranges: clipping a sorted disjoint list against one hole
/// adds at most one range, and so does the split at 4 GiB.
pub const MAX_RANGES: usize = MAX_ENTRIES + HOLES.len() + 1;

/// RAM the kernel may use: sorted, disjoint, page-aligned, none crossing
/// 4 GiB, none inside [`crate::layout::HOLES`].
pub type Usable = RangeList<MAX_RANGES>;

/// A map that passed every check.
#[derive(Clone, Debug)]
pub struct MemoryMap {
    /// RAM, merged where adjacent, aligned inwards, sorted.
    ram: RangeList<MAX_ENTRIES>,
    /// Every non-RAM entry as listed (byte-exact, unaligned).
    reserved: RangeList<MAX_ENTRIES>,
}

impl MemoryMap {
    /// [`parse`] then [`MemoryMap::from_entries`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MapError> {
        Self::from_entries(parse(bytes)?.as_slice())
    }

    pub fn from_entries(entries: &[Entry]) -> Result<Self, MapError> {
        if entries.len() > MAX_ENTRIES {
            return Err(MapError::TooManyEntries {
                count: entries.len(),
            });
        }
        for (index, e) in entries.iter().enumerate() {
            entry_range(index, e)?;
        }
        // Any two entries: at most 64 * 63 / 2 pairs, and plainly correct.
        for (i, a) in entries.iter().enumerate() {
            let ra = entry_range(i, a)?;
            for (j, b) in entries.iter().enumerate().skip(i + 1) {
                let rb = entry_range(j, b)?;
                if !ra.overlaps(&rb) {
                    continue;
                }
                // Named as RAM first, then the other entry.
                let ((ram, ram_range), (reserved, reserved_range, kind)) =
                    match (a.is_ram(), b.is_ram()) {
                        (true, true) => {
                            return Err(MapError::RamOverlap {
                                first: i,
                                first_range: ra,
                                second: j,
                                second_range: rb,
                            })
                        }
                        (true, false) => ((i, ra), (j, rb, b.kind)),
                        (false, true) => ((j, rb), (i, ra, a.kind)),
                        (false, false) => continue, // reserved over reserved takes nothing from RAM
                    };
                return Err(MapError::RamOverlapsReserved {
                    ram,
                    ram_range,
                    reserved,
                    reserved_range,
                    kind,
                });
            }
        }

        let mut raw = RangeList::<MAX_ENTRIES>::new();
        let mut reserved = RangeList::<MAX_ENTRIES>::new();
        for (index, e) in entries.iter().enumerate() {
            let r = entry_range(index, e)?;
            if e.is_ram() {
                raw.push_bounded(r)?;
            } else {
                reserved.push_bounded(r)?;
            }
        }
        raw.as_mut_slice().sort_unstable_by_key(|r| r.start);
        reserved.as_mut_slice().sort_unstable_by_key(|r| r.start);

        // Merge RAM that touches (it cannot overlap any more), then align the
        // merged ranges inwards so a page split between two entries survives.
        let mut merged = RangeList::<MAX_ENTRIES>::new();
        let mut current: Option<Range> = None;
        for r in raw.as_slice() {
            current = match current {
                Some(c) if c.end == r.start => Some(Range::new(c.start, r.end)),
                Some(c) => {
                    merged.push_bounded(c)?;
                    Some(*r)
                }
                None => Some(*r),
            };
        }
        if let Some(c) = current {
            merged.push_bounded(c)?;
        }
        let mut ram = RangeList::<MAX_ENTRIES>::new();
        for r in merged.as_slice() {
            let start = align_up(r.start, PAGE_SIZE);
            let end = align_down(r.end, PAGE_SIZE);
            match (start, end) {
                (Some(start), Some(end)) if start < end => {
                    ram.push_bounded(Range::new(start, end))?
                }
                _ => return Err(MapError::RamTooSmall { range: *r }),
            }
        }
        Ok(MemoryMap { ram, reserved })
    }

    pub fn ram(&self) -> &[Range] {
        self.ram.as_slice()
    }

    pub fn reserved(&self) -> &[Range] {
        self.reserved.as_slice()
    }

    pub fn ram_total(&self) -> u64 {
        total(self.ram())
    }

    /// RAM minus [`HOLES`], split at 4 GiB. Fails if nothing is left.
    pub fn usable(&self) -> Result<Usable, MapError> {
        let mut out = Usable::new();
        for r in self.ram() {
            let mut cursor = r.start;
            for hole in HOLES.iter() {
                if hole.end <= cursor {
                    continue;
                }
                if hole.start >= r.end {
                    break;
                }
                if hole.start > cursor {
                    push_split(&mut out, Range::new(cursor, hole.start))?;
                }
                cursor = cursor.max(hole.end);
            }
            if cursor < r.end {
                push_split(&mut out, Range::new(cursor, r.end))?;
            }
        }
        if out.is_empty() {
            return Err(MapError::NoUsableRam);
        }
        Ok(out)
    }
}

/// Low RAM is in the boot page tables and high RAM is mapped later, so no
/// usable range crosses 4 GiB.
fn push_split(out: &mut Usable, r: Range) -> Result<(), MapError> {
    if r.start < FOUR_GIB && r.end > FOUR_GIB {
        out.push_bounded(Range::new(r.start, FOUR_GIB))?;
        out.push_bounded(Range::new(FOUR_GIB, r.end))
    } else {
        out.push_bounded(r)
    }
}

/// The byte range of one entry, or why it is absurd.
fn entry_range(index: usize, e: &Entry) -> Result<Range, MapError> {
    if e.len == 0 {
        return Err(MapError::ZeroLength {
            index,
            addr: e.addr,
            kind: e.kind,
        });
    }
    let end = e.addr.checked_add(e.len).ok_or(MapError::Wraps {
        index,
        addr: e.addr,
        len: e.len,
    })?;
    let range = Range::new(e.addr, end);
    if end > PHYS_LIMIT {
        return Err(MapError::BeyondPhysical { index, range });
    }
    Ok(range)
}
