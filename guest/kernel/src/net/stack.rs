//! The smoltcp interface over the virtio-net device: IPv4 by DHCP or a
//! static configuration, TCP sockets, and a monotonic clock.
//!
//! Poll-driven (the appliance takes no interrupts): the caller runs
//! `NetStack::poll` in its loop and works on its sockets between polls.
//!
//! Clock: `smoltcp::time::Instant` is microseconds since the stack came up,
//! from the TSC. `kernel::time` calibrates the TSC once at boot against PIT
//! channel 2 (11932 ticks of 1.193182 MHz = 10 ms); the invariant TSC then
//! counts at that rate. Readings are clamped so the clock never goes back.
//! Under SNP the PIT belongs to the host, so time is for timeouts only.

use super::device::VirtioNet;
use alloc::vec;
use core::cell::Cell;
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// How the interface gets its IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpConfig {
    /// DHCPv4 (QEMU user networking answers with 10.0.2.15/24 via 10.0.2.2).
    Dhcp,
    Static {
        address: Ipv4Cidr,
        gateway: Option<Ipv4Address>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// No DHCP lease within the time allowed.
    DhcpTimeout { waited_ms: u64 },
    /// The interface has no room for another address.
    AddressTableFull,
    /// RDRAND failed: no unpredictable seed for TCP sequence numbers (the
    /// TSC would be one the host can predict).
    NoEntropy(snp_guest::rdrand::RdrandError),
}

impl core::fmt::Display for StackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StackError::DhcpTimeout { waited_ms } => {
                write!(f, "no DHCP lease after {waited_ms} ms")
            }
            StackError::AddressTableFull => write!(f, "interface address table full"),
            StackError::NoEntropy(e) => write!(f, "no random seed for the network stack: {e}"),
        }
    }
}

/// Microseconds since creation, from the calibrated TSC, never decreasing.
pub struct Clock {
    base_tsc: u64,
    last_us: Cell<u64>,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            base_tsc: crate::io::rdtsc(),
            last_us: Cell::new(0),
        }
    }

    pub fn now_us(&self) -> u64 {
        let us = crate::time::us_since(self.base_tsc).max(self.last_us.get());
        self.last_us.set(us);
        us
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.now_us() as i64)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// A 64-bit seed for smoltcp (TCP initial sequence numbers, DHCP
/// transaction ids), from RDRAND; there is no fallback.
fn random_seed() -> Result<u64, StackError> {
    crate::cpu::rdrand64().map_err(StackError::NoEntropy)
}

pub struct NetStack {
    device: VirtioNet,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    clock: Clock,
}

impl NetStack {
    pub fn new(mut device: VirtioNet, config: IpConfig) -> Result<Self, StackError> {
        let clock = Clock::new();
        let mac = EthernetAddress(device.mac_address());
        let mut iface_config = Config::new(HardwareAddress::Ethernet(mac));
        iface_config.random_seed = random_seed()?;
        let mut iface = Interface::new(iface_config, &mut device, clock.now());
        let mut sockets = SocketSet::new(vec![]);
        let dhcp = match config {
            IpConfig::Dhcp => Some(sockets.add(dhcpv4::Socket::new())),
            IpConfig::Static { address, gateway } => {
                apply_address(&mut iface, address, gateway)?;
                None
            }
        };
        Ok(NetStack {
            device,
            iface,
            sockets,
            dhcp,
            clock,
        })
    }

    /// Move packets between the device and the sockets, and follow DHCP.
    /// Returns whether anything happened.
    pub fn poll(&mut self) -> bool {
        let now = self.clock.now();
        let result = self.iface.poll(now, &mut self.device, &mut self.sockets);
        if let Some(handle) = self.dhcp {
            match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
                Some(dhcpv4::Event::Configured(c)) => {
                    match apply_address(&mut self.iface, c.address, c.router) {
                        Ok(()) => log::info!("net: DHCP lease {} router {:?}", c.address, c.router),
                        Err(e) => log::warn!("net: DHCP address not applied: {e}"),
                    }
                }
                Some(dhcpv4::Event::Deconfigured) => {
                    // Also reported once at start, before any lease.
                    if self.ipv4().is_some() {
                        log::warn!("net: DHCP lease lost");
                    }
                    self.iface.update_ip_addrs(|addrs| addrs.clear());
                    self.iface.routes_mut().remove_default_ipv4_route();
                }
                None => {}
            }
        }
        result != PollResult::None
    }

    /// The interface's IPv4 address, once it has one.
    pub fn ipv4(&self) -> Option<Ipv4Cidr> {
        self.iface.ip_addrs().iter().find_map(|a| match a {
            IpCidr::Ipv4(v4) => Some(*v4),
            #[allow(unreachable_patterns)]
            _ => None,
        })
    }

    /// Poll until an address is configured or `timeout_ms` passes.
    pub fn wait_for_address(&mut self, timeout_ms: u64) -> Result<Ipv4Cidr, StackError> {
        let start = self.clock.now_us();
        loop {
            self.poll();
            if let Some(a) = self.ipv4() {
                return Ok(a);
            }
            let waited_ms = (self.clock.now_us() - start) / 1000;
            if waited_ms >= timeout_ms {
                return Err(StackError::DhcpTimeout { waited_ms });
            }
        }
    }

    /// A new TCP socket with the given buffer sizes (closed; the caller
    /// listens or connects).
    pub fn add_tcp_socket(&mut self, rx_bytes: usize, tx_bytes: usize) -> SocketHandle {
        let rx = tcp::SocketBuffer::new(vec![0u8; rx_bytes]);
        let tx = tcp::SocketBuffer::new(vec![0u8; tx_bytes]);
        self.sockets.add(tcp::Socket::new(rx, tx))
    }

    /// Drop a socket (closed or not; an open one just stops being served).
    pub fn remove_socket(&mut self, handle: SocketHandle) {
        self.sockets.remove(handle);
    }

    /// The TCP socket behind `handle`. Panics on a handle that is not a TCP
    /// socket of this stack (a programming error, not a device answer).
    pub fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    /// Open a TCP connection to `remote` from local port `local_port`.
    pub fn connect(
        &mut self,
        handle: SocketHandle,
        remote: (Ipv4Address, u16),
        local_port: u16,
    ) -> Result<(), tcp::ConnectError> {
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(handle)
            .connect(cx, remote, local_port)
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn device(&self) -> &VirtioNet {
        &self.device
    }
}

fn apply_address(
    iface: &mut Interface,
    address: Ipv4Cidr,
    gateway: Option<Ipv4Address>,
) -> Result<(), StackError> {
    let mut full = false;
    iface.update_ip_addrs(|addrs| {
        addrs.clear();
        full = addrs.push(IpCidr::Ipv4(address)).is_err();
    });
    if full {
        return Err(StackError::AddressTableFull);
    }
    match gateway {
        Some(gw) => {
            if iface.routes_mut().add_default_ipv4_route(gw).is_err() {
                return Err(StackError::AddressTableFull);
            }
        }
        None => {
            iface.routes_mut().remove_default_ipv4_route();
        }
    }
    Ok(())
}
