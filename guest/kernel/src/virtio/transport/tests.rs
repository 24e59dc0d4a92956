//! The virtio-pci transport against a mock device that breaks the rules of
//! virtio 1.2 §4.1 (layouts and bits written here as literals).

use super::need_event;

#[test]
fn notify_only_when_the_event_index_was_published_since_the_last_decision() {
    // (event, new, old) -> must notify; virtio 1.2 2.7.10 / vring_need_event.
    assert!(need_event(0, 1, 0)); // first entry, event 0
    assert!(need_event(7, 10, 6)); // event among entries 6..10
    assert!(need_event(6, 10, 6));
    assert!(!need_event(5, 10, 6)); // already told about entry 5
    assert!(!need_event(10, 10, 6)); // device waits for entry 10: not yet
    assert!(!need_event(6, 6, 6)); // nothing new
                                   // Across the 16-bit wrap.
    assert!(need_event(0xFFFF, 2, 0xFFFE));
    assert!(need_event(1, 2, 0xFFFE));
    assert!(!need_event(0xFFFE, 3, 0xFFFF));
}

use super::{PciTransport, TransportError, F_ACCESS_PLATFORM, F_EVENT_IDX, F_VERSION_1};
use crate::pci::{Function, MmioWindow};
use crate::platform::mock::{BarReg, MmioAccess, MockPlatform, PciFunction, VirtioModel};
use std::vec::Vec;
use virtio_drivers::transport::{DeviceStatus, Transport};
use virtio_drivers::Error as VirtioError;

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
// QEMU's modern virtio-pci layout: one 16 KiB 64-bit BAR 4 holding common
// (0x0), ISR (0x1000), device (0x2000) and notify (0x3000) structures,
// 0x1000 bytes each, notify_off_multiplier 4.
const BAR: u8 = 4;

/// virtio_pci_cap bytes after cap_vndr/cap_next: cap_len, cfg_type, bar,
/// id, padding[2], le32 offset, le32 length (and le32 multiplier).
fn cap(cfg_type: u8, bar: u8, offset: u32, length: u32, multiplier: Option<u32>) -> Vec<u8> {
    let cap_len = if multiplier.is_some() { 20 } else { 16 };
    let mut b = vec![cap_len, cfg_type, bar, 0, 0, 0];
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&length.to_le_bytes());
    if let Some(m) = multiplier {
        b.extend_from_slice(&m.to_le_bytes());
    }
    b
}

struct Device {
    function: PciFunction,
    model: VirtioModel,
}

/// A well-formed virtio-net (0x1AF4:0x1041) at 00:03.0; tests break it.
fn device() -> Device {
    let mut function = PciFunction::new(0x1AF4, 0x1041);
    [function.bars[4], function.bars[5]] = BarReg::mem64(0x4000);
    function.add_cap(0x40, 0x09, &cap(1, BAR, 0x0000, 0x1000, None));
    function.add_cap(0x50, 0x09, &cap(3, BAR, 0x1000, 0x1000, None));
    function.add_cap(0x60, 0x09, &cap(4, BAR, 0x2000, 0x1000, None));
    function.add_cap(0x70, 0x09, &cap(2, BAR, 0x3000, 0x1000, Some(4)));
    let model = VirtioModel {
        bar: usize::from(BAR),
        common_at: 0x0000,
        isr_at: 0x1000,
        device_at: 0x2000,
        notify_at: 0x3000,
        // VERSION_1 (32), ACCESS_PLATFORM (33), VIRTIO_NET_F_MAC (5).
        offered: (1 << 32) | (1 << 33) | (1 << 5),
        queue_max: vec![256, 256],
        queue_notify_off: vec![0, 1],
        queue_size: vec![0, 0],
        queue_enable: vec![0, 0],
        queue_desc: vec![0, 0],
        device_config: MAC.to_vec(),
        ..VirtioModel::default()
    };
    Device { function, model }
}

fn install(d: Device) -> MockPlatform {
    let mock = MockPlatform::new();
    mock.add_pci(3, d.function);
    mock.state.borrow_mut().virtio = Some(((0, 3, 0), d.model));
    mock
}

fn probe(mock: &MockPlatform) -> Result<PciTransport<&MockPlatform>, TransportError> {
    // SAFETY: the mock platform has no RAM; its device memory is a log.
    let mut window = unsafe { MmioWindow::new(0xC000_0000, 0xFEC0_0000) };
    PciTransport::probe(Function::new(mock, 0, 3, 0), &mut window, |_, _| Ok(()))
}

fn model(mock: &MockPlatform) -> VirtioModel {
    mock.state
        .borrow()
        .virtio
        .as_ref()
        .expect("installed")
        .1
        .clone()
}

/// Every MMIO access the driver made lies inside BAR 4 as assigned.
fn assert_all_mmio_inside_the_bar(mock: &MockPlatform) {
    let f = mock.pci(3);
    let (base, size) = (f.bar_base(4), f.bar_size(4));
    assert_ne!(base, 0, "BAR 4 assigned");
    for MmioAccess { gpa, width, .. } in mock.mmio_log() {
        assert!(
            gpa >= base && gpa + width as u64 <= base + size,
            "access at {gpa:#x} outside BAR {base:#x}+{size:#x}"
        );
    }
}

/// The start of virtio 1.2 §3.1.1 as `Transport::begin_init` runs it.
fn negotiate(t: &mut PciTransport<&MockPlatform>, driver_features: u64) {
    t.set_status(DeviceStatus::empty());
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    let offered = t.read_device_features();
    t.write_driver_features(offered & driver_features);
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
}

#[test]
fn well_formed_device_comes_up_and_stays_inside_its_bar() {
    let mock = install(device());
    let mut t = probe(&mock).expect("well-formed device");
    // Decoding and bus mastering on once the structures were found.
    assert_eq!(mock.pci(3).command() & 0b110, 0b110);
    negotiate(&mut t, 1 << 32 | 1 << 5);
    t.queue_set(0, 64, 0x10_0000, 0x10_1000, 0x10_2000);
    t.queue_set(1, 64, 0x11_0000, 0x11_1000, 0x11_2000);
    t.finish_init();
    let m = model(&mock);
    assert_eq!(m.status, 0x0F); // ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
    assert_eq!(
        (m.queue_size.clone(), m.queue_desc.clone()),
        (vec![64, 64], vec![0x10_0000, 0x11_0000])
    );
    assert_eq!(m.queue_enable, vec![1, 1]);
    assert_eq!(t.read_config_space::<[u8; 6]>(0).ok(), Some(MAC));
    t.notify(1);
    // Queue 1's notify register: notify_off 1 times the multiplier 4.
    assert_eq!(model(&mock).notifications, vec![(4, 1)]);
    assert_all_mmio_inside_the_bar(&mock);
}

#[test]
fn capability_past_the_end_of_its_bar_is_refused() {
    // The common structure claims 0x1000 bytes at 0x3800 of a 0x4000 BAR.
    let mut d = device();
    d.function.config[0x40 + 8..0x40 + 12].copy_from_slice(&0x3800u32.to_le_bytes());
    let mock = install(d);
    assert!(matches!(
        probe(&mock),
        Err(TransportError::BadCapability {
            cfg_type: 1,
            bar: 4,
            offset: 0x3800,
            length: 0x1000
        })
    ));
    // An offset that wraps when the length is added.
    let mut d = device();
    d.function.config[0x50 + 8..0x50 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let mock = install(d);
    assert!(matches!(
        probe(&mock),
        Err(TransportError::BadCapability { cfg_type: 3, .. })
    ));
    assert!(mock.mmio_log().is_empty());
}

#[test]
fn capability_naming_an_unassigned_or_missing_bar_is_refused() {
    for bar in [0u8, 5, 6, 0xFF] {
        // BAR 0 is unimplemented, 5 is BAR 4's upper half, 6+ do not exist.
        let mut d = device();
        d.function.config[0x60 + 4] = bar;
        let mock = install(d);
        assert!(
            matches!(
                probe(&mock),
                Err(TransportError::BadCapability { cfg_type: 4, .. })
            ),
            "bar {bar}"
        );
    }
}

#[test]
fn vendor_capability_shorter_than_the_virtio_structure_is_refused() {
    // cap_len 8: the offset and length fields are not part of it.
    let mut d = device();
    d.function.config[0x40 + 2] = 8;
    assert!(matches!(
        probe(&install(d)),
        Err(TransportError::ShortCapability { at: 0x40, len: 8 })
    ));
    // A notify capability without its multiplier (16 of 20 bytes).
    let mut d = device();
    d.function.config[0x70 + 2] = 16;
    assert!(matches!(
        probe(&install(d)),
        Err(TransportError::ShortCapability { at: 0x70, len: 16 })
    ));
}

#[test]
fn capability_running_off_the_configuration_space_is_refused() {
    // A notify capability at 0xF8 would read its fields past byte 255.
    let mut d = device();
    d.function.config[0x70 + 1] = 0xF8;
    d.function.config[0xF8..0x100].copy_from_slice(&[0x09, 0, 20, 2, BAR, 0, 0, 0]);
    assert!(matches!(
        probe(&install(d)),
        Err(TransportError::ShortCapability { at: 0xF8, .. })
    ));
}

#[test]
fn common_structure_too_small_or_missing_is_refused() {
    // 0x30 bytes: the queue address registers at 0x30..0x38 are missing.
    let mut d = device();
    d.function.config[0x40 + 12..0x40 + 16].copy_from_slice(&0x30u32.to_le_bytes());
    assert!(matches!(
        probe(&install(d)),
        Err(TransportError::BadCapability { cfg_type: 1, .. })
    ));
    // No notify capability at all (its type changed to PCI config access).
    let mut d = device();
    d.function.config[0x70 + 3] = 5;
    assert!(matches!(
        probe(&install(d)),
        Err(TransportError::MissingCapability("notification"))
    ));
}

#[test]
fn not_a_modern_virtio_function_is_refused() {
    // A transitional (legacy) virtio-net id, 0x1000.
    let mut d = device();
    d.function.config[2..4].copy_from_slice(&0x1000u16.to_le_bytes());
    assert!(matches!(
        probe(&install(d)),
        Err(TransportError::NotModernVirtio {
            vendor: 0x1AF4,
            device: 0x1000
        })
    ));
}

#[test]
fn notify_offset_beyond_the_notify_region_fails_the_device() {
    // Multiplier 0xFFFF_FFFF: queue 1's register would be 4 GiB - 1 bytes
    // into a 0x1000-byte region. The queue is not set up, the device is
    // FAILED, and no access leaves the BAR.
    let mut d = device();
    d.function.config[0x70 + 16..0x70 + 20].copy_from_slice(&u32::MAX.to_le_bytes());
    let mock = install(d);
    let mut t = probe(&mock).expect("the multiplier is only used per queue");
    negotiate(&mut t, 1 << 32);
    t.queue_set(0, 64, 0x10_0000, 0x10_1000, 0x10_2000); // offset 0: fine
    t.queue_set(1, 64, 0x11_0000, 0x11_1000, 0x11_2000);
    t.finish_init();
    t.notify(1);
    let m = model(&mock);
    assert_eq!(m.queue_desc, vec![0x10_0000, 0]);
    assert_eq!(m.status & 0x80, 0x80, "FAILED");
    assert_eq!(m.status & 0x04, 0, "never DRIVER_OK");
    assert!(m.notifications.is_empty());
    assert_all_mmio_inside_the_bar(&mock);
}

#[test]
fn device_that_refuses_features_ok_is_failed_and_never_set_up() {
    let mut d = device();
    d.model.refuse_features_ok = true;
    let mock = install(d);
    let mut t = probe(&mock).expect("probe");
    negotiate(&mut t, 1 << 32);
    t.queue_set(0, 64, 0x10_0000, 0x10_1000, 0x10_2000);
    t.finish_init();
    let m = model(&mock);
    assert_eq!(m.status, 0x80, "FAILED only: no DRIVER_OK");
    assert_eq!(
        m.queue_desc,
        vec![0, 0],
        "no ring address given to the device"
    );
    assert!(!t.status_view().status().contains(DeviceStatus::DRIVER_OK));
}

#[test]
fn access_platform_is_accepted_whenever_offered_and_never_invented() {
    // The driver crate drops bit 33; the transport adds it back when the
    // device offers it.
    let mock = install(device());
    let mut t = probe(&mock).expect("probe");
    negotiate(&mut t, F_VERSION_1);
    assert_eq!(
        t.status_view().driver_features(),
        F_VERSION_1 | F_ACCESS_PLATFORM
    );
    // A device that does not offer it is not told it was accepted, and one
    // without VERSION_1 is not told VERSION_1 either.
    let mut d = device();
    d.model.offered = 1 << 5;
    let mock = install(d);
    let mut t = probe(&mock).expect("probe");
    negotiate(&mut t, F_VERSION_1 | F_EVENT_IDX);
    assert_eq!(t.status_view().driver_features(), 0);
    assert_eq!(
        t.read_device_features() & (F_VERSION_1 | F_ACCESS_PLATFORM),
        0
    );
}

#[test]
fn impossible_queue_sizes_fail_the_device() {
    // (offered by the device, asked by the driver): offered 0 (queue
    // unavailable), offered 100 (no split-queue size), asked more than
    // offered, asked a size that is not a power of two, asked 0.
    for (offered, asked) in [(0u16, 64u32), (100, 64), (32, 64), (256, 48), (256, 0)] {
        let mut d = device();
        d.model.queue_max = vec![offered, 256];
        let mock = install(d);
        let mut t = probe(&mock).expect("probe");
        negotiate(&mut t, F_VERSION_1);
        if offered == 0 || offered == 100 {
            assert_eq!(t.max_queue_size(0), 0, "offered {offered}: unavailable");
        }
        t.queue_set(0, asked, 0x10_0000, 0x10_1000, 0x10_2000);
        t.finish_init();
        let m = model(&mock);
        assert_eq!(
            m.queue_desc[0], 0,
            "offered {offered}, asked {asked}: not programmed"
        );
        assert_eq!(m.status, 0x80, "offered {offered}, asked {asked}: FAILED");
    }
}

#[test]
fn device_needs_reset_is_visible_to_the_driver() {
    // The device sets DEVICE_NEEDS_RESET (0x40) once running.
    let mut d = device();
    d.model.needs_reset = true;
    let mock = install(d);
    let mut t = probe(&mock).expect("probe");
    negotiate(&mut t, F_VERSION_1);
    t.queue_set(0, 64, 0x10_0000, 0x10_1000, 0x10_2000);
    t.finish_init();
    assert!(t
        .status_view()
        .status()
        .contains(DeviceStatus::DEVICE_NEEDS_RESET));
}

#[test]
fn device_config_reads_past_its_region_are_refused_without_access() {
    // A 4-byte device region: the 6-byte MAC at 0 does not fit.
    let mut d = device();
    d.function.config[0x60 + 12..0x60 + 16].copy_from_slice(&4u32.to_le_bytes());
    let mock = install(d);
    let t = probe(&mock).expect("probe");
    let before = mock.mmio_log().len();
    assert!(matches!(
        t.read_config_space::<[u8; 6]>(0),
        Err(VirtioError::ConfigSpaceTooSmall)
    ));
    assert!(matches!(
        t.read_config_space::<u32>(usize::MAX),
        Err(VirtioError::ConfigSpaceTooSmall)
    ));
    assert_eq!(mock.mmio_log().len(), before);
    assert_eq!(
        t.read_config_space::<u32>(0).ok(),
        Some(u32::from_le_bytes([0x52, 0x54, 0x00, 0x12]))
    );
}

#[test]
fn device_config_writes_are_refused_without_access() {
    let mock = install(device());
    let mut t = probe(&mock).expect("probe");
    let before = mock.mmio_log().len();
    assert!(matches!(
        t.write_config_space(0, 0xABu8),
        Err(VirtioError::Unsupported)
    ));
    assert_eq!(mock.mmio_log().len(), before);
}

/// `device()` with an MSI-X capability (3 vectors) whose table is at
/// `table_offset` in BAR 1 (4 KiB).
fn device_with_msix(table_offset: u32) -> Device {
    let mut d = device();
    d.function.bars[1] = BarReg::mem32(0x1000);
    let mut body = vec![2, 0]; // Message Control: table size 3 (N - 1), disabled
    body.extend_from_slice(&(table_offset | 1).to_le_bytes()); // BIR 1
    body.extend_from_slice(&(0x800u32 | 1).to_le_bytes()); // PBA
    d.function.add_cap(0x90, 0x11, &body);
    d.model.queue_msix = vec![0xFFFF, 0xFFFF];
    d.model.msix_vectors = 3;
    d.model.offered |= F_EVENT_IDX;
    d
}

#[test]
fn msix_routes_the_receive_queue_and_nothing_else() {
    let mock = install(device_with_msix(0x100));
    let mut t = probe(&mock).expect("probe");
    t.route_interrupts(0, 0, 0x41).expect("routed");
    let table = mock.pci(3).bar_base(1) + 0x100;
    let writes: Vec<(u64, u32)> = mock
        .mmio_log()
        .iter()
        .filter_map(|a| a.write.map(|v| (a.gpa, v)))
        .filter(|(gpa, _)| (table..table + 16).contains(gpa))
        .collect();
    // Address (APIC 0), upper address, data (the vector), control (unmasked).
    let expected = [
        (table, 0xFEE0_0000),
        (table + 4, 0),
        (table + 8, 0x41),
        (table + 12, 0),
    ];
    assert_eq!(writes, expected);
    let control = mock.pci(3).read(0x92, 2) as u16;
    assert_eq!(
        control & 0xC000,
        0x8000,
        "MSI-X enabled, function not masked"
    );
    // EVENT_IDX is hidden from the driver, so it suppresses interrupts with
    // the ring flag the kernel toggles around a halt.
    negotiate(&mut t, F_VERSION_1 | F_EVENT_IDX);
    assert_eq!(model(&mock).driver_features & F_EVENT_IDX, 0);
    t.queue_set(0, 64, 0x10_0000, 0x10_1000, 0x10_2000);
    t.queue_set(1, 64, 0x11_0000, 0x11_1000, 0x11_2000);
    assert_eq!(model(&mock).queue_msix, vec![0, 0xFFFF]);
    assert_eq!(t.status_view().queue_vector(0), 0);
}

#[test]
fn msix_that_cannot_be_used_is_refused_or_reported() {
    // No MSI-X capability.
    let mock = install(device());
    let mut t = probe(&mock).expect("probe");
    assert!(matches!(
        t.route_interrupts(0, 0, 0x41),
        Err(TransportError::NoMsix)
    ));
    // A table past the end of its BAR.
    let mock = install(device_with_msix(0xFF8));
    let mut t = probe(&mock).expect("probe");
    assert!(matches!(
        t.route_interrupts(0, 0, 0x41),
        Err(TransportError::NoMsix)
    ));
    // An APIC ID no MSI message can name.
    let mock = install(device_with_msix(0));
    let mut t = probe(&mock).expect("probe");
    assert!(matches!(
        t.route_interrupts(0, 256, 0x41),
        Err(TransportError::MsiDestination(256))
    ));
    // A device that cannot map the vector answers NO_VECTOR: the kernel
    // then polls (`VirtioNet::probe` reads it back).
    let mut d = device_with_msix(0);
    d.model.msix_vectors = 0;
    let mock = install(d);
    let mut t = probe(&mock).expect("probe");
    t.route_interrupts(0, 0, 0x41).expect("routed");
    negotiate(&mut t, F_VERSION_1);
    t.queue_set(0, 64, 0x10_0000, 0x10_1000, 0x10_2000);
    assert_eq!(t.status_view().queue_vector(0), 0xFFFF);
}
