//! What can go wrong building a virtio-pci transport from what the device
//! reports.

use crate::pci::PciError;

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
