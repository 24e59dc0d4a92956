//! The virtio-net device as a smoltcp `Device`.
//!
//! Built on the crate's raw driver so that nothing blocks: receive buffers
//! and in-flight transmit buffers are the kernel's own (private heap
//! memory; the HAL bounces them through shared pages), transmissions are
//! reaped from the used ring when the stack next asks for a token.
//! Everything the device writes back (used-ring tokens and lengths) is
//! checked before it indexes anything.

use crate::apic::NET_VECTOR;
use crate::pci::MmioWindow;
use crate::platform::HwIo;
use crate::virtio::hal::{self, SharedHal, SLOT_SIZE};
use crate::virtio::transport::{
    self, PciTransport, TransportError, F_ACCESS_PLATFORM, F_VERSION_1,
};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::transport::{DeviceStatus, DeviceType, Transport};
use virtio_drivers::{device::net::VirtIONetRaw, Hal};

/// Descriptors per virtqueue (receive and transmit each).
pub const QUEUE_SIZE: usize = 64;
/// Ethernet frame without FCS: 1500 bytes of payload and a 14-byte header.
pub const MAX_FRAME: usize = 1514;
/// virtio-net's receive queue (5.1.2).
const RX_QUEUE: u16 = 0;
/// A receive buffer: virtio-net header and one frame, one bounce slot.
const RX_BUFFER: usize = SLOT_SIZE;

type RawNet<H = SharedHal, T = PciTransport> = VirtIONetRaw<H, T, QUEUE_SIZE>;

#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum DeviceError {
    /// No modern virtio-net function on PCI bus 0.
    #[error("no virtio-net-pci (modern) device on bus 0")]
    NotFound,
    #[error("virtio transport: {0}")]
    Transport(TransportError),
    /// The device does not offer a feature the appliance requires.
    #[error("virtio-net device does not offer {0}")]
    FeatureMissing(&'static str),
    /// The device did not accept the negotiated features or failed to start.
    #[error("virtio-net device did not start (status {status:#x})")]
    NotRunning { status: u32 },
    #[error("virtio-net driver: {0}")]
    Driver(virtio_drivers::Error),
    /// The receive queue could not be filled with buffers.
    #[error("virtio-net receive queue could not be filled")]
    ReceiveQueue,
    #[error("virtio DMA memory: {0}")]
    Shared(crate::shared::SharedError),
}

/// How the device broke virtio's used-ring rules (virtio 1.2, 2.7.8): a
/// used element naming a descriptor the device does not hold. Nothing past
/// it in that ring can be trusted, and the element can never be consumed,
/// so the device is treated as broken from then on (Linux marks such a
/// queue broken too); the stack stops the appliance with this reason
/// rather than spin on a ring that never moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RingViolation {
    #[error("virtio-net device returned receive descriptor {0}, which it did not hold")]
    Receive(u16),
    #[error("virtio-net device returned transmit descriptor {0}, which it did not hold")]
    Transmit(u16),
}

/// Packet counters since bring-up (`probe` checks `device_errors`; the
/// test image's network self-test prints them all).
#[derive(Debug, Default, Clone, Copy)]
pub struct DeviceStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Frames dropped: malformed lengths, full transmit queue.
    pub dropped: u64,
    /// Device answers that made no sense (unknown tokens, driver errors).
    pub device_errors: u64,
}

struct Inner<H: Hal = SharedHal, T: Transport = PciTransport> {
    raw: RawNet<H, T>,
    /// Receive buffers the device holds, by descriptor token.
    rx: Vec<Option<Box<[u8]>>>,
    /// Transmit buffers the device holds, by descriptor token.
    tx: Vec<Option<Vec<u8>>>,
    /// Transmit buffers to reuse.
    tx_spare: Vec<Vec<u8>>,
    header_len: usize,
    stats: DeviceStats,
    /// Set on the first used-ring violation; no used entry is taken after it.
    broken: Option<RingViolation>,
}

impl<H: Hal, T: Transport> Inner<H, T> {
    /// Give a receive buffer back to the device.
    fn requeue_rx(&mut self, mut buf: Box<[u8]>) {
        // SAFETY: the buffer is stored in `self.rx` under its token below and not touched until `receive_complete` hands it back.
        match unsafe { self.raw.receive_begin(&mut buf) } {
            Ok(token) => match self.rx.get_mut(usize::from(token)) {
                Some(slot @ None) => *slot = Some(buf),
                _ => {
                    // The crate hands out free descriptor indices; a busy or
                    // out-of-range one would be a driver bug. Keep the buffer
                    // alive (leaked): the device may still write to it.
                    self.stats.device_errors += 1;
                    Box::leak(buf);
                }
            },
            Err(_) => self.stats.device_errors += 1,
        }
    }

    fn break_ring(&mut self, violation: RingViolation) {
        self.stats.device_errors += 1;
        self.broken = Some(violation);
    }

    /// Collect transmit buffers the device has finished with. Returns
    /// whether the device still works (no used entry is taken once it broke).
    fn reap_tx(&mut self) -> bool {
        while let Some(token) = self.raw.poll_transmit().filter(|_| self.broken.is_none()) {
            let Some(buf) = self.tx.get_mut(usize::from(token)).and_then(Option::take) else {
                self.break_ring(RingViolation::Transmit(token));
                break;
            };
            // SAFETY: `buf` is the buffer passed to `transmit_begin` for this token.
            match unsafe { self.raw.transmit_complete(token, &buf) } {
                Ok(_) => self.tx_spare.push(buf),
                Err(_) => {
                    // The descriptor is still the device's: keep its buffer.
                    if let Some(slot) = self.tx.get_mut(usize::from(token)) {
                        *slot = Some(buf);
                    }
                    self.break_ring(RingViolation::Transmit(token));
                }
            }
        }
        self.broken.is_none()
    }

    fn submit_tx(&mut self, buf: Vec<u8>) {
        let len = buf.len().saturating_sub(self.header_len);
        // SAFETY: on success the buffer is stored under its token and not touched until `transmit_complete`.
        match unsafe { self.raw.transmit_begin(&buf) } {
            Ok(token) => match self.tx.get_mut(usize::from(token)) {
                Some(slot @ None) => {
                    *slot = Some(buf);
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += len as u64;
                }
                _ => {
                    self.stats.device_errors += 1;
                    core::mem::forget(buf);
                }
            },
            Err(_) => {
                self.stats.dropped += 1;
                self.tx_spare.push(buf);
            }
        }
    }
}

/// VERSION_1 is required (no legacy layouts); ACCESS_PLATFORM too under
/// SNP: without it the host's device model may bypass the platform's DMA
/// rules (Linux refuses such devices in encrypted guests too).
fn check_offered(offered: u64, snp: bool) -> Result<(), DeviceError> {
    if offered & F_VERSION_1 == 0 {
        return Err(DeviceError::FeatureMissing("VIRTIO_F_VERSION_1"));
    }
    if snp && offered & F_ACCESS_PLATFORM == 0 {
        return Err(DeviceError::FeatureMissing("VIRTIO_F_ACCESS_PLATFORM"));
    }
    Ok(())
}

/// After initialisation the device must have kept FEATURES_OK, be
/// DRIVER_OK, and be neither FAILED nor asking for a reset.
fn check_running(status: DeviceStatus) -> Result<(), DeviceError> {
    let running = DeviceStatus::FEATURES_OK | DeviceStatus::DRIVER_OK;
    if !status.contains(running)
        || status.intersects(DeviceStatus::FAILED | DeviceStatus::DEVICE_NEEDS_RESET)
    {
        return Err(DeviceError::NotRunning {
            status: status.bits(),
        });
    }
    Ok(())
}

/// A received frame at `start` of `len` bytes (both from the device's used
/// length and header) lies inside the `buf_len`-byte buffer and is no longer
/// than an Ethernet frame.
fn frame_fits(start: usize, len: usize, buf_len: usize) -> bool {
    start.checked_add(len).is_some_and(|end| end <= buf_len) && len <= MAX_FRAME
}

/// A started virtio-net device.
pub struct VirtioNet<H: Hal = SharedHal, T: Transport = PciTransport> {
    inner: RefCell<Inner<H, T>>,
    mac: [u8; 6],
    interrupts: bool,
}

impl VirtioNet {
    /// Find the first virtio-net-pci device on bus 0, place its BARs in
    /// `window`, negotiate features (VERSION_1 required; ACCESS_PLATFORM
    /// required under SNP and accepted whenever offered) and fill the
    /// receive queue.
    pub fn probe(window: &mut MmioWindow) -> Result<Self, DeviceError> {
        let function = transport::find(HwIo, DeviceType::Network).ok_or(DeviceError::NotFound)?;
        let mut transport = PciTransport::new(function, window).map_err(DeviceError::Transport)?;
        let offered = transport.read_device_features();
        check_offered(offered, crate::io::snp_active())?;
        // Receive buffers plus a full transmit queue, and some slack.
        hal::reserve_bounce_slots(2 * QUEUE_SIZE + 16).map_err(DeviceError::Shared)?;
        // Received frames interrupt the boot vCPU (MSI-X), which then need
        // not poll; without an APIC or MSI-X the stack polls.
        let destination = crate::idle::interrupt_destination();
        let routing = destination.map(|d| transport.route_interrupts(RX_QUEUE, d, NET_VECTOR));
        if let Some(Err(e)) = routing {
            log::warn!("virtio-net: receive interrupts not routed ({e}): polling");
        }
        let view = transport.status_view();
        let mut raw = RawNet::new(transport).map_err(DeviceError::Driver)?;
        check_running(view.status())?;
        let interrupts = routing.is_some_and(|r| r.is_ok()) && view.queue_vector(RX_QUEUE) == 0;
        // Off while the stack polls; `NetStack::wait` turns them on to halt.
        raw.disable_interrupts();
        let accepted = view.driver_features();
        log::info!(
            "virtio-net: PCI 00:{:02x}.{}, features offered {offered:#x}, accepted {accepted:#x} (VERSION_1 {}, ACCESS_PLATFORM {})",
            function.device,
            function.function,
            accepted & F_VERSION_1 != 0,
            accepted & F_ACCESS_PLATFORM != 0
        );
        Self::fill(raw, interrupts)
    }
}

impl<H: Hal, T: Transport> VirtioNet<H, T> {
    /// The last step of bring-up on a running device (interrupts off):
    /// buffers for both queues, and every receive buffer posted.
    fn fill(raw: RawNet<H, T>, interrupts: bool) -> Result<Self, DeviceError> {
        let mac = raw.mac_address();
        let mut probe_header = [0u8; 32];
        let header_len = raw
            .fill_buffer_header(&mut probe_header)
            .map_err(DeviceError::Driver)?;
        let mut inner = Inner {
            raw,
            rx: (0..QUEUE_SIZE).map(|_| None).collect(),
            tx: (0..QUEUE_SIZE).map(|_| None).collect(),
            // A full queue's worth, each for the largest frame: sending
            // never allocates, and the heap stays flat under any traffic.
            tx_spare: (0..QUEUE_SIZE)
                .map(|_| Vec::with_capacity(header_len + MAX_FRAME))
                .collect(),
            header_len,
            stats: DeviceStats::default(),
            broken: None,
        };
        for _ in 0..QUEUE_SIZE {
            inner.requeue_rx(vec![0u8; RX_BUFFER].into_boxed_slice());
        }
        if inner.stats.device_errors != 0 {
            return Err(DeviceError::ReceiveQueue);
        }
        Ok(VirtioNet {
            inner: RefCell::new(inner),
            mac,
            interrupts,
        })
    }

    /// Received frames raise `NET_VECTOR`, so the CPU may halt to wait.
    pub(crate) fn interrupts(&self) -> bool {
        self.interrupts
    }

    /// A received frame waits in the used ring (never, once broken).
    pub(crate) fn has_received(&self) -> bool {
        let inner = self.inner.borrow();
        inner.broken.is_none() && inner.raw.poll_receive().is_some()
    }

    /// The used-ring violation that broke the device, if one did.
    pub(crate) fn broken(&self) -> Option<RingViolation> {
        self.inner.borrow().broken
    }

    /// Asks the device to interrupt (or not) when it fills a receive buffer
    /// (the ring's NO_INTERRUPT flag, 2.7.7: a hint the device may ignore,
    /// at the cost of a wake-up).
    pub(crate) fn set_interrupts(&self, on: bool) {
        let mut inner = self.inner.borrow_mut();
        if on {
            inner.raw.enable_interrupts();
        } else {
            inner.raw.disable_interrupts();
        }
    }

    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    #[cfg(feature = "test-api")]
    pub fn stats(&self) -> DeviceStats {
        self.inner.borrow().stats
    }
}

pub struct RxToken<'a, H: Hal = SharedHal, T: Transport = PciTransport> {
    inner: &'a RefCell<Inner<H, T>>,
    buf: Option<Box<[u8]>>,
    start: usize,
    len: usize,
}

impl<H: Hal, T: Transport> phy::RxToken for RxToken<'_, H, T> {
    fn consume<R, F>(mut self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let buf = self.buf.take();
        // smoltcp may transmit from inside `f`: no borrow of `inner` is held.
        let r = f(buf
            .as_deref()
            .and_then(|b| b.get(self.start..self.start + self.len))
            .unwrap_or(&[]));
        if let Some(buf) = buf {
            self.inner.borrow_mut().requeue_rx(buf);
        }
        r
    }
}

impl<H: Hal, T: Transport> Drop for RxToken<'_, H, T> {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            self.inner.borrow_mut().requeue_rx(buf);
        }
    }
}

pub struct TxToken<'a, H: Hal = SharedHal, T: Transport = PciTransport> {
    inner: &'a RefCell<Inner<H, T>>,
}

impl<H: Hal, T: Transport> phy::TxToken for TxToken<'_, H, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let (mut buf, header_len) = {
            let mut inner = self.inner.borrow_mut();
            let mut buf = inner.tx_spare.pop().unwrap_or_default();
            buf.clear();
            buf.resize(inner.header_len + len, 0);
            // An all-default header: no offloads, no GSO.
            if inner.raw.fill_buffer_header(&mut buf).is_err() {
                inner.stats.device_errors += 1;
            }
            (buf, inner.header_len)
        };
        let r = f(&mut buf[header_len..]);
        if len > MAX_FRAME {
            let mut inner = self.inner.borrow_mut();
            inner.stats.dropped += 1;
            inner.tx_spare.push(buf);
        } else {
            self.inner.borrow_mut().submit_tx(buf);
        }
        r
    }
}

impl<H: Hal + 'static, T: Transport + 'static> phy::Device for VirtioNet<H, T> {
    type RxToken<'a> = RxToken<'a, H, T>;
    type TxToken<'a> = TxToken<'a, H, T>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_, H, T>, TxToken<'_, H, T>)> {
        let inner = self.inner.get_mut();
        inner.reap_tx().then_some(())?;
        let token = inner.raw.poll_receive()?;
        let Some(mut buf) = inner.rx.get_mut(usize::from(token)).and_then(Option::take) else {
            inner.break_ring(RingViolation::Receive(token));
            return None;
        };
        // SAFETY: `buf` is the buffer passed to `receive_begin` for this token.
        let (start, len) = match unsafe { inner.raw.receive_complete(token, &mut buf) } {
            Ok(r) => r,
            Err(virtio_drivers::Error::IoError) => {
                // A used length shorter than the header: the descriptor was
                // recycled, the buffer is free again.
                inner.stats.dropped += 1;
                inner.requeue_rx(buf);
                return None;
            }
            Err(_) => {
                // The used ring did not match: the descriptor is still the
                // device's, so the buffer stays where it was.
                if let Some(slot) = inner.rx.get_mut(usize::from(token)) {
                    *slot = Some(buf);
                }
                inner.break_ring(RingViolation::Receive(token));
                return None;
            }
        };
        if !frame_fits(start, len, buf.len()) {
            inner.stats.dropped += 1;
            inner.requeue_rx(buf);
            return None;
        }
        inner.stats.rx_packets += 1;
        inner.stats.rx_bytes += len as u64;
        Some((
            RxToken {
                inner: &self.inner,
                buf: Some(buf),
                start,
                len,
            },
            TxToken { inner: &self.inner },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_, H, T>> {
        let inner = self.inner.get_mut();
        if inner.reap_tx() && inner.raw.can_send() {
            Some(TxToken { inner: &self.inner })
        } else {
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}

#[cfg(any(test, feature = "fuzz"))]
mod host;
#[cfg(test)]
mod tests;
