//! The device status, queue vectors and accepted features, readable after
//! the transport has moved into a driver.

use super::{
    DEVICE_STATUS, DRIVER_FEATURE, DRIVER_FEATURE_SELECT, NO_VECTOR, QUEUE_MSIX_VECTOR,
    QUEUE_SELECT,
};
use crate::platform::{HwIo, MmioRegion, PlatformIo};
use virtio_drivers::transport::DeviceStatus;

/// Device status and accepted features, read from the common configuration.
pub(crate) struct StatusView<I: PlatformIo = HwIo> {
    /// `None` only if the common region could not be cut again (it can).
    pub(super) common: Option<MmioRegion<I>>,
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
pub(super) fn read_features<I: PlatformIo>(common: &MmioRegion<I>, select: u64, value: u64) -> u64 {
    let half = |n: u32| {
        let _ = common.write32(select, n);
        u64::from(common.read32(value).unwrap_or(0))
    };
    half(0) | (half(1) << 32)
}
