//! Cache eviction after validation (CVE-2025-38560; Linux commit
//! 7b306dfa326f "x86/sev: Evict cache lines during SNP memory validation"):
//! every successful validating PVALIDATE is followed by an eviction of the
//! same page, none follows a rescind, and none happens when the CPUID page
//! reports COHERENCY_SFW_NO (0x8000_001F EBX[31]).

use super::*;
use crate::mock::Event;
use crate::{accept_range, share_page, unshare_page, PageSize, SnpError};

/// Positions of the successful validating PVALIDATEs and the evictions.
fn validations_and_evictions(ev: &[Event]) -> (usize, usize) {
    let validations = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Pvalidate {
                    validate: true,
                    rc: 0,
                    cf: false,
                    ..
                }
            )
        })
        .count();
    let evictions = ev
        .iter()
        .filter(|e| matches!(e, Event::EvictCache { .. }))
        .count();
    (validations, evictions)
}

/// Each successful validating PVALIDATE is directly followed by the
/// eviction of the same page and size, and there is no other eviction.
fn assert_each_validation_evicted(ev: &[Event]) {
    for (i, e) in ev.iter().enumerate() {
        if let Event::Pvalidate {
            vaddr,
            size,
            validate: true,
            rc: 0,
            cf: false,
        } = *e
        {
            assert_eq!(
                ev.get(i + 1),
                Some(&Event::EvictCache { vaddr, size }),
                "event {i}: {e:?}"
            );
        }
    }
    let (v, x) = validations_and_evictions(ev);
    assert!(v > 0);
    assert_eq!(v, x);
}

fn sfw_no(ch: &mut crate::GhcbChannel<&mut MockHypervisor>) {
    ch.set_coherency_sfw_no(true);
}

#[test]
fn eviction_follows_a_2m_validation() {
    let mut m = booted(MockConfig {
        backing_2m: true,
        ..MockConfig::default()
    });
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    accept_range(&mut ch, &mut rec, 0x20_0000, 0x40_0000).unwrap();
    let ev = ch.hw_mut().take_events();
    assert_each_validation_evicted(&ev);
    assert_eq!(
        ev.last(),
        Some(&Event::EvictCache {
            vaddr: 0x20_0000,
            size: PageSize::Size2M
        })
    );
}

#[test]
fn eviction_follows_each_4k_page_of_the_fallback() {
    // guest_memfd's 4 KiB RMP entries: 2 MiB fails with FAIL_SIZEMISMATCH
    // (not evicted: nothing was validated), then 512 × 4 KiB.
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    accept_range(&mut ch, &mut rec, 0x1F_F000, 0x40_1000).unwrap();
    let ev = ch.hw_mut().take_events();
    assert_each_validation_evicted(&ev);
    // 0x1F_F000, 512 pages of the 2 MiB chunk, 0x40_0000.
    assert_eq!(validations_and_evictions(&ev), (514, 514));
    let first_2m = ev
        .iter()
        .position(|e| {
            matches!(
                e,
                Event::Pvalidate {
                    size: PageSize::Size2M,
                    rc: 6,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(
        ev.get(first_2m + 1),
        Some(&Event::Pvalidate {
            vaddr: 0x20_0000,
            size: PageSize::Size4K,
            validate: true,
            rc: 0,
            cf: false
        })
    );
    assert!(!ev.contains(&Event::EvictCache {
        vaddr: 0x20_0000,
        size: PageSize::Size2M
    }));
}

#[test]
fn unshare_evicts_share_does_not() {
    let va = 0x9_0000;
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    share_page(&mut ch, &mut rec, va).unwrap();
    let ev = ch.hw_mut().take_events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Pvalidate {
            validate: false,
            rc: 0,
            ..
        }
    )));
    assert!(!ev.iter().any(|e| matches!(e, Event::EvictCache { .. })));

    unshare_page(&mut ch, &mut rec, va).unwrap();
    let ev = ch.hw_mut().take_events();
    assert_each_validation_evicted(&ev);
    assert_eq!(
        ev.last(),
        Some(&Event::EvictCache {
            vaddr: va,
            size: PageSize::Size4K
        })
    );
}

#[test]
fn no_eviction_when_the_cpu_reports_coherency_sfw_no() {
    let mut m = booted(MockConfig::default());
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    assert!(!ch.coherency_sfw_no());
    sfw_no(&mut ch);
    ch.hw_mut().take_events();
    accept_range(&mut ch, &mut rec, 0x1F_F000, 0x40_1000).unwrap();
    share_page(&mut ch, &mut rec, 0x20_0000).unwrap();
    unshare_page(&mut ch, &mut rec, 0x20_0000).unwrap();
    let ev = ch.hw_mut().take_events();
    assert_eq!(validations_and_evictions(&ev), (515, 0));
}

#[test]
fn no_eviction_after_a_refused_validation() {
    // CF=1 (already validated): fatal, and nothing is evicted for it.
    let mut m = booted(MockConfig::default());
    m.prevalidate(0x30_0000, 0x30_1000);
    let mut rec = launch_record();
    let mut ch = channel(&mut m);
    ch.hw_mut().take_events();
    assert_eq!(
        accept_range(&mut ch, &mut rec, 0x30_0000, 0x30_2000),
        Err(SnpError::DoubleValidation { gpa: 0x30_0000 })
    );
    let ev = ch.hw_mut().take_events();
    assert!(!ev.iter().any(|e| matches!(e, Event::EvictCache { .. })));
}
