//! Half-open physical address ranges, checked alignment, and a fixed-capacity
//! list (no heap exists while memory is being set up).

use crate::error::MapError;
use crate::layout::{FOUR_GIB, PAGE_SIZE};

/// `[start, end)` in guest-physical bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub const fn new(start: u64, end: u64) -> Self {
        Range { start, end }
    }

    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// At least one byte in common (empty ranges overlap nothing).
    pub const fn overlaps(&self, other: &Range) -> bool {
        !self.is_empty() && !other.is_empty() && self.start < other.end && other.start < self.end
    }

    pub const fn contains(&self, inner: &Range) -> bool {
        self.start <= inner.start && inner.end <= self.end
    }

    /// Both ends on a 4 KiB boundary.
    pub const fn is_page_aligned(&self) -> bool {
        self.start.is_multiple_of(PAGE_SIZE) && self.end.is_multiple_of(PAGE_SIZE)
    }

    /// Above 4 GiB: not in the boot page tables, mapped by the kernel later.
    pub const fn is_high(&self) -> bool {
        self.start >= FOUR_GIB
    }
}

impl core::fmt::Display for Range {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.start, self.end)
    }
}

/// `x` rounded up to a multiple of `align` (a power of two); `None` if
/// `align` is not a power of two or the result does not fit in a u64.
pub const fn align_up(x: u64, align: u64) -> Option<u64> {
    if !align.is_power_of_two() {
        return None;
    }
    match x.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// `x` rounded down to a multiple of `align`; `None` if `align` is not a
/// power of two.
pub const fn align_down(x: u64, align: u64) -> Option<u64> {
    if !align.is_power_of_two() {
        return None;
    }
    Some(x & !(align - 1))
}

/// Up to `N` values, in insertion order: the map's entries, ranges and plan
/// pieces (fixed capacity, as no heap exists while memory is being set up).
pub type List<T, const N: usize> = heapless::Vec<T, N>;

/// Up to `N` ranges, in insertion order.
pub type RangeList<const N: usize> = List<Range, N>;

/// `push` with the map's error for a full list.
pub(crate) trait Bounded<T> {
    fn push_bounded(&mut self, item: T) -> Result<(), MapError>;
}

impl<T, const N: usize> Bounded<T> for List<T, N> {
    fn push_bounded(&mut self, item: T) -> Result<(), MapError> {
        self.push(item)
            .map_err(|_| MapError::TooManyRanges { capacity: N })
    }
}

/// Sum of the lengths.
pub(crate) fn total(ranges: &[Range]) -> u64 {
    ranges.iter().map(Range::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_refuses_to_wrap() {
        assert_eq!(align_up(0x1001, 0x1000), Some(0x2000));
        assert_eq!(align_up(0x2000, 0x1000), Some(0x2000));
        assert_eq!(
            align_up(0xFFFF_FFFF_FFFF_F000, 0x1000),
            Some(0xFFFF_FFFF_FFFF_F000)
        );
        assert_eq!(align_up(0xFFFF_FFFF_FFFF_F001, 0x1000), None);
        assert_eq!(align_up(u64::MAX, 0x1000), None);
        assert_eq!(align_up(5, 3), None);
    }

    #[test]
    fn align_down_rounds_down() {
        assert_eq!(align_down(0x1FFF, 0x1000), Some(0x1000));
        assert_eq!(align_down(u64::MAX, 0x1000), Some(0xFFFF_FFFF_FFFF_F000));
        assert_eq!(align_down(7, 0), None);
    }

    #[test]
    fn overlap_is_about_bytes() {
        let a = Range::new(0x1000, 0x2000);
        assert!(a.overlaps(&Range::new(0x1FFF, 0x3000)));
        assert!(!a.overlaps(&Range::new(0x2000, 0x3000)));
        assert!(!a.overlaps(&Range::new(0x1800, 0x1800)));
        assert!(a.overlaps(&a));
    }

    #[test]
    fn list_is_bounded() {
        let mut l = RangeList::<2>::new();
        assert!(l.push_bounded(Range::new(0, 1)).is_ok());
        assert!(l.push_bounded(Range::new(1, 2)).is_ok());
        assert_eq!(
            l.push_bounded(Range::new(2, 3)),
            Err(MapError::TooManyRanges { capacity: 2 })
        );
        assert_eq!(total(&l), 2);
    }
}
