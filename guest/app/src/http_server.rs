//! HTTP/1.1 server over the kernel's smoltcp stack, using `common/http1`
//! for the protocol (one `ServerConn` per connection). What it answers is a
//! [`Routes`] implementation: the serving API (`serving`) or the test
//! routes (`test_routes`, self-test word `http`).
//!
//! Socket glue, per connection: bytes the socket holds are offered to
//! `ServerConn::receive` and only the count it takes is removed; `poll` runs
//! until `Pending` every loop turn (which also covers `next_deadline`); a
//! FIN becomes `peer_closed`. At most one response is in flight per
//! connection: the next request is read only when the previous response is
//! wholly in the socket's send buffer, so a client pipelining requests
//! cannot grow the output queue (bounded by `Options::max_queued`; `/bytes` bodies
//! are generated as the send buffer frees, never held). After a rejection,
//! `Connection: close` or an idle timeout, the write side is shut (FIN once
//! the queue is out) and input is drained until the peer closes, so no RST
//! destroys the response; a peer that never closes is dropped after
//! [`LINGER_MS`], and one that stops reading a response (no output moves
//! for the idle timeout) is reset.
//!
//! Memory: request bodies are buffered by `ServerConn` until complete. All
//! connections together may hold at most [`BODY_BUDGET`] received bytes of
//! unfinished requests; past it a connection is not read (TCP flow control
//! makes its client wait) until others finish or time out.
//!
//! Sockets held by connections that never send a request: a connection
//! gets `ServerConfig::head_timeout_ms` (a few seconds) to complete its
//! first request head, far less than a kept-alive connection's idle
//! timeout; and whenever no socket is left listening, the oldest connection
//! still without a request head is reset, so silent connections cannot
//! lock a client out (the `reserve` step of the loop).
//!
//! The serial log never carries request data. With the test routes it gets
//! one line per rejected request (its status code only), per idle
//! connection closed and per connection dropped for not reading; the
//! serving routes ask for none ([`Routes::log_events`]) and print totals
//! from [`Stats`] instead.

use alloc::boxed::Box;
use alloc::vec::Vec;
use http1::{Request, Response, ServerConfig, ServerConn, ServerEvent};
use kernel::net::smoltcp::iface::SocketHandle;
use kernel::net::smoltcp::socket::tcp;
use kernel::net::smoltcp::time::Duration;
use kernel::net::{IpConfig, NetStack};
use kernel::println;

/// Listening sockets: the most simultaneous connections.
const SOCKETS: usize = 32;
const RX_BUFFER: usize = 256 << 10;
const TX_BUFFER: usize = 256 << 10;
/// Received bytes of unfinished requests, all connections together.
const BODY_BUDGET: usize = 48 << 20;
/// After our FIN: how long to wait for the peer to close.
const LINGER_MS: u64 = 10_000;
/// After `POST /quit`: how long to wait for the answer to be acknowledged.
const QUIT_WAIT_MS: u64 = 2_000;
const DHCP_TIMEOUT_MS: u64 = 20_000;
pub const DEFAULT_PORT: u16 = 8080;

pub struct Options {
    pub port: u16,
    /// Short idle and read timeouts for the end-to-end tests of stalls.
    pub fast_timeouts: bool,
    /// Largest request body (`Content-Length`) accepted; over it 413.
    pub body_limit: usize,
    /// Largest response queued whole (heads and whole bodies); a route
    /// answering more is a bug and the connection is closed.
    pub max_queued: usize,
}

/// What a route answers.
pub enum Reply {
    Whole(Response),
    /// Head now, then `n` [`pattern`] bytes generated while sending.
    Pattern(u64),
    /// 200, then power off.
    Quit,
}

/// The request's path without its query.
pub fn path_of(request: &Request) -> &str {
    request
        .path
        .split_once('?')
        .map_or(request.path.as_str(), |(p, _)| p)
}

/// Totals since the server started, for periodic counter lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests http1 refused before any route saw them (400, 408, 413, ...).
    pub rejected: u64,
    /// Connections closed for sending nothing in time.
    pub idle_closed: u64,
    /// Connections reset for not reading a response.
    pub dropped: u64,
    /// Connections without a request head reset to free a socket.
    pub evicted: u64,
}

/// The application behind the server.
pub trait Routes {
    fn route(&mut self, request: &Request) -> Reply;

    /// Called once per turn of the serving loop (periodic work).
    fn tick(&mut self, _stats: &Stats) {}

    /// Whether the server prints a line per rejected request and per
    /// connection timed out (the test routes); serving prints totals only.
    fn log_events(&self) -> bool {
        true
    }
}

/// Everything `service` needs besides the sockets.
struct Settings<'a> {
    port: u16,
    config: ServerConfig,
    max_queued: usize,
    routes: &'a mut dyn Routes,
    stats: Stats,
    log_events: bool,
}

fn server_config(fast: bool, body_limit: usize) -> ServerConfig {
    let mut config = ServerConfig {
        max_body_bytes: body_limit,
        ..ServerConfig::default()
    };
    if fast {
        config.idle_timeout_ms = 2_000;
        config.read_timeout_ms = 3_000;
    }
    config
}

/// Output of one connection: a small queued part, then optionally a
/// generated body.
#[derive(Default)]
struct Output {
    queued: Vec<u8>,
    sent: usize,
    /// `/bytes` body: next offset and total.
    stream: Option<(u64, u64)>,
    /// A response went out since the last `response_sent`.
    responded: bool,
    /// When output last moved into the socket (or was queued).
    progress_ms: u64,
    close_after: bool,
    quit_after: bool,
}

impl Output {
    fn is_empty(&self) -> bool {
        self.sent == self.queued.len() && self.stream.is_none()
    }

    fn queue(&mut self, bytes: &[u8]) {
        if self.sent == self.queued.len() {
            self.queued.clear();
            self.sent = 0;
        }
        self.queued.extend_from_slice(bytes);
    }
}

enum Phase {
    /// Listening or handshaking.
    Waiting,
    Open {
        conn: Box<ServerConn>,
        out: Output,
        /// Bytes given to `conn` since its last complete request.
        buffered: usize,
    },
    /// Write side shut; draining input until the peer closes.
    Closing { since_ms: u64 },
    /// `POST /quit` answered; power off once it is acknowledged.
    Quitting { since_ms: u64 },
}

struct Slot {
    handle: SocketHandle,
    phase: Phase,
}

fn fail(what: &str, err: &dyn core::fmt::Display) -> ! {
    println!("http: FAILED: {what}: {err}");
    kernel::exit(kernel::ExitCode::Failure)
}

/// Brings the network up with DHCP, then [`serve`]s.
pub fn run(options: Options, routes: &mut dyn Routes) -> ! {
    let net = match kernel::net::bring_up(IpConfig::Dhcp) {
        Ok(n) => n,
        Err(e) => fail("bring-up", &e),
    };
    serve(options, net, routes)
}

/// Serves `routes` on a stack that is up (its address is awaited here).
pub fn serve(options: Options, mut net: NetStack, routes: &mut dyn Routes) -> ! {
    let address = match net.wait_for_address(DHCP_TIMEOUT_MS) {
        Ok(a) => a,
        Err(e) => fail("address", &e),
    };
    let log_events = routes.log_events();
    let mut settings = Settings {
        port: options.port,
        config: server_config(options.fast_timeouts, options.body_limit),
        max_queued: options.max_queued,
        routes,
        stats: Stats::default(),
        log_events,
    };
    let mut slots: Vec<Slot> = (0..SOCKETS)
        .map(|_| Slot {
            handle: net.add_tcp_socket(RX_BUFFER, TX_BUFFER),
            phase: Phase::Waiting,
        })
        .collect();
    // Every socket listens before the address is announced.
    for i in 0..slots.len() {
        service(&mut net, &mut slots, i, &mut settings);
    }
    println!(
        "http: listening on port {} ({SOCKETS} sockets, body limit {} KiB, idle {} ms, first head {} ms, read {} ms)",
        options.port,
        options.body_limit >> 10,
        settings.config.idle_timeout_ms,
        settings.config.head_timeout_ms,
        settings.config.read_timeout_ms
    );
    println!("http: up {}", address.address());
    loop {
        net.poll();
        for i in 0..slots.len() {
            service(&mut net, &mut slots, i, &mut settings);
        }
        reserve(&mut net, &mut slots, &mut settings);
        let stats = settings.stats;
        settings.routes.tick(&stats);
    }
}

/// Keeps a socket listening: when every socket holds a connection, the
/// oldest one that has not completed a request head (and owes no output)
/// is reset and listens again on the next turn.
fn reserve(net: &mut NetStack, slots: &mut [Slot], settings: &mut Settings<'_>) {
    if slots.iter().any(|s| {
        matches!(s.phase, Phase::Waiting) && net.tcp(s.handle).state() == tcp::State::Listen
    }) {
        return;
    }
    let oldest = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.phase {
            Phase::Open { conn, out, .. } if out.is_empty() => {
                conn.awaiting_first_head().map(|opened| (opened, i))
            }
            _ => None,
        })
        .min();
    if let Some(slot) = oldest.and_then(|(_, i)| slots.get_mut(i)) {
        net.tcp(slot.handle).abort();
        slot.phase = Phase::Waiting;
        settings.stats.evicted += 1;
    }
}

fn now_ms(net: &NetStack) -> u64 {
    net.clock().now_us() / 1000
}

/// Received bytes of unfinished requests held by all connections but `skip`.
fn buffered_elsewhere(slots: &[Slot], skip: usize) -> usize {
    slots
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, s)| match &s.phase {
            Phase::Open { buffered, .. } => *buffered,
            _ => 0,
        })
        .sum()
}

fn service(net: &mut NetStack, slots: &mut [Slot], i: usize, settings: &mut Settings<'_>) {
    let port = settings.port;
    let config = settings.config;
    let budget = BODY_BUDGET.saturating_sub(buffered_elsewhere(slots, i));
    let now = now_ms(net);
    let Some(slot) = slots.get_mut(i) else {
        return;
    };
    let sock = net.tcp(slot.handle);
    if let Phase::Quitting { since_ms } = slot.phase {
        // Acknowledged, or the peer already closed too, or out of patience.
        if sock.send_queue() == 0 || !sock.is_open() || now.saturating_sub(since_ms) >= QUIT_WAIT_MS
        {
            println!("http: quit requested, powering off");
            kernel::exit(kernel::ExitCode::Success);
        }
        return;
    }
    if !sock.is_open() {
        // Closed (first time, after our close, a reset or an abort) or
        // TIME-WAIT (both sides closed; the response was acknowledged):
        // listen again at once.
        if let Err(e) = sock.listen(port) {
            fail("listen", &e);
        }
        sock.set_timeout(Some(Duration::from_secs(120)));
        sock.set_nagle_enabled(false);
        slot.phase = Phase::Waiting;
        return;
    }
    match &mut slot.phase {
        Phase::Waiting => {
            if sock.is_active() && sock.state() != tcp::State::SynReceived {
                slot.phase = Phase::Open {
                    conn: Box::new(ServerConn::new(config, now)),
                    out: Output::default(),
                    buffered: 0,
                };
            }
        }
        Phase::Open {
            conn,
            out,
            buffered,
        } => {
            if flush(sock, out) {
                out.progress_ms = now;
            }
            if !out.is_empty() {
                // A peer that stops reading would hold the socket forever
                // (zero window): drop it after the idle timeout.
                if now.saturating_sub(out.progress_ms) >= config.idle_timeout_ms {
                    settings.stats.dropped += 1;
                    if settings.log_events {
                        println!("http: connection dropped: peer stopped reading");
                    }
                    sock.abort();
                    slot.phase = Phase::Waiting;
                }
                return;
            }
            if core::mem::take(&mut out.responded) {
                conn.response_sent(now);
            }
            if out.quit_after {
                sock.close();
                slot.phase = Phase::Quitting { since_ms: now };
                return;
            }
            if out.close_after {
                sock.close();
                slot.phase = Phase::Closing { since_ms: now };
                return;
            }
            // Offer what the socket holds; only what `conn` takes is removed.
            let mut allowed = budget.saturating_sub(*buffered);
            while sock.can_recv() && allowed > 0 {
                let taken = sock.recv(|data| {
                    let offer = data.get(..data.len().min(allowed)).unwrap_or(&[]);
                    let n = conn.receive(offer, now);
                    (n, n)
                });
                match taken {
                    Ok(n) if n > 0 => {
                        *buffered += n;
                        allowed -= n.min(allowed);
                    }
                    _ => break,
                }
            }
            if !sock.may_recv() {
                conn.peer_closed();
            }
            serve_events(conn, out, buffered, now, settings);
            out.progress_ms = now;
            flush(sock, out);
        }
        Phase::Closing { since_ms } => {
            while sock.can_recv() {
                if sock.recv(|d| (d.len(), ())).is_err() {
                    break;
                }
            }
            // Our FIN acknowledged (FIN-WAIT-2) means the response arrived;
            // otherwise give the peer the full linger time to take it.
            let acked = sock.state() == tcp::State::FinWait2;
            let waited = now.saturating_sub(*since_ms);
            if waited >= LINGER_MS || (acked && waited >= LINGER_MS / 5) {
                sock.abort();
            }
        }
        Phase::Quitting { .. } => {}
    }
}

/// Moves queued output into the socket's send buffer, generating `/bytes`
/// body bytes as room appears. Returns whether any byte moved.
fn flush(sock: &mut tcp::Socket<'static>, out: &mut Output) -> bool {
    let mut moved = false;
    if out.sent < out.queued.len() {
        if let Ok(n) = sock.send_slice(out.queued.get(out.sent..).unwrap_or(&[])) {
            out.sent += n;
            moved |= n > 0;
        }
        if out.sent < out.queued.len() {
            return moved;
        }
    }
    while let Some((offset, total)) = out.stream {
        if offset >= total {
            out.stream = None;
            break;
        }
        let left = total - offset;
        let sent = sock.send(|buf| {
            let n = (buf.len() as u64).min(left) as usize;
            let chunk = buf.get_mut(..n).unwrap_or(&mut []);
            for (k, b) in chunk.iter_mut().enumerate() {
                *b = pattern(offset + k as u64);
            }
            (n, n)
        });
        match sent {
            Ok(n) if n > 0 => {
                out.stream = Some((offset + n as u64, total));
                moved = true;
            }
            _ => break,
        }
    }
    moved
}

/// Runs `conn` until it has nothing to do or a response is queued.
fn serve_events(
    conn: &mut ServerConn,
    out: &mut Output,
    buffered: &mut usize,
    now: u64,
    settings: &mut Settings<'_>,
) {
    loop {
        match conn.poll(now) {
            ServerEvent::Pending => return,
            ServerEvent::Request(request) => {
                *buffered = 0;
                answer(conn, out, &request, now, settings);
                return;
            }
            // `100 Continue`.
            ServerEvent::Send(bytes) => out.queue(&bytes),
            ServerEvent::Reject { error, response } => {
                settings.stats.rejected += 1;
                if settings.log_events {
                    println!("http: request rejected: {}", error.status());
                }
                *buffered = 0;
                out.queue(&response);
                out.close_after = true;
                return;
            }
            ServerEvent::Close(reason) => {
                if reason == http1::CloseReason::Idle {
                    settings.stats.idle_closed += 1;
                    if settings.log_events {
                        println!("http: idle connection closed");
                    }
                }
                *buffered = 0;
                out.close_after = true;
                return;
            }
        }
    }
}

fn text(status: u16, body: &[u8]) -> Response {
    Response::new(status, body.to_vec()).with_header("Content-Type", b"text/plain")
}

fn answer(
    conn: &mut ServerConn,
    out: &mut Output,
    request: &Request,
    now: u64,
    settings: &mut Settings<'_>,
) {
    let (result, stream, quit) = match settings.routes.route(request) {
        Reply::Whole(response) => (
            conn.respond(&response, now).map(|o| (o.bytes, o.close)),
            None,
            false,
        ),
        Reply::Pattern(n) => {
            let head = Response::new(200, Vec::new())
                .with_header("Content-Type", b"application/octet-stream");
            match conn.respond_streamed(&head, n as usize, now) {
                Ok(o) => (Ok((o.bytes, o.close)), Some((0, o.body_len as u64)), false),
                Err(e) => (Err(e), None, false),
            }
        }
        Reply::Quit => {
            let mut response = text(200, b"bye");
            response.close = true;
            (
                conn.respond(&response, now).map(|o| (o.bytes, o.close)),
                None,
                true,
            )
        }
    };
    match result {
        Ok((bytes, close)) if bytes.len() <= settings.max_queued => {
            out.queue(&bytes);
            out.stream = stream.filter(|&(_, total)| total > 0);
            out.responded = true;
            out.close_after = close;
            out.quit_after = quit;
        }
        // A response this server built is invalid or too large to queue:
        // a bug; end the connection without sending half a message.
        _ => {
            println!("http: internal error answering a request");
            out.close_after = true;
        }
    }
}

/// The `/bytes` pattern; the tests compute the same bytes.
pub fn pattern(i: u64) -> u8 {
    (i.wrapping_add(i >> 8) & 0xFF) as u8
}
