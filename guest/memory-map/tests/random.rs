//! Property test over pseudo-random maps (xorshift64*, fixed seed): whatever
//! is accepted yields pieces that are disjoint, page-aligned, inside the
//! host's RAM, outside every non-RAM entry and the fixed regions, with one
//! heap disjoint from the pool; whatever breaks a rule is refused. The
//! checks below are written from the rules, not with the crate's helpers.

#![allow(clippy::unwrap_used)] // tests may panic on unexpected errors

mod common;
use common::*;
use memory_map::{FramePool, MapError, MemoryMap, Owner, Plan, Range};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Addresses near the interesting boundaries, at page or odd granularity.
fn address(rng: &mut Rng) -> u64 {
    let bases = [
        0,
        0x1000,
        0x10_0000,
        PREVALIDATED_END,
        256 * MIB,
        2 * GIB,
        HOLE_START,
        0xC000_0000,
        0xFEC0_0000,
        FIRMWARE_START,
        FOUR_GIB,
        6 * GIB,
        MAPPABLE_END,
        (1 << 52) - GIB,
        u64::MAX - GIB,
    ];
    let base = bases[rng.below(bases.len() as u64) as usize];
    let offset = match rng.below(4) {
        0 => 0,
        1 => rng.below(1024) * 4096,
        2 => rng.below(64) * MIB,
        _ => rng.below(1 << 20),
    };
    base.wrapping_add(offset)
}

fn length(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => 0,
        1 => rng.below(8192),
        2 => u64::MAX - rng.below(1 << 20),
        3 => rng.below(8) * GIB + 4096,
        _ => (1 + rng.below(512)) * MIB,
    }
}

fn kind(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0..=6 => RAM,
        7 | 8 => RESERVED,
        _ => rng.below(20) as u32,
    }
}

/// A map that is well-formed by construction (sorted, disjoint), then maybe
/// broken by one hostile edit, then shuffled.
fn plausible(rng: &mut Rng) -> Vec<(u64, u64, u32)> {
    let mut out = Vec::new();
    let mut cursor = rng.below(16) * MIB;
    for _ in 0..1 + rng.below(6) {
        cursor += rng.below(3) * 64 * MIB + rng.below(2) * 4096;
        let len = (1 + rng.below(1024)) * MIB / (1 + rng.below(2));
        let k = if rng.chance(75) { RAM } else { RESERVED };
        out.push((cursor, len, k));
        cursor += len;
        if rng.chance(20) {
            cursor = cursor.max(FOUR_GIB);
        }
    }
    if rng.chance(40) {
        let i = rng.below(out.len() as u64) as usize;
        let (a, l, k) = out[i];
        match rng.below(4) {
            0 => out.push((a, l, k)),                                   // duplicate
            1 => out.push((a + l / 2, l, RAM)),                         // offset overlap
            2 => out.push((a + l - 1, 1 + rng.below(8192), RAM)),       // one byte
            _ => out.push((u64::MAX - rng.below(1 << 16), 1 << 17, k)), // wrap
        }
    }
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

fn chaotic(rng: &mut Rng) -> Vec<(u64, u64, u32)> {
    (0..rng.below(8))
        .map(|_| (address(rng), length(rng), kind(rng)))
        .collect()
}

/// The first structural rule the raw entries break, by the rules alone.
fn broken_rule(entries: &[(u64, u64, u32)]) -> Option<&'static str> {
    let end = |&(a, l, _): &(u64, u64, u32)| a as u128 + l as u128;
    for e in entries {
        if e.1 == 0 {
            return Some("zero");
        }
        if end(e) > 1u128 << 64 {
            return Some("wrap");
        }
        if end(e) > 1u128 << 52 {
            return Some("beyond");
        }
    }
    for (i, a) in entries.iter().enumerate() {
        for b in &entries[i + 1..] {
            let overlap = (a.0 as u128) < end(b) && (b.0 as u128) < end(a);
            if overlap && (a.2 == RAM || b.2 == RAM) {
                return Some("overlap");
            }
        }
    }
    None
}

fn covered_by_ram(entries: &[(u64, u64, u32)], start: u64, end: u64) -> bool {
    let mut cursor = start;
    while cursor < end {
        match entries
            .iter()
            .find(|e| e.2 == RAM && e.0 <= cursor && cursor < e.0 + e.1)
        {
            Some(e) => cursor = e.0 + e.1,
            None => return false,
        }
    }
    true
}

fn assert_sound(entries: &[(u64, u64, u32)], m: &MemoryMap, p: &Plan) {
    let pieces = p.pieces();
    for (i, a) in pieces.iter().enumerate() {
        let r = a.range;
        assert!(r.start < r.end, "{entries:x?}: empty piece {r}");
        assert_eq!(r.start % 4096, 0, "{entries:x?}: {r}");
        assert_eq!(r.end % 4096, 0, "{entries:x?}: {r}");
        assert!(
            !(r.start < FOUR_GIB && r.end > FOUR_GIB),
            "{entries:x?}: {r} crosses 4 GiB"
        );
        assert!(
            r.start >= PREVALIDATED_END,
            "{entries:x?}: {r} in the kernel region"
        );
        assert!(
            r.end <= HOLE_START || r.start >= FOUR_GIB,
            "{entries:x?}: {r} in the device hole"
        );
        assert!(r.end <= MAPPABLE_END, "{entries:x?}: {r} above 512 GiB");
        assert!(
            covered_by_ram(entries, r.start, r.end),
            "{entries:x?}: {r} not RAM"
        );
        for e in entries.iter().filter(|e| e.2 != RAM) {
            assert!(
                r.end <= e.0 || e.0 + e.1 <= r.start,
                "{entries:x?}: {r} overlaps reserved {e:x?}"
            );
        }
        for b in &pieces[i + 1..] {
            let s = b.range;
            assert!(
                r.end <= s.start || s.end <= r.start,
                "{entries:x?}: {r} and {s} overlap"
            );
        }
    }
    assert_eq!(pieces.iter().filter(|x| x.owner == Owner::Heap).count(), 1);
    // Every usable byte has exactly one owner.
    let planned: u64 = pieces.iter().map(|x| x.range.len()).sum();
    assert_eq!(
        planned,
        m.usable().unwrap().iter().map(Range::len).sum::<u64>(),
        "{entries:x?}"
    );
    assert!(p.check(m).is_ok());
    let mut pool = FramePool::new();
    for r in p.frame_ranges() {
        pool.add(r).unwrap();
    }
    for r in p.frame_ranges() {
        assert!(pool.add(r).is_err(), "{entries:x?}: {r} added twice");
    }
}

#[test]
fn random_maps_are_refused_or_planned_soundly() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut planned, mut refused_structurally, mut refused_other) = (0, 0, 0);
    for round in 0..20_000 {
        let entries = if round % 2 == 0 {
            plausible(&mut rng)
        } else {
            chaotic(&mut rng)
        };
        let result = MemoryMap::from_bytes(&e820(&entries));
        match (broken_rule(&entries), result) {
            (Some(rule), Ok(_)) => panic!("{entries:x?} breaks {rule} but was accepted"),
            (Some(rule), Err(e)) => {
                let matches = match e {
                    MapError::ZeroLength { .. } => rule == "zero",
                    MapError::Wraps { .. } => rule == "wrap",
                    MapError::BeyondPhysical { .. } => rule == "beyond",
                    MapError::RamOverlap { .. } | MapError::RamOverlapsReserved { .. } => {
                        rule == "overlap"
                    }
                    _ => false,
                };
                // Both check each entry (zero, wrap, beyond) in file order
                // before any pair, so the first broken rule is the one named.
                assert!(matches, "{entries:x?}: {rule} vs {e:?}");
                refused_structurally += 1;
            }
            (None, Err(e)) => {
                assert!(
                    matches!(e, MapError::RamTooSmall { .. }),
                    "{entries:x?}: {e:?}"
                );
                refused_other += 1;
            }
            (None, Ok(m)) => {
                let plan = m.usable().and_then(|u| Plan::new(u.as_slice()));
                match plan {
                    Ok(p) => {
                        assert_sound(&entries, &m, &p);
                        planned += 1;
                    }
                    Err(
                        MapError::NoUsableRam | MapError::NoLowRam | MapError::TooLittleRam { .. },
                    ) => refused_other += 1,
                    Err(e) => panic!("{entries:x?}: {e:?}"),
                }
            }
        }
    }
    // The generator must exercise every outcome, or this test proves nothing.
    assert!(planned > 2_000, "planned {planned}");
    assert!(
        refused_structurally > 2_000,
        "refused {refused_structurally}"
    );
    assert!(refused_other > 100, "other {refused_other}");
    println!("planned {planned}, refused {refused_structurally} + {refused_other}");
}
