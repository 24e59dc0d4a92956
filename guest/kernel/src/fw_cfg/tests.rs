//! fw_cfg against a mock host that lies about its directory and files.
//! Keys and layouts are QEMU's (hw/nvram/fw_cfg.c), written as literals.

use super::{Dma, Driver, FileRef, FwCfgError};
use crate::platform::mock::{dir_entry, MockPlatform};
use std::vec::Vec;

/// Detects fw_cfg on the mock; the mock's ID offers no DMA, and no DMA
/// pages exist on the host.
fn detect(mock: &MockPlatform) -> Result<Driver<&MockPlatform>, FwCfgError> {
    fn no_pages() -> Option<Dma> {
        None
    }
    Driver::detect_on(mock, no_pages)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn finds_a_file_and_reads_it_whole() {
    let data = pattern(300);
    let mock = MockPlatform::with_fw_cfg(&[(b"etc/e820", b"x"), (b"opt/appliance/config", &data)]);
    let fw = detect(&mock).expect("QEMU signature present");
    let file = fw.find("opt/appliance/config").expect("listed");
    assert_eq!((file.select, file.size), (0x21, 300));
    let mut buf = [0u8; 512];
    assert_eq!(fw.read_file(file, &mut buf), Ok(300));
    assert_eq!(&buf[..300], &data[..]);
    assert_eq!(fw.find("opt/other").map(|_| ()), Err(FwCfgError::NotFound));
}

#[test]
fn host_without_the_signature_is_not_fw_cfg() {
    // The host answers the signature key with something other than "QEMU".
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_item(0x0000, b"QEMV".to_vec());
    assert!(matches!(detect(&mock), Err(FwCfgError::NotPresent)));
    // No device at all: the data port floats to 0xFF.
    let empty = MockPlatform::new();
    assert!(matches!(detect(&empty), Err(FwCfgError::NotPresent)));
}

#[test]
fn huge_directory_count_is_refused_before_any_entry_is_read() {
    // The host claims 4 billion entries: the guest must refuse, not loop.
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(0xFFFF_FFFF, &dir_entry(b"etc/e820", 20, 0x20));
    let fw = detect(&mock).expect("detect");
    let before = mock.state.borrow().fw_bytes_read;
    assert_eq!(
        fw.find("etc/e820").map(|_| ()),
        Err(FwCfgError::DirectoryTooLarge { count: 0xFFFF_FFFF })
    );
    // Only the 4-byte count was read.
    assert_eq!(mock.state.borrow().fw_bytes_read - before, 4);
}

#[test]
fn count_larger_than_the_entries_present_reads_zero_entries_and_stays_bounded() {
    // The host claims 4096 entries but holds one: QEMU's data port reads 0
    // past an item's end, so the rest are empty names that match nothing.
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(4096, &dir_entry(b"etc/e820", 20, 0x20));
    let fw = detect(&mock).expect("detect");
    assert_eq!(fw.find("etc/e820").map(|f| f.select), Ok(0x20));
    let before = mock.state.borrow().fw_bytes_read;
    assert_eq!(
        fw.find("opt/missing").map(|_| ()),
        Err(FwCfgError::NotFound)
    );
    // The count, then exactly 4096 entries of 64 bytes: no more.
    assert_eq!(mock.state.borrow().fw_bytes_read - before, 4 + 4096 * 64);
}

#[test]
fn unterminated_name_matches_nothing() {
    // The host fills all 56 name bytes: "etc/e820" then garbage, no NUL.
    let mut entry = dir_entry(b"etc/e820", 20, 0x20);
    entry[16..64].fill(b'A');
    let mut full = dir_entry(b"", 20, 0x21);
    full[8..64].fill(b'B');
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(2, &[entry, full].concat());
    let fw = detect(&mock).expect("detect");
    assert_eq!(fw.find("etc/e820").map(|_| ()), Err(FwCfgError::NotFound));
    let all_b = "B".repeat(56);
    assert_eq!(fw.find(&all_b).map(|_| ()), Err(FwCfgError::NotFound));
}

#[test]
fn name_that_is_not_utf8_matches_nothing_and_hides_nothing() {
    // One entry's name is invalid UTF-8; lookups of other names still work.
    let bad = dir_entry(&[0xFF, 0xFE, b'e', 0xC0], 4, 0x20);
    let good = dir_entry(b"opt/appliance/config", 3, 0x21);
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(2, &[bad, good].concat());
    let fw = detect(&mock).expect("detect");
    assert_eq!(fw.find("opt/appliance/config").map(|f| f.select), Ok(0x21));
    assert_eq!(fw.find("\u{FFFD}e").map(|_| ()), Err(FwCfgError::NotFound));
}

#[test]
fn duplicate_names_are_refused() {
    // Two entries named opt/appliance/config with different contents: the
    // guest must not pick one silently.
    let a = dir_entry(b"opt/appliance/config", 3, 0x20);
    let other = dir_entry(b"etc/e820", 20, 0x21);
    let b = dir_entry(b"opt/appliance/config", 9, 0x22);
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(3, &[a, other, b].concat());
    let fw = detect(&mock).expect("detect");
    assert_eq!(
        fw.find("opt/appliance/config").map(|_| ()),
        Err(FwCfgError::DuplicateName)
    );
    assert_eq!(fw.find("etc/e820").map(|f| f.select), Ok(0x21));
}

#[test]
fn file_beyond_the_read_limit_is_refused_before_reading() {
    // The directory claims 4 GiB - 1 bytes: nothing is allocated or read.
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(1, &dir_entry(b"opt/appliance/model", 0xFFFF_FFFF, 0x20));
    let fw = detect(&mock).expect("detect");
    let file = fw.find("opt/appliance/model").expect("listed");
    let before = mock.state.borrow().fw_bytes_read;
    assert_eq!(
        fw.read_file_vec(file, 1 << 20),
        Err(FwCfgError::TooLarge { size: 0xFFFF_FFFF })
    );
    let mut small = [0u8; 16];
    assert_eq!(
        fw.read_file(file, &mut small),
        Err(FwCfgError::TooLarge { size: 0xFFFF_FFFF })
    );
    assert_eq!(mock.state.borrow().fw_bytes_read, before);
    // At the limit exactly: read.
    let exact = FileRef {
        select: 0x20,
        size: 16,
    };
    assert_eq!(fw.read_file_vec(exact, 16).map(|v| v.len()), Ok(16));
}

#[test]
fn file_shorter_than_its_entry_reads_as_zero_padded_never_more() {
    // The directory says 100 bytes; the item holds 10. QEMU reads 0 past
    // the end, so the guest gets exactly 100 bytes, the tail zero.
    let mock = MockPlatform::with_fw_cfg(&[]);
    mock.set_fw_directory(1, &dir_entry(b"opt/appliance/config", 100, 0x20));
    mock.set_fw_item(0x20, pattern(10));
    let fw = detect(&mock).expect("detect");
    let file = fw.find("opt/appliance/config").expect("listed");
    let before = mock.state.borrow().fw_bytes_read;
    let got = fw.read_file_vec(file, 4096).expect("read");
    assert_eq!(got.len(), 100);
    assert_eq!(&got[..10], &pattern(10)[..]);
    assert!(got[10..].iter().all(|&b| b == 0));
    assert_eq!(mock.state.borrow().fw_bytes_read - before, 100);
}

#[test]
fn stream_delivers_every_byte_once_at_every_chunk_boundary() {
    // Sizes around the 64 KiB chunk (16 pages of 4096 bytes): each must
    // arrive whole, in order, in pieces no larger than a chunk, and no
    // byte may be read past the size the directory gave.
    const CHUNK: usize = 16 * 4096;
    for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5] {
        let data = pattern(size);
        let mock = MockPlatform::with_fw_cfg(&[(b"opt/appliance/stream-test", &data)]);
        let fw = detect(&mock).expect("detect");
        let file = fw.find("opt/appliance/stream-test").expect("listed");
        let before = mock.state.borrow().fw_bytes_read;
        let mut got = Vec::new();
        let mut pieces = 0;
        fw.stream_file(file, |piece| {
            assert!(
                !piece.is_empty() && piece.len() <= CHUNK,
                "piece of {}",
                piece.len()
            );
            got.extend_from_slice(piece);
            pieces += 1;
        })
        .expect("stream");
        assert_eq!(got, data, "size {size}");
        assert_eq!(pieces, size.div_ceil(CHUNK), "size {size}");
        assert_eq!(mock.state.borrow().fw_bytes_read - before, size);
    }
}

/// The mock's one-copy read of the data port gives what byte-by-byte reads
/// give, past the item's end too, and counts the same bytes.
#[test]
fn the_mocks_bulk_data_read_matches_byte_reads() {
    use crate::platform::{PlatformIo, Width};
    let data = pattern(100);
    // (start, length, selected key): 0x20 holds the data, 0x99 is absent.
    for (start, len, key) in [
        (0, 40, 0x20),
        (90, 20, 0x20),
        (100, 5, 0x20),
        (150, 3, 0x20),
        (0, 0, 0x20),
        (3, 9, 0x99),
    ] {
        let bulk = MockPlatform::new();
        let bytewise = MockPlatform::new();
        let mut got = [vec![0xAAu8; len], vec![0x55u8; len]];
        for (mock, out) in [(&bulk, 0), (&bytewise, 1)] {
            mock.set_fw_item(0x20, data.clone());
            mock.port_write(0x510, key, Width::Word);
            for _ in 0..start {
                mock.port_read(0x511, Width::Byte);
            }
            if out == 0 {
                mock.port_read_bytes(0x511, &mut got[0]);
            } else {
                for b in got[1].iter_mut() {
                    *b = mock.port_read(0x511, Width::Byte) as u8;
                }
            }
        }
        assert_eq!(got[0], got[1], "start {start}, len {len}, key {key:#x}");
        let (b, w) = (bulk.state.borrow(), bytewise.state.borrow());
        assert_eq!(
            (b.fw_bytes_read, b.fw_offset, b.port_reads),
            (w.fw_bytes_read, w.fw_offset, w.port_reads)
        );
        // One more byte continues where both left off.
        drop((b, w));
        assert_eq!(
            bulk.port_read(0x511, Width::Byte),
            bytewise.port_read(0x511, Width::Byte)
        );
    }
}
