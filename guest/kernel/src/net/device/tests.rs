//! What virtio-net's bring-up and receive path accept from the device.
//! Bits are virtio 1.2's (§2.1 status, §6 feature bits), as literals.

use super::{check_offered, check_running, frame_fits, DeviceError};
use virtio_drivers::transport::DeviceStatus;

const VERSION_1: u64 = 1 << 32;
const ACCESS_PLATFORM: u64 = 1 << 33;

#[test]
fn device_without_version_1_is_refused() {
    // A legacy-only device: no modern layout to speak to.
    assert!(matches!(
        check_offered(1 << 5, false),
        Err(DeviceError::FeatureMissing("VIRTIO_F_VERSION_1"))
    ));
    assert!(check_offered(VERSION_1, false).is_ok());
}

#[test]
fn access_platform_is_required_under_snp_only() {
    // Under SNP the device must honour the platform's DMA rules.
    assert!(matches!(
        check_offered(VERSION_1, true),
        Err(DeviceError::FeatureMissing("VIRTIO_F_ACCESS_PLATFORM"))
    ));
    assert!(check_offered(VERSION_1 | ACCESS_PLATFORM, true).is_ok());
}

#[test]
fn device_must_be_running_after_init() {
    // ACKNOWLEDGE 1, DRIVER 2, DRIVER_OK 4, FEATURES_OK 8,
    // DEVICE_NEEDS_RESET 0x40, FAILED 0x80.
    let status = |bits| DeviceStatus::from_bits_truncate(bits);
    assert!(check_running(status(0x0F)).is_ok());
    for bits in [0x07, 0x0B, 0x8F, 0x4F, 0x80, 0x00] {
        assert!(
            matches!(check_running(status(bits)), Err(DeviceError::NotRunning { status }) if status == bits),
            "status {bits:#x}"
        );
    }
}

#[test]
fn received_lengths_must_fit_the_buffer_and_a_frame() {
    // Buffer 2048 bytes, virtio-net header 12 bytes, frames up to 1514.
    assert!(frame_fits(12, 1514, 2048));
    assert!(frame_fits(12, 0, 2048));
    // The device's used length runs past the buffer.
    assert!(!frame_fits(12, 2040, 2048));
    // Longer than any Ethernet frame, though inside the buffer.
    assert!(!frame_fits(12, 1515, 2048));
    // A header length that lies: start + len wraps around.
    assert!(!frame_fits(usize::MAX, 2, 2048));
    assert!(!frame_fits(4096, 0, 2048));
}
