use super::*;
use crate::ghcb::Ghcb;
use crate::mock::Event;
use crate::msr_protocol::PscOp;
use crate::nae::PscEntry;
use crate::{share_page, GhcbCopy, PageSize, SnpError, SnpHardware};

fn garbage() -> MockConfig {
    MockConfig {
        garbage: true,
        ..MockConfig::default()
    }
}

#[test]
fn ioio_in_out() {
    let mut m = booted(garbage());
    m.script_io_in(0x3FD, &[0x60, 0x1234_5661]);
    let mut ch = channel(&mut m);
    ch.outb(0x3F8, b'A').unwrap();
    ch.outw(0x510, 0x0019).unwrap();
    ch.outl(0xCF8, 0x8000_0010).unwrap();
    assert_eq!(ch.inb(0x3FD).unwrap(), 0x60);
    // Only the low byte of the scripted value, no junk from RAX[63:8].
    assert_eq!(ch.inb(0x3FD).unwrap(), 0x61);
    assert_eq!(ch.inw(0x3FD).unwrap(), 0xFFFF);
    let ios: std::vec::Vec<_> = m
        .events()
        .iter()
        .filter(|e| matches!(e, Event::IoOut { .. } | Event::IoIn { .. }))
        .cloned()
        .collect();
    assert_eq!(
        ios,
        [
            Event::IoOut {
                port: 0x3F8,
                value: 0x41
            },
            Event::IoOut {
                port: 0x510,
                value: 0x19
            },
            Event::IoOut {
                port: 0xCF8,
                value: 0x8000_0010
            },
            Event::IoIn {
                port: 0x3FD,
                value: 0x60
            },
            Event::IoIn {
                port: 0x3FD,
                value: 0x61
            },
            Event::IoIn {
                port: 0x3FD,
                value: 0xFFFF
            },
        ]
    );
    assert!(m.events().contains(&Event::GhcbExit {
        exit_code: 0x7B,
        info1: 0x03F8_0090,
        info2: 0,
        result_info1: 0,
        result_info2: 0
    }));
}

#[test]
fn msr_read_write() {
    let mut m = booted(garbage());
    m.set_msr(0x1B, 0xFEE0_0900);
    let mut ch = channel(&mut m);
    ch.wrmsr(0xC000_0103, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(ch.rdmsr(0xC000_0103).unwrap(), 0x1122_3344_5566_7788);
    assert_eq!(ch.rdmsr(0x1B).unwrap(), 0xFEE0_0900);
    assert_eq!(m.msr(0xC000_0103), Some(0x1122_3344_5566_7788));
}

#[test]
fn cpuid_passes_xcr0() {
    let mut m = booted(garbage());
    m.set_cpuid(1, 0, [0x00A0_0F11, 0x0800, 0xFEDA_3203, 0x178B_FBFF]);
    let mut ch = channel(&mut m);
    assert_eq!(
        ch.cpuid(1, 0).unwrap(),
        [0x00A0_0F11, 0x0800, 0xFEDA_3203, 0x178B_FBFF]
    );
    assert_eq!(ch.cpuid(0xD, 0).unwrap()[1], 0x240);
    ch.set_xcr0(0x7);
    assert_eq!(ch.cpuid(0xD, 0).unwrap()[1], 0x340);
    assert!(m.events().contains(&Event::Cpuid {
        leaf: 0xD,
        subleaf: 0,
        xcr0: Some(7)
    }));
}

#[test]
fn mmio_read_write() {
    let mut m = booted(garbage());
    m.set_mmio(0xFEBF_0000, 0x1AF4_1041);
    let mut ch = channel(&mut m);
    assert_eq!(ch.mmio_read_u32(0xFEBF_0000).unwrap(), 0x1AF4_1041);
    assert_eq!(ch.mmio_read_u16(0xFEBF_0000).unwrap(), 0x1041);
    assert_eq!(ch.mmio_read_u8(0xFEBF_0000).unwrap(), 0x41);
    ch.mmio_write(0xFEBF_1000, &0x0102_0304_0506_0708u64.to_le_bytes())
        .unwrap();
    ch.mmio_write_u16(0xFEBF_2000, 0xBEEF).unwrap();
    ch.mmio_write_u8(0xFEBF_3000, 0x7).unwrap();
    ch.mmio_write_u32(0xFEBF_4000, 0xCAFE_F00D).unwrap();
    let mut eight = [0u8; 8];
    ch.mmio_read(0xFEBF_1000, &mut eight).unwrap();
    assert_eq!(u64::from_le_bytes(eight), 0x0102_0304_0506_0708);
    let mut three = [0u8; 3];
    assert!(matches!(
        ch.mmio_read(0xFEBF_0000, &mut three),
        Err(SnpError::InvalidArgument { value: 3, .. })
    ));
    assert!(ch.mmio_write(0xFEBF_0000, &[0; 16]).is_err());
    assert_eq!(m.mmio(0xFEBF_2000), Some(0xBEEF));
    assert_eq!(m.mmio(0xFEBF_3000), Some(0x7));
    assert_eq!(m.mmio(0xFEBF_4000), Some(0xCAFE_F00D));
    assert!(m.events().contains(&Event::GhcbExit {
        exit_code: 0x8000_0001,
        info1: 0xFEBF_0000,
        info2: 4,
        result_info1: 0,
        result_info2: 0
    }));
}

#[test]
fn hv_features_nae() {
    let mut m = booted(MockConfig {
        hv_features: 0b1011,
        ..MockConfig::default()
    });
    let mut ch = channel(&mut m);
    assert_eq!(ch.hv_features().unwrap(), 0b1011);
}

#[test]
fn failed_exits_are_typed_errors() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    // Exception injection request (SW_EXITINFO1 = 1).
    ch.hw_mut().config.fail_next_exit = Some((1, 0x8000_0B0D));
    assert_eq!(
        ch.outb(0x80, 1).unwrap_err(),
        SnpError::GhcbExitFailed {
            exit_code: 0x7B,
            exit_info1: 1,
            exit_info2: 0x8000_0B0D
        }
    );
    // GHCB error with reason.
    ch.hw_mut().config.fail_next_exit = Some((2, 5));
    assert_eq!(
        ch.rdmsr(0x10).unwrap_err(),
        SnpError::GhcbExitFailed {
            exit_code: 0x7C,
            exit_info1: 2,
            exit_info2: 5
        }
    );
    // Only bits 31:0 count: 0xFFFF_FFFF_0000_0000 is success.
    ch.hw_mut().config.fail_next_exit = Some((0xFFFF_FFFF_0000_0000, 0));
    assert!(ch.outb(0x80, 1).is_ok());
    // Upper bits set, lower bits non-zero: failure with the low 32 bits.
    ch.hw_mut().config.fail_next_exit = Some((0x1_0000_0002, 6));
    assert_eq!(
        ch.cpuid(0, 0).unwrap_err(),
        SnpError::GhcbExitFailed {
            exit_code: 0x72,
            exit_info1: 2,
            exit_info2: 6
        }
    );
}

#[test]
fn outputs_must_be_marked_valid() {
    let mut m = booted(MockConfig::default());
    m.set_msr(0x10, 5);
    let mut ch = channel(&mut m);
    ch.hw_mut().config.omit_output_valid = Some(0x310);
    assert_eq!(
        ch.rdmsr(0x10).unwrap_err(),
        SnpError::GhcbOutputNotValid {
            exit_code: 0x7C,
            offset: 0x310
        }
    );
    ch.hw_mut().config.omit_output_valid = Some(0x318);
    assert_eq!(
        ch.cpuid(1, 0).unwrap_err(),
        SnpError::GhcbOutputNotValid {
            exit_code: 0x72,
            offset: 0x318
        }
    );
    ch.hw_mut().config.omit_output_valid = Some(0x1F8);
    assert!(matches!(
        ch.inb(0x3F8),
        Err(SnpError::GhcbOutputNotValid { offset: 0x1F8, .. })
    ));
    // Writes have no outputs.
    assert!(ch.outb(0x3F8, 0).is_ok());
}

const REQ: u64 = 0x9_0000;
const RESP: u64 = 0x9_1000;

fn guest_request_channel(m: &mut MockHypervisor) -> GhcbChannel<&mut MockHypervisor> {
    let mut ch = channel(m);
    let mut rec = launch_record();
    share_page(&mut ch, &mut rec, REQ).unwrap();
    share_page(&mut ch, &mut rec, RESP).unwrap();
    ch
}

#[test]
fn guest_request_results() {
    for (info2, want) in [
        (0u64, Ok(())),
        (2 << 32, Err(SnpError::GuestRequestBusy)),
        (1 << 32, Err(SnpError::GuestRequestInvalidLen)),
        (
            0x27,
            Err(SnpError::GuestRequestFirmwareError { code: 0x27 }),
        ),
        (9 << 32, Err(SnpError::GuestRequestVmmError { code: 9 })),
    ] {
        let mut m = booted(MockConfig::default());
        m.set_guest_request_responder(move |req, resp| {
            assert_eq!((req, resp), (REQ, RESP));
            info2
        });
        let mut ch = guest_request_channel(&mut m);
        assert_eq!(ch.guest_request(REQ, RESP), want, "info2 {info2:#x}");
    }
}

#[test]
fn guest_request_busy_is_its_own_error_and_a_resend_works() {
    // BUSY is SW_EXITINFO2[63:32] = 2; the kernel's attest transport resends
    // the same bytes on it (kernel attest tests), so it must be told apart.
    let mut m = booted(MockConfig::default());
    let mut busy = 2;
    m.set_guest_request_responder(move |_, _| {
        if busy > 0 {
            busy -= 1;
            2 << 32
        } else {
            0
        }
    });
    let mut ch = guest_request_channel(&mut m);
    for expected in [
        Err(SnpError::GuestRequestBusy),
        Err(SnpError::GuestRequestBusy),
        Ok(()),
    ] {
        assert_eq!(ch.guest_request(REQ, RESP), expected);
    }
    let sent = m
        .events()
        .iter()
        .filter(|e| matches!(e, Event::GuestRequest { .. }))
        .count();
    assert_eq!(sent, 3);
}

#[test]
fn guest_request_argument_checks() {
    let mut m = booted(MockConfig::default());
    let mut ch = guest_request_channel(&mut m);
    assert!(matches!(
        ch.guest_request(REQ, REQ),
        Err(SnpError::InvalidArgument { .. })
    ));
    assert!(matches!(
        ch.guest_request(REQ + 8, RESP),
        Err(SnpError::InvalidArgument { .. })
    ));
    // Refused by the guest before any exit.
    assert!(!ch
        .hw()
        .events()
        .iter()
        .any(|e| matches!(e, Event::GuestRequest { .. })));
}

fn entries_4k(start: u64, n: u64) -> std::vec::Vec<PscEntry> {
    (0..n)
        .map(|i| PscEntry {
            gpa: start + i * 0x1000,
            op: PscOp::Private,
            size: PageSize::Size4K,
        })
        .collect()
}

fn psc_exits(m: &MockHypervisor) -> usize {
    m.events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::GhcbExit {
                    exit_code: 0x8000_0010,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn psc_loops_over_partial_progress() {
    let mut m = booted(MockConfig {
        psc_max_per_exit: 3,
        backing_2m: true,
        ..MockConfig::default()
    });
    let mut ch = channel(&mut m);
    let mut entries = entries_4k(0x10_0000, 10);
    entries.push(PscEntry {
        gpa: 0x20_0000,
        op: PscOp::Private,
        size: PageSize::Size2M,
    });
    ch.page_state_change(&entries).unwrap();
    assert_eq!(psc_exits(&m), 4); // 11 entries, 3 per exit
    for gpa in (0x10_0000..0x10_A000).step_by(0x1000) {
        assert!(m.rmp(gpa).assigned && !m.rmp(gpa).validated);
    }
    assert!(m.rmp(0x3F_F000).assigned && m.rmp(0x3F_F000).size_2m);
    assert!(!m.rmp(0x10_A000).assigned);
}

#[test]
fn psc_full_batch_and_limits() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.page_state_change(&entries_4k(0x100_0000, 253)).unwrap();
    assert!(matches!(
        ch.page_state_change(&entries_4k(0x200_0000, 254)),
        Err(SnpError::InvalidArgument { value: 254, .. })
    ));
    assert!(matches!(
        ch.page_state_change(&[PscEntry {
            gpa: 0x1000,
            op: PscOp::Private,
            size: PageSize::Size2M
        }]),
        Err(SnpError::InvalidArgument { .. })
    ));
    assert_eq!(ch.page_state_change(&[]), Ok(()));
    assert_eq!(psc_exits(&m), 1);
    assert!(m.rmp(0x100_0000 + 252 * 0x1000).assigned);
}

/// The GHCB spec gives the PSC NAE SW_EXITINFO1 = SW_EXITINFO2 = 0, and
/// Linux sends 0. Released KVM takes SW_EXITINFO2 as the scratch length
/// (0 passes: the buffer is inside the shared buffer), KVM with the 2026 fix
/// ignores it: a full batch (253 entries, with cur_page progress over
/// several exits) works with both.
#[test]
fn psc_sends_zero_sw_exitinfo2_and_works_with_both_kvm_versions() {
    use crate::mock::PscScratchLen;
    for len in [PscScratchLen::ExitInfo2, PscScratchLen::Header] {
        let mut m = booted(MockConfig {
            psc_scratch_len: len,
            psc_max_per_exit: 100,
            ..MockConfig::default()
        });
        let mut ch = channel(&mut m);
        ch.hw_mut().take_events();
        ch.page_state_change(&entries_4k(0x100_0000, 253)).unwrap();
        let infos: std::vec::Vec<_> = m
            .events()
            .iter()
            .filter_map(|e| match *e {
                Event::GhcbExit {
                    exit_code: 0x8000_0010,
                    info1,
                    info2,
                    result_info1,
                    ..
                } => Some((info1, info2, result_info1)),
                _ => None,
            })
            .collect();
        assert_eq!(infos, [(0, 0, 0); 3], "{len:?}");
        assert!(m.rmp(0x100_0000 + 252 * 0x1000).assigned);
    }
}

#[test]
fn psc_no_progress_is_an_error() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().config.psc_stall = true;
    assert_eq!(
        ch.page_state_change(&entries_4k(0x10_0000, 4)),
        Err(SnpError::PscNoProgress {
            cur_entry: 0,
            end_entry: 3
        })
    );
}

#[test]
fn psc_hypervisor_error() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().config.psc_error = Some(0x100 << 32);
    assert_eq!(
        ch.page_state_change(&entries_4k(0x10_0000, 1)),
        Err(SnpError::PscFailed { error: 0x100 << 32 })
    );
}

/// Wraps the mock and edits the PSC header the "hypervisor" returns.
struct Tamper<'a> {
    mock: &'a mut MockHypervisor,
    edit: fn(&mut Ghcb),
}

impl SnpHardware for Tamper<'_> {
    fn msr_protocol(&mut self, value: u64) -> u64 {
        self.mock.msr_protocol(value)
    }
    fn ghcb_exit(&mut self, gpa: u64, ghcb: &mut Ghcb, copy: &GhcbCopy) {
        self.mock.ghcb_exit(gpa, ghcb, copy);
        (self.edit)(ghcb);
    }
    fn pvalidate(&mut self, va: u64, size: PageSize, validate: bool) -> (u32, bool) {
        self.mock.pvalidate(va, size, validate)
    }
    fn set_page_encrypted(&mut self, va: u64, encrypted: bool) {
        self.mock.set_page_encrypted(va, encrypted)
    }
    fn evict_cache(&mut self, va: u64, size: PageSize) {
        self.mock.evict_cache(va, size)
    }
    fn rmpadjust(&mut self, va: u64, attrs: u64) -> u32 {
        self.mock.rmpadjust(va, attrs)
    }
}

#[test]
fn psc_inconsistent_headers() {
    type Edit = fn(&mut Ghcb);
    let cases: [(Edit, SnpError); 4] = [
        // end_entry changed.
        (
            |g| g.write_u16(0x802, 7),
            SnpError::PscBadResponse {
                cur_entry: 1,
                end_entry: 7,
            },
        ),
        // cur_entry beyond end + 1.
        (
            |g| g.write_u16(0x800, 9),
            SnpError::PscBadResponse {
                cur_entry: 9,
                end_entry: 3,
            },
        ),
        // reserved field set.
        (
            |g| g.write_u32(0x804, 1),
            SnpError::PscBadResponse {
                cur_entry: 1,
                end_entry: 3,
            },
        ),
        // cur_page of the current entry beyond its page count.
        (
            |g| g.write_u64(0x808 + 8, g.read_u64(0x808 + 8) | 0x5),
            SnpError::PscBadResponse {
                cur_entry: 1,
                end_entry: 3,
            },
        ),
    ];
    for (edit, want) in cases {
        let mut m = booted(MockConfig {
            psc_max_per_exit: 1,
            ..MockConfig::default()
        });
        let ch = channel(&mut m);
        let hw = ch.into_hardware();
        let mut ch = GhcbChannel::new(Tamper { mock: hw, edit }, GHCB);
        assert_eq!(ch.page_state_change(&entries_4k(0x10_0000, 4)), Err(want));
    }
    // Going backwards.
    let mut m = booted(MockConfig {
        psc_max_per_exit: 2,
        ..MockConfig::default()
    });
    let hw = channel(&mut m).into_hardware();
    let mut ch = GhcbChannel::new(
        Tamper {
            mock: hw,
            edit: |g| {
                if g.read_u16(0x800) == 4 {
                    g.write_u16(0x800, 1)
                }
            },
        },
        GHCB,
    );
    assert_eq!(
        ch.page_state_change(&entries_4k(0x10_0000, 6)),
        Err(SnpError::PscBadResponse {
            cur_entry: 1,
            end_entry: 5
        })
    );
}

#[test]
fn rdtsc_and_rdtscp_through_the_ghcb() {
    let mut m = booted(MockConfig {
        garbage: true,
        tsc_aux: 0x0102,
        ..MockConfig::default()
    });
    let mut ch = channel(&mut m);
    let t1 = ch.rdtsc().unwrap();
    let (t2, aux) = ch.rdtscp().unwrap();
    // The mock's TSC starts at 2^32 and steps by 0x1_0000 per exit; the
    // junk it puts in RAX[63:32] / RDX[63:32] / RCX[63:32] is masked off.
    assert_eq!(t1, 0x1_0001_0000);
    assert_eq!(t2, 0x1_0002_0000);
    assert_eq!(aux, 0x0102);
    let codes: std::vec::Vec<u64> = m
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::GhcbExit { exit_code, .. } => Some(*exit_code),
            _ => None,
        })
        .collect();
    assert_eq!(codes, [0x6E, 0x87]);
    // RDTSC returns RAX and RDX, RDTSCP RCX as well: each must be valid.
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().config.omit_output_valid = Some(0x310);
    assert_eq!(
        ch.rdtsc(),
        Err(SnpError::GhcbOutputNotValid {
            exit_code: 0x6E,
            offset: 0x310
        })
    );
    ch.hw_mut().config.omit_output_valid = Some(0x308);
    assert_eq!(
        ch.rdtscp(),
        Err(SnpError::GhcbOutputNotValid {
            exit_code: 0x87,
            offset: 0x308
        })
    );
}

#[test]
fn xsetbv_is_not_a_nae() {
    // SVM exit code of XSETBV (APM vol. 2 appendix C): 0x8D.
    assert_eq!(crate::nae::EXIT_XSETBV, 0x8D);
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    // Recording XCR0 issues no exit; the next CPUID exit carries it.
    ch.set_xcr0(0x7);
    assert!(ch.hw().events().is_empty());
    ch.cpuid(0xD, 0).unwrap();
    assert!(m.events().contains(&Event::Cpuid {
        leaf: 0xD,
        subleaf: 0,
        xcr0: Some(7)
    }));
    // The hypervisor refuses the code: KVM has no XSETBV NAE.
    let mut m = booted(MockConfig::default());
    let _ = channel(&mut m);
    let mut g = Ghcb::new();
    g.set_sw_exit_code(crate::nae::EXIT_XSETBV);
    g.set_sw_exit_info1(0);
    g.set_sw_exit_info2(0);
    m.ghcb_exit(GHCB, &mut g, &GhcbCopy::full());
    assert_eq!((g.sw_exit_info1(), g.sw_exit_info2()), (2, 6));
}

#[test]
fn exits_copy_only_the_fields_they_use() {
    let mut m = booted(MockConfig::default());
    m.script_io_in(0x3FD, &[0x60]);
    m.set_mmio(0xFEBF_0000, 0x1AF4_1041);
    let mut ch = channel(&mut m);
    ch.outb(0x3F8, b'A').unwrap();
    // RAX, exit code/infos, bitmap, version+usage out; bitmap, RAX, RCX..RBX,
    // infos back.
    assert_eq!(
        ch.hw().ghcb_bytes_copied(),
        (8 + 24 + 16 + 6, 16 + 8 + 24 + 16)
    );
    ch.inb(0x3FD).unwrap();
    assert_eq!(ch.hw().ghcb_bytes_copied(), (54 + 46, 64 * 2));
    // MMIO read of 4 bytes: 4 scratch bytes come back, none go out.
    ch.mmio_read_u32(0xFEBF_0000).unwrap();
    assert_eq!(
        ch.hw().ghcb_bytes_copied(),
        // exit code, infos and SW_SCRATCH are one run of 32 bytes.
        (54 + 46 + 32 + 16 + 6, 64 * 3 + 4)
    );
}

#[test]
fn garbage_outside_the_copied_ranges_is_never_read() {
    // With `garbage`, the host page is junk before every exit: any field the
    // guest failed to copy out would reach the mock as junk, and any it read
    // back beyond the outputs would be junk too.
    let mut m = booted(garbage());
    m.set_mmio(0xFEBF_0000, 0x1122_3344_5566_7788);
    let mut ch = channel(&mut m);
    ch.mmio_write_u16(0xFEBF_1000, 0xBEEF).unwrap();
    assert_eq!(ch.hw().mmio(0xFEBF_1000), Some(0xBEEF));
    assert_eq!(ch.mmio_read_u16(0xFEBF_0000).unwrap(), 0x7788);
    let mut entries = entries_4k(0x10_0000, 3);
    entries.push(PscEntry {
        gpa: 0x20_0000,
        op: PscOp::Private,
        size: PageSize::Size2M,
    });
    ch.page_state_change(&entries).unwrap();
    assert!(ch.hw().rmp(0x10_2000).assigned && ch.hw().rmp(0x3F_F000).assigned);
}
