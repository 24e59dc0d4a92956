//! Who owns which usable range: the heap (one range) or the frame pool.
//!
//! Policy (unchanged from before this crate): the pool is the top 1/32 of the
//! largest range below 4 GiB, at least 8 MiB and at most half of it; the rest
//! of that range is the heap unless a range above 4 GiB is larger, in which
//! case that range is the heap. Every other range feeds the pool.
//!
//! Disjoint by construction: the pieces are cut from one sorted, disjoint
//! list in one pass, and each input range is used once (the largest low one
//! is cut in two at a page boundary). [`Plan::check`] verifies the result
//! against the map again, without trusting that construction.

use crate::error::MapError;
use crate::layout::{FOUR_GIB, HOLES, PAGE_SIZE};
use crate::map::{MemoryMap, MAX_RANGES};
use crate::range::{align_down, Bounded, List, Range};

/// Minimum frame pool: page tables for high RAM and every shared (DMA) page.
pub const FRAME_POOL_MIN: u64 = 8 << 20;
/// One more than the usable ranges: the largest low range becomes two pieces.
pub const MAX_PIECES: usize = MAX_RANGES + 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Owner {
    Heap,
    #[default]
    Frames,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Piece {
    pub range: Range,
    pub owner: Owner,
}

/// Pieces in ascending address order: every piece below 4 GiB comes before
/// any piece above, so the low pool exists before high RAM needs page tables.
#[derive(Clone, Debug)]
pub struct Plan {
    pieces: List<Piece, MAX_PIECES>,
}

impl Plan {
    /// `usable` must be sorted, disjoint, page-aligned and not cross 4 GiB
    /// (what [`MemoryMap::usable`] returns); anything else is refused.
    pub fn new(usable: &[Range]) -> Result<Plan, MapError> {
        let mut prev_end = 0u64;
        for r in usable {
            let aligned = r.is_page_aligned();
            let crosses = r.start < FOUR_GIB && r.end > FOUR_GIB;
            if r.is_empty() || !aligned || crosses || r.start < prev_end {
                return Err(MapError::BadInput { range: *r });
            }
            prev_end = r.end;
        }
        if usable.len() > MAX_RANGES {
            return Err(MapError::TooManyRanges {
                capacity: MAX_RANGES,
            });
        }

        let low = first_largest(usable, |r| !r.is_high()).ok_or(MapError::NoLowRam)?;
        let largest_low = usable[low];
        let len = largest_low.len();
        let pool = align_down((len / 32).max(FRAME_POOL_MIN).min(len / 2), PAGE_SIZE)
            .ok_or(MapError::BadInput { range: largest_low })?;
        if pool == 0 {
            return Err(MapError::TooLittleRam { largest_low });
        }
        // pool <= len / 2, so both halves are non-empty.
        let cut = largest_low.end - pool;
        let low_rest = Range::new(largest_low.start, cut);
        let low_pool = Range::new(cut, largest_low.end);
        let high =
            first_largest(usable, Range::is_high).filter(|&i| usable[i].len() > low_rest.len());

        let mut plan = Plan {
            pieces: List::new(),
        };
        for (i, r) in usable.iter().enumerate() {
            if i == low {
                let rest_owner = if high.is_some() {
                    Owner::Frames
                } else {
                    Owner::Heap
                };
                plan.push(low_rest, rest_owner)?;
                plan.push(low_pool, Owner::Frames)?;
            } else if Some(i) == high {
                plan.push(*r, Owner::Heap)?;
            } else {
                plan.push(*r, Owner::Frames)?;
            }
        }
        Ok(plan)
    }

    fn push(&mut self, range: Range, owner: Owner) -> Result<(), MapError> {
        self.pieces.push_bounded(Piece { range, owner })
    }

    pub fn pieces(&self) -> &[Piece] {
        self.pieces.as_slice()
    }

    /// The one heap piece (a plan always has exactly one).
    pub fn heap(&self) -> Range {
        self.pieces()
            .iter()
            .find(|p| p.owner == Owner::Heap)
            .map_or(Range::new(0, 0), |p| p.range)
    }

    pub fn frame_ranges(&self) -> impl Iterator<Item = Range> + '_ {
        self.pieces()
            .iter()
            .filter(|p| p.owner == Owner::Frames)
            .map(|p| p.range)
    }

    #[cfg(feature = "inspect")]
    pub fn frame_bytes(&self) -> u64 {
        self.frame_ranges().map(|r| r.len()).sum()
    }

    /// Fails closed unless: every piece is non-empty, page-aligned, on one
    /// side of 4 GiB, inside one RAM range of `map`, clear of every non-RAM
    /// entry and every fixed hole; the pieces are strictly ascending (hence
    /// pairwise disjoint); there is exactly one heap piece; and some frames
    /// lie below 4 GiB.
    pub fn check(&self, map: &MemoryMap) -> Result<(), MapError> {
        let bad = |piece: &Piece, why| MapError::BadPlan {
            piece: piece.range,
            why,
        };
        let mut prev_end = 0u64;
        for p in self.pieces() {
            let r = p.range;
            if r.is_empty() {
                return Err(bad(p, "empty"));
            }
            if !r.is_page_aligned() {
                return Err(bad(p, "not page-aligned"));
            }
            if r.start < FOUR_GIB && r.end > FOUR_GIB {
                return Err(bad(p, "crosses 4 GiB"));
            }
            if r.start < prev_end {
                return Err(bad(p, "overlaps or precedes the piece before it"));
            }
            prev_end = r.end;
            if !map.ram().iter().any(|ram| ram.contains(&r)) {
                return Err(bad(p, "not inside one RAM entry"));
            }
            if map.reserved().iter().any(|res| res.overlaps(&r)) {
                return Err(bad(p, "overlaps a non-RAM entry"));
            }
            if HOLES.iter().any(|h| h.overlaps(&r)) {
                return Err(bad(p, "overlaps the kernel's or the devices' region"));
            }
        }
        let heaps = self
            .pieces()
            .iter()
            .filter(|p| p.owner == Owner::Heap)
            .count();
        if heaps != 1 {
            let first = self.pieces().first().map_or(Range::new(0, 0), |p| p.range);
            return Err(MapError::BadPlan {
                piece: first,
                why: "not exactly one heap piece",
            });
        }
        if !self.frame_ranges().any(|r| !r.is_high()) {
            return Err(MapError::BadPlan {
                piece: self.heap(),
                why: "no frames below 4 GiB",
            });
        }
        Ok(())
    }
}

/// Index of the first longest range matching `pick`.
fn first_largest(ranges: &[Range], pick: impl Fn(&Range) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, r) in ranges.iter().enumerate() {
        if pick(r) && best.is_none_or(|b| r.len() > ranges[b].len()) {
            best = Some(i);
        }
    }
    best
}
