use super::*;
use crate::mock::{Event, RmpEntry};
use crate::msr_protocol::PscOp;
use crate::{accept_range, share_page, unshare_page, PageSize, SnpError};

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

fn pscs(m: &MockHypervisor) -> std::vec::Vec<(u64, PscOp, PageSize)> {
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

#[test]
fn odd_range_mixes_4k_and_2m() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    accept_range(&mut ch, 0x1F_F000, 0x60_3000).unwrap();
    use PageSize::*;
    assert_eq!(
        pscs(&m),
        [
            (0x1F_F000, PscOp::Private, Size4K),
            (0x20_0000, PscOp::Private, Size2M),
            (0x40_0000, PscOp::Private, Size2M),
            (0x60_0000, PscOp::Private, Size4K),
            (0x60_1000, PscOp::Private, Size4K),
            (0x60_2000, PscOp::Private, Size4K),
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
}

#[test]
fn size_mismatch_falls_back_to_4k() {
    let mut m = booted(MockConfig {
        psc_2m_as_4k: true,
        ..MockConfig::default()
    });
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    accept_range(&mut ch, 0x20_0000, 0x40_0000).unwrap();
    let pv = pvalidates(&m);
    assert_eq!(pv.len(), 1 + 512);
    assert_eq!(pv[0], (0x20_0000, PageSize::Size2M, 6));
    assert_eq!(pv[1], (0x20_0000, PageSize::Size4K, 0));
    assert_eq!(pv[512], (0x3F_F000, PageSize::Size4K, 0));
    assert!(all_private_validated(&m, 0x20_0000, 0x40_0000));
}

#[test]
fn prevalidated_page_inside_range_is_double_validation() {
    let mut m = booted(MockConfig::default());
    // The hypervisor (or a launch section) left one page validated.
    m.prevalidate(0x30_0000, 0x30_1000);
    let mut ch = channel(&mut m);
    let err = accept_range(&mut ch, 0x20_0000, 0x40_0000).unwrap_err();
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
    let mut ch = channel(&mut m);
    assert_eq!(
        accept_range(&mut ch, 0x20_0000, 0x60_0000),
        Err(SnpError::DoubleValidation { gpa: 0x40_0000 })
    );
    // Low memory is validated at launch: accepting it again is caught too.
    assert_eq!(
        accept_range(&mut ch, 0x1000, 0x2000),
        Err(SnpError::DoubleValidation { gpa: 0x1000 })
    );
}

#[test]
fn large_range_is_batched() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    // 0x10_0000..0x20_0000 = 256 4K chunks, then 300 2M chunks, then 3 4K.
    let end = 0x20_0000 + 300 * 0x20_0000 + 0x3000;
    accept_range(&mut ch, 0x10_0000, end).unwrap();
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
}

#[test]
fn range_arguments() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    assert_eq!(accept_range(&mut ch, 0x20_0000, 0x20_0000), Ok(()));
    assert!(ch.hw().events().is_empty());
    assert!(matches!(
        accept_range(&mut ch, 0x20_0800, 0x30_0000),
        Err(SnpError::InvalidArgument { .. })
    ));
    assert!(matches!(
        accept_range(&mut ch, 0x20_0000, 0x10_0000),
        Err(SnpError::InvalidArgument { .. })
    ));
}

#[test]
fn share_and_unshare_order() {
    let va = 0x9_0000;
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    share_page(&mut ch, va).unwrap();
    let ev = ch.hw_mut().take_events();
    let pos = |pred: &dyn Fn(&Event) -> bool| ev.iter().position(pred).unwrap();
    let rescind = pos(
        &|e| matches!(e, Event::Pvalidate { vaddr, validate: false, rc: 0, cf: false, .. } if *vaddr == va),
    );
    let psc = pos(&|e| matches!(e, Event::Psc { gpa, op: PscOp::Shared, .. } if *gpa == va));
    let cbit = pos(&|e| {
        *e == Event::SetEncrypted {
            vaddr: va,
            encrypted: false,
        }
    });
    assert!(rescind < psc && psc < cbit, "{ev:?}");
    assert!(!ch.hw().rmp(va).assigned);
    assert!(!ch.hw().is_mapped_encrypted(va));

    unshare_page(&mut ch, va).unwrap();
    let ev = ch.hw_mut().take_events();
    let pos = |pred: &dyn Fn(&Event) -> bool| ev.iter().position(pred).unwrap();
    let psc = pos(&|e| matches!(e, Event::Psc { gpa, op: PscOp::Private, .. } if *gpa == va));
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
}

#[test]
fn unshare_onto_validated_page_is_fatal() {
    let va = 0x9_0000;
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    share_page(&mut ch, va).unwrap();
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
        unshare_page(&mut ch, va),
        Err(SnpError::DoubleValidation { gpa: va })
    );
}

#[test]
fn share_needs_a_validated_page() {
    let mut m = booted(MockConfig::default());
    m.set_rmp(
        0x9_0000,
        RmpEntry {
            assigned: true,
            validated: false,
            size_2m: false,
        },
    );
    let mut ch = channel(&mut m);
    assert_eq!(
        share_page(&mut ch, 0x9_0000),
        Err(SnpError::RescindNotValidated { gpa: 0x9_0000 })
    );
    // Nothing was shared after the failed rescind.
    assert!(ch.hw().rmp(0x9_0000).assigned);
    assert!(matches!(
        share_page(&mut ch, 0x9_0010),
        Err(SnpError::InvalidArgument { .. })
    ));
}

#[test]
fn share_page_inside_accepted_2m_region() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    accept_range(&mut ch, 0x20_0000, 0x40_0000).unwrap();
    ch.hw_mut().take_events();
    // The 4K rescind inside a 2M RMP entry makes the hypervisor PSMASH.
    share_page(&mut ch, 0x20_5000).unwrap();
    assert!(ch.hw().events().contains(&Event::Psmash { gpa: 0x20_0000 }));
    assert!(!ch.hw().rmp(0x20_5000).assigned);
    assert!(ch.hw().rmp(0x20_4000).validated && ch.hw().rmp(0x20_6000).validated);
}
