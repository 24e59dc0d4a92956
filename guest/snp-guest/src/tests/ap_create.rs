//! AP creation against the mock: the VMSA it receives, KVM's refusals, and
//! the VMSA bit around the exit.

use super::{booted, channel};
use crate::mock::{Event, MockConfig, VmsaView};
use crate::nae::EXIT_AP_CREATION;
use crate::vmsa::{check_vmsa_page, ApState, TableRegister, CODE64_ATTRIB, DATA_ATTRIB};
use crate::{create_ap, Ghcb, GhcbChannel, GhcbCopy, PageSize, SnpError, SnpHardware};

/// A VMSA page inside the launch-validated low memory, not 2 MiB aligned.
const VMSA: u64 = 0x5_1000;
/// KVM's HV features: SNP | AP creation.
const HV: u64 = 0b11;

fn state() -> ApState {
    ApState {
        cr0: 0x8005_0033,
        cr3: 0x10_2000,
        cr4: 0x4_0668,
        efer: 0xD00,
        pat: 0x0007_0406_0007_0406,
        xcr0: 0x7,
        gdt: TableRegister {
            base: 0x11_2340,
            limit: 0x27,
        },
        idt: TableRegister {
            base: 0x11_3000,
            limit: 0xFFF,
        },
        code_selector: 0x08,
        data_selector: 0x10,
        rip: 0x10_4560,
        rsp: 0x80_3FF8,
        rdi: 2,
        sev_features: 1,
    }
}

fn config(vcpus: u32) -> MockConfig {
    MockConfig {
        vcpus,
        ..MockConfig::default()
    }
}

/// The AP-creation exits and RMPADJUSTs, in order.
fn trail(events: &[Event]) -> std::vec::Vec<Event> {
    events
        .iter()
        .filter(|e| match e {
            Event::Rmpadjust { .. } => true,
            Event::GhcbExit { exit_code, .. } => *exit_code == EXIT_AP_CREATION,
            _ => false,
        })
        .cloned()
        .collect()
}

fn rmpadjust(attrs: u64, rc: u32) -> Event {
    Event::Rmpadjust {
        vaddr: VMSA,
        attrs,
        rc,
    }
}

fn exit(apic_id: u32, result_info1: u64, result_info2: u64) -> Event {
    Event::GhcbExit {
        exit_code: EXIT_AP_CREATION,
        info1: u64::from(apic_id) << 32 | 1,
        info2: VMSA,
        result_info1,
        result_info2,
    }
}

#[test]
fn vmsa_page_rule() {
    assert_eq!(check_vmsa_page(0x1000), Ok(()));
    assert_eq!(check_vmsa_page(0x20_1000), Ok(()));
    for bad in [0, 0x20_0000, 0x4000_0000, 0x1800, 0x1001] {
        assert_eq!(
            check_vmsa_page(bad),
            Err(SnpError::VmsaPageUnusable { gpa: bad })
        );
    }
}

#[test]
fn created_ap_sees_the_vmsa_it_was_given() {
    let mut m = booted(config(4));
    let s = state();
    m.write_guest_page(VMSA, &s.build());
    let mut ch = channel(&mut m);
    assert_eq!(create_ap(&mut ch, HV, 2, VMSA, 1), Ok(()));
    let m = ch.into_hardware();
    let ap = m.created_ap(2).unwrap();
    assert!(ap.runnable, "VMSA bit set and SEV features match");
    assert_eq!((ap.vmsa_gpa, ap.sev_features), (VMSA, 1));
    assert_eq!(
        ap.vmsa,
        VmsaView {
            cs_selector: 0x08,
            cs_attrib: CODE64_ATTRIB,
            ds_selector: 0x10,
            ds_attrib: DATA_ATTRIB,
            gdtr_base: 0x11_2340,
            gdtr_limit: 0x27,
            idtr_base: 0x11_3000,
            idtr_limit: 0xFFF,
            efer: 0x1D00, // SVME added
            cr0: 0x8005_0033,
            cr3: 0x10_2000,
            cr4: 0x4_0668,
            rflags: 0x2,
            rip: 0x10_4560,
            rsp: 0x80_3FF8,
            rdi: 2,
            pat: 0x0007_0406_0007_0406,
            sev_features: 1,
            vmpl: 0,
            xcr0: 0x7,
        }
    );
    // 64-bit code: L (attrib bit 9) set, D (bit 10) clear.
    assert_eq!(CODE64_ATTRIB & 0x600, 0x200);
    assert!(m.is_vmsa_page(VMSA));
    // Marked before the exit, and not touched after it.
    assert_eq!(trail(m.events()), [rmpadjust(0x1_0001, 0), exit(2, 0, 0)]);
}

#[test]
fn hypervisor_without_ap_creation_is_not_asked() {
    let mut m = booted(MockConfig {
        hv_features: 0b01,
        ..config(4)
    });
    let mut ch = channel(&mut m);
    assert_eq!(
        create_ap(&mut ch, 0b01, 1, VMSA, 1),
        Err(SnpError::ApCreationUnsupported { features: 1 })
    );
    let m = ch.into_hardware();
    assert_eq!(trail(m.events()), []);
    assert_eq!(m.created_ap_count(), 0);
}

#[test]
fn unusable_pages_are_refused_before_anything_happens() {
    for gpa in [0x20_0000, 0x5_1800] {
        let mut m = booted(config(4));
        m.prevalidate(0x20_0000, 0x20_2000);
        let mut ch = channel(&mut m);
        assert_eq!(
            create_ap(&mut ch, HV, 1, gpa, 1),
            Err(SnpError::VmsaPageUnusable { gpa })
        );
        assert_eq!(trail(ch.hw().events()), []);
    }
}

/// KVM's own refusals (the guest's checks skipped): 2 MiB-aligned and
/// misaligned VMSA, above MAXPHYADDR, unknown APIC ID, SEV features that
/// are not the VM's. Each is SW_EXITINFO1 = 2, SW_EXITINFO2 = 5.
#[test]
fn mock_refuses_what_kvm_refuses() {
    let cases: [(u32, u64, u64); 5] = [
        (1, 0x20_0000, 1),
        (1, 0x5_1800, 1),
        (1, 1 << 48 | 0x1000, 1),
        (4, VMSA, 1),
        (1, VMSA, 0x5),
    ];
    for (apic_id, gpa, features) in cases {
        let mut m = booted(config(4));
        let mut ch = channel(&mut m);
        assert_eq!(
            ch.ap_create(apic_id, 0, gpa, features),
            Err(SnpError::GhcbExitFailed {
                exit_code: EXIT_AP_CREATION,
                exit_info1: 2,
                exit_info2: 5
            }),
            "{apic_id} {gpa:#x} {features:#x}"
        );
        assert_eq!(ch.hw().created_ap_count(), 0);
    }
}

/// Refused by the hypervisor (unknown APIC ID; SEV features that are not
/// the VM's): a typed error, and the VMSA bit is off again before the
/// caller gets the page back.
#[test]
fn refusal_is_typed_and_unmarks_the_page() {
    for (apic_id, features) in [(7, 1), (1, 0x5)] {
        let mut m = booted(config(2));
        let mut ch = channel(&mut m);
        assert_eq!(
            create_ap(&mut ch, HV, apic_id, VMSA, features),
            Err(SnpError::ApCreationRefused {
                apic_id,
                exit_info1: 2,
                exit_info2: 5
            })
        );
        let m = ch.into_hardware();
        assert!(!m.is_vmsa_page(VMSA));
        assert_eq!(m.created_ap_count(), 0);
        assert_eq!(
            trail(m.events()),
            [
                rmpadjust(0x1_0001, 0),
                exit(apic_id, 2, 5),
                rmpadjust(0x1, 0)
            ]
        );
    }
}

/// A hypervisor that reports an error but runs the AP anyway: the page is
/// in use, RMPADJUST cannot clear its VMSA bit, and the caller is told to
/// leak it.
#[test]
fn error_reported_while_the_ap_runs_leaks_the_page() {
    let mut m = booted(MockConfig {
        fail_next_exit: Some((2, 5)),
        ..config(4)
    });
    m.write_guest_page(VMSA, &state().build());
    let mut ch = channel(&mut m);
    assert_eq!(
        create_ap(&mut ch, HV, 1, VMSA, 1),
        Err(SnpError::VmsaBitStuck { gpa: VMSA, code: 3 })
    );
    let m = ch.into_hardware();
    assert!(m.is_vmsa_page(VMSA));
    assert!(m.created_ap(1).unwrap().runnable);
}

/// A hypervisor that does not answer at all leaves the request's low bits
/// (CREATE = 1) in SW_EXITINFO1: that reads as a refusal, not a success.
#[test]
fn unanswered_exit_is_a_refusal() {
    struct Silent<'a>(&'a mut crate::mock::MockHypervisor);
    impl SnpHardware for Silent<'_> {
        fn msr_protocol(&mut self, v: u64) -> u64 {
            self.0.msr_protocol(v)
        }
        fn ghcb_exit(&mut self, _: u64, _: &mut Ghcb, _: &GhcbCopy) {}
        fn pvalidate(&mut self, va: u64, size: PageSize, validate: bool) -> (u32, bool) {
            self.0.pvalidate(va, size, validate)
        }
        fn set_page_encrypted(&mut self, va: u64, encrypted: bool) {
            self.0.set_page_encrypted(va, encrypted)
        }
        fn evict_cache(&mut self, va: u64, size: PageSize) {
            self.0.evict_cache(va, size)
        }
        fn rmpadjust(&mut self, va: u64, attrs: u64) -> u32 {
            self.0.rmpadjust(va, attrs)
        }
    }
    let mut m = booted(config(4));
    let _registered = channel(&mut m);
    let mut ch = GhcbChannel::new(Silent(&mut m), super::GHCB);
    assert_eq!(
        create_ap(&mut ch, HV, 1, VMSA, 1),
        Err(SnpError::ApCreationRefused {
            apic_id: 1,
            exit_info1: 1,
            exit_info2: VMSA
        })
    );
    assert!(!m.is_vmsa_page(VMSA));
}

/// Not at VMPL0: RMPADJUST fails and no exit is made.
#[test]
fn rmpadjust_failure_stops_before_the_exit() {
    let mut m = booted(config(4));
    let mut ch = channel(&mut m);
    ch.hw_mut().config.vmpl = 1;
    assert_eq!(
        create_ap(&mut ch, HV, 1, VMSA, 1),
        Err(SnpError::RmpadjustFailed { gpa: VMSA, code: 2 })
    );
    assert_eq!(trail(ch.hw().events()), [rmpadjust(0x1_0001, 2)]);
}
