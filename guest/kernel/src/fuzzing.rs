//! libFuzzer entry points for the kernel's parsers of what the host hands
//! the guest (issue 14), built only with the host-only `fuzz` feature (the
//! targets in fuzz/) and in the host unit tests (`fuzzing/tests.rs`, which
//! keep every crash found as a regression test). Each builds the mock
//! platform of `platform::mock` from the fuzzer's bytes and drives the
//! guest's real driver code on it; each returns on any input, panicking
//! only where the driver broke one of its own promises (the asserts below).
//!
//! - `fw_cfg_directory`: the fw_cfg file directory (`fw_cfg::Driver::find`)
//!   and file reads sized by it, and the `etc/e820` read.
//! - `pci_capabilities`: the PCI capability walk, BAR sizing, and the
//!   virtio-pci transport built from the capabilities (then a bring-up).
//! - `virtio_used_ring`: a virtio-net device that writes whatever it likes
//!   into its used rings (ids out of range, lengths past the buffer,
//!   repeated ids, index jumps) while the smoltcp device polls them.

use crate::fw_cfg::{Dma, Driver, FwCfgError};
use crate::net::{HostNet, RingViolation, MAX_FRAME, QUEUE_SIZE};
use crate::pci::{bus0_functions, Function, MmioWindow};
use crate::platform::mock::{BarReg, MockPlatform, PciFunction, VirtioModel};
use crate::virtio::host_hal::{self, HostHal};
use crate::virtio::transport::PciTransport;
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{Device, RxToken, TxToken};
use smoltcp::time::Instant;
use virtio_drivers::transport::{DeviceStatus, Transport};

/// Reads the fuzzer's bytes front to back; past the end everything is 0.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Names the guest looks up, and one filling the 56-byte field but its NUL.
const NAMES: [&str; 5] = [
    "etc/e820",
    "opt/appliance/config",
    "opt/appliance/model",
    "opt/appliance/selftest",
    "opt/appliance/a-name-of-fifty-five-bytes-xxxxxxxxxxxxx",
];
/// fw_cfg keys of the signature, the ID and the directory.
const FW_RESERVED: [u16; 3] = [0x0000, 0x0001, 0x0019];
/// Entries read at most per lookup (`fw_cfg::MAX_DIR_ENTRIES`), 64 bytes each.
const FW_DIR_MAX_BYTES: usize = 4 + 4096 * 64;
/// Largest file read whole or streamed.
const FW_READ_MAX: usize = 70_000;
const FW_STREAM_MAX: usize = 140_000;

/// `flags` (signature present, DMA offered, name), a le16 length and that
/// many bytes of the directory item (be32 count, then 64-byte entries),
/// then the contents of the file found.
pub fn fw_cfg_directory(data: &[u8]) {
    fn no_pages() -> Option<Dma> {
        None
    }
    let mut input = Input(data);
    let flags = input.u8();
    let dir_len = usize::from(input.u16());
    let directory = input.bytes(dir_len);
    let contents = input.0;

    let mock = MockPlatform::new();
    mock.set_fw_directory(0, &[]);
    mock.set_fw_item(0x0019, directory.to_vec());
    if flags & 1 != 0 {
        mock.set_fw_item(0x0000, b"QEMV".to_vec());
    }
    if flags & 2 != 0 {
        // DMA offered, but no DMA pages on the host: the ports are used.
        mock.set_fw_item(0x0001, 3u32.to_le_bytes().to_vec());
    }
    let Ok(fw) = Driver::detect_on(&mock, no_pages) else {
        assert!(flags & 1 != 0, "the QEMU signature was not recognised");
        return;
    };
    let read_so_far = || mock.state.borrow().fw_bytes_read;

    let name = NAMES[usize::from(flags >> 2) % NAMES.len()];
    let before = read_so_far();
    let found = fw.find(name);
    assert!(
        read_so_far() - before <= FW_DIR_MAX_BYTES,
        "directory read unbounded"
    );
    if let Err(FwCfgError::DirectoryTooLarge { count }) = found {
        assert!(count > 4096);
        assert_eq!(
            read_so_far() - before,
            4,
            "entries read past a refused count"
        );
    }
    if let Ok(file) = found {
        if !FW_RESERVED.contains(&file.select) {
            mock.set_fw_item(file.select, contents.to_vec());
        }
        let size = file.size as usize;
        let mut buf = vec![0u8; 4096];
        let before = read_so_far();
        match fw.read_file(file, &mut buf) {
            Ok(n) => assert!(n == size && n <= buf.len()),
            Err(e) => assert!(size > buf.len() && e == FwCfgError::TooLarge { size: file.size }),
        }
        match fw.read_file_vec(file, FW_READ_MAX) {
            Ok(v) => assert!(v.len() == size && size <= FW_READ_MAX),
            Err(e) => assert!(size > FW_READ_MAX && e == FwCfgError::TooLarge { size: file.size }),
        }
        if size <= FW_STREAM_MAX {
            let mut total = 0;
            let streamed = fw.stream_file(file, |piece| {
                assert!(!piece.is_empty() && piece.len() <= 16 * 4096);
                total += piece.len();
            });
            assert!(streamed.is_ok() && total == size);
        }
        // Each read moved exactly the size the directory gave, no byte more.
        let reads = [buf.len(), FW_READ_MAX, FW_STREAM_MAX]
            .iter()
            .filter(|&&max| size <= max)
            .count();
        assert_eq!(read_so_far() - before, reads * size, "file bytes read");
    }
    // The boot path's first fw_cfg parse: `etc/e820` into a memory map.
    let before = read_so_far();
    let _ = crate::memory::e820::read(&fw);
    assert!(read_so_far() - before <= FW_DIR_MAX_BYTES + memory_map::MAX_FILE_LEN);
}

/// The slot the virtio function sits in (bus 0, function 0).
const SLOT: u8 = 3;

/// A virtio model whose structures sit where `input` says in BAR `bar`.
fn virtio_model(input: &mut Input<'_>, bar: usize, queues: usize) -> VirtioModel {
    let mut at = || u64::from(input.u16()) & !3;
    let (common_at, isr_at, device_at, notify_at) = (at(), at(), at(), at());
    VirtioModel {
        bar,
        common_at,
        isr_at,
        device_at,
        notify_at,
        offered: (1 << 32) | (1 << 33) | (1 << 5) | u64::from(input.u32()),
        queue_max: (0..queues).map(|_| input.u16()).collect(),
        queue_notify_off: (0..queues).map(|_| input.u16()).collect(),
        queue_size: vec![0; queues],
        queue_enable: vec![0; queues],
        queue_desc: vec![0; queues],
        queue_device: vec![0; queues],
        queue_msix: vec![0xFFFF; queues],
        msix_vectors: u16::from(input.u8()),
        device_config: input.bytes(8).to_vec(),
        ..VirtioModel::default()
    }
}

/// Every MMIO access lies in the BAR space the kernel assigned from `window`.
fn assert_mmio_inside(mock: &MockPlatform, window: &MmioWindow) {
    let (start, end) = (MmioWindow::Q35.0, window.used_end());
    for access in mock.mmio_log() {
        let last = access.gpa + access.width as u64;
        assert!(
            access.gpa >= start && last <= end,
            "MMIO access at {:#x} outside the assigned BARs {start:#x}..{end:#x}",
            access.gpa
        );
    }
}

/// 256 bytes of configuration space, six BAR registers (le32 writable mask,
/// le32 fixed bits each), then the virtio model (structure offsets in the
/// BAR named by the first byte, features, queue sizes and notify offsets,
/// MSI-X vectors, device configuration) and the driver's queue size.
pub fn pci_capabilities(data: &[u8]) {
    let mut input = Input(data);
    let mut function = PciFunction::new(0, 0);
    let config = input.bytes(256);
    function.config[..config.len()].copy_from_slice(config);
    for bar in &mut function.bars {
        *bar = BarReg {
            wmask: input.u32(),
            fixed: input.u32(),
        };
    }
    let model_bar = usize::from(input.u8() % 6);
    let model = virtio_model(&mut input, model_bar, 2);
    let queue_size = u32::from(input.u16());

    let mock = MockPlatform::new();
    mock.add_pci(SLOT, function.clone());
    mock.state.borrow_mut().virtio = Some(((0, SLOT, 0), model));

    // The capability walk: bounded, inside the device-specific area,
    // dword-aligned, and reporting the id byte at each offset.
    let f = Function::new(&mock, 0, SLOT, 0);
    let caps: Vec<(u8, u8)> = f.capabilities().collect();
    assert!(
        caps.len() <= 48,
        "capability walk of {} entries",
        caps.len()
    );
    for &(id, at) in &caps {
        assert!(at >= 0x40 && at % 4 == 0, "capability at {at:#x}");
        assert_eq!(id, function.config[usize::from(at)]);
    }
    let functions = bus0_functions(&mock).count();
    assert!(functions <= 8, "{functions} functions in one slot");

    // The virtio transport from the same capabilities.
    let mut window = MmioWindow::q35();
    let probed = PciTransport::probe(f, &mut window, |start, end| {
        assert!(MmioWindow::Q35.0 <= start && start < end && end <= MmioWindow::Q35.1);
        Ok(())
    });
    assert!(window.used_end() <= MmioWindow::Q35.1);
    let Ok(mut transport) = probed else {
        return;
    };
    transport.set_status(DeviceStatus::empty());
    transport.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    let offered = transport.read_device_features();
    transport.write_driver_features(offered & ((1 << 32) | (1 << 33) | (1 << 5) | (1 << 29)));
    transport
        .set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
    let _ = transport.route_interrupts(0, 0, 0x30);
    for queue in 0..3 {
        let _ = transport.max_queue_size(queue);
        transport.queue_set(queue, queue_size, 0x10_0000, 0x10_1000, 0x10_2000);
        transport.notify(queue);
        let _ = transport.queue_used(queue);
    }
    transport.finish_init();
    let _ = transport.read_config_space::<[u8; 6]>(0);
    let _ = transport.read_config_space::<u16>(6);
    let _ = transport.read_config_space::<u32>(usize::from(input.u8()));
    let _ = transport.ack_interrupt();
    let _ = transport.status_view().driver_features();
    assert_mmio_inside(&mock, &window);
}

/// virtio-net's receive and transmit queues (virtio 1.2, 5.1.2).
const RX: usize = 0;
const TX: usize = 1;
/// A split used ring: le16 flags, le16 idx, `QUEUE_SIZE` (le32 id, le32 len)
/// elements, le16 avail_event (virtio 1.2, 2.7.8).
const USED_RING_LEN: usize = 4 + 8 * QUEUE_SIZE + 2;

/// QEMU's modern virtio-net: one 16 KiB 64-bit BAR 4 with the common
/// (0x0), ISR (0x1000), device (0x2000) and notify (0x3000) structures.
fn virtio_net(offered: u64) -> &'static MockPlatform {
    fn cap(cfg_type: u8, offset: u32, multiplier: Option<u32>) -> Vec<u8> {
        let mut b = vec![
            if multiplier.is_some() { 20 } else { 16 },
            cfg_type,
            4,
            0,
            0,
            0,
        ];
        b.extend_from_slice(&offset.to_le_bytes());
        b.extend_from_slice(&0x1000u32.to_le_bytes());
        if let Some(m) = multiplier {
            b.extend_from_slice(&m.to_le_bytes());
        }
        b
    }
    let mut function = PciFunction::new(0x1AF4, 0x1041);
    [function.bars[4], function.bars[5]] = BarReg::mem64(0x4000);
    function.add_cap(0x40, 0x09, &cap(1, 0x0000, None));
    function.add_cap(0x50, 0x09, &cap(3, 0x1000, None));
    function.add_cap(0x60, 0x09, &cap(4, 0x2000, None));
    function.add_cap(0x70, 0x09, &cap(2, 0x3000, Some(4)));
    let model = VirtioModel {
        bar: 4,
        common_at: 0x0000,
        isr_at: 0x1000,
        device_at: 0x2000,
        notify_at: 0x3000,
        offered,
        queue_max: vec![256, 256],
        queue_notify_off: vec![0, 1],
        queue_size: vec![0, 0],
        queue_enable: vec![0, 0],
        queue_desc: vec![0, 0],
        queue_device: vec![0, 0],
        device_config: vec![0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 1, 0],
        ..VirtioModel::default()
    };
    let mock = MockPlatform::for_this_thread();
    mock.add_pci(SLOT, function);
    mock.state.borrow_mut().virtio = Some(((0, SLOT, 0), model));
    mock
}

/// The device's side of one used ring.
struct UsedRing {
    addr: u64,
    idx: u16,
}

impl UsedRing {
    fn write(&self, offset: usize, bytes: &[u8]) {
        let written = host_hal::device_write(self.addr + offset as u64, bytes);
        assert!(
            written,
            "the used ring at {:#x} is not a live ring",
            self.addr
        );
    }
    fn publish(&mut self, idx: u16) {
        self.idx = idx;
        self.write(2, &idx.to_le_bytes());
    }
}

/// A first byte of extra feature bits offered (bit 0 EVENT_IDX, bit 1
/// INDIRECT_DESC, bit 2 MRG_RXBUF), then operations, one byte each and
/// their arguments: the device publishes a used element (queue, le32 id,
/// le32 len), moves a used index by a le16 step, or writes one byte of a
/// used ring; the stack receives (and may send a reply of a le16 length)
/// or sends one frame of a le16 length.
pub fn virtio_used_ring(data: &[u8]) {
    let _ = used_ring_run(data);
}

/// `virtio_used_ring`, returning how the device broke its rings, if it did.
pub(crate) fn used_ring_run(data: &[u8]) -> Option<RingViolation> {
    let mut input = Input(data);
    let extra = input.u8();
    let mut offered = (1 << 32) | (1 << 33) | (1 << 5);
    for (bit, feature) in [(0, 29), (1, 28), (2, 15)] {
        if extra & (1 << bit) != 0 {
            offered |= 1u64 << feature;
        }
    }
    let mock = virtio_net(offered);
    let mut window = MmioWindow::q35();
    let transport =
        PciTransport::probe(Function::new(mock, 0, SLOT, 0), &mut window, |_, _| Ok(()));
    let transport = transport.expect("a well-formed virtio-net is found");
    let mut net = HostNet::<HostHal, _>::start(transport).expect("a well-formed virtio-net starts");
    let devices = mock
        .state
        .borrow()
        .virtio
        .as_ref()
        .map(|(_, m)| m.queue_device.clone())
        .unwrap_or_default();
    let mut rings = [RX, TX].map(|q| UsedRing {
        addr: devices.get(q).copied().unwrap_or(0),
        idx: 0,
    });
    let now = Instant::from_millis(0);
    for _ in 0..4096 {
        if input.is_empty() {
            break;
        }
        match input.u8() % 6 {
            0 => {
                let ring = &mut rings[usize::from(input.u8() & 1)];
                let (id, len) = (input.u32(), input.u32());
                let slot = usize::from(ring.idx) % QUEUE_SIZE;
                let mut element = id.to_le_bytes().to_vec();
                element.extend_from_slice(&len.to_le_bytes());
                ring.write(4 + 8 * slot, &element);
                ring.publish(ring.idx.wrapping_add(1));
            }
            1 => {
                let ring = &mut rings[usize::from(input.u8() & 1)];
                let step = input.u16();
                ring.publish(ring.idx.wrapping_add(step));
            }
            2 => {
                let ring = &rings[usize::from(input.u8() & 1)];
                let at = usize::from(input.u16()) % USED_RING_LEN;
                ring.write(at, &[input.u8()]);
            }
            3 | 4 => {
                let reply = usize::from(input.u16() % 2048);
                if let Some((rx, tx)) = net.receive(now) {
                    let len = rx.consume(|frame| frame.len());
                    assert!(len <= MAX_FRAME, "a received frame of {len} bytes");
                    if reply != 0 {
                        tx.consume(reply, |buf| buf.fill(0xA5));
                    }
                }
            }
            _ => {
                let len = usize::from(input.u16() % 2048);
                if let Some(tx) = net.transmit(now) {
                    tx.consume(len, |buf| buf.fill(0x5A));
                }
            }
        }
        // Whatever the device did, every receive buffer is posted again.
        assert_eq!(net.rx_posted(), QUEUE_SIZE, "receive buffers lost");
        if net.broken().is_some() {
            // Broken is final: no used entry is taken again, nothing wakes the
            // idle loop, no frame moves.
            assert!(!net.has_received(), "a broken device reports a frame");
            assert!(net.receive(now).is_none(), "a broken device receives");
            assert!(net.transmit(now).is_none(), "a broken device sends");
        }
    }
    let stats = net.counters();
    assert!(stats.rx_bytes <= stats.rx_packets * MAX_FRAME as u64);
    let broken = net.broken();
    drop(net);
    assert_mmio_inside(mock, &window);
    broken
}

#[cfg(test)]
mod tests;
