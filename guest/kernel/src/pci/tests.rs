//! PCI configuration space against a mock host whose devices lie about
//! their capability lists and BAR sizes. Register offsets are the PCI local
//! bus spec's (vendor 0x00, command 0x04, status 0x06, header type 0x0E,
//! BARs 0x10..0x28, capability pointer 0x34), written as literals.

use super::{assign_memory_bars, bus0_functions, Function, MemoryBar, MmioWindow, PciError};
use crate::platform::mock::{BarReg, MockPlatform, PciFunction};
use std::vec::Vec;

fn function(mock: &MockPlatform, device: u8) -> Function<&MockPlatform> {
    Function::new(mock, 0, device, 0)
}

fn caps(mock: &MockPlatform) -> Vec<(u8, u8)> {
    function(mock, 3).capabilities().collect()
}

/// A function at 00:03.0 whose list starts at `first` and whose
/// capability at each (offset, id, next) is as given.
fn with_caps(first: u8, list: &[(u8, u8, u8)]) -> MockPlatform {
    let mut f = PciFunction::new(0x1AF4, 0x1041);
    f.config[0x06] = 1 << 4; // status: capability list present
    f.config[0x34] = first;
    for &(at, id, next) in list {
        f.config[usize::from(at)] = id;
        f.config[usize::from(at) + 1] = next;
    }
    let mock = MockPlatform::new();
    mock.add_pci(3, f);
    mock
}

#[test]
fn bus_walk_finds_present_functions_only() {
    // Absent slots read vendor 0xFFFF (no device answers the cycle).
    let mock = MockPlatform::new();
    mock.add_pci(1, PciFunction::new(0x8086, 0x29C0));
    mock.add_pci(4, PciFunction::new(0x1AF4, 0x1041));
    let found: Vec<(u8, u16)> = bus0_functions(&mock)
        .map(|f| (f.device, f.vendor_id()))
        .collect();
    assert_eq!(found, [(1, 0x8086), (4, 0x1AF4)]);
}

#[test]
fn capability_walk_follows_a_well_formed_list() {
    let mock = with_caps(0x40, &[(0x40, 0x09, 0x54), (0x54, 0x11, 0x00)]);
    assert_eq!(caps(&mock), [(0x09, 0x40), (0x11, 0x54)]);
}

#[test]
fn looping_capability_list_ends_after_48_entries() {
    // The device links 0x40 -> 0x50 -> 0x40: the walk must end.
    let mock = with_caps(0x40, &[(0x40, 0x09, 0x50), (0x50, 0x09, 0x40)]);
    assert_eq!(caps(&mock).len(), 48);
    // A capability pointing at itself.
    let mock = with_caps(0x80, &[(0x80, 0x09, 0x80)]);
    assert_eq!(caps(&mock).len(), 48);
}

#[test]
fn pointers_into_the_header_end_the_walk() {
    // First pointer at the BARs (0x10); a later one at the header (0x3C).
    let mock = with_caps(0x10, &[]);
    assert!(caps(&mock).is_empty());
    let mock = with_caps(0x40, &[(0x40, 0x09, 0x3C)]);
    assert_eq!(caps(&mock), [(0x09, 0x40)]);
    // No capability list bit in the status register: no walk at all.
    let mock = with_caps(0x40, &[(0x40, 0x09, 0)]);
    mock.state
        .borrow_mut()
        .pci
        .get_mut(&(0, 3, 0))
        .expect("added")
        .config[0x06] = 0;
    assert!(caps(&mock).is_empty());
}

#[test]
fn unaligned_pointers_are_masked_to_dwords() {
    // The two low bits of a capability pointer are reserved: 0x43 is 0x40,
    // 0x5F is 0x5C; the walk never reads at an unaligned offset.
    let mock = with_caps(0x43, &[(0x40, 0x09, 0x5F), (0x5C, 0x05, 0)]);
    assert_eq!(caps(&mock), [(0x09, 0x40), (0x05, 0x5C)]);
}

fn bar_device(bars: [BarReg; 6]) -> MockPlatform {
    let mut f = PciFunction::new(0x1AF4, 0x1041);
    f.bars = bars;
    f.config[0x04] = 0x07; // I/O, memory and bus mastering on
    let mock = MockPlatform::new();
    mock.add_pci(3, f);
    mock
}

fn window() -> MmioWindow {
    window_at(0xC000_0000, 0xFEC0_0000)
}

fn window_at(start: u64, end: u64) -> MmioWindow {
    // SAFETY: the mock platform has no RAM; its "device memory" is a log.
    unsafe { MmioWindow::new(start, end) }
}

#[test]
fn bars_are_sized_aligned_and_placed_in_the_window() {
    let [lo, hi] = BarReg::mem64(0x4000);
    let mut bars = [BarReg::default(); 6];
    bars[1] = BarReg::mem32(0x1000);
    bars[4] = lo;
    bars[5] = hi;
    let mock = bar_device(bars);
    let mut w = window_at(0xC000_0800, 0xFEC0_0000);
    let got = assign_memory_bars(&function(&mock, 3), &mut w).expect("assigned");
    assert_eq!(got[0], None); // size 0: unimplemented
    assert_eq!(
        got[1],
        Some(MemoryBar {
            base: 0xC000_1000,
            size: 0x1000
        })
    );
    assert_eq!(
        got[4],
        Some(MemoryBar {
            base: 0xC000_4000,
            size: 0x4000
        })
    );
    assert_eq!(got[5], None); // upper half of BAR4
    let f = mock.pci(3);
    assert_eq!((f.bar_base(1), f.bar_base(4)), (0xC000_1000, 0xC000_4000));
    // Decoding and bus mastering stay off until the driver enables them.
    assert_eq!(f.command() & 0x7, 0);
}

#[test]
fn bar_of_size_zero_stays_unassigned() {
    // No writable address bit: the BAR is not implemented.
    let mock = bar_device([BarReg::default(); 6]);
    let got = assign_memory_bars(&function(&mock, 3), &mut window()).expect("nothing to do");
    assert_eq!(got, [None; 6]);
    assert_eq!(mock.pci(3).bar_base(0), 0);
}

#[test]
fn bar_that_reads_all_ones_is_left_alone() {
    // Every bit set, nothing writable: reads like an I/O BAR, so no memory
    // is assigned for it.
    let mut bars = [BarReg::default(); 6];
    bars[0] = BarReg {
        wmask: 0,
        fixed: 0xFFFF_FFFF,
    };
    let mock = bar_device(bars);
    let mut w = window();
    let got = assign_memory_bars(&function(&mock, 3), &mut w).expect("skipped");
    assert_eq!(got, [None; 6]);
    assert_eq!(w.used_end(), 0xC000_0000);
}

#[test]
fn widest_memory_bar_mask_is_16_bytes_and_gets_a_whole_page() {
    // Every address bit writable: the smallest BAR, 16 bytes; it still
    // takes a whole page of the window so no other BAR shares its page.
    let mut bars = [BarReg::default(); 6];
    bars[0] = BarReg::mem32(16);
    bars[1] = BarReg::mem32(16);
    let mock = bar_device(bars);
    let got = assign_memory_bars(&function(&mock, 3), &mut window()).expect("assigned");
    assert_eq!(got[0].map(|b| (b.base, b.size)), Some((0xC000_0000, 16)));
    assert_eq!(got[1].map(|b| b.base), Some(0xC000_1000));
}

#[test]
fn bar_size_not_a_power_of_two_is_refused() {
    // Writable bits with a hole: 0xFFF0_F000 is no BAR size.
    let mut bars = [BarReg::default(); 6];
    bars[2] = BarReg {
        wmask: 0xFFF0_F000,
        fixed: 0,
    };
    let mock = bar_device(bars);
    assert!(matches!(
        assign_memory_bars(&function(&mock, 3), &mut window()),
        Err(PciError::BadBarSize { bar: 2, .. })
    ));
}

#[test]
fn huge_bars_are_refused() {
    // 1 GiB (above the 256 MiB the kernel maps) and a 64-bit 8 GiB BAR.
    let mut bars = [BarReg::default(); 6];
    bars[0] = BarReg::mem32(1 << 30);
    let mock = bar_device(bars);
    assert!(matches!(
        assign_memory_bars(&function(&mock, 3), &mut window()),
        Err(PciError::BadBarSize {
            bar: 0,
            size: 0x4000_0000
        })
    ));
    let mut bars = [BarReg::default(); 6];
    [bars[2], bars[3]] = BarReg::mem64(8 << 30);
    let mock = bar_device(bars);
    assert!(matches!(
        assign_memory_bars(&function(&mock, 3), &mut window()),
        Err(PciError::BadBarSize {
            bar: 2,
            size: 0x2_0000_0000
        })
    ));
}

#[test]
fn sixty_four_bit_bar_in_the_last_slot_is_refused() {
    // BAR5 claims to be 64-bit: its upper half would be a seventh BAR.
    let mut bars = [BarReg::default(); 6];
    bars[5] = BarReg::mem64(0x1000)[0];
    let mock = bar_device(bars);
    assert_eq!(
        assign_memory_bars(&function(&mock, 3), &mut window()),
        Err(PciError::Bar64InLastSlot)
    );
}

#[test]
fn window_exhaustion_is_an_error_not_an_overlap() {
    // Two 64 KiB BARs into a 96 KiB window: the second does not fit.
    let mut bars = [BarReg::default(); 6];
    bars[0] = BarReg::mem32(0x1_0000);
    bars[1] = BarReg::mem32(0x1_0000);
    let mock = bar_device(bars);
    let mut w = window_at(0xC000_0000, 0xC001_8000);
    assert_eq!(
        assign_memory_bars(&function(&mock, 3), &mut w),
        Err(PciError::WindowFull {
            bar: 1,
            size: 0x1_0000
        })
    );
    // A window ending at the top of the address space cannot wrap.
    let mut w = window_at(0xFFFF_FFFF_FFFF_F000, u64::MAX);
    assert!(matches!(
        assign_memory_bars(&function(&mock, 3), &mut w),
        Err(PciError::WindowFull { bar: 0, .. })
    ));
}
