//! virtio-pci (modern, virtio 1.x) transport for the `virtio-drivers` crate.
//!
//! The crate's own PCI transport dereferences BAR memory through pointers,
//! which would raise #VC under SEV-SNP. This one finds the same structures
//! (common, notify, ISR and device configuration) through the PCI capability
//! list and reaches every register through an `MmioRegion` on a
//! `PlatformIo`: plain volatile accesses natively, GHCB MMIO calls under
//! SNP, a mock device in the host tests (`transport/tests.rs`). No BAR
//! address is ever handed to the crate.
//!
//! Everything the device reports (capabilities, BAR sizes, notify offsets,
//! queue sizes) is untrusted: a value that would put a register outside its
//! BAR is a typed error when the transport is built, and a queue the device
//! describes impossibly marks the device FAILED instead of being set up.

use crate::pci::{self, Function, MemoryBar, MmioWindow, PciError};
use crate::platform::{HwIo, MmioError, MmioRegion, PlatformIo};
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{Error as VirtioError, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

pub const VIRTIO_VENDOR_ID: u16 = 0x1AF4;
/// Modern (non-transitional) virtio devices are 0x1040 + device type.
const MODERN_DEVICE_ID_BASE: u16 = 0x1040;

/// Device-independent feature bits (virtio 1.2, 6).
pub const F_VERSION_1: u64 = 1 << 32;
pub const F_ACCESS_PLATFORM: u64 = 1 << 33;
/// VIRTIO_F_EVENT_IDX (virtio 1.2, 6): the rings carry used_event/avail_event.
pub const F_EVENT_IDX: u64 = 1 << 29;

// virtio_pci_cap (virtio 1.2, 4.1.4): cap_vndr, cap_next, cap_len,
// cfg_type, bar, id, padding[2], le32 offset, le32 length; the notify
// capability adds le32 notify_off_multiplier.
const PCI_CAP_VENDOR: u8 = 0x09;
const CAP_LEN: usize = 16;
const NOTIFY_CAP_LEN: usize = 20;
const CFG_COMMON: u8 = 1;
const CFG_NOTIFY: u8 = 2;
const CFG_ISR: u8 = 3;
const CFG_DEVICE: u8 = 4;

// virtio_pci_common_cfg field offsets (virtio 1.2, 4.1.4.3).
const DEVICE_FEATURE_SELECT: u64 = 0x00;
const DEVICE_FEATURE: u64 = 0x04;
const DRIVER_FEATURE_SELECT: u64 = 0x08;
const DRIVER_FEATURE: u64 = 0x0C;
const DEVICE_STATUS: u64 = 0x14;
const CONFIG_GENERATION: u64 = 0x15;
const QUEUE_SELECT: u64 = 0x16;
const QUEUE_SIZE: u64 = 0x18;
const QUEUE_ENABLE: u64 = 0x1C;
const QUEUE_NOTIFY_OFF: u64 = 0x1E;
const QUEUE_DESC: u64 = 0x20;
const QUEUE_DRIVER: u64 = 0x28;
const QUEUE_DEVICE: u64 = 0x30;
const QUEUE_MSIX_VECTOR: u64 = 0x1A;
const COMMON_CFG_LEN: u64 = 0x38;
/// "No interrupt" in the MSI-X vector fields (4.1.4.3).
const NO_VECTOR: u16 = 0xFFFF;

// MSI-X (PCI 3.0, 6.8.2): capability id, Message Control (table size - 1
// in bits 10:0, function mask, enable), table BIR and offset; 16-byte
// table entries: address low, address high, data, vector control.
const PCI_CAP_MSIX: u8 = 0x11;
const MSIX_ENABLE: u16 = 1 << 15;
const MSIX_FUNCTION_MASK: u16 = 1 << 14;
const MSIX_ENTRY_LEN: u64 = 16;
/// The x86 MSI address window; the destination APIC ID goes in bits 19:12.
const MSI_ADDRESS: u32 = 0xFEE0_0000;
/// Queues whose notify address is cached (virtio-net uses 2, 3 with control).
const MAX_CACHED_QUEUES: usize = 8;

#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum TransportError {
    /// Not a modern virtio-pci function.
    #[error("PCI {vendor:04x}:{device:04x} is not a modern virtio device")]
    NotModernVirtio { vendor: u16, device: u16 },
    /// A virtio device id the crate does not know.
    #[error("unknown virtio device type {0}")]
    UnknownDeviceType(u16),
    /// A required virtio capability is missing.
    #[error("virtio capability missing: {0}")]
    MissingCapability(&'static str),
    /// A capability points outside its BAR or at an unassigned BAR, or is
    /// too small for its structure.
    #[error("virtio capability type {cfg_type} out of bounds (BAR{bar} +{offset:#x}, {length:#x} bytes)")]
    BadCapability {
        cfg_type: u8,
        bar: u8,
        offset: u32,
        length: u32,
    },
    /// A capability shorter than its structure, or one running past the
    /// 256-byte configuration space.
    #[error("virtio capability at {at:#x} too short ({len} bytes)")]
    ShortCapability { at: u8, len: u8 },
    #[error("PCI: {0}")]
    Pci(PciError),
    #[error("paging: {0}")]
    Paging(crate::paging::PagingError),
    /// The function has no usable MSI-X table (missing, empty, or outside
    /// its BAR).
    #[error("no usable MSI-X table")]
    NoMsix,
    /// An APIC ID an MSI message cannot name (over 255).
    #[error("APIC ID {0} cannot receive MSI")]
    MsiDestination(u32),
}

/// The first modern virtio function of `device_type` on bus 0.
pub(crate) fn find<I: PlatformIo + Copy>(io: I, device_type: DeviceType) -> Option<Function<I>> {
    let id = MODERN_DEVICE_ID_BASE + device_type as u16;
    pci::bus0_functions(io).find(|f| f.vendor_id() == VIRTIO_VENDOR_ID && f.device_id() == id)
}

/// The whole of an assigned memory BAR as device memory.
fn bar_region<I: PlatformIo>(io: I, bar: MemoryBar) -> MmioRegion<I> {
    // SAFETY: `bar` was placed by `pci::assign_memory_bars` inside an `MmioWindow`, whose (unsafe) constructor promised device address space disjoint from RAM (in the guest the q35 PCI hole, kept apart from RAM by the memory plan); BARs get disjoint whole pages of it, identity-mapped uncached by `PciTransport::new` before this runs, and the transport built from this function is their only user.
    unsafe { MmioRegion::new(io, bar.base, bar.size) }
}

/// One virtio structure as its capability describes it.
struct CapInfo {
    cfg_type: u8,
    bar: u8,
    offset: u32,
    length: u32,
    multiplier: u32,
}

/// Reads the virtio capability at config offset `at`, refusing one too
/// short for its structure or running off the configuration space. `None`
/// for capability types the transport does not use.
fn read_cap<I: PlatformIo>(f: &Function<I>, at: u8) -> Result<Option<CapInfo>, TransportError> {
    let short = TransportError::ShortCapability {
        at,
        len: f.read8(at.saturating_add(2)),
    };
    if usize::from(at) + CAP_LEN > 256 {
        return Err(short);
    }
    let cap_len = usize::from(f.read8(at + 2));
    let cfg_type = f.read8(at + 3);
    let need = match cfg_type {
        CFG_NOTIFY => NOTIFY_CAP_LEN,
        CFG_COMMON | CFG_ISR | CFG_DEVICE => CAP_LEN,
        _ => return Ok(None), // PCI config access and shared memory: unused
    };
    if cap_len < need || usize::from(at) + need > 256 {
        return Err(short);
    }
    Ok(Some(CapInfo {
        cfg_type,
        bar: f.read8(at + 4),
        offset: f.read32(at + 8),
        length: f.read32(at + 12),
        multiplier: if cfg_type == CFG_NOTIFY {
            f.read32(at + 16)
        } else {
            0
        },
    }))
}

/// The virtio structures of a function, each cut from its BAR.
struct Structures<I: PlatformIo> {
    common: MmioRegion<I>,
    notify: MmioRegion<I>,
    notify_multiplier: u32,
    isr: MmioRegion<I>,
    device_cfg: Option<MmioRegion<I>>,
    /// The MSI-X capability's offset and its table's first entry.
    msix: Option<(u8, MmioRegion<I>)>,
}

/// The first entry of the function's MSI-X table, when the capability at
/// `at` describes one inside an assigned BAR.
fn msix_entry<I: PlatformIo + Copy>(
    f: &Function<I>,
    at: u8,
    bars: &[Option<MemoryBar>; 6],
) -> Option<MmioRegion<I>> {
    if usize::from(at) + 8 > 256 {
        return None;
    }
    let table = f.read32(at + 4);
    let bar = bars.get((table & 7) as usize).copied().flatten()?;
    bar_region(f.io(), bar)
        .subregion(u64::from(table & !7), MSIX_ENTRY_LEN)
        .ok()
}

fn find_structures<I: PlatformIo + Copy>(
    f: &Function<I>,
    io: I,
    bars: &[Option<MemoryBar>; 6],
) -> Result<Structures<I>, TransportError> {
    let mut common = None;
    let mut notify = None;
    let mut isr = None;
    let mut device_cfg = None;
    let mut msix = None;
    for (id, at) in f.capabilities() {
        if id == PCI_CAP_MSIX && msix.is_none() {
            msix = msix_entry(f, at, bars).map(|entry| (at, entry));
        }
        if id != PCI_CAP_VENDOR {
            continue;
        }
        let Some(cap) = read_cap(f, at)? else {
            continue;
        };
        let slot = match cap.cfg_type {
            CFG_COMMON => &mut common,
            CFG_NOTIFY => &mut notify,
            CFG_ISR => &mut isr,
            _ => &mut device_cfg,
        };
        if slot.is_some() {
            continue; // the first of each type is the one to use (4.1.4.1)
        }
        let bad = TransportError::BadCapability {
            cfg_type: cap.cfg_type,
            bar: cap.bar,
            offset: cap.offset,
            length: cap.length,
        };
        let bar = bars
            .get(usize::from(cap.bar))
            .copied()
            .flatten()
            .ok_or(bad)?;
        let region = bar_region(io, bar)
            .subregion(u64::from(cap.offset), u64::from(cap.length))
            .map_err(|_: MmioError| bad)?;
        *slot = Some((region, cap.multiplier, bad));
    }
    let (common, _, bad) =
        common.ok_or(TransportError::MissingCapability("common configuration"))?;
    if common.size() < COMMON_CFG_LEN {
        return Err(bad);
    }
    let (notify, notify_multiplier, bad) =
        notify.ok_or(TransportError::MissingCapability("notification"))?;
    if notify.size() < 2 {
        return Err(bad);
    }
    let (isr, _, bad) = isr.ok_or(TransportError::MissingCapability("ISR status"))?;
    if isr.size() == 0 {
        return Err(bad);
    }
    Ok(Structures {
        common,
        notify,
        notify_multiplier,
        isr,
        device_cfg: device_cfg.map(|(r, _, _)| r),
        msix,
    })
}

pub(crate) struct PciTransport<I: PlatformIo + Copy = HwIo> {
    device_type: DeviceType,
    common: MmioRegion<I>,
    notify: MmioRegion<I>,
    notify_multiplier: u32,
    /// Notify register offset per queue, read once when the queue is set up.
    notify_offsets: [Option<u64>; MAX_CACHED_QUEUES],
    /// Ring addresses per queue, for notification suppression.
    rings: [Option<RingState>; MAX_CACHED_QUEUES],
    /// VIRTIO_F_EVENT_IDX was accepted.
    event_idx: bool,
    isr: MmioRegion<I>,
    device_cfg: Option<MmioRegion<I>>,
    /// The function (for the MSI-X capability) and that capability.
    function: Function<I>,
    msix: Option<(u8, MmioRegion<I>)>,
    /// The queue whose interrupts go to MSI-X entry 0, set at queue set-up.
    interrupt_queue: Option<u16>,
    device_features: u64,
    /// The device refused our features or described a queue impossibly: it
    /// is marked FAILED and never told DRIVER_OK.
    failed: bool,
}

impl PciTransport {
    /// Assigns the function's BARs from `window`, maps them uncached in the
    /// kernel's map, finds the virtio structures and enables memory decoding
    /// and bus mastering. The device is not reset here;
    /// `Transport::begin_init` does.
    pub(crate) fn new(function: Function, window: &mut MmioWindow) -> Result<Self, TransportError> {
        Self::probe(function, window, |start, end| {
            crate::paging::set_uncached(start, end).map_err(TransportError::Paging)
        })
    }
}

impl<I: PlatformIo + Copy> PciTransport<I> {
    /// `new` on any platform; `map_uncached(start, end)` prepares the BARs'
    /// address range before any register is touched.
    pub(crate) fn probe(
        function: Function<I>,
        window: &mut MmioWindow,
        map_uncached: impl FnOnce(u64, u64) -> Result<(), TransportError>,
    ) -> Result<Self, TransportError> {
        let vendor = function.vendor_id();
        let device = function.device_id();
        if vendor != VIRTIO_VENDOR_ID || !(0x1040..=0x107F).contains(&device) {
            return Err(TransportError::NotModernVirtio { vendor, device });
        }
        let device_type = DeviceType::try_from(device - MODERN_DEVICE_ID_BASE)
            .map_err(|_| TransportError::UnknownDeviceType(device - MODERN_DEVICE_ID_BASE))?;

        let first = window.used_end();
        let bars = pci::assign_memory_bars(&function, window).map_err(TransportError::Pci)?;
        if window.used_end() > first {
            map_uncached(first, window.used_end())?;
        }
        let found = find_structures(&function, function.io(), &bars)?;

        function.set_command(function.command() | pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER);
        Ok(PciTransport {
            device_type,
            common: found.common,
            notify: found.notify,
            notify_multiplier: found.notify_multiplier,
            notify_offsets: [None; MAX_CACHED_QUEUES],
            rings: [None; MAX_CACHED_QUEUES],
            event_idx: false,
            isr: found.isr,
            device_cfg: found.device_cfg,
            function,
            msix: found.msix,
            interrupt_queue: None,
            device_features: 0,
            failed: false,
        })
    }

    /// Sends the interrupts of `queue` as MSI-X message 0 to `vector` on the
    /// APIC `destination` (physical mode, fixed delivery); other queues get
    /// NO_VECTOR, and configuration changes keep it (their reset value).
    /// Takes effect when the driver sets the queue up (`queue_set`), after
    /// the reset that clears vector assignments; `StatusView::queue_vector`
    /// tells whether the device took it.
    pub(crate) fn route_interrupts(
        &mut self,
        queue: u16,
        destination: u32,
        vector: u8,
    ) -> Result<(), TransportError> {
        let (at, entry) = self.msix.as_ref().ok_or(TransportError::NoMsix)?;
        if destination > 0xFF {
            return Err(TransportError::MsiDestination(destination));
        }
        let fields = [MSI_ADDRESS | (destination << 12), 0, u32::from(vector), 0];
        for (i, value) in fields.into_iter().enumerate() {
            entry
                .write32(4 * i as u64, value)
                .map_err(|_| TransportError::NoMsix)?;
        }
        let control = self.function.read16(at + 2);
        self.function
            .write16(at + 2, (control | MSIX_ENABLE) & !MSIX_FUNCTION_MASK);
        self.interrupt_queue = Some(queue);
        Ok(())
    }

    /// A read-only view of the status and the accepted features, which stays
    /// usable after the transport has moved into a driver.
    pub(crate) fn status_view(&self) -> StatusView<I> {
        StatusView {
            common: self.common.subregion(0, COMMON_CFG_LEN).ok(),
        }
    }

    /// The device broke a rule: mark it FAILED (virtio 1.2, 3.1.1) and stop
    /// setting it up.
    fn fail(&mut self, why: &str) {
        log::warn!("virtio: {why}; device marked FAILED");
        self.failed = true;
        self.write8(DEVICE_STATUS, DeviceStatus::FAILED.bits() as u8);
    }

    /// The notify register offset of `queue`, from its device-reported
    /// offset and the multiplier; `None` when that lies outside the notify
    /// region (the product of two device values cannot overflow 64 bits,
    /// but is checked anyway).
    fn notify_offset(&self, queue: u16) -> Option<u64> {
        self.queue_select(queue);
        let off = u64::from(self.read16(QUEUE_NOTIFY_OFF));
        let at = off.checked_mul(u64::from(self.notify_multiplier))?;
        (at.checked_add(2)? <= self.notify.size()).then_some(at)
    }

    fn queue_select(&self, queue: u16) {
        self.write16(QUEUE_SELECT, queue);
    }

    fn write64(&self, offset: u64, value: u64) {
        // 64-bit fields may be written as two 32-bit halves (4.1.3.1).
        self.write32(offset, value as u32);
        self.write32(offset + 4, (value >> 32) as u32);
    }

    // Common-configuration accesses. The region was checked to hold the
    // whole structure when the transport was built, so these cannot fail;
    // if one did, it reads as 0 and writes nothing.
    fn read8(&self, offset: u64) -> u8 {
        self.common.read8(offset).unwrap_or(0)
    }
    fn read16(&self, offset: u64) -> u16 {
        self.common.read16(offset).unwrap_or(0)
    }
    fn write8(&self, offset: u64, value: u8) {
        let _ = self.common.write8(offset, value);
    }
    fn write16(&self, offset: u64, value: u16) {
        let _ = self.common.write16(offset, value);
    }
    fn write32(&self, offset: u64, value: u32) {
        let _ = self.common.write32(offset, value);
    }
}

/// Where a split virtqueue's rings are, and the available index at the
/// last notification decision.
#[derive(Clone, Copy, Debug)]
struct RingState {
    /// `idx` of the available ring (virtio 1.2, 2.7.6: flags, idx, ring).
    avail_idx: u64,
    /// `avail_event` of the used ring: after flags, idx and `size`
    /// 8-byte elements (2.7.8).
    avail_event: u64,
    /// Available index when the driver last decided whether to notify.
    old_idx: u16,
}

/// The driver must notify iff the device's event index lies in the entries
/// published since the last decision (virtio 1.2, 2.7.10;
/// `vring_need_event`): `new - event - 1 < new - old`, modulo 2^16.
pub fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

impl<I: PlatformIo + Copy> PciTransport<I> {
    /// With VIRTIO_F_EVENT_IDX, whether the device asked to be notified of
    /// the entries added since the last decision (its avail_event). The
    /// driver crate calls `notify` whenever the available index has passed
    /// avail_event at all, also when the device was already told about that
    /// entry; this is the spec's exact rule. Without EVENT_IDX the crate
    /// already honours VIRTQ_USED_F_NO_NOTIFY (2.7.7). Anything unreadable:
    /// notify.
    fn device_wants_notify(&mut self, queue: u16) -> bool {
        if !self.event_idx {
            return true;
        }
        let Some(ring) = self
            .rings
            .get_mut(usize::from(queue))
            .and_then(Option::as_mut)
        else {
            return true;
        };
        // The new index must be visible before avail_event is read (the
        // device orders the other way round): a full fence, as Linux's
        // virtio_mb before vring_need_event.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let (Some(new), Some(event)) = (
            crate::virtio::hal::read_ring_u16(ring.avail_idx),
            crate::virtio::hal::read_ring_u16(ring.avail_event),
        ) else {
            return true;
        };
        let old = core::mem::replace(&mut ring.old_idx, new);
        need_event(event, new, old)
    }
}

/// Device status and accepted features, read from the common configuration.
pub(crate) struct StatusView<I: PlatformIo = HwIo> {
    /// `None` only if the common region could not be cut again (it can).
    common: Option<MmioRegion<I>>,
}

impl<I: PlatformIo + Clone> StatusView<I> {
    pub(crate) fn status(&self) -> DeviceStatus {
        let status = self
            .common
            .as_ref()
            .and_then(|c| c.read8(DEVICE_STATUS).ok());
        // Unreadable: report the device as failed.
        DeviceStatus::from_bits_truncate(u32::from(status.unwrap_or(0x80)))
    }

    /// The MSI-X vector of `queue` (NO_VECTOR when the device could not map
    /// the one the driver wrote, 4.1.4.3). Selects the queue.
    pub(crate) fn queue_vector(&self, queue: u16) -> u16 {
        let Some(common) = self.common.as_ref() else {
            return NO_VECTOR;
        };
        let _ = common.write16(QUEUE_SELECT, queue);
        common.read16(QUEUE_MSIX_VECTOR).unwrap_or(NO_VECTOR)
    }

    /// Feature bits the driver wrote (the register reads back as written).
    pub(crate) fn driver_features(&self) -> u64 {
        let read = |c: &MmioRegion<I>| read_features(c, DRIVER_FEATURE_SELECT, DRIVER_FEATURE);
        self.common.as_ref().map_or(0, read)
    }
}

/// A 64-bit feature register of the common configuration, read as two
/// 32-bit halves chosen through its select register (4.1.4.3).
fn read_features<I: PlatformIo>(common: &MmioRegion<I>, select: u64, value: u64) -> u64 {
    let half = |n: u32| {
        let _ = common.write32(select, n);
        u64::from(common.read32(value).unwrap_or(0))
    };
    half(0) | (half(1) << 32)
}

impl<I: PlatformIo + Copy> Transport for PciTransport<I> {
    fn device_type(&self) -> DeviceType {
        self.device_type
    }

    /// With interrupts routed, EVENT_IDX is hidden from the driver: the
    /// driver crate then turns the routed queue's interrupts on and off with
    /// the ring's NO_INTERRUPT flag, which the kernel does around each halt
    /// (with EVENT_IDX the crate re-arms them at every received frame).
    fn read_device_features(&mut self) -> u64 {
        self.device_features = read_features(&self.common, DEVICE_FEATURE_SELECT, DEVICE_FEATURE);
        if self.interrupt_queue.is_some() {
            self.device_features &= !F_EVENT_IDX;
        }
        self.device_features
    }

    /// The device drivers of `virtio-drivers` do not know ACCESS_PLATFORM
    /// (their feature types drop bit 33), so it is added here whenever the
    /// device offers it: the device must then treat ring and buffer addresses
    /// as platform DMA addresses, which is what the shared bounce pool gives
    /// it. Without it an SNP host could expect direct guest memory access.
    fn write_driver_features(&mut self, driver_features: u64) {
        let features = driver_features | (self.device_features & F_ACCESS_PLATFORM);
        self.event_idx = features & F_EVENT_IDX != 0;
        self.write32(DRIVER_FEATURE_SELECT, 0);
        self.write32(DRIVER_FEATURE, features as u32);
        self.write32(DRIVER_FEATURE_SELECT, 1);
        self.write32(DRIVER_FEATURE, (features >> 32) as u32);
    }

    /// The size the device offers, when it is a usable split-queue size (a
    /// power of two, virtio 1.2, 2.7); 0 (unavailable) otherwise.
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.queue_select(queue);
        let offered = self.read16(QUEUE_SIZE);
        if offered.is_power_of_two() {
            u32::from(offered)
        } else {
            0
        }
    }

    fn notify(&mut self, queue: u16) {
        if !self.device_wants_notify(queue) {
            return;
        }
        let cached = self
            .notify_offsets
            .get(usize::from(queue))
            .copied()
            .flatten();
        match cached.or_else(|| self.notify_offset(queue)) {
            Some(at) => {
                let _ = self.notify.write16(at, queue);
            }
            None => log::warn!("virtio: queue {queue} notify offset outside the notify region"),
        }
    }

    fn get_status(&self) -> DeviceStatus {
        let status = self.read8(DEVICE_STATUS);
        DeviceStatus::from_bits_truncate(u32::from(status))
    }

    /// A device that clears FEATURES_OK after the driver set it does not
    /// accept the features (virtio 1.2, 3.1.1): it is marked FAILED, and a
    /// failed device is never set DRIVER_OK.
    fn set_status(&mut self, status: DeviceStatus) {
        if self.failed && !status.is_empty() {
            self.write8(DEVICE_STATUS, DeviceStatus::FAILED.bits() as u8);
            return;
        }
        if status.is_empty() {
            self.failed = false;
        }
        self.write8(DEVICE_STATUS, status.bits() as u8);
        if status.contains(DeviceStatus::FEATURES_OK)
            && !self.get_status().contains(DeviceStatus::FEATURES_OK)
        {
            self.fail("device refused FEATURES_OK");
        }
    }

    fn set_guest_page_size(&mut self, _guest_page_size: u32) {
        // Legacy-only register; modern devices have none.
    }

    fn requires_legacy_layout(&self) -> bool {
        false
    }

    /// Programs the queue only if its size is one the device offered and a
    /// split queue may have, and its notify register lies in the notify
    /// region; otherwise the device is marked FAILED.
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        if self.failed {
            return;
        }
        let offered = self.max_queue_size(queue);
        if size == 0 || !size.is_power_of_two() || size > offered {
            self.fail("queue size not offered by the device");
            return;
        }
        let Some(notify_at) = self.notify_offset(queue) else {
            self.fail("queue notify offset outside the notify region");
            return;
        };
        self.queue_select(queue);
        self.write16(QUEUE_SIZE, size as u16);
        self.write64(QUEUE_DESC, descriptors);
        self.write64(QUEUE_DRIVER, driver_area);
        self.write64(QUEUE_DEVICE, device_area);
        let vector = if self.interrupt_queue == Some(queue) {
            0
        } else {
            NO_VECTOR
        };
        self.write16(QUEUE_MSIX_VECTOR, vector);
        self.write16(QUEUE_ENABLE, 1);
        if let Some(slot) = self.notify_offsets.get_mut(usize::from(queue)) {
            *slot = Some(notify_at);
        }
        if let Some(slot) = self.rings.get_mut(usize::from(queue)) {
            *slot = Some(RingState {
                avail_idx: driver_area + 2,
                avail_event: device_area + 4 + 8 * u64::from(size),
                old_idx: 0,
            });
        }
    }

    /// Modern virtio-pci cannot disable one queue without VIRTIO_F_RING_RESET;
    /// the drivers call this only when they are dropped, so the whole device
    /// is reset and stops using every ring.
    fn queue_unset(&mut self, _queue: u16) {
        self.write8(DEVICE_STATUS, 0);
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.queue_select(queue);
        self.read16(QUEUE_ENABLE) == 1
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        // Reading the ISR byte clears it (4.1.4.5).
        InterruptStatus::from_bits_retain(u32::from(self.isr.read8(0).unwrap_or(0)))
    }

    fn read_config_generation(&self) -> u32 {
        u32::from(self.read8(CONFIG_GENERATION))
    }

    fn read_config_space<T: FromBytes + IntoBytes>(&self, offset: usize) -> Result<T, VirtioError> {
        let region = self
            .device_cfg
            .as_ref()
            .ok_or(VirtioError::ConfigSpaceMissing)?;
        let size = core::mem::size_of::<T>();
        let too_small = |_: MmioError| VirtioError::ConfigSpaceTooSmall;
        let at = offset as u64;
        // Refuse before any access: a partial read is never returned.
        region.subregion(at, size as u64).map_err(too_small)?;
        let mut bytes = [0u8; 16];
        let buf = bytes.get_mut(..size).ok_or(VirtioError::InvalidParam)?;
        // Natural-width accesses for scalar fields (4.1.3.1); byte arrays byte by byte.
        match (size, region.base().wrapping_add(at) % size.max(1) as u64) {
            (2, 0) => buf.copy_from_slice(&region.read16(at).map_err(too_small)?.to_le_bytes()),
            (4, 0) => buf.copy_from_slice(&region.read32(at).map_err(too_small)?.to_le_bytes()),
            (8, 0) => {
                buf[..4].copy_from_slice(&region.read32(at).map_err(too_small)?.to_le_bytes());
                buf[4..].copy_from_slice(&region.read32(at + 4).map_err(too_small)?.to_le_bytes());
            }
            _ => {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = region.read8(at + i as u64).map_err(too_small)?;
                }
            }
        }
        T::read_from_bytes(buf).map_err(|_| VirtioError::InvalidParam)
    }

    /// The kernel's only driver (virtio-net) never writes its device
    /// configuration, so nothing may: refused without touching the device.
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        _offset: usize,
        _value: T,
    ) -> Result<(), VirtioError> {
        Err(VirtioError::Unsupported)
    }
}

#[cfg(test)]
mod tests;
