//! The kernel's SNP glue ([`SnpGlue`], [`glue::cpuid`]) run on the host
//! against `snp_guest::mock::MockHypervisor`, which behaves like KVM and is
//! written independently of the code under test. Addresses and expected
//! values are literals (the layout in guest/kernel/layout.ld, the GHCB and SVM
//! specifications, QEMU's CPUID page), not taken from the kernel.
#![allow(clippy::unwrap_used)]

use super::glue::{self, io_size};
use super::SnpGlue;
use crate::arch::Cpuid;
use crate::platform::Width;
use snp_guest::cpuid_page::{CpuidContext, CPUID_PAGE_SIZE};
use snp_guest::mock::{Event, MockConfig, MockHypervisor, PageOp, RmpEntry};
use snp_guest::msr_protocol::{PscOp, TerminationReason};
use snp_guest::nae::PscEntry;
use snp_guest::{PageSize, SnpError, SnpHardware};

pub(crate) type Glue<'a> = SnpGlue<&'a mut MockHypervisor, 256>;

/// SEV_STATUS of a plain SNP guest: SEV | SEV-ES | SNP.
const SNP_STATUS: u64 = 0b111;
/// C-bit 51, as QEMU's `sev-snp-guest,cbitpos=51` and the mock report it.
const C_BIT_MASK: u64 = 1 << 51;
/// A page of the kernel's BSS: inside the pre-validated region.
const GHCB: u64 = 0x40_0000;
/// The launch-validated ranges (guest/kernel/layout.ld, boot::layout): secrets
/// page, CPUID page, kernel + stack + page tables, the 2 MiB `-bios` image.
const LAUNCH: [(u64, u64); 4] = [
    (0x1000, 0x2000),
    (0x2000, 0x3000),
    (0x10_0000, 0x50_0000),
    (0xFFE0_0000, 0x1_0000_0000),
];
/// RAM above the pre-validated region, accepted by the tests.
const RAM: u64 = 0x50_0000;

#[test]
fn kernel_launch_memory_is_the_layout() {
    assert_eq!(super::launch_memory(), LAUNCH);
}

// ---- a CPUID page as QEMU fills it ----

/// One `struct kvm_cpuid_entry2` (function, index, flags, registers).
struct KvmEntry(u32, u32, u32, [u32; 4]);
/// KVM_CPUID_FLAG_SIGNIFCANT_INDEX.
const INDEXED: u32 = 1;

/// QEMU target/i386/sev.c `sev_snp_cpuid_info_fill`: count at 0, entries of
/// 48 bytes from 0x10 (eax_in, ecx_in, xcr0_in, xss_in, eax, ebx, ecx, edx);
/// ecx_in only for entries with a significant index; leaf 0xD subleaves 0
/// and 1 get EBX = 0x240 and xcr0_in = 1 (the launch state, CR4 = 0).
fn qemu_page(entries: &[KvmEntry]) -> Box<[u8; CPUID_PAGE_SIZE]> {
    let mut p = Box::new([0u8; CPUID_PAGE_SIZE]);
    for (i, KvmEntry(function, index, flags, regs)) in entries.iter().enumerate() {
        let at = 0x10 + 48 * i;
        let ecx_in = if *flags == INDEXED { *index } else { 0 };
        let [eax, mut ebx, ecx, edx] = *regs;
        let mut xcr0_in = 0u64;
        if *function == 0xD && ecx_in <= 1 {
            ebx = 0x240;
            xcr0_in = 1;
        }
        p[at..at + 4].copy_from_slice(&function.to_le_bytes());
        p[at + 4..at + 8].copy_from_slice(&ecx_in.to_le_bytes());
        p[at + 8..at + 16].copy_from_slice(&xcr0_in.to_le_bytes());
        for (j, r) in [eax, ebx, ecx, edx].iter().enumerate() {
            p[at + 24 + 4 * j..at + 28 + 4 * j].copy_from_slice(&r.to_le_bytes());
        }
    }
    p[0..4].copy_from_slice(&(entries.len() as u32).to_le_bytes());
    p
}

/// Leaf 1 ECX of an EPYC-Milan vCPU under KVM (SSE3 PCLMULQDQ SSSE3 FMA
/// CX16 PCID SSE4.1 SSE4.2 x2APIC MOVBE POPCNT AES XSAVE AVX F16C RDRAND
/// hypervisor), OSXSAVE (bit 27) clear as at launch.
const MILAN_LEAF1_ECX: u32 = 0xF6FA_3203;
/// Leaf 7.0 ECX: UMIP PKU RDPID, OSPKE (bit 4) clear.
const MILAN_LEAF7_ECX: u32 = 0x0040_000C;

/// An EPYC-Milan-shaped page with x87, SSE and AVX state (XCR0 up to 7).
fn milan_page() -> Box<[u8; CPUID_PAGE_SIZE]> {
    qemu_page(&milan_entries(true))
}

fn milan_entries(with_avx_state: bool) -> Vec<KvmEntry> {
    let mut v = vec![
        // Max standard leaf 0xD, "AuthenticAMD".
        KvmEntry(0x0, 0, 0, [0xD, 0x6874_7541, 0x444D_4163, 0x6974_6E65]),
        KvmEntry(
            0x1,
            0,
            0,
            [0x00A0_0F11, 0x800, MILAN_LEAF1_ECX, 0x078B_FBFF],
        ),
        KvmEntry(0x7, 0, INDEXED, [0, 0x219C_07A9, MILAN_LEAF7_ECX, 0x10]),
        KvmEntry(0xD, 0, INDEXED, [0x7, 0x340, 0x340, 0]),
        // XSAVEOPT XSAVEC XGETBV1 XSAVES.
        KvmEntry(0xD, 1, INDEXED, [0xF, 0x340, 0, 0]),
    ];
    if with_avx_state {
        // AVX state: 0x100 bytes at offset 0x240.
        v.push(KvmEntry(0xD, 2, INDEXED, [0x100, 0x240, 0, 0]));
    }
    v.extend([
        KvmEntry(
            0x8000_0000,
            0,
            0,
            [0x8000_001F, 0x6874_7541, 0x444D_4163, 0x6974_6E65],
        ),
        // SEV | SEV-ES | SNP; C-bit 51, one reduced physical address bit.
        KvmEntry(0x8000_001F, 0, 0, [0x1A, 51 | 1 << 6, 0, 0]),
    ]);
    v
}

// ---- a guest right after launch ----

pub(crate) fn launched(config: MockConfig) -> MockHypervisor {
    let mut m = MockHypervisor::new(config);
    for (start, end) in LAUNCH {
        m.prevalidate(start, end);
    }
    m
}

fn init(m: &mut MockHypervisor) -> Result<Glue<'_>, SnpError> {
    SnpGlue::init(m, SNP_STATUS, C_BIT_MASK, &milan_page(), &LAUNCH, GHCB)
}

/// A glue after a successful init, with the mock's log emptied.
pub(crate) fn ready(m: &mut MockHypervisor) -> Glue<'_> {
    let mut g = init(m).unwrap();
    g.hw_mut().take_events();
    g
}

fn pscs(events: &[Event]) -> Vec<(u64, PageOp)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Psc { gpa, op, .. } => Some((gpa, op)),
            _ => None,
        })
        .collect()
}

// ---- init ----

#[test]
fn init_shares_and_registers_the_ghcb_and_records_launch_memory() {
    let mut m = launched(MockConfig::default());
    let g = init(&mut m).unwrap();
    let ranges: Vec<(u64, u64)> = g.accepted().ranges().collect();
    // Secrets + CPUID merged; the GHCB page cut out of the kernel region.
    assert_eq!(
        ranges,
        [
            (0x1000, 0x3000),
            (0x10_0000, 0x40_0000),
            (0x40_1000, 0x50_0000),
            (0xFFE0_0000, 0x1_0000_0000),
        ]
    );
    assert_eq!(m.registered_ghcb(), Some(GHCB));
    assert!(!m.rmp(GHCB).assigned);
    assert!(!m.is_mapped_encrypted(GHCB));
    // Rescind, MSR-protocol PSC to shared, C-bit clear, then the MSR
    // protocol's SEV information, hypervisor features and registration
    // (GHCB spec 2.3.1: request codes 0x014, 0x002, 0x080, 0x012).
    let msr_requests: Vec<u64> = m
        .events()
        .iter()
        .filter_map(|e| match *e {
            Event::Msr { request, .. } => Some(request & 0xFFF),
            _ => None,
        })
        .collect();
    assert_eq!(msr_requests, [0x014, 0x002, 0x080, 0x012]);
    assert_eq!(
        m.events().first(),
        Some(&Event::Pvalidate {
            vaddr: GHCB,
            size: PageSize::Size4K,
            validate: false,
            rc: 0,
            cf: false
        })
    );
    assert!(m.stopped().is_none());
}

#[test]
fn init_refuses_a_c_bit_other_than_the_cpuid_pages() {
    let mut m = launched(MockConfig::default());
    let err = SnpGlue::<_, 256>::init(&mut m, SNP_STATUS, 1 << 47, &milan_page(), &LAUNCH, GHCB)
        .err()
        .unwrap();
    assert_eq!(err, SnpError::CBitOutOfRange { position: 51 });
    assert_eq!(
        err.termination_reason(),
        TerminationReason { set: 1, code: 3 }
    );
    // Refused before the hypervisor heard anything.
    assert!(m.events().is_empty());
    assert_eq!(m.registered_ghcb(), None);
}

#[test]
fn init_refuses_unsupported_sev_features() {
    // vTOM (bit 3), ReflectVC (bit 4), restricted / alternate injection
    // (bits 5, 6): SEV_STATUS MSR, AMD APM vol. 2 15.34.10.
    for bit in [3, 4, 5, 6] {
        let mut m = launched(MockConfig::default());
        let status = SNP_STATUS | 1 << bit;
        let err = SnpGlue::<_, 256>::init(&mut m, status, C_BIT_MASK, &milan_page(), &LAUNCH, GHCB)
            .err()
            .unwrap();
        assert_eq!(
            err,
            SnpError::UnsupportedSnpFeatures {
                status,
                bits: 1 << bit
            }
        );
        assert_eq!(
            err.termination_reason(),
            TerminationReason { set: 0, code: 2 }
        );
        assert!(m.events().is_empty());
    }
    // Debug swap (bit 7) is fine.
    let mut m = launched(MockConfig::default());
    assert!(SnpGlue::<_, 256>::init(
        &mut m,
        SNP_STATUS | 1 << 7,
        C_BIT_MASK,
        &milan_page(),
        &LAUNCH,
        GHCB
    )
    .is_ok());
}

#[test]
fn init_refuses_a_ghcb_page_outside_launch_memory_before_sharing_it() {
    let mut m = launched(MockConfig::default());
    let err = SnpGlue::<_, 256>::init(
        &mut m,
        SNP_STATUS,
        C_BIT_MASK,
        &milan_page(),
        &LAUNCH,
        0x60_0000,
    )
    .err()
    .unwrap();
    assert_eq!(err, SnpError::NotAccepted { gpa: 0x60_0000 });
    assert!(m.events().is_empty());
}

#[test]
fn init_fails_when_the_hypervisor_refuses_registration() {
    let mut m = launched(MockConfig {
        refuse_registration: true,
        ..MockConfig::default()
    });
    let err = init(&mut m).err().unwrap();
    assert_eq!(err, SnpError::GhcbRegistrationRefused { gpa: GHCB });
    assert_eq!(
        err.termination_reason(),
        TerminationReason { set: 1, code: 0 }
    );
    assert_eq!(m.registered_ghcb(), None);
}

#[test]
fn init_fails_on_a_cpuid_page_without_the_sev_leaf() {
    let mut m = launched(MockConfig::default());
    let page = qemu_page(&[KvmEntry(0x0, 0, 0, [0xD, 0, 0, 0])]);
    let err = SnpGlue::<_, 256>::init(&mut m, SNP_STATUS, C_BIT_MASK, &page, &LAUNCH, GHCB)
        .err()
        .unwrap();
    assert_eq!(
        err,
        SnpError::CpuidLeafMissing {
            leaf: 0x8000_001F,
            subleaf: 0
        }
    );
    assert!(m.events().is_empty());
}

// ---- accepting memory ----

#[test]
fn accept_validates_ram_and_refuses_the_same_range_before_any_psc() {
    let mut m = launched(MockConfig::default());
    let mut g = ready(&mut m);
    g.accept(RAM, RAM + 0x8000).unwrap();
    let events = g.hw_mut().take_events();
    // One PSC exit to private for the 8 pages, then 8 PVALIDATEs.
    assert_eq!(pscs(&events).len(), 8);
    assert!(pscs(&events).iter().all(|&(_, op)| op == PageOp::Private));
    for a in (RAM..RAM + 0x8000).step_by(0x1000) {
        assert!(g.hw().rmp(a).assigned && g.hw().rmp(a).validated, "{a:#x}");
    }
    assert!(g.accepted().contains(RAM, RAM + 0x8000));

    // Again, and overlapping: refused by the record, the hypervisor is
    // never asked.
    assert_eq!(
        g.accept(RAM, RAM + 0x8000),
        Err(SnpError::AlreadyAccepted { gpa: RAM })
    );
    assert_eq!(
        g.accept(RAM + 0x7000, RAM + 0x9000),
        Err(SnpError::AlreadyAccepted { gpa: RAM + 0x7000 })
    );
    // Launch memory too (the kernel's own pages).
    assert_eq!(
        g.accept(0x20_0000, 0x20_1000),
        Err(SnpError::AlreadyAccepted { gpa: 0x20_0000 })
    );
    assert!(g.hw().events().is_empty());
    assert_eq!(
        SnpError::AlreadyAccepted { gpa: RAM }.termination_reason(),
        TerminationReason { set: 1, code: 2 }
    );
}

/// (validating PVALIDATEs, evictions) among `events`, each eviction directly
/// after a PVALIDATE of the same page.
fn evictions(events: &[Event]) -> (usize, usize) {
    let mut validated = 0;
    let mut evicted = 0;
    for (i, e) in events.iter().enumerate() {
        match *e {
            Event::Pvalidate {
                validate: true,
                rc: 0,
                cf: false,
                ..
            } => validated += 1,
            Event::EvictCache { vaddr, size } => {
                evicted += 1;
                assert!(
                    matches!(
                        events.get(i.wrapping_sub(1)),
                        Some(Event::Pvalidate { vaddr: v, size: s, validate: true, .. })
                            if *v == vaddr && *s == size
                    ),
                    "eviction {i} not after its PVALIDATE: {events:?}"
                );
            }
            _ => {}
        }
    }
    (validated, evicted)
}

/// CVE-2025-38560: the Milan-shaped page lacks COHERENCY_SFW_NO
/// (0x8000_001F EBX[31]), so each validated page is evicted; unsharing too.
#[test]
fn accept_and_unshare_evict_the_validated_pages() {
    let mut m = launched(MockConfig::default());
    let mut g = ready(&mut m);
    g.accept(RAM, RAM + 0x8000).unwrap();
    g.share_page(RAM).unwrap();
    g.unshare_page(RAM).unwrap();
    assert_eq!(evictions(&g.hw_mut().take_events()), (9, 9));
}

#[test]
fn coherency_sfw_no_in_the_cpuid_page_turns_eviction_off() {
    let mut entries = milan_entries(true);
    for e in entries.iter_mut().filter(|e| e.0 == 0x8000_001F) {
        e.3[1] |= 1 << 31;
    }
    let page = qemu_page(&entries);
    let mut m = launched(MockConfig::default());
    let mut g =
        SnpGlue::<_, 256>::init(&mut m, SNP_STATUS, C_BIT_MASK, &page, &LAUNCH, GHCB).unwrap();
    g.hw_mut().take_events();
    g.accept(RAM, RAM + 0x8000).unwrap();
    g.share_page(RAM).unwrap();
    g.unshare_page(RAM).unwrap();
    assert_eq!(evictions(&g.hw_mut().take_events()), (9, 0));
}

/// Issue 10: a hypervisor that RMPUPDATEs an accepted page on a second
/// private PSC clears its Validated bit, so a second PVALIDATE passes with
/// CF=0. The glue's record refuses before that can happen.
#[test]
fn resetting_hypervisor_is_refused_by_the_record() {
    let mut m = launched(MockConfig {
        reset_validated_on_private: true,
        ..MockConfig::default()
    });
    let mut g = ready(&mut m);
    g.accept(RAM, RAM + 0x2000).unwrap();
    g.hw_mut().take_events();
    assert_eq!(
        g.accept(RAM, RAM + 0x2000),
        Err(SnpError::AlreadyAccepted { gpa: RAM })
    );
    assert!(g.hw().events().is_empty());
    assert!(g.hw().rmp(RAM).validated);

    // What the record prevents: the raw sequence goes through unnoticed.
    g.channel
        .page_state_change(&[PscEntry {
            gpa: RAM,
            op: PscOp::Private,
            size: PageSize::Size4K,
        }])
        .unwrap();
    assert!(!g.hw().rmp(RAM).validated);
    assert_eq!(
        g.hw_mut().pvalidate(RAM, PageSize::Size4K, true),
        (0, false)
    );
}

#[test]
fn share_and_unshare_round_trip() {
    let mut m = launched(MockConfig::default());
    let mut g = ready(&mut m);
    g.accept(RAM, RAM + 0x2000).unwrap();
    let page = RAM + 0x1000;
    g.hw_mut().take_events();

    g.share_page(page).unwrap();
    assert_eq!(g.hw().rmp(page), RmpEntry::default());
    assert!(!g.hw().is_mapped_encrypted(page));
    assert!(!g.accepted().contains(page, page + 0x1000));
    assert!(g.accepted().contains(RAM, RAM + 0x1000));
    let events = g.hw_mut().take_events();
    assert_eq!(pscs(&events), [(page, PageOp::Shared)]);
    // Rescind first (APM: validated pages must be rescinded before sharing).
    assert!(matches!(
        events.first(),
        Some(Event::Pvalidate {
            validate: false,
            rc: 0,
            cf: false,
            ..
        })
    ));
    // Shared already: the record refuses a second share.
    assert_eq!(g.share_page(page), Err(SnpError::NotAccepted { gpa: page }));

    g.unshare_page(page).unwrap();
    let e = g.hw().rmp(page);
    assert!(e.assigned && e.validated);
    assert!(g.hw().is_mapped_encrypted(page));
    assert!(g.accepted().contains(RAM, RAM + 0x2000));
    assert_eq!(
        g.unshare_page(page),
        Err(SnpError::AlreadyAccepted { gpa: page })
    );
    // And it can be accepted memory shared again.
    g.share_page(page).unwrap();
}

#[test]
fn share_of_memory_never_accepted_is_refused_without_an_exit() {
    let mut m = launched(MockConfig::default());
    let mut g = ready(&mut m);
    assert_eq!(
        g.share_page(0x90_0000),
        Err(SnpError::NotAccepted { gpa: 0x90_0000 })
    );
    assert!(g.hw().events().is_empty());
}

// Port, MSR, MMIO and RDTSC through the GHCB.
mod io;
// CPUID answered from the CPUID page.
mod cpuid;
// AP creation through the glue.
mod ap;
