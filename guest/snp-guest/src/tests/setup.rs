use super::*;
use crate::mock::{Event, PageOp, Stop};
use crate::msr_protocol::{self, TerminationReason};
use crate::{register_ghcb, PageSize, SnpError, SnpHardware};

#[test]
fn init_ghcb_shares_then_registers() {
    let mut m = booted(MockConfig::default());
    let (ch, info) = init_ghcb(&mut m, GHCB).unwrap();
    assert_eq!(ch.ghcb_gpa(), GHCB);
    assert_eq!(info.sev_info.max_version, 2);
    assert_eq!(info.sev_info.c_bit, 51);
    assert_eq!(info.hv_features & 1, 1);
    assert_eq!(
        m.events(),
        &[
            Event::Pvalidate {
                vaddr: GHCB,
                size: PageSize::Size4K,
                validate: false,
                rc: 0,
                cf: false
            },
            Event::Psc {
                gpa: GHCB,
                op: PageOp::Shared,
                size: PageSize::Size4K
            },
            Event::Msr {
                request: 0x0020_0000_0007_F014,
                response: 0x015
            },
            Event::SetEncrypted {
                vaddr: GHCB,
                encrypted: false
            },
            Event::Msr {
                request: 0x002,
                response: 0x0002_0001_3300_0001
            },
            Event::Msr {
                request: 0x080,
                response: 0x3081
            },
            Event::Msr {
                request: 0x7_F012,
                response: 0x7_F013
            },
        ]
    );
    assert_eq!(m.registered_ghcb(), Some(GHCB));
    assert!(!m.rmp(GHCB).assigned);
    assert!(!m.is_mapped_encrypted(GHCB));
}

#[test]
fn registration_refused() {
    let mut m = booted(MockConfig {
        refuse_registration: true,
        ..MockConfig::default()
    });
    let err = init_ghcb(&mut m, GHCB).err().unwrap();
    assert_eq!(err, SnpError::GhcbRegistrationRefused { gpa: GHCB });
    assert_eq!(m.registered_ghcb(), None);
    assert_eq!(
        err.termination_reason(),
        TerminationReason { set: 1, code: 0 }
    );
}

#[test]
fn registration_answer_mismatch() {
    let mut m = booted(MockConfig {
        registration_answer_gfn: Some(0x80),
        ..MockConfig::default()
    });
    assert_eq!(
        register_ghcb(&mut m, GHCB).unwrap_err(),
        SnpError::GhcbRegistrationMismatch {
            gpa: GHCB,
            answered_gfn: 0x80
        }
    );
}

#[test]
fn registration_gpa_must_fit_52_bits() {
    // Bits 63:52 would be cut off by the request's GFN field: the GHCB the
    // hypervisor registered would not be the page the guest uses.
    let mut m = booted(MockConfig::default());
    let gpa = (1 << 52) | GHCB;
    assert!(matches!(
        register_ghcb(&mut m, gpa),
        Err(SnpError::InvalidArgument { value, .. }) if value == gpa
    ));
    assert_eq!(m.registered_ghcb(), None);
}

#[test]
fn version_range_must_include_2() {
    for (min, max) in [(3, 4), (1, 1)] {
        let mut m = booted(MockConfig {
            ghcb_min_version: min,
            ghcb_max_version: max,
            ..MockConfig::default()
        });
        assert_eq!(
            register_ghcb(&mut m, GHCB).unwrap_err(),
            SnpError::GhcbVersionUnsupported { min, max }
        );
        // Nothing registered, no registration request sent.
        assert_eq!(m.registered_ghcb(), None);
        assert!(!m
            .events()
            .iter()
            .any(|e| matches!(e, Event::Msr { request, .. } if request & 0xFFF == 0x012)));
    }
}

#[test]
fn hypervisor_without_snp_feature() {
    let mut m = booted(MockConfig {
        hv_features: 0b10,
        ..MockConfig::default()
    });
    let err = register_ghcb(&mut m, GHCB).unwrap_err();
    assert_eq!(err, SnpError::HypervisorLacksSnp { features: 0b10 });
    assert_eq!(err.termination_reason(), TerminationReason::SNP_UNSUPPORTED);
}

#[test]
fn msr_psc_error_is_reported() {
    let mut m = booted(MockConfig {
        msr_psc_fail: true,
        ..MockConfig::default()
    });
    // KVM's error answer sets bit 63: error field [63:32] = 0x8000_0000.
    assert_eq!(
        init_ghcb(&mut m, GHCB).err().unwrap(),
        SnpError::MsrPscFailed {
            gpa: GHCB,
            error: 0x8000_0000
        }
    );
    // The C-bit was not cleared after the failed PSC.
    assert!(m.is_mapped_encrypted(GHCB));
}

#[test]
fn ghcb_page_not_validated() {
    // Outside the validated low memory: the rescind faults to the
    // hypervisor, KVM + QEMU make the page private (not validated) and
    // retry, and the rescind finds nothing to rescind (CF=1).
    let mut m = booted(MockConfig::default());
    assert_eq!(
        init_ghcb(&mut m, 0x20_0000).err().unwrap(),
        SnpError::RescindNotValidated { gpa: 0x20_0000 }
    );
    assert_eq!(
        init_ghcb(&mut m, 0x7_F001).err().unwrap(),
        SnpError::InvalidArgument {
            what: "page address not 4 KiB aligned",
            value: 0x7_F001
        }
    );
}

#[test]
fn exits_need_registration_and_a_shared_page() {
    // Not registered at all: KVM refuses to run the vCPU further (the VM
    // stops); the guest gets no answer it could check.
    let mut m = booted(MockConfig::default());
    crate::share_page_msr(&mut m, GHCB).unwrap();
    let mut ch = GhcbChannel::new(&mut m, GHCB);
    let _ = ch.hv_features();
    assert_eq!(m.stopped(), Some(Stop::GhcbNotRegistered { gpa: GHCB }));

    // Registered but still private and encrypted: the host reads its own
    // (stale, zero) copy of the page and finds no valid input; the guest
    // reads its own bytes back, i.e. its request with SW_EXITINFO1 = 0. It
    // cannot tell; init_ghcb's order (share, then register) prevents this.
    let mut m = booted(MockConfig::default());
    register_ghcb(&mut m, GHCB).unwrap();
    let mut ch = GhcbChannel::new(&mut m, GHCB);
    assert_eq!(ch.hv_features(), Ok(0));
    assert_eq!(
        m.events().last(),
        Some(&Event::GhcbExit {
            exit_code: 0,
            info1: 0,
            info2: 0,
            result_info1: 2,
            result_info2: 4
        })
    );
}

#[test]
fn termination_request() {
    let mut m = booted(MockConfig::default());
    msr_protocol::request_termination(&mut m, TerminationReason::GHCB_PROTOCOL_UNSUPPORTED);
    assert_eq!(m.terminated(), Some((0, 1)));
    assert_eq!(
        m.events().last(),
        Some(&Event::Msr {
            request: 0x1_0100,
            response: 0x1_0100
        })
    );
    assert_eq!(m.stopped(), Some(Stop::Terminated { set: 0, code: 1 }));
}

#[test]
fn msr_protocol_cpuid_and_misc() {
    let mut m = booted(MockConfig::default());
    m.set_cpuid(0x8000_0000, 0, [0x8000_0028, 1, 2, 3]);
    assert_eq!(
        msr_protocol::cpuid(&mut m, 0x8000_0000).unwrap(),
        [0x8000_0028, 1, 2, 3]
    );
    assert_eq!(
        msr_protocol::cpuid(&mut m, 0x8000_001F).unwrap()[1] & 0x3F,
        51
    );
    assert_eq!(m.events().len(), 8);
    // A hypervisor answering garbage is an error, not a panic.
    struct Garbage;
    impl SnpHardware for Garbage {
        fn msr_protocol(&mut self, _: u64) -> u64 {
            0xFFFF_FFFF_FFFF_FFFF
        }
        fn ghcb_exit(&mut self, _: u64, _: &mut crate::Ghcb, _: &crate::GhcbCopy) {}
        fn pvalidate(&mut self, _: u64, _: PageSize, _: bool) -> (u32, bool) {
            (0, false)
        }
        fn set_page_encrypted(&mut self, _: u64, _: bool) {}
        fn evict_cache(&mut self, _: u64, _: PageSize) {}
        fn rmpadjust(&mut self, _: u64, _: u64) -> u32 {
            0
        }
    }
    assert!(matches!(
        msr_protocol::sev_info(&mut Garbage),
        Err(SnpError::MsrUnexpectedResponse { .. })
    ));
    assert!(register_ghcb(&mut Garbage, GHCB).is_err());
    assert!(msr_protocol::cpuid(&mut Garbage, 0).is_err());
}
