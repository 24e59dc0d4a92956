//! virtio devices through the `virtio-drivers` crate: a virtio-pci modern
//! transport whose register accesses all go through `MmioRegion`s on the
//! platform (`transport`), and a HAL that gives devices only shared memory
//! (`hal`).

pub mod hal;
#[cfg(any(test, feature = "fuzz"))]
pub(crate) mod host_hal;
pub mod transport;
