//! String port I/O through the GHCB scratch area, against the mock's
//! `sev_es_string_io`. Constants are literals from the GHCB spec and the
//! APM (IOIO exit 0x7B; SW_EXITINFO1 bits TYPE_IN 0, STR 2, REP 3, SZ8 4,
//! A64 9; shared buffer 0x800..0xFF0 = 2032 bytes).

use super::*;
use crate::mock::Event;
use crate::nae::string_io_exits;
use crate::SnpError;

fn garbage() -> MockConfig {
    MockConfig {
        garbage: true,
        ..MockConfig::default()
    }
}

/// (SW_EXITINFO1, SW_EXITINFO2, result SW_EXITINFO1) of every IOIO exit.
fn ioio_exits(m: &MockHypervisor) -> std::vec::Vec<(u64, u64, u64)> {
    m.events()
        .iter()
        .filter_map(|e| match e {
            Event::GhcbExit {
                exit_code: 0x7B,
                info1,
                info2,
                result_info1,
                ..
            } => Some((*info1, *info2, *result_info1)),
            _ => None,
        })
        .collect()
}

#[test]
fn outs_moves_a_shared_buffer_per_exit() {
    let mut m = booted(garbage());
    let data: std::vec::Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut ch = channel(&mut m);
    ch.outs_bytes(0x3F8, &data).unwrap();
    // COM1 << 16 | A64 | SZ8 | REP | STR; counts 2032, 2032, 936.
    assert_eq!(
        ioio_exits(&m),
        [
            (0x03F8_021C, 2032, 0),
            (0x03F8_021C, 2032, 0),
            (0x03F8_021C, 936, 0)
        ]
    );
    let written: std::vec::Vec<u8> = m
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::IoOut { port: 0x3F8, value } => Some(*value as u8),
            _ => None,
        })
        .collect();
    assert_eq!(written, data);
}

#[test]
fn ins_fills_the_buffer_in_order() {
    let mut m = booted(garbage());
    let script: std::vec::Vec<u32> = (0..3000u32).map(|i| (i * 7) % 256).collect();
    m.script_io_in(0x511, &script);
    let mut ch = channel(&mut m);
    let mut buf = [0u8; 3000];
    ch.ins_bytes(0x511, &mut buf).unwrap();
    let want: std::vec::Vec<u8> = script.iter().map(|&v| v as u8).collect();
    assert_eq!(&buf[..], &want[..]);
    // fw_cfg data port << 16 | A64 | SZ8 | REP | STR | IN.
    assert_eq!(
        ioio_exits(&m),
        [(0x0511_021D, 2032, 0), (0x0511_021D, 968, 0)]
    );
}

#[test]
fn nothing_to_move_makes_no_exit() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    ch.outs_bytes(0x3F8, &[]).unwrap();
    ch.ins_bytes(0x511, &mut []).unwrap();
    assert!(ioio_exits(&m).is_empty());
}

#[test]
fn a_refused_exit_is_an_error() {
    let mut m = booted(MockConfig::default());
    let mut ch = channel(&mut m);
    // The next exit answers SW_EXITINFO1 = 2 (bad input), reason 3.
    ch.hw_mut().config.fail_next_exit = Some((2, 3));
    let mut buf = [0u8; 4];
    assert!(matches!(
        ch.ins_bytes(0x511, &mut buf),
        Err(SnpError::GhcbExitFailed {
            exit_code: 0x7B,
            exit_info1: 2,
            exit_info2: 3
        })
    ));
}

#[test]
fn exits_per_length() {
    assert_eq!(string_io_exits(0), 0);
    assert_eq!(string_io_exits(1), 1);
    assert_eq!(string_io_exits(2032), 1);
    assert_eq!(string_io_exits(2033), 2);
    assert_eq!(string_io_exits(64), 1);
}
