//! Maps a malicious host could publish: each must be refused with a reason
//! that names the entry.

#![allow(clippy::unwrap_used)] // tests may panic on unexpected errors

mod common;
use common::*;
use memory_map::{check_file_len, parse, MapError, Range};

#[test]
fn the_issue_example_is_refused() {
    // Low RAM, then high RAM, then a second entry inside the high RAM:
    // before, its frames lay inside the heap and were accepted twice.
    let err = map(&[
        (0x10_0000, 0x44_0000, RAM),
        (FOUR_GIB, GIB, RAM),
        (FOUR_GIB + 8 * MIB, 8 * MIB, RAM),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        MapError::RamOverlap {
            first: 1,
            first_range: Range::new(0x1_0000_0000, 0x1_4000_0000),
            second: 2,
            second_range: Range::new(0x1_0080_0000, 0x1_0100_0000),
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("entry 2") && text.contains("entry 1"),
        "{text}"
    );
    assert!(text.contains("0x100800000"), "{text}");
}

#[test]
fn the_issue_example_in_any_order_is_refused() {
    let err = map(&[
        (FOUR_GIB + 8 * MIB, 8 * MIB, RAM),
        (0x10_0000, 0x44_0000, RAM),
        (FOUR_GIB, GIB, RAM),
    ])
    .unwrap_err();
    assert!(
        matches!(
            err,
            MapError::RamOverlap {
                first: 0,
                second: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn exact_duplicates_are_refused() {
    let err = map(&[(0, 256 * MIB, RAM), (0, 256 * MIB, RAM)]).unwrap_err();
    assert!(
        matches!(
            err,
            MapError::RamOverlap {
                first: 0,
                second: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn offset_overlaps_are_refused() {
    for (a, b) in [
        ((0, 256 * MIB), (128 * MIB, 256 * MIB)), // tail over head
        ((128 * MIB, 256 * MIB), (0, 256 * MIB)), // head over tail
        ((0, 256 * MIB), (64 * MIB, MIB)),        // inside
        ((0, 0x60_0001), (0x60_0000, 0x10_0000)), // one byte, inside one page
        ((FOUR_GIB, GIB), (FOUR_GIB + GIB - 1, 4096)), // last byte of high RAM
    ] {
        let err = map(&[(a.0, a.1, RAM), (b.0, b.1, RAM)]).unwrap_err();
        assert!(
            matches!(err, MapError::RamOverlap { .. }),
            "{a:x?} {b:x?}: {err:?}"
        );
    }
}

#[test]
fn touching_ram_is_not_an_overlap() {
    assert!(map(&[(0, 128 * MIB, RAM), (128 * MIB, 128 * MIB, RAM)]).is_ok());
}

#[test]
fn ram_over_reserved_is_refused_either_way_round() {
    let err = map(&[(0, 256 * MIB, RAM), (0x0FFF_F000, 0x2000, RESERVED)]).unwrap_err();
    assert_eq!(
        err,
        MapError::RamOverlapsReserved {
            ram: 0,
            ram_range: Range::new(0, 0x1000_0000),
            reserved: 1,
            reserved_range: Range::new(0x0FFF_F000, 0x1000_1000),
            kind: 2,
        }
    );
    let err = map(&[(64 * MIB, 4096, 7), (0, 256 * MIB, RAM)]).unwrap_err();
    assert!(
        matches!(
            err,
            MapError::RamOverlapsReserved {
                ram: 1,
                reserved: 0,
                kind: 7,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("type 7"), "{err}");
}

#[test]
fn reserved_over_reserved_is_harmless() {
    assert!(map(&[
        (0, 256 * MIB, RAM),
        (0xFEFF_C000, 0x4000, RESERVED),
        (0xFEFF_0000, 0x10000, RESERVED),
    ])
    .is_ok());
}

#[test]
fn wrap_at_2_64_is_refused() {
    for (addr, len) in [
        (u64::MAX - 0xFFF, 0x2000),
        (0xFFFF_FFFF_FFFF_F000, 0x1000), // ends exactly at 2^64
        (0x1000, u64::MAX),
        (u64::MAX, 1),
    ] {
        let err = map(&[(0, 256 * MIB, RAM), (addr, len, RAM)]).unwrap_err();
        assert_eq!(
            err,
            MapError::Wraps {
                index: 1,
                addr,
                len
            }
        );
        assert!(err.to_string().contains("entry 1"), "{err}");
    }
    // A reserved entry that wraps is just as absurd.
    let err = map(&[(u64::MAX - 0xFFF, 0x2000, RESERVED), (0, 256 * MIB, RAM)]).unwrap_err();
    assert!(matches!(err, MapError::Wraps { index: 0, .. }), "{err:?}");
}

#[test]
fn above_52_bits_is_refused() {
    let limit = 1u64 << 52;
    let err = map(&[(0, 256 * MIB, RAM), (limit - 0x1000, 0x2000, RAM)]).unwrap_err();
    assert_eq!(
        err,
        MapError::BeyondPhysical {
            index: 1,
            range: Range::new(limit - 0x1000, limit + 0x1000)
        }
    );
    // Ending exactly at 2^52 is the last valid end.
    assert!(map(&[(0, 256 * MIB, RAM), (limit - 0x1000, 0x1000, RAM)]).is_ok());
}

#[test]
fn zero_length_entries_are_refused() {
    let err = map(&[(0, 256 * MIB, RAM), (FOUR_GIB, 0, RAM)]).unwrap_err();
    assert_eq!(
        err,
        MapError::ZeroLength {
            index: 1,
            addr: FOUR_GIB,
            kind: 1
        }
    );
    let err = map(&[(0xFEFF_C000, 0, RESERVED), (0, 256 * MIB, RAM)]).unwrap_err();
    assert!(
        matches!(
            err,
            MapError::ZeroLength {
                index: 0,
                kind: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn ram_without_a_whole_page_is_refused() {
    let err = map(&[(0, 256 * MIB, RAM), (0x1000_0800, 0xC00, RAM)]).unwrap_err();
    assert_eq!(
        err,
        MapError::RamTooSmall {
            range: Range::new(0x1000_0800, 0x1000_1400)
        }
    );
}

#[test]
fn too_many_entries_are_refused() {
    let ok: Vec<_> = (0..64u64).map(|i| (i * 16 * MIB, 8 * MIB, RAM)).collect();
    assert!(map(&ok).is_ok());
    let mut many = ok.clone();
    many.push((64 * 16 * MIB, 8 * MIB, RAM));
    assert_eq!(
        map(&many).unwrap_err(),
        MapError::TooManyEntries { count: 65 }
    );
    // The size check alone, before anything is read from fw_cfg.
    assert_eq!(
        check_file_len(65 * 20),
        Err(MapError::TooManyEntries { count: 65 })
    );
    assert_eq!(check_file_len(64 * 20), Ok(()));
    assert_eq!(check_file_len(0), Ok(()));
}

#[test]
fn truncated_entries_are_refused() {
    let mut bytes = e820(&[(0, 256 * MIB, RAM), (FOUR_GIB, GIB, RAM)]);
    for cut in [1, 4, 19] {
        let len = bytes.len() - cut;
        assert_eq!(
            parse(&bytes[..len]).unwrap_err(),
            MapError::Truncated { len }
        );
    }
    bytes.push(0);
    assert_eq!(parse(&bytes).unwrap_err(), MapError::Truncated { len: 41 });
    assert_eq!(check_file_len(19), Err(MapError::Truncated { len: 19 }));
}

#[test]
fn parse_reads_little_endian_fields() {
    let bytes = [
        0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // addr 0x1000
        0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, // len 0x1_1000_0000
        0x02, 0x00, 0x00, 0x00, // type 2
    ];
    let e = parse(&bytes).unwrap();
    assert_eq!(e.as_slice().len(), 1);
    assert_eq!(e.as_slice()[0].addr, 0x1000);
    assert_eq!(e.as_slice()[0].len, 0x1_1000_0000);
    assert_eq!(e.as_slice()[0].kind, 2);
}

#[test]
fn an_empty_map_has_no_ram() {
    let m = map(&[]).unwrap();
    assert_eq!(m.usable().unwrap_err(), MapError::NoUsableRam);
    let m = map(&[(0xFEFF_C000, 0x4000, RESERVED)]).unwrap();
    assert_eq!(m.usable().unwrap_err(), MapError::NoUsableRam);
}
