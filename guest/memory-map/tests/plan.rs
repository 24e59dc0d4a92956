//! The heap/pool plan and the frame pool's refusal of repeated memory.

#![allow(clippy::unwrap_used)] // tests may panic on unexpected errors

mod common;
use common::*;
use memory_map::{FramePool, FramePoolError, MapError, MemoryMap, Plan, Range};

#[test]
fn plan_refuses_overlapping_or_unsorted_input() {
    // The example reaching the planner directly.
    let overlapping = [
        Range::new(0x50_0000, 0x54_0000),
        Range::new(FOUR_GIB, FOUR_GIB + GIB),
        Range::new(FOUR_GIB + 8 * MIB, FOUR_GIB + 16 * MIB),
    ];
    assert!(matches!(
        Plan::new(&overlapping),
        Err(MapError::BadInput { .. })
    ));
    let unsorted = [
        Range::new(FOUR_GIB, FOUR_GIB + GIB),
        Range::new(0x50_0000, 0x100_0000),
    ];
    assert!(matches!(
        Plan::new(&unsorted),
        Err(MapError::BadInput { .. })
    ));
    let unaligned = [Range::new(0x50_0000, 0x100_0800)];
    assert!(matches!(
        Plan::new(&unaligned),
        Err(MapError::BadInput { .. })
    ));
    let crossing = [Range::new(0xF000_0000, FOUR_GIB + GIB)];
    assert!(matches!(
        Plan::new(&crossing),
        Err(MapError::BadInput { .. })
    ));
    let empty = [Range::new(0x60_0000, 0x60_0000)];
    assert!(matches!(Plan::new(&empty), Err(MapError::BadInput { .. })));
}

#[test]
fn plan_needs_low_ram() {
    let err = plan(&[(FOUR_GIB, GIB, RAM)]).unwrap_err();
    assert_eq!(err, MapError::NoLowRam);
}

#[test]
fn plan_needs_two_pages_in_the_largest_low_range() {
    let err = plan(&[(0x60_0000, 0x1000, RAM)]).unwrap_err();
    assert_eq!(
        err,
        MapError::TooLittleRam {
            largest_low: Range::new(0x60_0000, 0x60_1000)
        }
    );
    let (_, p) = plan(&[(0x60_0000, 0x2000, RAM)]).unwrap();
    assert_eq!(p.heap(), Range::new(0x60_0000, 0x60_1000));
    assert_eq!(
        p.frame_ranges().collect::<Vec<_>>(),
        vec![Range::new(0x60_1000, 0x60_2000)]
    );
}

#[test]
fn pool_is_at_most_half_of_a_small_low_range() {
    let (_, p) = plan(&[(0x60_0000, 4 * MIB, RAM)]).unwrap();
    assert_eq!(p.heap(), Range::new(0x60_0000, 0x80_0000));
    assert_eq!(p.frame_bytes(), 2 * MIB);
}

#[test]
fn equal_high_range_does_not_take_the_heap() {
    // Low [0x50_0000, +128 MiB): pool 8 MiB, rest 120 MiB. A high range of
    // exactly 120 MiB leaves the heap low; 121 MiB takes it.
    let (_, p) = plan(&[(0x50_0000, 128 * MIB, RAM), (FOUR_GIB, 120 * MIB, RAM)]).unwrap();
    assert_eq!(p.heap(), Range::new(0x50_0000, 0x50_0000 + 120 * MIB));
    let (_, p) = plan(&[(0x50_0000, 128 * MIB, RAM), (FOUR_GIB, 121 * MIB, RAM)]).unwrap();
    assert_eq!(p.heap(), Range::new(FOUR_GIB, FOUR_GIB + 121 * MIB));
}

#[test]
fn largest_low_range_seeds_the_pool_and_others_feed_it() {
    let (_, p) = plan(&[(0x60_0000, 16 * MIB, RAM), (64 * MIB, 192 * MIB, RAM)]).unwrap();
    assert_eq!(p.heap(), Range::new(64 * MIB, 248 * MIB));
    assert_eq!(
        p.frame_ranges().collect::<Vec<_>>(),
        vec![
            Range::new(0x60_0000, 0x160_0000),
            Range::new(248 * MIB, 256 * MIB)
        ]
    );
}

#[test]
fn check_refuses_a_plan_for_another_map() {
    let big = MemoryMap::from_bytes(&e820(&[(0, GIB, RAM)])).unwrap();
    let small = MemoryMap::from_bytes(&e820(&[(0, 256 * MIB, RAM)])).unwrap();
    let p = Plan::new(big.usable().unwrap().as_slice()).unwrap();
    assert!(p.check(&big).is_ok());
    let err = p.check(&small).unwrap_err();
    assert!(
        matches!(
            err,
            MapError::BadPlan {
                why: "not inside one RAM entry",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn check_refuses_pieces_in_the_kernel_region() {
    let m = MemoryMap::from_bytes(&e820(&[(0, 256 * MIB, RAM)])).unwrap();
    // Planned from the raw RAM instead of the clipped ranges.
    let p = Plan::new(&[Range::new(0, 256 * MIB)]).unwrap();
    let err = p.check(&m).unwrap_err();
    assert!(
        matches!(err, MapError::BadPlan { piece, .. } if piece.start == 0),
        "{err:?}"
    );
    assert!(err.to_string().contains("region"), "{err}");
}

#[test]
fn check_refuses_pieces_over_reserved_entries() {
    // A plan made without the reserved page in the middle of this map.
    let with_hole = MemoryMap::from_bytes(&e820(&[
        (0x50_0000, 0x8_0000, RAM),
        (0x58_0000, 0x1000, RESERVED),
        (0x58_1000, 0x7_F000, RAM),
    ]))
    .unwrap();
    let p = Plan::new(&[Range::new(0x50_0000, 0x60_0000)]).unwrap();
    assert!(p.check(&with_hole).is_err());
}

#[test]
fn frame_pool_refuses_memory_it_has() {
    let mut pool = FramePool::new();
    let a = Range::new(16 * MIB, 24 * MIB);
    pool.add(a).unwrap();
    for r in [
        a,
        Range::new(20 * MIB, 28 * MIB),
        Range::new(8 * MIB, 16 * MIB + 4096),
        Range::new(17 * MIB, 18 * MIB),
        Range::new(8 * MIB, 32 * MIB),
    ] {
        assert_eq!(
            pool.add(r),
            Err(FramePoolError::Overlaps {
                range: r,
                existing: a
            })
        );
    }
    assert!(
        pool.add(Range::new(24 * MIB, 25 * MIB)).is_ok(),
        "adjacent is fine"
    );
    assert_eq!(
        pool.add(Range::new(0x1000, 0x1000)),
        Err(FramePoolError::Empty {
            range: Range::new(0x1000, 0x1000)
        })
    );
    assert!(matches!(
        pool.add(Range::new(0x1800, 0x3000)),
        Err(FramePoolError::Unaligned { .. })
    ));
}

#[test]
fn frame_pool_refuses_memory_it_already_handed_out() {
    let mut pool = FramePool::new();
    pool.add(Range::new(0x60_0000, 0x60_2000)).unwrap();
    assert_eq!(pool.take(), Some(0x60_0000));
    // The first page is gone from the free part, but was given: still refused.
    assert!(pool.add(Range::new(0x60_0000, 0x60_1000)).is_err());
    assert_eq!(pool.take(), Some(0x60_1000));
    assert_eq!(pool.take(), None);
    assert_eq!(pool.taken_bytes(), 0x2000);
    assert_eq!(pool.free_bytes(), 0);
}

#[test]
fn frame_pool_hands_out_each_frame_once_across_ranges() {
    let mut pool = FramePool::new();
    pool.add(Range::new(0x70_0000, 0x70_2000)).unwrap();
    pool.add(Range::new(0x60_0000, 0x60_1000)).unwrap();
    let got: Vec<_> = std::iter::from_fn(|| pool.take()).collect();
    assert_eq!(got, vec![0x70_0000, 0x70_1000, 0x60_0000]);
}
