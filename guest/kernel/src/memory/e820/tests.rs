//! The kernel's reading of `etc/e820` from a mock host (the `memory-map`
//! crate tests the map checks in depth). An E820 entry is 20 bytes:
//! le64 address, le64 length, le32 type (1 = RAM).

use super::E820Error;
use crate::fw_cfg::{Dma, Driver, FwCfgError};
use crate::platform::mock::{dir_entry, MockPlatform};
use memory_map::{MapError, MemoryMap};
use std::vec::Vec;

fn entry(addr: u64, len: u64, kind: u32) -> Vec<u8> {
    [
        &addr.to_le_bytes()[..],
        &len.to_le_bytes(),
        &kind.to_le_bytes(),
    ]
    .concat()
}

fn read(mock: &MockPlatform) -> Result<MemoryMap, E820Error> {
    fn no_pages() -> Option<Dma> {
        None
    }
    let fw = Driver::detect_on(mock, no_pages).expect("fw_cfg present");
    super::read(&fw)
}

fn with_e820(bytes: &[u8]) -> MockPlatform {
    MockPlatform::with_fw_cfg(&[(b"etc/e820", bytes)])
}

#[test]
fn a_plain_map_is_read() {
    // 640 KiB low RAM, a reserved hole, 1 GiB from 1 MiB.
    let map = [
        entry(0, 0xA_0000, 1),
        entry(0xF_0000, 0x1_0000, 2),
        entry(0x10_0000, 0x4000_0000, 1),
    ]
    .concat();
    let m = read(&with_e820(&map)).map_err(|_| ()).expect("valid map");
    assert_eq!(m.ram_total(), 0xA_0000 + 0x4000_0000);
}

#[test]
fn size_not_a_multiple_of_20_is_refused_before_reading() {
    // The host publishes 21 bytes: a trailing partial entry.
    let mut map = entry(0x10_0000, 0x100_0000, 1);
    map.push(0);
    let mock = with_e820(&map);
    assert!(matches!(
        read(&mock),
        Err(E820Error::Map(MapError::Truncated { len: 21 }))
    ));
}

#[test]
fn too_many_entries_are_refused_before_reading() {
    // 65 entries (the guest reads at most 64, 1280 bytes): refused by size,
    // so nothing is read past the fixed buffer.
    let map: Vec<u8> = (0..65u64)
        .flat_map(|i| entry(i << 30, 1 << 20, 1))
        .collect();
    let mock = with_e820(&map);
    assert!(matches!(
        read(&mock),
        Err(E820Error::Map(MapError::TooManyEntries { count: 65 }))
    ));
    // Same when only the directory lies about the size (item 1280 bytes).
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(1, &dir_entry(b"etc/e820", 0xFFFF_FFF0, 0x20));
    assert!(matches!(
        read(&mock),
        Err(E820Error::Map(MapError::TooManyEntries { .. }))
    ));
}

#[test]
fn empty_map_reads_as_no_ram_and_gives_no_usable_memory() {
    let m = read(&with_e820(&[]))
        .map_err(|_| ())
        .expect("empty is well-formed");
    assert_eq!(m.ram_total(), 0);
    assert!(matches!(m.usable(), Err(MapError::NoUsableRam)));
}

#[test]
fn map_shorter_than_its_entry_gives_a_zero_entry_that_is_refused() {
    // The directory claims 40 bytes, the item holds one entry: the second
    // reads as zeros, an entry of length zero.
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(1, &dir_entry(b"etc/e820", 40, 0x20));
    mock.set_fw_item(0x20, entry(0x10_0000, 0x100_0000, 1));
    assert!(matches!(
        read(&mock),
        Err(E820Error::Map(MapError::ZeroLength { index: 1, .. }))
    ));
}

#[test]
fn missing_file_is_a_fw_cfg_error() {
    let mock = MockPlatform::with_fw_cfg(&[(b"etc/other", b"")]);
    assert!(matches!(
        read(&mock),
        Err(E820Error::FwCfg(FwCfgError::NotFound))
    ));
}
