//! The smoltcp interface over the virtio-net device: IPv4 by DHCP or a
//! static configuration, the sockets behind `net::tcp`, and a monotonic
//! clock. smoltcp stays inside the kernel: nothing public here names it.
//!
//! Poll-driven: the caller runs `NetStack::poll` in its loop (or a
//! `net::tcp` call with a deadline does) and works on its connections
//! between polls; when a turn did nothing, `NetStack::wait` halts the vCPU
//! until a frame's interrupt or the stack's next timer. Sockets of dropped streams
//! are finished and freed by `poll` (see `LINGER_MS`).
//!
//! Clock: `smoltcp::time::Instant` is microseconds since the stack came up,
//! from the TSC. `kernel::time` calibrates the TSC once at boot against PIT
//! channel 2 (11932 ticks of 1.193182 MHz = 10 ms); the invariant TSC then
//! counts at that rate. Readings are clamped so the clock never goes back.
//! Under SNP the PIT belongs to the host, so time is for timeouts only.

use super::device::VirtioNet;
use super::tcp::SocketOptions;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::net::Ipv4Addr;
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr};

/// How long the socket of a dropped stream may take to finish closing
/// (our FIN acknowledged and the peer's FIN received) before it is reset.
pub const LINGER_MS: u64 = 10_000;

/// How long after the last frame `wait` keeps returning at once (the
/// caller polls) before it halts: the next frame of a transfer usually
/// comes sooner, and halting for each one costs a wake-up per frame (as
/// KVM's halt polling, and Linux's NAPI, trade a little CPU for latency).
const POLL_BEFORE_SLEEP_US: u64 = 1_000;

/// How often `wait` wakes while closing sockets linger (their reset time
/// is checked by `poll`).
const LINGER_CHECK_US: u64 = 100_000;

/// Socket table entries reserved up front (it grows past this only under
/// more connections at once than the appliance ever serves).
const SOCKET_SLOTS: usize = 128;

/// Local ports for outgoing connections: the IANA dynamic range.
const EPHEMERAL_FIRST: u16 = 49152;
const EPHEMERAL_COUNT: u16 = 16384;

/// How the interface gets its IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpConfig {
    /// DHCPv4 (QEMU user networking answers with 10.0.2.15/24 via 10.0.2.2).
    Dhcp,
    /// A fixed address: the test image's network self-test only (the
    /// appliance always asks DHCP).
    #[cfg(feature = "test-api")]
    Static {
        address: Ipv4Addr,
        prefix_len: u8,
        gateway: Option<Ipv4Addr>,
    },
}

/// A socket of this stack (for `net::tcp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SocketId(SocketHandle);

/// Sockets whose owner is gone, for `poll` to finish and free.
pub(crate) type RetireQueue = Rc<RefCell<Vec<SocketId>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    /// No DHCP lease within the time allowed.
    #[error("no DHCP lease after {waited_ms} ms")]
    DhcpTimeout { waited_ms: u64 },
    /// The interface has no room for another address.
    #[error("interface address table full")]
    AddressTableFull,
    /// A static prefix length over 32.
    #[cfg(feature = "test-api")]
    #[error("IPv4 prefix length over 32")]
    BadPrefix,
    /// RDRAND failed: no unpredictable seed for TCP sequence numbers (the
    /// TSC would be one the host can predict).
    #[error("no random seed for the network stack: {0}")]
    NoEntropy(snp_guest::rdrand::RdrandError),
}

/// Microseconds since creation, from the calibrated TSC, never decreasing.
struct Clock {
    base_tsc: u64,
    last_us: Cell<u64>,
}

impl Clock {
    fn new() -> Self {
        Clock {
            base_tsc: crate::io::rdtsc(),
            last_us: Cell::new(0),
        }
    }

    fn now_us(&self) -> u64 {
        let us = crate::time::us_since(self.base_tsc).max(self.last_us.get());
        self.last_us.set(us);
        us
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.now_us() as i64)
    }
}

pub struct NetStack {
    device: VirtioNet,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    clock: Clock,
    /// When `poll` last moved a frame or changed a socket (stack clock, us).
    last_activity_us: u64,
    /// Dropped since the last poll.
    retired: RetireQueue,
    /// Being finished, with the time they were retired.
    lingering: Vec<(SocketId, u64)>,
    next_local_port: u16,
}

impl NetStack {
    pub(crate) fn new(mut device: VirtioNet, config: IpConfig) -> Result<Self, StackError> {
        let clock = Clock::new();
        let mac = EthernetAddress(device.mac_address());
        let mut iface_config = Config::new(HardwareAddress::Ethernet(mac));
        // smoltcp's seed (TCP initial sequence numbers, DHCP transaction
        // ids) comes from RDRAND; there is no fallback.
        let seed = crate::cpu::rdrand64().map_err(StackError::NoEntropy)?;
        iface_config.random_seed = seed;
        // The first local port is on the wire in every SYN: its own draw, so
        // it reveals nothing of smoltcp's seed.
        let port_start = crate::cpu::rdrand64().map_err(StackError::NoEntropy)?;
        let iface = Interface::new(iface_config, &mut device, clock.now());
        // Room for every socket a busy server has at once (listening,
        // accepted, lingering), so the table does not grow under load.
        let mut sockets = SocketSet::new(Vec::with_capacity(SOCKET_SLOTS));
        let (iface, dhcp) = match config {
            IpConfig::Dhcp => (iface, Some(sockets.add(dhcpv4::Socket::new()))),
            #[cfg(feature = "test-api")]
            IpConfig::Static {
                address,
                prefix_len,
                gateway,
            } => {
                let mut iface = iface;
                if prefix_len > 32 {
                    return Err(StackError::BadPrefix);
                }
                apply_address(&mut iface, Ipv4Cidr::new(address, prefix_len), gateway)?;
                (iface, None)
            }
        };
        Ok(NetStack {
            device,
            iface,
            sockets,
            dhcp,
            clock,
            last_activity_us: 0,
            retired: Rc::new(RefCell::new(Vec::with_capacity(SOCKET_SLOTS))),
            lingering: Vec::with_capacity(SOCKET_SLOTS),
            // A random start, so ports do not repeat across boots.
            next_local_port: port_start as u16,
        })
    }

    /// Move packets between the device and the sockets, and follow DHCP.
    /// Returns whether anything happened.
    ///
    /// Stops the appliance if the device broke its used rings: it can no
    /// longer carry a frame, and its ring would never drain.
    pub fn poll(&mut self) -> bool {
        let now = self.clock.now();
        let result = self.iface.poll(now, &mut self.device, &mut self.sockets);
        if let Some(violation) = self.device.broken() {
            crate::exit::fail("net", &violation);
        }
        if result != PollResult::None {
            self.last_activity_us = now.total_micros() as u64;
        }
        self.reap();
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

    /// Sleeps until a frame arrives, the stack's next timer (retransmission,
    /// DHCP, a lingering close) or `limit_ms` passes, whichever is first.
    /// Returns at once when there is work: a frame already received, data
    /// queued to send, a dropped stream to finish, a frame moved within
    /// `POLL_BEFORE_SLEEP_US`, or no receive interrupt to wake on (the
    /// caller then polls, as it would without sleeping).
    pub fn wait(&mut self, limit_ms: u64) {
        let recent = self.clock.now_us().saturating_sub(self.last_activity_us);
        if !self.device.interrupts()
            || recent < POLL_BEFORE_SLEEP_US
            || self.device.has_received()
            || !self.retired.borrow().is_empty()
        {
            return;
        }
        let mut us = limit_ms.saturating_mul(1000);
        if !self.lingering.is_empty() {
            us = us.min(LINGER_CHECK_US);
        }
        if let Some(delay) = self.iface.poll_delay(self.clock.now(), &self.sockets) {
            us = us.min(delay.total_micros());
        }
        if us == 0 {
            return;
        }
        // Interrupts on, then look again: a frame that arrived before they
        // were on raised none.
        self.device.set_interrupts(true);
        // The flag store must be visible before the used index is read (the
        // device orders the other way round): a full fence, as Linux's
        // virtio_mb between virtqueue_enable_cb and virtqueue_poll.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        if !self.device.has_received() {
            crate::idle::sleep(us);
        }
        self.device.set_interrupts(false);
    }

    /// The interface's IPv4 address, once it has one.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.iface.ip_addrs().iter().find_map(|a| match a {
            IpCidr::Ipv4(v4) => Some(v4.address()),
            #[allow(unreachable_patterns)]
            _ => None,
        })
    }

    /// Poll until an address is configured or `timeout_ms` passes.
    pub fn wait_for_address(&mut self, timeout_ms: u64) -> Result<Ipv4Addr, StackError> {
        let start = self.clock.now_us();
        loop {
            let busy = self.poll();
            if let Some(a) = self.ipv4() {
                return Ok(a);
            }
            let waited_ms = (self.clock.now_us() - start) / 1000;
            if waited_ms >= timeout_ms {
                return Err(StackError::DhcpTimeout { waited_ms });
            }
            if !busy {
                self.wait(timeout_ms - waited_ms);
            }
        }
    }

    /// Milliseconds on the stack's clock (the time base of deadlines).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_us() / 1000
    }

    /// The virtio-net device's packet counters (the test image's self-test
    /// prints them).
    #[cfg(feature = "test-api")]
    pub fn device_stats(&self) -> super::DeviceStats {
        self.device.stats()
    }

    /// Finishes the sockets of dropped streams: input is discarded, the
    /// write side closed, and a socket still open after `LINGER_MS` reset.
    /// A socket is freed once closed, and only after the poll that follows
    /// its retirement (which sends its FIN or RST).
    fn reap(&mut self) {
        let now = self.now_ms();
        let sockets = &mut self.sockets;
        self.lingering.retain(|&(SocketId(handle), since)| {
            let sock = sockets.get_mut::<tcp::Socket>(handle);
            if !sock.is_open() {
                sockets.remove(handle);
                return false;
            }
            while sock.can_recv() && sock.recv(|d| (d.len(), ())).is_ok() {}
            sock.close();
            if now.saturating_sub(since) >= LINGER_MS {
                sock.abort();
            }
            true
        });
        let fresh = core::mem::take(&mut *self.retired.borrow_mut());
        for id in fresh {
            self.sockets.get_mut::<tcp::Socket>(id.0).close();
            self.lingering.push((id, now));
        }
    }

    pub(crate) fn retire_queue(&self) -> RetireQueue {
        self.retired.clone()
    }

    /// A new, closed TCP socket.
    pub(crate) fn add_socket(&mut self, options: &SocketOptions) -> SocketId {
        let rx = tcp::SocketBuffer::new(vec![0u8; options.rx_bytes]);
        let tx = tcp::SocketBuffer::new(vec![0u8; options.tx_bytes]);
        let mut sock = tcp::Socket::new(rx, tx);
        sock.set_timeout(Some(Duration::from_millis(options.timeout_ms)));
        sock.set_nagle_enabled(options.nagle);
        SocketId(self.sockets.add(sock))
    }

    /// The socket behind `id`. Every `SocketId` comes from `add_socket`
    /// and is freed only by `reap` after its owner handed it back, so the
    /// lookup cannot miss on the stack that made it (there is one).
    pub(crate) fn socket(&mut self, id: SocketId) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(id.0)
    }

    /// Starts a connection to `address:port` from the next ephemeral port.
    pub(crate) fn connect(
        &mut self,
        id: SocketId,
        address: Ipv4Addr,
        port: u16,
    ) -> Result<(), tcp::ConnectError> {
        let local_port = EPHEMERAL_FIRST + self.next_local_port % EPHEMERAL_COUNT;
        self.next_local_port = self.next_local_port.wrapping_add(1);
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(id.0)
            .connect(cx, (address, port), local_port)
    }
}

fn apply_address(
    iface: &mut Interface,
    address: Ipv4Cidr,
    gateway: Option<Ipv4Addr>,
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
