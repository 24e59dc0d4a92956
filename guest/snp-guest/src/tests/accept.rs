use super::*;
use crate::mock::{Event, NpfCause, NpfPolicy, PageOp, RmpEntry};
use crate::nae::PscEntry;
use crate::{accept_range, share_page, unshare_page, PageSize, SnpError, SnpHardware};

fn pvalidates(m: &MockHypervisor) -> std::vec::Vec<(u64, PageSize, u32)> {
    m.events()
        .iter()
        .filter_map(|e| match *e {
            Event::Pvalidate {
                vaddr,
                size,
                validate: true,
                rc,
                ..
            } => Some((vaddr, size, rc)),
            _ => None,
        })
        .collect()
}

fn pscs(m: &MockHypervisor) -> std::vec::Vec<(u64, PageOp, PageSize)> {
    m.events()
        .iter()
        .filter_map(|e| match *e {
            Event::Psc { gpa, op, size } => Some((gpa, op, size)),
            _ => None,
        })
        .collect()
}

fn all_private_validated(m: &MockHypervisor, start: u64, end: u64) -> bool {
    (start..end)
        .step_by(0x1000)
        .all(|a| m.rmp(a).assigned && m.rmp(a).validated)
}

fn backing_2m() -> MockConfig {
    MockConfig {
        backing_2m: true,
        ..MockConfig::default()
    }
}

#[test]
fn odd_range_mixes_4k_and_2m() {
    let mut m = booted(backing_2m());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    accept_range(&mut ch, &mut rec, 0x1F_F000, 0x60_3000).unwrap();
    use PageSize::*;
    assert_eq!(
        pscs(&m),
        [
            (0x1F_F000, PageOp::Private, Size4K),
            (0x20_0000, PageOp::Private, Size2M),
            (0x40_0000, PageOp::Private, Size2M),
            (0x60_0000, PageOp::Private, Size4K),
            (0x60_1000, PageOp::Private, Size4K),
            (0x60_2000, PageOp::Private, Size4K),
        ]
    );
    assert_eq!(
        pvalidates(&m),
        [
            (0x1F_F000, Size4K, 0),
            (0x20_0000, Size2M, 0),
            (0x40_0000, Size2M, 0),
            (0x60_0000, Size4K, 0),
            (0x60_1000, Size4K, 0),
            (0x60_2000, Size4K, 0),
        ]
    );
    // One PSC exit for the whole batch, before any PVALIDATE.
    let first_pv = m
        .events()
        .iter()
        .position(|e| matches!(e, Event::Pvalidate { .. }))
        .unwrap();
    let exits: std::vec::Vec<usize> = m
        .events()
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::GhcbExit { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(exits.len(), 1);
    assert!(exits[0] < first_pv);
    assert!(all_private_validated(&m, 0x1F_F000, 0x60_3000));
    assert!(!m.rmp(0x1F_E000).assigned);
    assert!(!m.rmp(0x60_3000).assigned);
    assert!(m.rmp(0x20_0000).size_2m && !m.rmp(0x60_0000).size_2m);
    assert!(rec.contains(0x1F_F000, 0x60_3000));
}

#[test]
fn guest_memfd_4k_backing_falls_back_to_4k() {
    // KVM + guest_memfd (the default): 4 KiB RMP entries only.
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    accept_range(&mut ch, &mut rec, 0x20_0000, 0x40_0000).unwrap();
    let pv = pvalidates(&m);
    assert_eq!(pv.len(), 1 + 512);
    assert_eq!(pv[0], (0x20_0000, PageSize::Size2M, 6));
    assert_eq!(pv[1], (0x20_0000, PageSize::Size4K, 0));
    assert_eq!(pv[512], (0x3F_F000, PageSize::Size4K, 0));
    assert!(all_private_validated(&m, 0x20_0000, 0x40_0000));
    assert!(!m.rmp(0x20_0000).size_2m);
}

#[test]
fn prevalidated_page_inside_range_is_double_validation() {
    let mut m = booted(MockConfig::default());
    // The hypervisor left one page validated where the guest never accepted.
    m.prevalidate(0x30_0000, 0x30_1000);
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    let err = accept_range(&mut ch, &mut rec, 0x20_0000, 0x40_0000).unwrap_err();
    assert_eq!(err, SnpError::DoubleValidation { gpa: 0x30_0000 });
    assert_eq!(err.termination_reason().code, 2);
}

#[test]
fn prevalidated_2m_page_is_double_validation() {
    let mut m = booted(MockConfig::default());
    for a in (0x40_0000..0x60_0000).step_by(0x1000) {
        m.set_rmp(
            a,
            RmpEntry {
                assigned: true,
                validated: true,
                size_2m: true,
            },
        );
    }
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x20_0000, 0x60_0000),
        Err(SnpError::DoubleValidation { gpa: 0x40_0000 })
    );
}

#[test]
fn launch_memory_is_refused_by_the_record_before_any_exit() {
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x1000, 0x2000),
        Err(SnpError::AlreadyAccepted { gpa: 0x1000 })
    );
    assert!(ch.hw().events().is_empty());
    // Without the record the hardware catches this one (KVM leaves an
    // already private page alone, so PVALIDATE answers CF=1).
    assert_eq!(
        accept_range(&mut ch, &mut Record::new(), 0x1000, 0x2000),
        Err(SnpError::DoubleValidation { gpa: 0x1000 })
    );
}

fn resetting() -> MockConfig {
    MockConfig {
        reset_validated_on_private: true,
        ..MockConfig::default()
    }
}

/// The attack of issue 10: a hypervisor RMPUPDATEs an accepted page on a
/// second private PSC, so the second PVALIDATE succeeds with CF=0.
#[test]
fn resetting_hypervisor_defeats_the_cf_check_alone() {
    let mut m = booted(resetting());
    let mut ch = channel(&mut m);
    accept_range(&mut ch, &mut launch_record(), 0x20_0000, 0x40_0000).unwrap();
    // Raw: PSC private again, then PVALIDATE: no CF=1, nothing to detect.
    ch.page_state_change(&[PscEntry {
        gpa: 0x30_0000,
        op: crate::msr_protocol::PscOp::Private,
        size: PageSize::Size4K,
    }])
    .unwrap();
    assert!(!ch.hw().rmp(0x30_0000).validated);
    assert_eq!(
        ch.hw_mut().pvalidate(0x30_0000, PageSize::Size4K, true),
        (0, false)
    );
    // And through accept_range with a record that does not know the pages
    // (what the guest had before the record): accepted twice, no error.
    assert_eq!(
        accept_range(&mut ch, &mut Record::new(), 0x3F_0000, 0x50_0000),
        Ok(())
    );
    // An honest KVM leaves the page validated: CF=1 catches it.
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    accept_range(&mut ch, &mut launch_record(), 0x20_0000, 0x40_0000).unwrap();
    assert_eq!(
        accept_range(&mut ch, &mut Record::new(), 0x3F_0000, 0x50_0000),
        Err(SnpError::DoubleValidation { gpa: 0x3F_0000 })
    );
}

#[test]
fn resetting_hypervisor_is_refused_by_the_record() {
    let mut m = booted(resetting());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    accept_range(&mut ch, &mut rec, 0x20_0000, 0x40_0000).unwrap();
    ch.hw_mut().take_events();
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x3F_0000, 0x50_0000),
        Err(SnpError::AlreadyAccepted { gpa: 0x3F_0000 })
    );
    // Refused before any page state change or PVALIDATE.
    assert!(ch.hw().events().is_empty());
    assert!(ch.hw().rmp(0x3F_0000).validated);
    // The part that was new is still acceptable on its own.
    accept_range(&mut ch, &mut rec, 0x40_0000, 0x50_0000).unwrap();
    assert!(rec.contains(0x20_0000, 0x50_0000));
}

#[test]
fn large_range_is_batched() {
    let mut m = booted(backing_2m());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    // 0x10_0000..0x20_0000 = 256 4K chunks, then 300 2M chunks, then 3 4K.
    let end = 0x20_0000 + 300 * 0x20_0000 + 0x3000;
    accept_range(&mut ch, &mut rec, 0x10_0000, end).unwrap();
    let exits = m
        .events()
        .iter()
        .filter(|e| matches!(e, Event::GhcbExit { .. }))
        .count();
    // 559 chunks / 253 per batch = 3 exits.
    assert_eq!(exits, 3);
    assert_eq!(pscs(&m).len(), 559);
    assert!(all_private_validated(&m, 0x10_0000, 0x20_0000));
    assert!(m.rmp(end - 0x1000).validated && m.rmp(0x100_0000).validated);
    // Three batches, one range in the record (next to the two launch ones).
    assert!(rec.contains(0x10_0000, end));
    assert_eq!(rec.ranges().count(), 3);
}

#[test]
fn range_arguments() {
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x20_0000, 0x20_0000),
        Ok(())
    );
    assert!(ch.hw().events().is_empty());
    assert!(matches!(
        accept_range(&mut ch, &mut rec, 0x20_0800, 0x30_0000),
        Err(SnpError::InvalidArgument { .. })
    ));
    assert!(matches!(
        accept_range(&mut ch, &mut rec, 0x20_0000, 0x10_0000),
        Err(SnpError::InvalidArgument { .. })
    ));
}

#[test]
fn full_record_refuses_before_any_exit() {
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    for i in 0..14u64 {
        let a = 0x100_0000 + i * 0x2000;
        rec.insert(a, a + 0x1000).unwrap();
    }
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x20_0000, 0x30_0000),
        Err(SnpError::AcceptedRecordFull { capacity: 16 })
    );
    assert!(ch.hw().events().is_empty());
}

#[test]
fn share_and_unshare_order() {
    let va = 0x9_0000;
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    share_page(&mut ch, &mut rec, va).unwrap();
    let ev = ch.hw_mut().take_events();
    let pos = |pred: &dyn Fn(&Event) -> bool| ev.iter().position(pred).unwrap();
    let rescind = pos(
        &|e| matches!(e, Event::Pvalidate { vaddr, validate: false, rc: 0, cf: false, .. } if *vaddr == va),
    );
    let psc = pos(&|e| matches!(e, Event::Psc { gpa, op: PageOp::Shared, .. } if *gpa == va));
    let cbit = pos(&|e| {
        *e == Event::SetEncrypted {
            vaddr: va,
            encrypted: false,
        }
    });
    assert!(rescind < psc && psc < cbit, "{ev:?}");
    assert!(!ch.hw().rmp(va).assigned);
    assert!(!ch.hw().is_mapped_encrypted(va));
    assert!(!rec.contains(va, va + 0x1000));
    assert!(rec.contains(va - 0x1000, va) && rec.contains(va + 0x1000, va + 0x2000));

    unshare_page(&mut ch, &mut rec, va).unwrap();
    let ev = ch.hw_mut().take_events();
    let pos = |pred: &dyn Fn(&Event) -> bool| ev.iter().position(pred).unwrap();
    let psc = pos(&|e| matches!(e, Event::Psc { gpa, op: PageOp::Private, .. } if *gpa == va));
    let cbit = pos(&|e| {
        *e == Event::SetEncrypted {
            vaddr: va,
            encrypted: true,
        }
    });
    let validate = pos(
        &|e| matches!(e, Event::Pvalidate { vaddr, validate: true, rc: 0, cf: false, .. } if *vaddr == va),
    );
    assert!(psc < cbit && cbit < validate, "{ev:?}");
    assert_eq!(
        ch.hw().rmp(va),
        RmpEntry {
            assigned: true,
            validated: true,
            size_2m: false
        }
    );
    assert!(ch.hw().is_mapped_encrypted(va));
    assert!(rec.contains(va, va + 0x1000));
    // Unsharing a page the record holds is refused before any exit.
    ch.hw_mut().take_events();
    assert_eq!(
        unshare_page(&mut ch, &mut rec, va),
        Err(SnpError::AlreadyAccepted { gpa: va })
    );
    assert!(ch.hw().events().is_empty());
}

#[test]
fn unshare_onto_validated_page_is_fatal() {
    let va = 0x9_0000;
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    share_page(&mut ch, &mut rec, va).unwrap();
    // A malicious hypervisor maps an already validated page at this GPA.
    ch.hw_mut().set_rmp(
        va,
        RmpEntry {
            assigned: true,
            validated: true,
            size_2m: false,
        },
    );
    assert_eq!(
        unshare_page(&mut ch, &mut rec, va),
        Err(SnpError::DoubleValidation { gpa: va })
    );
    assert!(!rec.contains(va, va + 0x1000));
}

#[test]
fn share_refused_by_the_host_leaves_the_page_out_of_the_record() {
    // The rescind succeeds, then the hypervisor refuses the page-state
    // change: the page is no longer validated, so it must not stay listed
    // as accepted (the caller leaks it; a later share of it is refused
    // before any exit).
    let va = 0x9_0000;
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().config.psc_error = Some(0x100 << 32);
    assert_eq!(
        share_page(&mut ch, &mut rec, va),
        Err(SnpError::PscFailed { error: 0x100 << 32 })
    );
    assert!(!ch.hw().rmp(va).validated);
    assert!(!rec.contains(va, va + 0x1000));
    assert!(rec.contains(va - 0x1000, va) && rec.contains(va + 0x1000, va + 0x2000));
    ch.hw_mut().take_events();
    assert_eq!(
        share_page(&mut ch, &mut rec, va),
        Err(SnpError::NotAccepted { gpa: va })
    );
    assert!(ch.hw().events().is_empty());
}

#[test]
fn share_needs_an_accepted_validated_page() {
    let mut m = booted(MockConfig::default());
    m.set_rmp(
        0x9_0000,
        RmpEntry {
            assigned: true,
            validated: false,
            size_2m: false,
        },
    );
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    assert_eq!(
        share_page(&mut ch, &mut rec, 0x9_0000),
        Err(SnpError::RescindNotValidated { gpa: 0x9_0000 })
    );
    // Nothing was shared after the failed rescind.
    assert!(ch.hw().rmp(0x9_0000).assigned);
    assert!(matches!(
        share_page(&mut ch, &mut rec, 0x9_0010),
        Err(SnpError::InvalidArgument { .. })
    ));
    // A page the guest never accepted is refused before any exit.
    ch.hw_mut().take_events();
    assert_eq!(
        share_page(&mut ch, &mut rec, 0x20_0000),
        Err(SnpError::NotAccepted { gpa: 0x20_0000 })
    );
    assert!(ch.hw().events().is_empty());
}

#[test]
fn share_page_inside_accepted_2m_region() {
    let mut m = booted(backing_2m());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    accept_range(&mut ch, &mut rec, 0x20_0000, 0x40_0000).unwrap();
    ch.hw_mut().take_events();
    // The 4K rescind inside a 2M RMP entry faults; the hypervisor PSMASHes.
    share_page(&mut ch, &mut rec, 0x20_5000).unwrap();
    assert!(ch.hw().events().contains(&Event::NestedPageFault {
        gpa: 0x20_5000,
        cause: NpfCause::SizeMismatch
    }));
    assert!(ch.hw().events().contains(&Event::Psmash { gpa: 0x20_0000 }));
    assert!(!ch.hw().rmp(0x20_5000).assigned);
    assert!(ch.hw().rmp(0x20_4000).validated && ch.hw().rmp(0x20_6000).validated);
}

#[test]
fn pretended_psc_is_invisible_under_kvm() {
    // The hypervisor reports the PSC done without doing it. PVALIDATE on the
    // unassigned page faults to the hypervisor; KVM + QEMU convert it and
    // retry. The guest sees nothing and ends up with private, validated
    // memory: there is nothing to detect, and nothing is lost.
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().config.psc_pretend = true;
    ch.hw_mut().take_events();
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x10_0000, 0x10_2000),
        Ok(())
    );
    assert!(ch.hw().events().contains(&Event::NestedPageFault {
        gpa: 0x10_0000,
        cause: NpfCause::NotAssigned
    }));
    assert!(all_private_validated(ch.hw(), 0x10_0000, 0x10_2000));
}

#[test]
fn unresolved_nested_page_fault_hangs_the_vcpu() {
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().config.psc_pretend = true;
    ch.hw_mut().config.npf = NpfPolicy::Hang;
    // Whatever the guest code concludes, on hardware it never gets here.
    let _ = accept_range(&mut ch, &mut rec, 0x10_0000, 0x10_2000);
    assert_eq!(ch.hw().stuck(), Some(0x10_0000));
    assert!(ch.hw().events().contains(&Event::RanAfterStop));
    // No PVALIDATE result was produced for the faulting page.
    assert!(!ch.hw().events().iter().any(|e| matches!(
        e,
        Event::Pvalidate {
            vaddr: 0x10_0000,
            ..
        }
    )));
}

#[test]
fn pvalidate_outside_vmpl0_is_fail_permission() {
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().config.vmpl = 1;
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x10_0000, 0x10_1000),
        Err(SnpError::PvalidateFailed {
            gpa: 0x10_0000,
            size: PageSize::Size4K,
            validate: true,
            code: 2
        })
    );
}
