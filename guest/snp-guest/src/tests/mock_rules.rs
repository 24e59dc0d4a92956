//! The mock itself follows KVM's rules (arch/x86/kvm/svm/sev.c) and the
//! hardware's; every constant here is a literal from the specs.

use super::*;
use crate::ghcb::Ghcb;
use crate::mock::{Event, NpfCause, PscScratchLen, RmpEntry, Stop};
use crate::{GhcbCopy, PageSize, SnpHardware};

#[test]
fn pvalidate_rules() {
    let mut m = MockHypervisor::default();
    // Not assigned: a nested page fault the guest never sees; KVM + QEMU
    // convert the page (validated = 0) and PVALIDATE then succeeds.
    assert_eq!(m.pvalidate(0x1000, PageSize::Size4K, true), (0, false));
    assert!(m.events().contains(&Event::NestedPageFault {
        gpa: 0x1000,
        cause: NpfCause::NotAssigned
    }));
    // Misaligned: FAIL_INPUT (1).
    assert_eq!(m.pvalidate(0x1800, PageSize::Size4K, true), (1, false));
    assert_eq!(m.pvalidate(0x1000, PageSize::Size2M, true), (1, false));
    // Same state again: CF=1 and no change.
    assert_eq!(m.pvalidate(0x1000, PageSize::Size4K, true), (0, true));
    assert!(m.rmp(0x1000).validated);
    assert_eq!(m.pvalidate(0x1000, PageSize::Size4K, false), (0, false));
    assert_eq!(m.pvalidate(0x1000, PageSize::Size4K, false), (0, true));
    // 2M over 4K RMP entries: FAIL_SIZEMISMATCH (6).
    m.prevalidate(0x20_0000, 0x40_0000);
    assert_eq!(m.pvalidate(0x20_0000, PageSize::Size2M, true), (6, false));
    // Not VMPL0: FAIL_PERMISSION (2), whatever the page.
    m.config.vmpl = 2;
    assert_eq!(m.pvalidate(0x20_0000, PageSize::Size4K, false), (2, false));
    // A 4K PVALIDATE inside a 2M RMP entry: fault, PSMASH, done.
    let mut m = MockHypervisor::default();
    m.set_rmp(
        0x40_0000,
        RmpEntry {
            assigned: true,
            validated: false,
            size_2m: true,
        },
    );
    assert_eq!(m.pvalidate(0x40_0000, PageSize::Size4K, true), (0, false));
    assert!(m.events().contains(&Event::Psmash { gpa: 0x40_0000 }));
}

/// A GHCB with exit code and infos set (and marked valid).
fn exit(code: u64, info1: u64, info2: u64) -> Ghcb {
    let mut g = Ghcb::new();
    g.write_u64(0x390, code);
    g.write_u64(0x398, info1);
    g.write_u64(0x3A0, info2);
    g.set_valid_bitmap(1 << (0x390 / 8) | 1 << (0x398 / 8) | 1 << (0x3A0 / 8));
    g
}

fn with(mut g: Ghcb, off: usize, v: u64) -> Ghcb {
    g.write_u64(off, v);
    g.set_valid_bitmap(g.valid_bitmap() | 1 << (off / 8));
    g
}

/// One raw exit; returns (SW_EXITINFO1, SW_EXITINFO2) and the GHCB.
fn run(m: &mut MockHypervisor, mut g: Ghcb) -> (u64, u64, Ghcb) {
    m.ghcb_exit(GHCB, &mut g, &GhcbCopy::full());
    (g.read_u64(0x398), g.read_u64(0x3A0), g)
}

fn ready() -> MockHypervisor {
    let mut m = booted(MockConfig::default());
    let _ = channel(&mut m);
    m
}

#[test]
fn validate_vmgexit_rules() {
    let mut m = ready();
    let r = |m: &mut MockHypervisor, g| {
        let (a, b, _) = run(m, g);
        (a, b)
    };
    // HV features: KVM answers SNP | AP creation.
    assert_eq!(r(&mut m, exit(0x8000_FFFD, 0, 0)), (0, 0b11));
    // Usage other than 0: GHCB_ERR_INVALID_USAGE (2).
    let mut g = exit(0x8000_FFFD, 0, 0);
    g.write_u32(0xFFC, 1);
    assert_eq!(r(&mut m, g), (2, 2));
    // KVM does not look at the protocol version field.
    let mut g = exit(0x8000_FFFD, 0, 0);
    g.write_u16(0xFFA, 7);
    assert_eq!(r(&mut m, g), (0, 0b11));
    // Exit code, info1 and info2 must be valid: GHCB_ERR_MISSING_INPUT (4).
    let mut g = exit(0x8000_FFFD, 0, 0);
    g.set_valid_bitmap(1 << (0x390 / 8) | 1 << (0x398 / 8));
    assert_eq!(r(&mut m, g), (2, 4));
    // CPUID needs RAX and RCX; leaf 0xD needs XCR0 too.
    assert_eq!(r(&mut m, with(exit(0x72, 0, 0), 0x1F8, 1)), (2, 4));
    let g = with(with(exit(0x72, 0, 0), 0x1F8, 0xD), 0x308, 0);
    assert_eq!(r(&mut m, g.clone()), (2, 4));
    assert_eq!(r(&mut m, with(g, 0x3E8, 7)), (0, 0));
    // OUT needs RAX, IN does not; a string IOIO needs SW_SCRATCH.
    assert_eq!(r(&mut m, exit(0x7B, 0x3F8_0090, 0)), (2, 4));
    assert_eq!(r(&mut m, exit(0x7B, 0x3F8_0091, 0)), (0, 0));
    assert_eq!(r(&mut m, exit(0x7B, 0x3F8_0095, 1)), (2, 4));
    // MSR: RCX always, RAX and RDX for a write.
    assert_eq!(r(&mut m, exit(0x7C, 0, 0)), (2, 4));
    assert_eq!(r(&mut m, with(exit(0x7C, 1, 0), 0x308, 0x10)), (2, 4));
    // RDTSC and RDTSCP need nothing.
    assert_eq!(r(&mut m, exit(0x6E, 0, 0)), (0, 0));
    assert_eq!(r(&mut m, exit(0x87, 0, 0)), (0, 0));
    // XSETBV (0x8D) is no NAE: GHCB_ERR_INVALID_EVENT (6); so is 0x55.
    assert_eq!(r(&mut m, exit(0x8D, 0, 0)), (2, 6));
    assert_eq!(r(&mut m, exit(0x55, 0, 0)), (2, 6));
    // MMIO needs SW_SCRATCH; at most 8 bytes (GHCB_ERR_INVALID_INPUT, 5);
    // the scratch area must lie in the shared buffer 0x800..0xFF0
    // (GHCB_ERR_INVALID_SCRATCH_AREA, 3).
    assert_eq!(r(&mut m, exit(0x8000_0001, 0xFEB0_0000, 4)), (2, 4));
    let mmio = |len, scratch| with(exit(0x8000_0001, 0xFEB0_0000, len), 0x3A8, scratch);
    assert_eq!(r(&mut m, mmio(4, GHCB + 0x800)), (0, 0));
    assert_eq!(r(&mut m, mmio(9, GHCB + 0x800)), (2, 5));
    assert_eq!(r(&mut m, mmio(8, GHCB + 0xFEC)), (2, 3));
    assert_eq!(r(&mut m, mmio(4, GHCB + 0x7FC)), (2, 3));
    assert_eq!(r(&mut m, mmio(4, 0x9_0000)), (2, 3));
    // Guest request: page-aligned, distinct pages, else MISSING_INPUT.
    assert_eq!(r(&mut m, exit(0x8000_0011, 0x9_0000, 0x9_0000)), (2, 4));
    assert_eq!(r(&mut m, exit(0x8000_0011, 0x9_0008, 0x9_1000)), (2, 4));
    assert_eq!(r(&mut m, exit(0x8000_0011, 0x9_0000, 0x9_1000)), (0, 0));
    assert!(m.stopped().is_none());
}

#[test]
fn response_marks_only_rax_to_rdx_and_the_exit_infos() {
    let mut m = ready();
    m.set_cpuid(1, 0, [1, 2, 3, 4]);
    let g = with(with(exit(0x72, 0, 0), 0x1F8, 1), 0x308, 0);
    let g = with(g, 0x3E8, 1); // XCR0 valid on input: cleared on return.
    let (i1, i2, g) = run(&mut m, g);
    assert_eq!((i1, i2), (0, 0));
    // RAX 0x1F8 (bit 63), RCX 0x308 (97), RDX 0x310 (98), RBX 0x318 (99),
    // SW_EXITINFO1 0x398 (115), SW_EXITINFO2 0x3A0 (116).
    let want: u128 = [63u32, 97, 98, 99, 115, 116]
        .iter()
        .fold(0, |a, b| a | 1 << b);
    assert_eq!(g.valid_bitmap(), want);
    assert_eq!(
        [0x1F8, 0x318, 0x308, 0x310].map(|o| g.read_u64(o)),
        [1, 2, 3, 4]
    );
    // A refused exit also returns with RAX..RDX marked (KVM syncs them).
    let (_, _, g) = run(&mut m, exit(0x8D, 0, 0));
    assert_eq!(g.valid_bitmap(), want);
}

#[test]
fn unregistered_ghcb_stops_the_vm() {
    let mut m = ready();
    let mut g = exit(0x8000_FFFD, 0, 0);
    let before = g.clone();
    m.ghcb_exit(GHCB + 0x1000, &mut g, &GhcbCopy::full());
    assert_eq!(
        m.stopped(),
        Some(Stop::GhcbNotRegistered { gpa: GHCB + 0x1000 })
    );
    // KVM returned an error to userspace; the guest is not resumed, so it
    // gets no answer at all.
    assert_eq!(g, before);
    m.ghcb_exit(GHCB, &mut g, &GhcbCopy::full());
    assert_eq!(m.events().last(), Some(&Event::RanAfterStop));
}

#[test]
fn unsupported_event_and_termination_stop_the_vm() {
    let mut m = ready();
    run(&mut m, exit(0x8000_FFFF, 0, 0));
    assert_eq!(m.stopped(), Some(Stop::UnsupportedEvent));
    let mut m = ready();
    // GHCB spec: SW_EXITINFO1[3:0] set, [11:4] code.
    run(&mut m, exit(0x8000_FFFE, 0x231, 0));
    assert_eq!(m.terminated(), Some((1, 0x23)));
}

#[test]
fn msr_protocol_is_stateless() {
    let mut m = MockHypervisor::default();
    let ask = |m: &mut MockHypervisor, v| m.msr_protocol(v);
    // SEV info: max 2, min 1, C-bit 51.
    assert_eq!(ask(&mut m, 0x002), 0x0002_0001_3300_0001);
    assert_eq!(ask(&mut m, 0x002), 0x0002_0001_3300_0001);
    // CPUID 0x8000_001F EBX twice: same answer, no memory of the first.
    let q = 0x8000_001F_4000_0004;
    assert_eq!(ask(&mut m, q), 0x0000_0173_4000_0005);
    assert_eq!(ask(&mut m, q), 0x0000_0173_4000_0005);
    // HV features: SNP | AP creation.
    assert_eq!(ask(&mut m, 0x080), 0x3081);
    // Preferred GHCB: none (52 bits of ones).
    assert_eq!(ask(&mut m, 0x010), 0xFFFF_FFFF_FFFF_F011);
    // Unknown request: the MSR value stays as it was.
    assert_eq!(ask(&mut m, 0xABC_0FFF), 0xABC_0FFF);
    // PSC with an operation other than 1/2: bit 63 | 0x015.
    assert_eq!(ask(&mut m, 0x0030_0000_0001_0014), 0x8000_0000_0000_0015);
    assert_eq!(ask(&mut m, 0x0010_0000_0001_0014), 0x015);
    assert!(m.rmp(0x1_0000).assigned);
    // Registration is echoed (and is the one thing KVM remembers).
    assert_eq!(ask(&mut m, 0x7_F012), 0x7_F013);
    assert_eq!(m.registered_ghcb(), Some(0x7_F000));
    // Termination: the VM stops.
    ask(&mut m, 0x2_1100);
    assert_eq!(m.terminated(), Some((1, 2)));
}

/// A PSC request in the shared buffer: header then entries.
fn psc(cur: u16, end: u16, entries: &[u64]) -> Ghcb {
    let mut g = with(exit(0x8000_0010, 0, 0), 0x3A8, GHCB + 0x800);
    g.write_u16(0x800, cur);
    g.write_u16(0x802, end);
    for (i, e) in entries.iter().enumerate() {
        g.write_u64(0x808 + 8 * i, *e);
    }
    g
}

/// A mock after GHCB registration, with KVM's PSC scratch sizing `len`.
fn ready_psc(len: PscScratchLen) -> MockHypervisor {
    let mut m = ready();
    m.config.psc_scratch_len = len;
    m
}

/// PSC request with SW_EXITINFO2 = `info2` and the buffer at GHCB + `at`.
fn psc_at(at: u64, info2: u64, cur: u16, end: u16) -> Ghcb {
    let mut g = with(exit(0x8000_0010, 0, info2), 0x3A8, GHCB + at);
    g.write_u16(at as usize, cur);
    g.write_u16(at as usize + 2, end);
    g
}

#[test]
fn psc_rules() {
    // Entry: [11:0] cur_page, [51:12] GFN, [55:52] op, [56] 2M.
    let private_4k = |gfn: u64| 1 << 52 | gfn << 12;
    for len in [PscScratchLen::ExitInfo2, PscScratchLen::Header] {
        let mut m = ready_psc(len);
        // end_entry beyond 252: PSC_ERROR_INVALID_HDR = 1 << 32 | 1.
        let (i1, i2, _) = run(&mut m, psc(0, 253, &[]));
        assert_eq!((i1, i2), (0, 1 << 32 | 1), "{len:?}");
        // 2M entry not 2M aligned: PSC_ERROR_INVALID_ENTRY = 1 << 32 | 2.
        let (_, i2, _) = run(&mut m, psc(0, 0, &[1 << 56 | 1 << 52 | 0x201 << 12]));
        assert_eq!(i2, 1 << 32 | 2);
        // cur_page beyond the entry's pages: invalid entry too.
        let (_, i2, _) = run(&mut m, psc(0, 0, &[private_4k(0x200) | 2]));
        assert_eq!(i2, 1 << 32 | 2);
        // Two entries done: cur_entry = 2, each cur_page = its page count.
        let (i1, i2, g) = run(&mut m, psc(0, 1, &[private_4k(0x200), private_4k(0x201)]));
        assert_eq!((i1, i2), (0, 0));
        assert_eq!(g.read_u16(0x800), 2);
        assert_eq!(g.read_u64(0x808) & 0xFFF, 1);
        assert_eq!(g.read_u64(0x810) & 0xFFF, 1);
        assert!(m.rmp(0x20_0000).assigned && m.rmp(0x20_1000).assigned);
        // An operation KVM does not implement is completed untouched.
        let (_, i2, g) = run(&mut m, psc(0, 0, &[3 << 52 | 0x300 << 12]));
        assert_eq!((i2, g.read_u16(0x800)), (0, 1));
        assert!(!m.rmp(0x30_0000).assigned);
        // cur_entry past end_entry: nothing to do.
        let (_, i2, _) = run(&mut m, psc(2, 1, &[private_4k(0x400), private_4k(0x401)]));
        assert_eq!(i2, 0);
        assert!(!m.rmp(0x40_0000).assigned);
        // A partly done 2M entry continues from cur_page.
        let (_, _, g) = run(&mut m, psc(0, 0, &[1 << 56 | 1 << 52 | 0x600 << 12 | 510]));
        assert_eq!(g.read_u64(0x808) & 0xFFF, 512);
        assert!(m.rmp(0x7F_E000).assigned && !m.rmp(0x7F_D000).assigned);
        // Scratch outside the GHCB page: GHCB_ERR_INVALID_SCRATCH_AREA.
        let g = with(psc(0, 0, &[]), 0x3A8, 0x9_0000);
        let (i1, i2, _) = run(&mut m, g);
        assert_eq!((i1, i2), (2, 3));
        // Scratch before the shared buffer (in the save area): refused too.
        let (i1, i2, _) = run(&mut m, psc_at(0x7F8, 0, 0, 0));
        assert_eq!((i1, i2), (2, 3));
    }
}

/// Released KVM (v6.11 on): SW_EXITINFO2 is the scratch length, so a guest
/// naming more than the shared buffer holds is refused; 0 (what Linux and
/// this crate send) passes; the entry limit is 253 wherever the buffer is.
#[test]
fn psc_scratch_length_is_sw_exitinfo2_in_released_kvm() {
    let mut m = ready_psc(PscScratchLen::ExitInfo2);
    // 0x800 + 0x7F0 = 0xFF0, the end of the shared buffer: accepted.
    let (i1, i2, _) = run(&mut m, psc_at(0x800, 0x7F0, 0, 0));
    assert_eq!((i1, i2), (0, 0));
    // One byte more, or a length that wraps: GHCB_ERR_INVALID_SCRATCH_AREA.
    let (i1, i2, _) = run(&mut m, psc_at(0x800, 0x7F1, 0, 0));
    assert_eq!((i1, i2), (2, 3));
    let (i1, i2, _) = run(&mut m, psc_at(0x800, u64::MAX, 0, 0));
    assert_eq!((i1, i2), (2, 3));
    // A length fitting from a later start, too long from 0x900.
    let (i1, _, _) = run(&mut m, psc_at(0x900, 0x6F0, 0, 0));
    assert_eq!(i1, 0);
    let (i1, i2, _) = run(&mut m, psc_at(0x900, 0x6F1, 0, 0));
    assert_eq!((i1, i2), (2, 3));
    // Length 0 at the very end of the buffer is accepted, and end_entry is
    // checked against 253 only: entry 0 is read from the reserved 0xFF0.
    let (i1, i2, _) = run(&mut m, psc_at(0xFE8, 0, 0, 0));
    assert_eq!((i1, i2), (0, 0));
}

#[test]
#[should_panic(expected = "past the GHCB page")]
fn released_kvm_reading_psc_entries_past_the_page_is_not_modelled() {
    let mut m = ready_psc(PscScratchLen::ExitInfo2);
    // Buffer at 0xFE8, end_entry 2: entry 2 would lie at 0x1000.
    run(&mut m, psc_at(0xFE8, 0, 0, 2));
}

/// KVM with the 2026 fix: the length is the 8-byte header, SW_EXITINFO2 is
/// ignored, and the entries must fit between the buffer and 0xFF0.
#[test]
fn psc_scratch_length_is_the_header_in_fixed_kvm() {
    let mut m = ready_psc(PscScratchLen::Header);
    let (i1, i2, _) = run(&mut m, psc_at(0x800, 0xFFFF_FFFF, 0, 0));
    assert_eq!((i1, i2), (0, 0));
    // From 0x900: (0xFF0 - 0x900 - 8) / 8 = 221 entries, end_entry <= 220.
    let (i1, i2, _) = run(&mut m, psc_at(0x900, 0, 0, 220));
    assert_eq!((i1, i2), (0, 0));
    let (i1, i2, _) = run(&mut m, psc_at(0x900, 0, 0, 221));
    assert_eq!((i1, i2), (0, 1 << 32 | 1));
    // Scratch near the end of the shared buffer: room for no entry.
    let (_, i2, _) = run(&mut m, psc_at(0xFE8, 0, 0, 0));
    assert_eq!(i2, 1 << 32 | 1);
    // No room for the header: GHCB_ERR_INVALID_SCRATCH_AREA.
    let (i1, i2, _) = run(&mut m, psc_at(0xFEC, 0, 0, 0));
    assert_eq!((i1, i2), (2, 3));
}

#[test]
fn host_sees_only_the_copied_bytes() {
    let mut m = ready();
    let mut g = with(exit(0x7B, 0x3F8_0090, 0), 0x1F8, 0x41);
    g.write_u64(0x808, 0x1122_3344); // not part of an OUT exit
    let copy = GhcbCopy::for_exit(&g, None, None);
    m.ghcb_exit(GHCB, &mut g, &copy);
    let host = m.host_ghcb(GHCB);
    assert_eq!(&host[0x1F8..0x200], &0x41u64.to_le_bytes());
    assert_eq!(&host[0x808..0x810], &[0; 8]);
    assert_eq!(g.read_u64(0x398), 0);
    assert_eq!(m.ghcb_bytes_copied(), (54, 64));
}
