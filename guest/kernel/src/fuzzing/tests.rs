//! The fuzz entry points on valid-shaped inputs (the seeds of
//! fuzz/make_seeds.py) and on every crash the fuzzers found.

use super::{fw_cfg_directory, pci_capabilities, used_ring_run, virtio_used_ring};
use crate::net::RingViolation;
use crate::platform::mock::dir_entry;
use std::vec::Vec;

/// `fw_cfg_directory` input: flags, the directory, then file contents.
fn fw_cfg_input(flags: u8, count: u32, entries: &[Vec<u8>], contents: &[u8]) -> Vec<u8> {
    let mut dir = count.to_be_bytes().to_vec();
    entries.iter().for_each(|e| dir.extend_from_slice(e));
    let mut out = vec![flags];
    out.extend_from_slice(&(dir.len() as u16).to_le_bytes());
    out.extend_from_slice(&dir);
    out.extend_from_slice(contents);
    out
}

#[test]
fn fw_cfg_directory_seeds() {
    // e820 of one RAM entry (0, 256 MiB), found by name 0 ("etc/e820").
    let mut e820 = Vec::new();
    e820.extend_from_slice(&0u64.to_le_bytes());
    e820.extend_from_slice(&(256u64 << 20).to_le_bytes());
    e820.extend_from_slice(&1u32.to_le_bytes());
    let entries = [
        dir_entry(b"etc/e820", 20, 0x20),
        dir_entry(b"opt/appliance/config", 9, 0x21),
    ];
    fw_cfg_directory(&fw_cfg_input(0, 2, &entries, &e820));
    // The config (name 1), with DMA offered.
    fw_cfg_directory(&fw_cfg_input(2 | (1 << 2), 2, &entries, b"{\"a\": 1}\n"));
    // A count past the limit, a count past the entries, a duplicate name,
    // a file larger than every read, the directory aliased as a file.
    fw_cfg_directory(&fw_cfg_input(0, u32::MAX, &entries, &[]));
    fw_cfg_directory(&fw_cfg_input(0, 4096, &entries, &[]));
    let twice = [
        dir_entry(b"etc/e820", 20, 0x20),
        dir_entry(b"etc/e820", 20, 0x22),
    ];
    fw_cfg_directory(&fw_cfg_input(0, 2, &twice, &[]));
    let huge = [dir_entry(b"opt/appliance/model", u32::MAX, 0x20)];
    fw_cfg_directory(&fw_cfg_input(2 << 2, 1, &huge, &[]));
    let alias = [dir_entry(b"opt/appliance/model", 200_000, 0x19)];
    fw_cfg_directory(&fw_cfg_input(2 << 2, 1, &alias, &[]));
    // No signature; nothing at all.
    fw_cfg_directory(&fw_cfg_input(1, 2, &entries, &[]));
    fw_cfg_directory(&[]);
}

/// `pci_capabilities` input for QEMU's virtio-net layout (the transport
/// tests' device): capabilities at 0x40.., a 16 KiB 64-bit BAR 4.
pub(crate) fn pci_input(queue_size: u16) -> Vec<u8> {
    let mut config = [0u8; 256];
    config[0..4].copy_from_slice(&[0xF4, 0x1A, 0x41, 0x10]);
    config[0x06] = 1 << 4;
    config[0x34] = 0x40;
    let caps: [(u8, u8, u8, u32, u8); 5] = [
        (0x40, 0x50, 1, 0x0000, 16),
        (0x50, 0x60, 3, 0x1000, 16),
        (0x60, 0x70, 4, 0x2000, 16),
        (0x70, 0x84, 2, 0x3000, 20),
        (0x84, 0x00, 0, 0, 0), // MSI-X, table in BAR 4 at 0x3800
    ];
    for (at, next, cfg_type, offset, len) in caps {
        let at = usize::from(at);
        config[at + 1] = next;
        if len == 0 {
            config[at] = 0x11;
            config[at + 2..at + 4].copy_from_slice(&1u16.to_le_bytes());
            config[at + 4..at + 8].copy_from_slice(&(0x3800u32 | 4).to_le_bytes());
            continue;
        }
        config[at] = 0x09;
        config[at + 2..at + 6].copy_from_slice(&[len, cfg_type, 4, 0]);
        config[at + 8..at + 12].copy_from_slice(&offset.to_le_bytes());
        config[at + 12..at + 16].copy_from_slice(&0x1000u32.to_le_bytes());
        if len == 20 {
            config[at + 16..at + 20].copy_from_slice(&4u32.to_le_bytes());
        }
    }
    let mut out = config.to_vec();
    for i in 0..6 {
        let (wmask, fixed): (u32, u32) = match i {
            4 => (!(0x4000u32 - 1) & 0xFFFF_FFF0, 0b100),
            5 => (0xFFFF_FFFF, 0),
            _ => (0, 0),
        };
        out.extend_from_slice(&wmask.to_le_bytes());
        out.extend_from_slice(&fixed.to_le_bytes());
    }
    out.push(4); // the model's BAR
    for at in [0x0000u16, 0x1000, 0x2000, 0x3000] {
        out.extend_from_slice(&at.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // extra features
    for v in [256u16, 256, 0, 1] {
        out.extend_from_slice(&v.to_le_bytes()); // queue sizes, notify offsets
    }
    out.push(1); // MSI-X vectors
    out.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0]);
    out.extend_from_slice(&queue_size.to_le_bytes());
    out
}

#[test]
fn pci_capabilities_seeds() {
    pci_capabilities(&pci_input(64));
    pci_capabilities(&pci_input(300)); // a queue size the device never offered
                                       // A looping list, a list into the header, nothing.
    let mut looping = pci_input(64);
    looping[0x85] = 0x40;
    pci_capabilities(&looping);
    let mut header = pci_input(64);
    header[0x34] = 0x10;
    pci_capabilities(&header);
    pci_capabilities(&[]);
}

/// `virtio_used_ring` input: features, then operations.
pub(crate) fn used_ring_input(features: u8, ops: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![features];
    ops.iter().for_each(|op| out.extend_from_slice(op));
    out
}

/// Operation bytes: a used element on `queue` (0 receive, 1 transmit).
pub(crate) fn used(queue: u8, id: u32, len: u32) -> Vec<u8> {
    let mut op = vec![0, queue];
    op.extend_from_slice(&id.to_le_bytes());
    op.extend_from_slice(&len.to_le_bytes());
    op
}

#[test]
fn virtio_used_ring_seeds() {
    let receive = [3u8, 0, 0];
    let send = [5u8, 60, 0];
    let jump = |queue: u8, step: u16| {
        let mut op = vec![1, queue];
        op.extend_from_slice(&step.to_le_bytes());
        op
    };
    for features in [0, 1, 2, 7] {
        // A frame received, a frame sent and completed.
        virtio_used_ring(&used_ring_input(
            features,
            &[&used(0, 0, 12 + 60), &receive, &send, &used(1, 0, 0), &send],
        ));
        // An id out of range (the device is then broken), one whose high bits
        // are set, a length past the buffer, a length shorter than the
        // header, the same id twice, a transmit id never issued.
        let hostile: [&[&[u8]]; 6] = [
            &[&used(0, 64, 100), &receive, &receive],
            &[&used(0, 0x1_0003, 12 + 60), &receive],
            &[&used(0, 1, 5000), &receive, &used(0, 1, u32::MAX), &receive],
            &[&used(0, 2, 3), &receive],
            &[&used(0, 2, 70), &used(0, 2, 70), &receive, &receive],
            &[
                &send,
                &used(1, 9, 0),
                &send,
                &used(1, 0, 0),
                &used(1, 0, 0),
                &send,
            ],
        ];
        for ops in hostile {
            virtio_used_ring(&used_ring_input(features, ops));
        }
        // Index jumps forwards and backwards.
        virtio_used_ring(&used_ring_input(
            features,
            &[
                &jump(0, 1000),
                &receive,
                &receive,
                &jump(0, 0xFFFF),
                &receive,
                &jump(1, 77),
                &send,
            ],
        ));
    }
    virtio_used_ring(&[]);
}

#[test]
fn a_used_id_the_device_does_not_hold_breaks_the_device() {
    let receive = [3u8, 0, 0];
    let send = [5u8, 60, 0];
    // Well-behaved: a frame in, a frame out and completed.
    let fine = [
        &used(0, 0, 12 + 60)[..],
        &receive,
        &send,
        &used(1, 0, 0),
        &send,
    ];
    assert_eq!(used_ring_run(&used_ring_input(0, &fine)), None);
    // A receive id past the queue: the ring can never drain past it, so
    // the device is broken (and the stack stops the appliance) instead of
    // the idle loop spinning on it. (An id returned twice is not always a
    // violation: the driver may have posted that descriptor again.)
    let past = [&used(0, 64, 100)[..], &receive, &receive];
    assert_eq!(
        used_ring_run(&used_ring_input(0, &past)),
        Some(RingViolation::Receive(64))
    );
    // A transmit id never issued.
    let unsent = [&send[..], &used(1, 9, 0), &send];
    assert_eq!(
        used_ring_run(&used_ring_input(0, &unsent)),
        Some(RingViolation::Transmit(9))
    );
}
