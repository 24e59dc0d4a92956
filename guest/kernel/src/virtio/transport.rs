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

mod error;
mod notify;
mod status;
mod structures;

pub use error::TransportError;
#[cfg(test)]
use notify::need_event;
use notify::RingState;
use status::read_features;
pub(crate) use status::StatusView;
pub(crate) use structures::find;
use structures::find_structures;

use crate::pci::{self, Function, MmioWindow};
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

// MSI-X Message Control (PCI 3.0, 6.8.2.3): enable, function mask.
const MSIX_ENABLE: u16 = 1 << 15;
const MSIX_FUNCTION_MASK: u16 = 1 << 14;
/// The x86 MSI address window; the destination APIC ID goes in bits 19:12.
const MSI_ADDRESS: u32 = 0xFEE0_0000;
/// Queues whose notify address is cached (virtio-net uses 2, 3 with control).
const MAX_CACHED_QUEUES: usize = 8;

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
