//! The guest's own record of which memory it has accepted (private and
//! validated), so that no page is ever PVALIDATEd twice.
//!
//! Why the RMP is not enough: a hypervisor can answer a second page state
//! change to private for an already accepted page with RMPUPDATE, which
//! clears the page's Validated bit. The guest's second PVALIDATE then
//! succeeds with CF=0, the CF=1 check in [`crate::accept`] sees nothing, and
//! memory already in use (the heap, say) is handed out again, e.g. to be
//! shared with the host. Only the guest's own memory of what it accepted can
//! refuse that, before any page state change is requested.
//!
//! A bounded sorted set of disjoint, non-adjacent ranges [start, end),
//! 4 KiB aligned, with fixed capacity and no heap: a static in the kernel.

use crate::{SnpError, PAGE_SIZE_4K};

/// Accepted memory as at most `N` disjoint ranges.
#[derive(Debug, Clone)]
pub struct AcceptedMemory<const N: usize> {
    ranges: [(u64, u64); N],
    len: usize,
}

impl<const N: usize> Default for AcceptedMemory<N> {
    fn default() -> Self {
        Self::new()
    }
}

fn check(start: u64, end: u64) -> Result<(), SnpError> {
    if !start.is_multiple_of(PAGE_SIZE_4K) || !end.is_multiple_of(PAGE_SIZE_4K) || end < start {
        return Err(SnpError::InvalidArgument {
            what: "accepted-memory range not 4 KiB aligned or reversed",
            value: start,
        });
    }
    Ok(())
}

impl<const N: usize> AcceptedMemory<N> {
    pub const fn new() -> Self {
        Self {
            ranges: [(0, 0); N],
            len: 0,
        }
    }

    /// The recorded ranges, ascending.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().take(self.len).copied()
    }

    /// The lowest page of [start, end) that is already accepted.
    pub fn first_accepted_in(&self, start: u64, end: u64) -> Option<u64> {
        self.ranges()
            .find(|&(a, b)| a < end && start < b)
            .map(|(a, _)| a.max(start))
    }

    /// Whether all of [start, end) is accepted (true for an empty range).
    pub fn contains(&self, start: u64, end: u64) -> bool {
        start >= end || self.ranges().any(|(a, b)| a <= start && end <= b)
    }

    /// Slots inserting [start, end) would need beyond those in use (0 or 1).
    fn insert_cost(&self, start: u64, end: u64) -> usize {
        let touching = self
            .ranges()
            .filter(|&(a, b)| a <= end && start <= b)
            .count();
        usize::from(touching == 0)
    }

    /// Checks that [start, end) can be recorded: aligned, nothing in it
    /// already accepted, room for it. Changes nothing.
    pub fn check_insert(&self, start: u64, end: u64) -> Result<(), SnpError> {
        check(start, end)?;
        if let Some(gpa) = self.first_accepted_in(start, end) {
            return Err(SnpError::AlreadyAccepted { gpa });
        }
        if self.len + self.insert_cost(start, end) > N {
            return Err(SnpError::AcceptedRecordFull { capacity: N });
        }
        Ok(())
    }

    /// Records [start, end) as accepted, merging with touching ranges.
    /// Refuses a range any page of which is already recorded.
    pub fn insert(&mut self, start: u64, end: u64) -> Result<(), SnpError> {
        self.check_insert(start, end)?;
        if start == end {
            return Ok(());
        }
        let (mut s, mut e) = (start, end);
        let mut out = [(0u64, 0u64); N];
        let mut n = 0;
        let mut placed = false;
        for (a, b) in self.ranges() {
            if b < s {
                push(&mut out, &mut n, (a, b));
            } else if a > e {
                if !placed {
                    push(&mut out, &mut n, (s, e));
                    placed = true;
                }
                push(&mut out, &mut n, (a, b));
            } else {
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed {
            push(&mut out, &mut n, (s, e));
        }
        self.ranges = out;
        self.len = n;
        Ok(())
    }

    /// Checks that all of [start, end) is recorded and that removing it
    /// fits (a split needs one more slot). Changes nothing.
    pub fn check_remove(&self, start: u64, end: u64) -> Result<(), SnpError> {
        check(start, end)?;
        if !self.contains(start, end) {
            let gpa = (start..end)
                .step_by(PAGE_SIZE_4K as usize)
                .find(|&p| !self.contains(p, p + PAGE_SIZE_4K))
                .unwrap_or(start);
            return Err(SnpError::NotAccepted { gpa });
        }
        let splits = self.ranges().any(|(a, b)| a < start && end < b);
        if splits && self.len >= N {
            return Err(SnpError::AcceptedRecordFull { capacity: N });
        }
        Ok(())
    }

    /// Removes [start, end), all of which must be recorded.
    pub fn remove(&mut self, start: u64, end: u64) -> Result<(), SnpError> {
        self.check_remove(start, end)?;
        if start == end {
            return Ok(());
        }
        let mut out = [(0u64, 0u64); N];
        let mut n = 0;
        for (a, b) in self.ranges() {
            if b <= start || a >= end {
                push(&mut out, &mut n, (a, b));
                continue;
            }
            if a < start {
                push(&mut out, &mut n, (a, start));
            }
            if end < b {
                push(&mut out, &mut n, (end, b));
            }
        }
        self.ranges = out;
        self.len = n;
        Ok(())
    }
}

/// Appends to a fixed array; the callers checked the capacity first.
fn push<const N: usize>(out: &mut [(u64, u64); N], n: &mut usize, r: (u64, u64)) {
    if let Some(slot) = out.get_mut(*n) {
        *slot = r;
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn v<const N: usize>(m: &AcceptedMemory<N>) -> Vec<(u64, u64)> {
        m.ranges().collect()
    }

    #[test]
    fn insert_merges_and_refuses_overlap() {
        let mut m = AcceptedMemory::<4>::new();
        m.insert(0x10_0000, 0x50_0000).unwrap();
        m.insert(0x1000, 0x2000).unwrap();
        m.insert(0x2000, 0x3000).unwrap(); // adjacent: merges
        m.insert(0x50_0000, 0x60_0000).unwrap(); // adjacent: merges
        assert_eq!(v(&m), [(0x1000, 0x3000), (0x10_0000, 0x60_0000)]);
        assert_eq!(
            m.insert(0x5F_F000, 0x70_0000),
            Err(SnpError::AlreadyAccepted { gpa: 0x5F_F000 })
        );
        assert_eq!(
            m.insert(0x0, 0x20_0000),
            Err(SnpError::AlreadyAccepted { gpa: 0x1000 })
        );
        assert_eq!(v(&m), [(0x1000, 0x3000), (0x10_0000, 0x60_0000)]);
        assert!(m.contains(0x10_0000, 0x60_0000) && !m.contains(0x3000, 0x4000));
        assert!(matches!(
            m.insert(0x1800, 0x4000),
            Err(SnpError::InvalidArgument { .. })
        ));
        // An empty range is fine and changes nothing.
        m.insert(0x9000, 0x9000).unwrap();
        assert_eq!(m.ranges().count(), 2);
    }

    #[test]
    fn remove_splits_and_reinserts() {
        let mut m = AcceptedMemory::<3>::new();
        m.insert(0x10_0000, 0x20_0000).unwrap();
        m.remove(0x15_0000, 0x15_1000).unwrap();
        assert_eq!(v(&m), [(0x10_0000, 0x15_0000), (0x15_1000, 0x20_0000)]);
        assert_eq!(
            m.remove(0x15_0000, 0x15_1000),
            Err(SnpError::NotAccepted { gpa: 0x15_0000 })
        );
        m.insert(0x15_0000, 0x15_1000).unwrap();
        assert_eq!(v(&m), [(0x10_0000, 0x20_0000)]);
        m.remove(0x10_0000, 0x10_1000).unwrap();
        m.remove(0x1F_F000, 0x20_0000).unwrap();
        assert_eq!(v(&m), [(0x10_1000, 0x1F_F000)]);
        assert_eq!(
            m.remove(0x1F_E000, 0x20_0000),
            Err(SnpError::NotAccepted { gpa: 0x1F_F000 })
        );
    }

    #[test]
    fn full_record_is_a_clear_error() {
        let full = Err(SnpError::AcceptedRecordFull { capacity: 2 });
        let mut m = AcceptedMemory::<2>::new();
        m.insert(0x1000, 0x2000).unwrap();
        m.insert(0x3000, 0x4000).unwrap();
        assert_eq!(m.insert(0x5000, 0x6000), full);
        // Merging needs no new slot.
        m.insert(0x2000, 0x3000).unwrap();
        m.insert(0x5000, 0x6000).unwrap();
        // Splitting 0x1000..0x4000 would need a third slot.
        assert_eq!(m.remove(0x2000, 0x3000), full);
        // Trimming an end does not.
        m.remove(0x1000, 0x2000).unwrap();
        assert_eq!(v(&m), [(0x2000, 0x4000), (0x5000, 0x6000)]);
    }
}
