//! Networking: virtio-net as a smoltcp device (`device`), the IPv4
//! interface over it (`stack`) and TCP listeners and connections (`tcp`).
//! `bring_up` starts the first two. smoltcp is an implementation detail: no
//! smoltcp type is part of this API.

mod device;
mod stack;
mod tcp;

pub use device::DeviceError;
#[cfg(feature = "test-api")]
pub use device::DeviceStats;
use device::VirtioNet;
#[cfg(any(test, feature = "fuzz"))]
pub(crate) use device::{RingViolation, VirtioNet as HostNet, MAX_FRAME, QUEUE_SIZE};
pub use stack::{IpConfig, NetStack, StackError, LINGER_MS};
pub use tcp::{Deadline, SocketOptions, TcpError, TcpListener, TcpStream};

use crate::pci::MmioWindow;
use spin::Mutex;

/// BAR space for devices the kernel drives; see `MmioWindow::Q35`.
static PCI_WINDOW: Mutex<MmioWindow> = Mutex::new(MmioWindow::q35());

#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum NetError {
    #[error("{0}")]
    Device(DeviceError),
    #[error("{0}")]
    Stack(StackError),
}

/// Find and start the virtio-net device and put an interface on it. The
/// address comes later (DHCP) or at once (static): see
/// `NetStack::wait_for_address`.
pub fn bring_up(config: IpConfig) -> Result<NetStack, NetError> {
    let device = VirtioNet::probe(&mut PCI_WINDOW.lock()).map_err(NetError::Device)?;
    NetStack::new(device, config).map_err(NetError::Stack)
}
