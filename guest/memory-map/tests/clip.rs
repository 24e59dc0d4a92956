//! RAM the host lists over regions the kernel owns, or the devices decode, is
//! clipped; RAM crossing 4 GiB is split.

#![allow(clippy::unwrap_used)] // tests may panic on unexpected errors

mod common;
use common::*;

#[test]
fn ram_across_4_gib_is_split() {
    assert_eq!(
        usable(&[(2 * GIB, 4 * GIB, RAM)]).unwrap(),
        vec![(2 * GIB, HOLE_START), (FOUR_GIB, 6 * GIB)]
    );
    // Two entries meeting at 4 GiB are merged, then split again.
    assert_eq!(
        usable(&[(FOUR_GIB, GIB, RAM), (0, FOUR_GIB, RAM)]).unwrap(),
        vec![(PREVALIDATED_END, HOLE_START), (FOUR_GIB, FOUR_GIB + GIB)]
    );
}

#[test]
fn ram_over_the_prevalidated_region_is_clipped() {
    // Secrets page 0x1000, CPUID page 0x2000, kernel 0x10_0000..0x50_0000.
    assert_eq!(
        usable(&[(0, 256 * MIB, RAM)]).unwrap(),
        vec![(PREVALIDATED_END, 256 * MIB)]
    );
    assert_eq!(
        usable(&[
            (0x1000, 0x2000, RAM),
            (0x10_0000, 0x40_0000, RAM),
            (16 * MIB, MIB, RAM)
        ])
        .unwrap(),
        vec![(16 * MIB, 17 * MIB)]
    );
    assert_eq!(
        usable(&[(0x4F_F000, 0x2000, RAM)]).unwrap(),
        vec![(PREVALIDATED_END, 0x50_1000)]
    );
}

#[test]
fn ram_over_the_image_is_clipped() {
    assert_eq!(
        usable(&[(0, 256 * MIB, RAM), (FIRMWARE_START, 2 * MIB, RAM)]).unwrap(),
        vec![(PREVALIDATED_END, 256 * MIB)]
    );
    let m = map(&[(FIRMWARE_START, 2 * MIB, RAM)]).unwrap();
    assert!(m.usable().is_err());
}

#[test]
fn ram_in_the_mmio_window_is_clipped() {
    assert_eq!(
        usable(&[(2 * GIB, GIB + 256 * MIB, RAM)]).unwrap(),
        vec![(2 * GIB, HOLE_START)]
    );
    // ECAM, PCI BARs, IOAPIC, LAPIC: all gone.
    assert_eq!(
        usable(&[
            (0, 256 * MIB, RAM),
            (0xB000_0000, 0x1000_0000, RAM),
            (0xC000_0000, 0x3EC0_0000, RAM),
            (0xFEC0_0000, 0x1000, RAM),
            (0xFEE0_0000, 0x1000, RAM),
        ])
        .unwrap(),
        vec![(PREVALIDATED_END, 256 * MIB)]
    );
}

#[test]
fn ram_above_what_the_kernel_maps_is_clipped() {
    assert_eq!(
        usable(&[
            (0, 256 * MIB, RAM),
            (500 * GIB, 20 * GIB, RAM),
            (600 * GIB, GIB, RAM)
        ])
        .unwrap(),
        vec![(PREVALIDATED_END, 256 * MIB), (500 * GIB, MAPPABLE_END)]
    );
}

#[test]
fn adjacent_ram_is_merged_before_aligning_inwards() {
    // The page at 0x60_0000 is split between the entries and must survive.
    assert_eq!(
        usable(&[(0x60_0800, 0x1F_F800, RAM), (0x50_0000, 0x10_0800, RAM)]).unwrap(),
        vec![(PREVALIDATED_END, 0x80_0000)]
    );
    // Unaligned edges are trimmed inwards, never outwards.
    assert_eq!(
        usable(&[(0x50_0800, 0x2F_F000, RAM)]).unwrap(),
        vec![(0x50_1000, 0x7F_F000)]
    );
}

#[test]
fn bios_style_low_map_keeps_reserved_bytes_out() {
    // RAM up to 0x9FC00 then an EBDA: the partial page is dropped.
    let m = map(&[
        (0, 0x9_FC00, RAM),
        (0x9_FC00, 0x400, RESERVED),
        (0xF_0000, 0x1_0000, RESERVED),
        (0x10_0000, 255 * MIB, RAM),
    ])
    .unwrap();
    let ram: Vec<_> = m.ram().iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(ram, vec![(0, 0x9_F000), (0x10_0000, 256 * MIB)]);
}
