//! Port I/O, MSRs, MMIO and RDTSC (for #VC) through the GHCB, on the mock
//! hypervisor.

use super::*;

#[test]
fn port_io_through_the_ghcb() {
    let mut m = launched(MockConfig::default());
    m.script_io_in(0x3FD, &[0x60]);
    m.script_io_in(0x510, &[0x1234_BEEF]);
    m.script_io_in(0xCFC, &[0x1234_5678]);
    m.script_io_in(0x3F9, &[0x1234_5678]);
    let mut g = ready(&mut m);
    assert_eq!(g.channel.io_in(0x3FD, io_size(Width::Byte)), Ok(0x60));
    assert_eq!(g.channel.io_in(0x510, io_size(Width::Word)), Ok(0xBEEF));
    assert_eq!(
        g.channel.io_in(0xCFC, io_size(Width::Dword)),
        Ok(0x1234_5678)
    );
    // Only the width's bytes come in.
    assert_eq!(g.channel.io_in(0x3F9, io_size(Width::Byte)), Ok(0x78));
    // Nothing scripted: a floating bus, masked to the width.
    assert_eq!(g.channel.io_in(0x3FD, io_size(Width::Byte)), Ok(0xFF));
    g.channel.io_out(0x3F8, io_size(Width::Byte), 0x41).unwrap();
    g.channel
        .io_out(0x511, io_size(Width::Word), 0xAABB_0102)
        .unwrap();
    g.channel
        .io_out(0x3F9, io_size(Width::Byte), 0xAABB_CC03)
        .unwrap();
    g.channel
        .io_out(0xCF8, io_size(Width::Dword), 0x8000_0000)
        .unwrap();
    let outs: Vec<(u16, u32)> = g
        .hw()
        .events()
        .iter()
        .filter_map(|e| match *e {
            Event::IoOut { port, value } => Some((port, value)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outs,
        [
            (0x3F8, 0x41),
            (0x511, 0x0102),
            (0x3F9, 0x03),
            (0xCF8, 0x8000_0000)
        ]
    );
}

#[test]
fn string_port_io_through_the_ghcb() {
    let mut m = launched(MockConfig::default());
    m.script_io_in(0x510, &[0x51, 0x45, 0x4D]);
    let mut g = ready(&mut m);
    g.channel.outs_bytes(0x3F8, b"ok\n").unwrap();
    let mut buf = [0u8; 3];
    g.channel.ins_bytes(0x510, &mut buf).unwrap();
    assert_eq!(&buf, b"QEM");
    let outs: Vec<(u16, u32)> = g
        .hw()
        .events()
        .iter()
        .filter_map(|e| match *e {
            Event::IoOut { port, value } => Some((port, value)),
            _ => None,
        })
        .collect();
    assert_eq!(outs, [(0x3F8, 0x6F), (0x3F8, 0x6B), (0x3F8, 0x0A)]);
}

#[test]
fn msr_access_through_the_ghcb() {
    let mut m = launched(MockConfig::default());
    m.set_msr(0x1B, 0xFEE0_0900);
    let mut g = ready(&mut m);
    assert_eq!(g.channel.rdmsr(0x1B), Ok(0xFEE0_0900));
    g.channel.wrmsr(0x277, 0x0007_0406_0007_0406).unwrap();
    assert_eq!(g.hw().msr(0x277), Some(0x0007_0406_0007_0406));
    assert_eq!(g.channel.rdmsr(0x277), Ok(0x0007_0406_0007_0406));
    // An MSR KVM does not know: #GP injected (SW_EXITINFO1 = 1, EVENTINJ
    // of #GP(0) in SW_EXITINFO2), an error for the glue's caller to stop on.
    let err = g.channel.rdmsr(0xC001_DEAD).unwrap_err();
    assert_eq!(
        err,
        SnpError::GhcbExitFailed {
            exit_code: 0x7C,
            exit_info1: 1,
            exit_info2: 0x8000_0B0D
        }
    );
    assert_eq!(
        err.termination_reason(),
        TerminationReason { set: 0, code: 0 }
    );
}

#[test]
fn mmio_through_the_ghcb() {
    let mut m = launched(MockConfig::default());
    m.set_mmio(0xFEBF_0000, 0x1AF4_1041);
    let mut g = ready(&mut m);
    assert_eq!(g.mmio_read(0xFEBF_0000, Width::Dword), Ok(0x1AF4_1041));
    assert_eq!(g.mmio_read(0xFEBF_0000, Width::Word), Ok(0x1041));
    assert_eq!(g.mmio_read(0xFEBF_0000, Width::Byte), Ok(0x41));
    // Only the low `width` bytes leave the guest.
    g.mmio_write(0xFEBF_1000, 0xAABB_CCDD_EEFF, Width::Word)
        .unwrap();
    assert_eq!(g.hw().mmio(0xFEBF_1000), Some(0xEEFF));
    g.mmio_write(0xFEBF_1004, 0xAABB_CCDD_EEFF, Width::Dword)
        .unwrap();
    assert_eq!(g.hw().mmio(0xFEBF_1004), Some(0xCCDD_EEFF));
    g.mmio_write(0xFEBF_1008, 0x1FF, Width::Byte).unwrap();
    assert_eq!(g.hw().mmio(0xFEBF_1008), Some(0xFF));
    let lens: Vec<usize> = g
        .hw()
        .events()
        .iter()
        .filter_map(|e| match *e {
            Event::MmioRead { len, .. } | Event::MmioWrite { len, .. } => Some(len),
            _ => None,
        })
        .collect();
    assert_eq!(lens, [4, 2, 1, 2, 4, 1]);
}

#[test]
fn rdtsc_for_vc_through_the_ghcb() {
    let mut m = launched(MockConfig {
        tsc_aux: 3,
        ..MockConfig::default()
    });
    let mut g = ready(&mut m);
    // The mock's TSC starts at 2^32 and advances 0x1_0000 per exit.
    assert_eq!(g.rdtsc_for_vc(false), Ok((0x1_0001_0000, 0)));
    assert_eq!(g.rdtsc_for_vc(true), Ok((0x1_0002_0000, 3)));
    assert_eq!(
        g.hw()
            .events()
            .iter()
            .filter(|e| matches!(e, Event::Rdtsc { .. }))
            .count(),
        2
    );
    assert!(g.hw().events().contains(&Event::Rdtsc { with_aux: true }));
}

#[test]
fn a_hypervisor_error_answer_comes_back_as_an_error() {
    let mut m = launched(MockConfig::default());
    let mut g = ready(&mut m);
    g.hw_mut().config.fail_next_exit = Some((2, 6));
    let err = g.rdtsc_for_vc(false).unwrap_err();
    assert_eq!(
        err,
        SnpError::GhcbExitFailed {
            exit_code: 0x6E,
            exit_info1: 2,
            exit_info2: 6
        }
    );
    // The next exit works again.
    assert!(g.channel.io_out(0x80, io_size(Width::Byte), 0).is_ok());
}
