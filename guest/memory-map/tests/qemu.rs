//! The maps QEMU really publishes for q35 (hw/i386/pc.c: RAM 0..below-4G,
//! RAM from 4 GiB for the rest; with KVM, kvm_arch_init adds a reserved
//! 16 KiB at 0xFEFF_C000 for the identity map and TSS). Low RAM is capped at
//! 2 GiB once the VM has 2.75 GiB or more (pc_q35.c).

#![allow(clippy::unwrap_used)] // tests may panic on unexpected errors

mod common;
use common::*;
use memory_map::{FramePool, Owner};

const KVM_RESERVED: (u64, u64, u32) = (0xFEFF_C000, 0x4000, RESERVED);

fn frames(p: &memory_map::Plan) -> Vec<(u64, u64)> {
    p.frame_ranges().map(|r| (r.start, r.end)).collect()
}

#[test]
fn q35_256_mib() {
    for entries in [
        vec![(0, 256 * MIB, RAM)],
        vec![(0, 256 * MIB, RAM), KVM_RESERVED],
    ] {
        let (m, p) = plan(&entries).unwrap();
        assert_eq!(m.ram_total(), 256 * MIB);
        // 251 MiB / 32 is under 8 MiB: the pool is the 8 MiB minimum.
        assert_eq!((p.heap().start, p.heap().end), (0x50_0000, 0x0F80_0000));
        assert_eq!(frames(&p), vec![(0x0F80_0000, 0x1000_0000)]);
    }
}

#[test]
fn q35_1_gib() {
    let (_, p) = plan(&[(0, GIB, RAM), KVM_RESERVED]).unwrap();
    // (0x4000_0000 - 0x50_0000) / 32 = 0x1FD_8000 (about 31.8 MiB).
    assert_eq!((p.heap().start, p.heap().end), (0x50_0000, 0x3E02_8000));
    assert_eq!(frames(&p), vec![(0x3E02_8000, 0x4000_0000)]);
}

#[test]
fn q35_2_5_gib_all_low() {
    let (_, p) = plan(&[(0, 0xA000_0000, RAM)]).unwrap();
    // (0xA000_0000 - 0x50_0000) / 32 = 0x4FD_8000.
    assert_eq!((p.heap().start, p.heap().end), (0x50_0000, 0x9B02_8000));
    assert_eq!(frames(&p), vec![(0x9B02_8000, 0xA000_0000)]);
}

#[test]
fn q35_4_gib_with_high_ram() {
    let (m, p) = plan(&[(0, 2 * GIB, RAM), (FOUR_GIB, 2 * GIB, RAM), KVM_RESERVED]).unwrap();
    assert_eq!(m.ram_total(), 4 * GIB);
    // Low: 0x7FB0_0000 bytes, pool 0x3FD_8000 on top; the 2 GiB high range
    // is larger than the low rest, so it is the heap and all low RAM is frames.
    assert_eq!((p.heap().start, p.heap().end), (FOUR_GIB, 6 * GIB));
    assert_eq!(
        frames(&p),
        vec![(0x50_0000, 0x7C02_8000), (0x7C02_8000, 0x8000_0000)]
    );
    let owners: Vec<_> = p.pieces().iter().map(|x| x.owner).collect();
    assert_eq!(owners, vec![Owner::Frames, Owner::Frames, Owner::Heap]);
}

#[test]
fn q35_small_high_ram_feeds_frames() {
    // 2 GiB + 64 MiB with a lowered below-4G limit: high part smaller.
    let (_, p) = plan(&[(0, 2 * GIB, RAM), (FOUR_GIB, 64 * MIB, RAM)]).unwrap();
    assert_eq!((p.heap().start, p.heap().end), (0x50_0000, 0x7C02_8000));
    assert_eq!(
        frames(&p),
        vec![(0x7C02_8000, 0x8000_0000), (FOUR_GIB, FOUR_GIB + 64 * MIB)]
    );
}

#[test]
fn every_plan_range_feeds_the_pool_once() {
    let (_, p) = plan(&[(0, 2 * GIB, RAM), (FOUR_GIB, 64 * MIB, RAM)]).unwrap();
    let mut pool = FramePool::new();
    for r in p.frame_ranges() {
        pool.add(r).unwrap();
    }
    for r in p.frame_ranges() {
        assert!(pool.add(r).is_err(), "{r} accepted twice");
    }
    assert!(
        pool.add(p.heap()).is_ok(),
        "the heap overlaps no frame range"
    );
}
