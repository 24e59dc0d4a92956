//! AP creation through the glue: it passes the HV features learnt at GHCB
//! registration, and the mock sees the VMSA the kernel wrote.

use super::{launched, ready, RAM};
use snp_guest::mock::{MockConfig, MockHypervisor};
use snp_guest::vmsa::{ApState, TableRegister};
use snp_guest::SnpError;

/// Accepted RAM, not 2 MiB aligned (the second page of an 8 KiB block).
const VMSA: u64 = RAM + 0x1000;

fn vm(hv_features: u64) -> MockHypervisor {
    launched(MockConfig {
        hv_features,
        vcpus: 2,
        ..MockConfig::default()
    })
}

fn state() -> ApState {
    let table = TableRegister { base: 0, limit: 0 };
    ApState {
        cr0: 0x8005_0033,
        cr3: 0x10_0000,
        cr4: 0x4_0620,
        efer: 0x1D00,
        pat: 0x0007_0406_0007_0406,
        xcr0: 3,
        gdt: table,
        idt: table,
        code_selector: 8,
        data_selector: 16,
        rip: 0x10_1000,
        rsp: 0x60_0FF8,
        rdi: 0,
        sev_features: 1,
    }
}

#[test]
fn glue_creates_an_ap_with_the_registered_features() {
    let mut m = vm(0b11);
    m.write_guest_page(VMSA, &state().build());
    let mut g = ready(&mut m);
    g.accept(RAM, RAM + 0x2000).unwrap();
    assert_eq!(g.create_ap(1, VMSA, 1), Ok(()));
    let ap = g.hw().created_ap(1).unwrap();
    assert!(ap.runnable);
    assert_eq!((ap.vmsa.rip, ap.vmsa.rsp), (0x10_1000, 0x60_0FF8));
}

#[test]
fn glue_does_not_ask_a_hypervisor_without_ap_creation() {
    let mut m = vm(0b01);
    let mut g = ready(&mut m);
    g.accept(RAM, RAM + 0x2000).unwrap();
    g.hw_mut().take_events();
    assert_eq!(
        g.create_ap(1, VMSA, 1),
        Err(SnpError::ApCreationUnsupported { features: 1 })
    );
    assert!(g.hw().events().is_empty());
}
