//! TCP for the appliance: listeners and connections over the [`NetStack`],
//! with no smoltcp type in sight.
//!
//! Poll-driven like the stack: every call takes the stack; the `try_*`
//! calls never wait (for servers that multiplex many connections in one
//! loop), and the calls with a [`Deadline`] poll the stack, sleeping
//! between frames (`NetStack::wait`), until they are done or the deadline
//! passes (for one connection at a time).
//!
//! Lifetime: a [`TcpStream`] owns its socket. Dropping it closes the
//! connection gracefully (FIN after what is queued); the stack discards
//! what still arrives, lets the close finish for at most
//! [`LINGER_MS`](super::stack::LINGER_MS), then resets, and frees the
//! socket. [`TcpStream::abort`] resets at once. A [`TcpListener`] keeps a
//! fixed number of sockets, listening and accepted together: at most
//! `max_connections` connections at a time, the rest wait in the peer's SYN
//! retries.
//!
//! Listeners and streams belong to the stack they were made on and must be
//! used with it (the appliance has one network device, so one stack).

use super::stack::{NetStack, RetireQueue, SocketId};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::net::Ipv4Addr;
use smoltcp::socket::tcp::State;

/// Buffers and timers of one TCP socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    pub rx_bytes: usize,
    pub tx_bytes: usize,
    /// A connection with unacknowledged data or an unanswered keep-alive
    /// for this long is reset by the stack.
    pub timeout_ms: u64,
    /// Nagle's algorithm (off: small writes go out at once).
    pub nagle: bool,
}

/// A point in time on the stack's clock ([`NetStack::now_ms`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    at_ms: u64,
}

impl Deadline {
    /// `after_ms` from now.
    pub fn after(net: &NetStack, after_ms: u64) -> Self {
        Deadline {
            at_ms: net.now_ms().saturating_add(after_ms),
        }
    }

    pub fn passed(&self, net: &NetStack) -> bool {
        net.now_ms() >= self.at_ms
    }

    /// Milliseconds until the deadline (0 once passed).
    pub fn left_ms(&self, net: &NetStack) -> u64 {
        self.at_ms.saturating_sub(net.now_ms())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TcpError {
    /// The port is 0 (smoltcp refuses it) or the socket cannot listen.
    #[error("cannot listen on the port")]
    Listen,
    /// The connection was refused or reset before it was established.
    #[error("connection refused")]
    Refused,
    /// The deadline passed.
    #[error("timed out")]
    Timeout,
    /// The connection is closed or reset: nothing more can be sent (or,
    /// for reads, the peer reset before finishing).
    #[error("connection closed")]
    Closed,
    /// No local address yet, or no free local port.
    #[error("no address to connect from")]
    Unaddressable,
}

/// Sockets that accept connections on one port.
pub struct TcpListener {
    port: u16,
    options: SocketOptions,
    max_connections: usize,
    /// Listening or handshaking sockets, not yet handed out.
    listening: Vec<SocketId>,
    /// Streams handed out and not yet dropped.
    accepted: Rc<Cell<usize>>,
    retire: RetireQueue,
}

impl TcpListener {
    /// `max_connections` sockets listen on `port` at once (none handed out yet).
    pub fn bind(
        net: &mut NetStack,
        port: u16,
        max_connections: usize,
        options: SocketOptions,
    ) -> Result<Self, TcpError> {
        let mut listener = TcpListener {
            port,
            options,
            max_connections,
            listening: Vec::new(),
            accepted: Rc::new(Cell::new(0)),
            retire: net.retire_queue(),
        };
        listener.refill(net)?;
        Ok(listener)
    }

    /// Whether a socket is free for the next connection (in LISTEN, not
    /// in a handshake).
    pub fn has_free_socket(&self, net: &mut NetStack) -> bool {
        self.listening
            .iter()
            .any(|&id| net.socket(id).state() == State::Listen)
    }

    /// An established connection, if one is waiting; never waits. Also
    /// puts back to listening the sockets whose handshake failed and the
    /// room dropped streams left.
    pub fn try_accept(&mut self, net: &mut NetStack) -> Result<Option<TcpStream>, TcpError> {
        self.refill(net)?;
        let ready = self.listening.iter().position(|&id| {
            let sock = net.socket(id);
            sock.is_active() && sock.state() != State::SynReceived
        });
        let Some(index) = ready else {
            return Ok(None);
        };
        let id = self.listening.swap_remove(index);
        self.accepted.set(self.accepted.get() + 1);
        Ok(Some(TcpStream {
            id,
            accepted: Some(self.accepted.clone()),
            retire: self.retire.clone(),
        }))
    }

    /// Listen again on sockets that closed (a reset handshake), and open
    /// sockets for the room streams left.
    fn refill(&mut self, net: &mut NetStack) -> Result<(), TcpError> {
        for &id in &self.listening {
            if !net.socket(id).is_open() {
                listen(net, id, self.port)?;
            }
        }
        while self.listening.len() + self.accepted.get() < self.max_connections {
            let id = net.add_socket(&self.options);
            self.listening.push(id);
            listen(net, id, self.port)?;
        }
        Ok(())
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.retire.borrow_mut().extend(self.listening.drain(..));
    }
}

fn listen(net: &mut NetStack, id: SocketId, port: u16) -> Result<(), TcpError> {
    net.socket(id).listen(port).map_err(|_| TcpError::Listen)
}

/// One TCP connection. Dropping it closes it gracefully (see the module
/// notes); [`abort`](Self::abort) resets it.
pub struct TcpStream {
    id: SocketId,
    /// The listener's count of handed-out streams (accepted streams only).
    accepted: Option<Rc<Cell<usize>>>,
    /// Where drop hands the socket back to the stack.
    retire: RetireQueue,
}

impl TcpStream {
    /// Starts connecting to `address:port` from a free local port; never
    /// waits. The stream is [`is_connecting`](Self::is_connecting) until
    /// the handshake ends (then established, or closed if refused).
    pub fn open(
        net: &mut NetStack,
        address: Ipv4Addr,
        port: u16,
        options: SocketOptions,
    ) -> Result<TcpStream, TcpError> {
        let id = net.add_socket(&options);
        let stream = TcpStream {
            id,
            accepted: None,
            retire: net.retire_queue(),
        };
        if net.connect(id, address, port).is_err() {
            return Err(TcpError::Unaddressable);
        }
        Ok(stream)
    }

    /// Connects to `address:port` from a free local port, polling the
    /// stack until the connection is established or `deadline` passes.
    pub fn connect(
        net: &mut NetStack,
        address: Ipv4Addr,
        port: u16,
        options: SocketOptions,
        deadline: Deadline,
    ) -> Result<TcpStream, TcpError> {
        let stream = Self::open(net, address, port, options)?;
        loop {
            if !stream.is_connecting(net) {
                return if stream.is_open(net) {
                    Ok(stream)
                } else {
                    Err(TcpError::Refused)
                };
            }
            if deadline.passed(net) {
                stream.abort(net);
                return Err(TcpError::Timeout);
            }
            if !net.poll() {
                net.wait(deadline.left_ms(net));
            }
        }
    }

    /// The handshake of an outgoing connection is still going on.
    pub fn is_connecting(&self, net: &mut NetStack) -> bool {
        matches!(
            net.socket(self.id).state(),
            State::SynSent | State::SynReceived
        )
    }

    /// Offers the received bytes to `take`, which returns how many it
    /// used; only those are removed. Returns that count (0: nothing
    /// received, or `take` used nothing). Never waits.
    pub fn try_read_with(&self, net: &mut NetStack, take: impl FnOnce(&[u8]) -> usize) -> usize {
        let sock = net.socket(self.id);
        if !sock.can_recv() {
            return 0;
        }
        sock.recv(|data| {
            let n = take(data).min(data.len());
            (n, n)
        })
        .unwrap_or(0)
    }

    /// Copies received bytes into `buf`; 0 when none are there. Never waits.
    #[cfg(feature = "test-api")]
    pub fn try_read(&self, net: &mut NetStack, buf: &mut [u8]) -> usize {
        let sock = net.socket(self.id);
        if !sock.can_recv() {
            return 0;
        }
        sock.recv_slice(buf).unwrap_or(0)
    }

    /// Queues as much of `bytes` as there is room for; returns the count.
    /// Never waits.
    pub fn try_write(&self, net: &mut NetStack, bytes: &[u8]) -> Result<usize, TcpError> {
        let sock = net.socket(self.id);
        if !sock.may_send() {
            return Err(TcpError::Closed);
        }
        Ok(sock.send_slice(bytes).unwrap_or(0))
    }

    /// Lets `fill` write into the free part of the send buffer; it returns
    /// how many bytes it wrote, and those are queued. Never waits.
    #[cfg(feature = "test-api")]
    pub fn try_write_with(
        &self,
        net: &mut NetStack,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, TcpError> {
        let sock = net.socket(self.id);
        if !sock.may_send() {
            return Err(TcpError::Closed);
        }
        Ok(sock
            .send(|buf| {
                let n = fill(buf).min(buf.len());
                (n, n)
            })
            .unwrap_or(0))
    }

    /// Queues all of `bytes`, polling until `deadline`.
    pub fn write_all(
        &self,
        net: &mut NetStack,
        bytes: &[u8],
        deadline: Deadline,
    ) -> Result<(), TcpError> {
        let mut sent = 0;
        while let Some(rest) = bytes.get(sent..).filter(|r| !r.is_empty()) {
            sent += self.try_write(net, rest)?;
            if sent < bytes.len() {
                if deadline.passed(net) {
                    return Err(TcpError::Timeout);
                }
                if !net.poll() {
                    net.wait(deadline.left_ms(net));
                }
            }
        }
        Ok(())
    }

    /// Bytes queued but not yet acknowledged by the peer.
    #[cfg(feature = "test-api")]
    pub fn unacknowledged(&self, net: &mut NetStack) -> usize {
        net.socket(self.id).send_queue()
    }

    /// Sends FIN once the queue is out: nothing more can be written;
    /// reading goes on until the peer closes.
    pub fn shutdown_write(&self, net: &mut NetStack) {
        net.socket(self.id).close();
    }

    /// Our FIN was acknowledged (so was everything before it) and the
    /// peer has not closed yet.
    pub fn write_side_acknowledged(&self, net: &mut NetStack) -> bool {
        net.socket(self.id).state() == State::FinWait2
    }

    /// Received bytes are waiting.
    pub fn readable(&self, net: &mut NetStack) -> bool {
        net.socket(self.id).can_recv()
    }

    /// Nothing more can be read: the peer closed and every byte it sent
    /// was read, or the connection is gone.
    pub fn peer_closed(&self, net: &mut NetStack) -> bool {
        !net.socket(self.id).may_recv()
    }

    /// Established in both directions (for connection counts).
    #[cfg(feature = "test-api")]
    pub fn is_established(&self, net: &mut NetStack) -> bool {
        net.socket(self.id).state() == State::Established
    }

    /// The connection still exists (not reset, timed out or fully closed).
    pub fn is_open(&self, net: &mut NetStack) -> bool {
        net.socket(self.id).is_open()
    }

    /// Closes the connection gracefully (FIN after what is queued; the
    /// stack finishes it, see the module notes). The same as dropping it.
    #[cfg(feature = "test-api")]
    pub fn close(self) {}

    /// Resets the connection at once (RST on the next poll) and frees the
    /// socket.
    pub fn abort(self, net: &mut NetStack) {
        net.socket(self.id).abort();
        // Drop hands the (now closed) socket back.
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if let Some(counter) = &self.accepted {
            counter.set(counter.get().saturating_sub(1));
        }
        self.retire.borrow_mut().push(self.id);
    }
}
