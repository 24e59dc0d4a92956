//! Host builds only (unit tests and `crate::fuzzing`): the device on any
//! HAL and any platform, started as `VirtioNet::probe` starts it once the
//! transport exists, without interrupt routing.

use super::{check_running, DeviceError, DeviceStats, RawNet, VirtioNet};
use crate::platform::PlatformIo;
use crate::virtio::transport::PciTransport;
use virtio_drivers::Hal;

impl<H: Hal, I: PlatformIo + Copy> VirtioNet<H, PciTransport<I>> {
    /// Negotiates, checks the device runs, and fills the receive queue.
    pub(crate) fn start(transport: PciTransport<I>) -> Result<Self, DeviceError> {
        let view = transport.status_view();
        let mut raw = RawNet::<H, PciTransport<I>>::new(transport).map_err(DeviceError::Driver)?;
        check_running(view.status())?;
        raw.disable_interrupts();
        Self::fill(raw, false)
    }

    /// The packet counters (the guest's `stats` is test-image only).
    pub(crate) fn counters(&self) -> DeviceStats {
        self.inner.borrow().stats
    }

    /// Receive buffers the device holds now.
    pub(crate) fn rx_posted(&self) -> usize {
        self.inner
            .borrow()
            .rx
            .iter()
            .filter(|b| b.is_some())
            .count()
    }
}
