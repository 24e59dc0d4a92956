//! The mock itself follows the spec rules the guest logic is tested against.

use super::*;
use crate::ghcb::Ghcb;
use crate::mock::RmpEntry;
use crate::nae::ghcb_err;
use crate::pvalidate_rc::*;
use crate::{PageSize, SnpHardware};

#[test]
fn pvalidate_rules() {
    let mut m = MockHypervisor::default();
    // Not assigned to the guest.
    assert_eq!(
        m.pvalidate(0x1000, PageSize::Size4K, true),
        (FAIL_PERMISSION, false)
    );
    m.set_rmp(
        0x1000,
        RmpEntry {
            assigned: true,
            validated: false,
            size_2m: false,
        },
    );
    // Misaligned.
    assert_eq!(
        m.pvalidate(0x1800, PageSize::Size4K, true),
        (FAIL_INPUT, false)
    );
    assert_eq!(
        m.pvalidate(0x1000, PageSize::Size2M, true),
        (FAIL_INPUT, false)
    );
    // Validate, then again: CF=1 and no change.
    assert_eq!(
        m.pvalidate(0x1000, PageSize::Size4K, true),
        (SUCCESS, false)
    );
    assert_eq!(m.pvalidate(0x1000, PageSize::Size4K, true), (SUCCESS, true));
    assert!(m.rmp(0x1000).validated);
    assert_eq!(
        m.pvalidate(0x1000, PageSize::Size4K, false),
        (SUCCESS, false)
    );
    assert_eq!(
        m.pvalidate(0x1000, PageSize::Size4K, false),
        (SUCCESS, true)
    );
    // 2M over 4K RMP entries.
    m.prevalidate(0x20_0000, 0x40_0000);
    assert_eq!(
        m.pvalidate(0x20_0000, PageSize::Size2M, true),
        (FAIL_SIZEMISMATCH, false)
    );
}

fn valid_exit(code: u64) -> Ghcb {
    let mut g = Ghcb::new();
    g.set_sw_exit_code(code);
    g.set_sw_exit_info1(0);
    g.set_sw_exit_info2(0);
    g
}

#[test]
fn ghcb_exit_checks() {
    let mut m = booted(MockConfig::default());
    let _ = channel(&mut m);
    let run = |m: &mut MockHypervisor, mut g: Ghcb| {
        m.ghcb_exit(GHCB, &mut g);
        (g.sw_exit_info1(), g.sw_exit_info2())
    };
    assert_eq!(run(&mut m, valid_exit(0x8000_FFFD)).0, 0);
    let mut g = valid_exit(0x8000_FFFD);
    g.write_u32(0xFFC, 1);
    assert_eq!(run(&mut m, g), (2, ghcb_err::INVALID_USAGE));
    let mut g = valid_exit(0x8000_FFFD);
    g.write_u16(0xFFA, 1);
    assert_eq!(run(&mut m, g), (2, ghcb_err::INVALID_USAGE));
    let mut g = valid_exit(0x8000_FFFD);
    g.set_valid_bitmap(0);
    assert_eq!(run(&mut m, g), (2, ghcb_err::MISSING_INPUT));
    // CPUID without RCX.
    let mut g = valid_exit(0x72);
    g.set_rax(1);
    assert_eq!(run(&mut m, g), (2, ghcb_err::MISSING_INPUT));
    // CPUID 0xD without XCR0 (KVM rule).
    let mut g = valid_exit(0x72);
    g.set_rax(0xD);
    g.set_rcx(0);
    assert_eq!(run(&mut m, g), (2, ghcb_err::MISSING_INPUT));
    // XSETBV has no NAE in KVM: refused as an invalid event.
    assert_eq!(run(&mut m, valid_exit(0x55)), (2, ghcb_err::INVALID_EVENT));
    // MMIO scratch outside the shared buffer.
    let mut g = valid_exit(0x8000_0001);
    g.set_sw_exit_info2(4);
    g.set_sw_scratch(GHCB + 0xFF0);
    assert_eq!(run(&mut m, g), (2, ghcb_err::INVALID_SCRATCH_AREA));
    // Another GPA than the registered one.
    let mut g = valid_exit(0x8000_FFFD);
    m.ghcb_exit(GHCB + 0x1000, &mut g);
    assert_eq!(
        (g.sw_exit_info1(), g.sw_exit_info2()),
        (2, ghcb_err::NOT_REGISTERED)
    );
}
