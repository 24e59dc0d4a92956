//! virtio-pci (modern, virtio 1.x) transport for the `virtio-drivers` crate.
//!
//! The crate's own PCI transport dereferences BAR memory through pointers,
//! which would raise #VC under SEV-SNP. This one finds the same structures
//! (common, notify, ISR and device configuration) through the PCI capability
//! list and reads or writes every register through `crate::io::mmio_*`: plain
//! volatile accesses natively, GHCB MMIO calls under SNP. No BAR address is
//! ever handed to the crate.
//!
//! Everything the device reports (capabilities, BAR sizes, notify offsets)
//! is untrusted and bounds-checked before it becomes an address.

use crate::io::{mmio_read16, mmio_read32, mmio_read8, mmio_write16, mmio_write32, mmio_write8};
use crate::pci::{self, Function, MemoryBar, MmioWindow, PciError};
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

// virtio_pci_cap (virtio 1.2, 4.1.4).
const PCI_CAP_VENDOR: u8 = 0x09;
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
const COMMON_CFG_LEN: u32 = 0x38;
/// Queues whose notify address is cached (virtio-net uses 2, 3 with control).
const MAX_CACHED_QUEUES: usize = 8;

#[derive(Debug, Clone, Copy)]
pub enum TransportError {
    /// Not a modern virtio-pci function.
    NotModernVirtio {
        vendor: u16,
        device: u16,
    },
    /// A virtio device id the crate does not know.
    UnknownDeviceType(u16),
    /// A required virtio capability is missing.
    MissingCapability(&'static str),
    /// A capability points outside its BAR or at an unassigned BAR.
    BadCapability {
        cfg_type: u8,
        bar: u8,
        offset: u32,
        length: u32,
    },
    Pci(PciError),
    Paging(crate::paging::PagingError),
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TransportError::NotModernVirtio { vendor, device } => {
                write!(f, "PCI {vendor:04x}:{device:04x} is not a modern virtio device")
            }
            TransportError::UnknownDeviceType(id) => write!(f, "unknown virtio device type {id}"),
            TransportError::MissingCapability(what) => write!(f, "virtio capability missing: {what}"),
            TransportError::BadCapability {
                cfg_type,
                bar,
                offset,
                length,
            } => write!(
                f,
                "virtio capability type {cfg_type} out of bounds (BAR{bar} +{offset:#x}, {length:#x} bytes)"
            ),
            TransportError::Pci(e) => write!(f, "PCI: {e}"),
            TransportError::Paging(e) => write!(f, "paging: {e}"),
        }
    }
}

/// A register block inside a BAR: guest-physical base and length.
#[derive(Clone, Copy, Debug)]
struct Region {
    base: u64,
    len: u32,
}

impl Region {
    /// `base + offset` when `size` bytes there lie inside the region.
    fn at(&self, offset: usize, size: usize) -> Option<u64> {
        let end = offset.checked_add(size)?;
        if end > self.len as usize {
            return None;
        }
        Some(self.base + offset as u64)
    }
}

/// The first modern virtio function of `device_type` on bus 0.
pub fn find(device_type: DeviceType) -> Option<Function> {
    let id = MODERN_DEVICE_ID_BASE + device_type as u16;
    pci::bus0_functions().find(|f| f.vendor_id() == VIRTIO_VENDOR_ID && f.device_id() == id)
}

pub struct PciTransport {
    function: Function,
    device_type: DeviceType,
    common: u64,
    notify: Region,
    notify_multiplier: u32,
    /// Notify register per queue, read once when the queue is set up.
    notify_addrs: [Option<u64>; MAX_CACHED_QUEUES],
    /// Ring addresses per queue, for notification suppression.
    rings: [Option<RingState>; MAX_CACHED_QUEUES],
    /// VIRTIO_F_EVENT_IDX was accepted.
    event_idx: bool,
    isr: u64,
    device_cfg: Option<Region>,
    device_features: u64,
}

impl PciTransport {
    /// Assigns the function's BARs from `window` (uncached in the kernel's
    /// map), finds the virtio structures and enables memory decoding and bus
    /// mastering. The device is not reset here; `Transport::begin_init` does.
    pub fn new(function: Function, window: &mut MmioWindow) -> Result<Self, TransportError> {
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
            crate::paging::set_uncached(first, window.used_end())
                .map_err(TransportError::Paging)?;
        }

        let mut common = None;
        let mut notify = None;
        let mut isr = None;
        let mut device_cfg = None;
        for (id, cap) in function.capabilities() {
            // The notify capability is 20 bytes; a device-chosen offset
            // must leave room for it in the 256-byte config space.
            if id != PCI_CAP_VENDOR || cap > 0xFF - 20 {
                continue;
            }
            let cfg_type = function.read8(cap + 3);
            let slot = match cfg_type {
                CFG_COMMON => &mut common,
                CFG_NOTIFY => &mut notify,
                CFG_ISR => &mut isr,
                CFG_DEVICE => &mut device_cfg,
                _ => continue, // PCI config access and shared memory: unused
            };
            if slot.is_some() {
                continue; // the first of each type is the one to use (4.1.4.1)
            }
            let bar = function.read8(cap + 4);
            let offset = function.read32(cap + 8);
            let length = function.read32(cap + 12);
            let bad = TransportError::BadCapability {
                cfg_type,
                bar,
                offset,
                length,
            };
            let region = bars
                .get(usize::from(bar))
                .copied()
                .flatten()
                .and_then(|b: MemoryBar| {
                    let end = u64::from(offset).checked_add(u64::from(length))?;
                    (end <= b.size).then_some(Region {
                        base: b.base + u64::from(offset),
                        len: length,
                    })
                })
                .ok_or(bad)?;
            let multiplier = if cfg_type == CFG_NOTIFY {
                function.read32(cap + 16)
            } else {
                0
            };
            *slot = Some((region, multiplier));
        }
        let (common, _) =
            common.ok_or(TransportError::MissingCapability("common configuration"))?;
        if common.len < COMMON_CFG_LEN {
            return Err(TransportError::BadCapability {
                cfg_type: CFG_COMMON,
                bar: 0,
                offset: 0,
                length: common.len,
            });
        }
        let (notify, notify_multiplier) =
            notify.ok_or(TransportError::MissingCapability("notification"))?;
        let (isr, _) = isr.ok_or(TransportError::MissingCapability("ISR status"))?;
        if isr.len == 0 {
            return Err(TransportError::MissingCapability("ISR status"));
        }

        function.set_command(function.command() | pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER);
        Ok(PciTransport {
            function,
            device_type,
            common: common.base,
            notify,
            notify_multiplier,
            notify_addrs: [None; MAX_CACHED_QUEUES],
            rings: [None; MAX_CACHED_QUEUES],
            event_idx: false,
            isr: isr.base,
            device_cfg: device_cfg.map(|(r, _)| r),
            device_features: 0,
        })
    }

    pub fn function(&self) -> Function {
        self.function
    }

    /// Feature bits the device offers (reads the device).
    pub fn device_features(&mut self) -> u64 {
        self.read_device_features()
    }

    /// A read-only view of the status and the accepted features, which stays
    /// usable after the transport has moved into a driver.
    pub fn status_view(&self) -> StatusView {
        StatusView {
            common: self.common,
        }
    }

    /// The notify register of `queue`, from its device-reported offset
    /// (bounds-checked against the notify region).
    fn notify_address(&self, queue: u16) -> Option<u64> {
        self.queue_select(queue);
        let off = usize::from(mmio_read16(self.common + QUEUE_NOTIFY_OFF));
        off.checked_mul(self.notify_multiplier as usize)
            .and_then(|o| self.notify.at(o, 2))
    }

    fn queue_select(&self, queue: u16) {
        mmio_write16(self.common + QUEUE_SELECT, queue);
    }

    fn write64(&self, offset: u64, value: u64) {
        // 64-bit fields may be written as two 32-bit halves (4.1.3.1).
        mmio_write32(self.common + offset, value as u32);
        mmio_write32(self.common + offset + 4, (value >> 32) as u32);
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

impl PciTransport {
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
#[derive(Clone, Copy, Debug)]
pub struct StatusView {
    common: u64,
}

impl StatusView {
    pub fn status(&self) -> DeviceStatus {
        DeviceStatus::from_bits_truncate(u32::from(mmio_read8(self.common + DEVICE_STATUS)))
    }

    /// Feature bits the driver wrote (the register reads back as written).
    pub fn driver_features(&self) -> u64 {
        mmio_write32(self.common + DRIVER_FEATURE_SELECT, 0);
        let low = mmio_read32(self.common + DRIVER_FEATURE);
        mmio_write32(self.common + DRIVER_FEATURE_SELECT, 1);
        let high = mmio_read32(self.common + DRIVER_FEATURE);
        (u64::from(high) << 32) | u64::from(low)
    }
}

impl Transport for PciTransport {
    fn device_type(&self) -> DeviceType {
        self.device_type
    }

    fn read_device_features(&mut self) -> u64 {
        mmio_write32(self.common + DEVICE_FEATURE_SELECT, 0);
        let low = mmio_read32(self.common + DEVICE_FEATURE);
        mmio_write32(self.common + DEVICE_FEATURE_SELECT, 1);
        let high = mmio_read32(self.common + DEVICE_FEATURE);
        self.device_features = (u64::from(high) << 32) | u64::from(low);
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
        mmio_write32(self.common + DRIVER_FEATURE_SELECT, 0);
        mmio_write32(self.common + DRIVER_FEATURE, features as u32);
        mmio_write32(self.common + DRIVER_FEATURE_SELECT, 1);
        mmio_write32(self.common + DRIVER_FEATURE, (features >> 32) as u32);
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.queue_select(queue);
        u32::from(mmio_read16(self.common + QUEUE_SIZE))
    }

    fn notify(&mut self, queue: u16) {
        if !self.device_wants_notify(queue) {
            return;
        }
        let cached = self.notify_addrs.get(usize::from(queue)).copied().flatten();
        match cached.or_else(|| self.notify_address(queue)) {
            Some(a) => mmio_write16(a, queue),
            None => log::warn!("virtio: queue {queue} notify offset outside the notify region"),
        }
    }

    fn get_status(&self) -> DeviceStatus {
        self.status_view().status()
    }

    fn set_status(&mut self, status: DeviceStatus) {
        mmio_write8(self.common + DEVICE_STATUS, status.bits() as u8);
    }

    fn set_guest_page_size(&mut self, _guest_page_size: u32) {
        // Legacy-only register; modern devices have none.
    }

    fn requires_legacy_layout(&self) -> bool {
        false
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.queue_select(queue);
        mmio_write16(self.common + QUEUE_SIZE, size as u16);
        self.write64(QUEUE_DESC, descriptors);
        self.write64(QUEUE_DRIVER, driver_area);
        self.write64(QUEUE_DEVICE, device_area);
        mmio_write16(self.common + QUEUE_ENABLE, 1);
        let addr = self.notify_address(queue);
        if let Some(slot) = self.notify_addrs.get_mut(usize::from(queue)) {
            *slot = addr;
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
        mmio_write8(self.common + DEVICE_STATUS, 0);
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.queue_select(queue);
        mmio_read16(self.common + QUEUE_ENABLE) == 1
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        // Reading the ISR byte clears it (4.1.4.5).
        InterruptStatus::from_bits_retain(u32::from(mmio_read8(self.isr)))
    }

    fn read_config_generation(&self) -> u32 {
        u32::from(mmio_read8(self.common + CONFIG_GENERATION))
    }

    fn read_config_space<T: FromBytes + IntoBytes>(&self, offset: usize) -> Result<T, VirtioError> {
        let region = self.device_cfg.ok_or(VirtioError::ConfigSpaceMissing)?;
        let size = core::mem::size_of::<T>();
        let base = region
            .at(offset, size)
            .ok_or(VirtioError::ConfigSpaceTooSmall)?;
        let mut bytes = [0u8; 16];
        let buf = bytes.get_mut(..size).ok_or(VirtioError::InvalidParam)?;
        // Natural-width accesses for scalar fields (4.1.3.1); byte arrays byte by byte.
        match (size, base % size.max(1) as u64) {
            (2, 0) => buf.copy_from_slice(&mmio_read16(base).to_le_bytes()),
            (4, 0) => buf.copy_from_slice(&mmio_read32(base).to_le_bytes()),
            (8, 0) => {
                buf[..4].copy_from_slice(&mmio_read32(base).to_le_bytes());
                buf[4..].copy_from_slice(&mmio_read32(base + 4).to_le_bytes());
            }
            _ => {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = mmio_read8(base + i as u64);
                }
            }
        }
        T::read_from_bytes(buf).map_err(|_| VirtioError::InvalidParam)
    }

    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> Result<(), VirtioError> {
        let region = self.device_cfg.ok_or(VirtioError::ConfigSpaceMissing)?;
        let bytes = value.as_bytes();
        let base = region
            .at(offset, bytes.len())
            .ok_or(VirtioError::ConfigSpaceTooSmall)?;
        match (bytes.len(), base % bytes.len().max(1) as u64) {
            (2, 0) => mmio_write16(base, u16::from_le_bytes([bytes[0], bytes[1]])),
            (4, 0) => mmio_write32(
                base,
                u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            ),
            _ => {
                for (i, b) in bytes.iter().enumerate() {
                    mmio_write8(base + i as u64, *b);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
}
