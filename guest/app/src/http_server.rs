//! HTTP/1.1 server over the kernel's TCP listener, using `common/http1`
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
//! [`LINGER_MS`] (the kernel's linger time for dropped streams), and one that stops reading a response (no output moves
//! for the idle timeout) is reset.
//!
//! Memory: request bodies are buffered by `ServerConn` until complete
//! (`receive` stops after each head that declares a body, so the glue sees
//! every body before taking it). A body over [`SMALL_BODY`] is reserved
//! whole from [`BODY_BUDGET`], shared by all connections, or the request is
//! refused with 503 at once (before `100 Continue`). Granting bytes as
//! they arrive instead could leave every connection holding part of a body
//! and none able to finish, until all time out with 408 (seen in CI with 26
//! bodies of 2 MiB against 48 MiB). Small bodies (embeddings requests) are
//! never refused for the budget: [`SOCKETS`] of them hold at most 2 MiB.
//!
//! Sockets held by connections that never send a request: a connection
//! gets `ServerConfig::head_timeout_ms` (a few seconds) to complete its
//! first request head, far less than a kept-alive connection's idle
//! timeout; and whenever no socket is left listening, the oldest connection
//! still without a request head is reset, so silent connections cannot
//! lock a client out (the `reserve` step of the loop).
//!
//! The serial log never carries request data. With the test routes (test
//! image only) it gets one line per rejected request (its status code
//! only), per idle connection closed and per connection dropped for not
//! reading; the serving routes ask for none and print totals instead
//! ([`Routes::tick`]).

use alloc::boxed::Box;
use alloc::vec::Vec;
use http1::{Request, Response, ServerConfig, ServerConn, ServerEvent};
#[cfg(feature = "test-image")]
use kernel::net::IpConfig;
use kernel::net::{NetStack, SocketOptions, TcpListener, TcpStream, LINGER_MS};
use kernel::println;

/// The most simultaneous connections (listening sockets included).
const SOCKETS: usize = 32;
const SOCKET: SocketOptions = SocketOptions {
    rx_bytes: 256 << 10,
    tx_bytes: 256 << 10,
    timeout_ms: 120_000,
    nagle: false,
};
/// Declared bodies over [`SMALL_BODY`] being read, all connections together.
const BODY_BUDGET: usize = 48 << 20;
/// Bodies up to this size are read without a reservation.
const SMALL_BODY: usize = 64 << 10;
#[cfg(feature = "test-image")]
/// After `POST /quit`: how long to wait for the answer to be acknowledged.
const QUIT_WAIT_MS: u64 = 2_000;
const DHCP_TIMEOUT_MS: u64 = 20_000;
/// The answer of a connection turned away to keep a socket listening.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
/// Longest idle sleep: connection timeouts and the counter line are checked
/// this often.
const IDLE_WAKE_MS: u64 = 250;
#[cfg(feature = "test-image")]
pub const DEFAULT_PORT: u16 = 8080;

pub struct Options {
    pub port: u16,
    /// Per connection: the largest request body (`Content-Length`,
    /// `max_body_bytes`; over it 413) and the timeouts.
    pub config: ServerConfig,
    /// Largest response queued whole (heads and whole bodies); a route
    /// answering more is a bug and the connection is closed.
    pub max_queued: usize,
}

/// What a route answers.
pub enum Reply {
    Whole(Response),
    /// Test image only: head now, then `n` [`pattern`] bytes generated while sending.
    #[cfg(feature = "test-image")]
    Pattern(u64),
    /// Test image only: 200, then power off.
    #[cfg(feature = "test-image")]
    Quit,
}

/// The path of a request target, without its query.
pub fn path_of(target: &str) -> &str {
    target.split_once('?').map_or(target, |(p, _)| p)
}

/// A `text/plain` response.
pub fn text(status: u16, body: &[u8]) -> Response {
    Response::new(status, body.to_vec()).with_header("Content-Type", b"text/plain")
}

/// 405 with the methods the path allows.
pub fn method_not_allowed(allow: &[u8]) -> Reply {
    Reply::Whole(text(405, b"method not allowed\n").with_header("Allow", allow))
}

/// The application behind the server.
pub trait Routes {
    fn route(&mut self, request: &Request) -> Reply;

    /// Called once per turn of the serving loop (periodic work) with the
    /// number of requests http1 refused before any route saw them (400,
    /// 408, 413, ...) since the server started.
    fn tick(&mut self, _rejected: u64) {}

    /// Test image only: whether the server prints a line per rejected
    /// request and per connection timed out (the test routes); serving
    /// prints totals only, and the production image never prints these.
    #[cfg(feature = "test-image")]
    fn log_events(&self) -> bool {
        false
    }
}

/// Everything `service` needs besides the sockets.
struct Settings<'a> {
    config: ServerConfig,
    max_queued: usize,
    routes: &'a mut dyn Routes,
    rejected: u64,
    #[cfg(feature = "test-image")]
    log_events: bool,
}

/// Output of one connection: a small queued part, then optionally a
/// generated body.
#[derive(Default)]
struct Output {
    queued: Vec<u8>,
    sent: usize,
    /// `/bytes` body: next offset and total.
    #[cfg(feature = "test-image")]
    stream: Option<(u64, u64)>,
    /// A response went out since the last `response_sent`.
    responded: bool,
    /// When output last moved into the socket (or was queued).
    progress_ms: u64,
    close_after: bool,
    #[cfg(feature = "test-image")]
    quit_after: bool,
}

impl Output {
    fn is_empty(&self) -> bool {
        #[cfg(feature = "test-image")]
        if self.stream.is_some() {
            return false;
        }
        self.sent == self.queued.len()
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
    Open {
        conn: Box<ServerConn>,
        out: Output,
        /// Body bytes reserved for the request being read (0: none).
        reserved: usize,
    },
    /// Write side shut; draining input until the peer closes.
    Closing { since_ms: u64 },
    /// `POST /quit` answered; power off once it is acknowledged.
    #[cfg(feature = "test-image")]
    Quitting { since_ms: u64 },
}

struct Connection {
    stream: TcpStream,
    phase: Phase,
}

/// What becomes of a connection after its turn.
enum Next {
    Keep,
    /// Closed by the peer or by a reset: forget it (dropping the stream
    /// frees the socket).
    Forget,
    /// Reset it.
    Abort,
}

use kernel::fail;

/// Test image only: brings the network up with DHCP, then [`serve`]s with
/// the test routes; `fast_timeouts` shortens the idle and read timeouts for
/// the end-to-end tests of stalls.
#[cfg(feature = "test-image")]
pub fn run_test(mut options: Options, fast_timeouts: bool, routes: &mut dyn Routes) -> ! {
    if fast_timeouts {
        options.config.idle_timeout_ms = 2_000;
        options.config.read_timeout_ms = 3_000;
    }
    match kernel::net::bring_up(IpConfig::Dhcp) {
        Ok(net) => serve(options, net, routes),
        Err(e) => fail("http: bring-up", &e),
    }
}

/// Serves `routes` on a stack that is up (its address is awaited here).
pub fn serve(options: Options, mut net: NetStack, routes: &mut dyn Routes) -> ! {
    let address = match net.wait_for_address(DHCP_TIMEOUT_MS) {
        Ok(a) => a,
        Err(e) => fail("http: address", &e),
    };
    let mut settings = Settings {
        config: options.config,
        max_queued: options.max_queued,
        #[cfg(feature = "test-image")]
        log_events: routes.log_events(),
        routes,
        rejected: 0,
    };
    // Every socket listens before the address is announced.
    let mut listener = match TcpListener::bind(&mut net, options.port, SOCKETS, SOCKET) {
        Ok(l) => l,
        Err(e) => fail("http: listen", &e),
    };
    let mut conns: Vec<Connection> = Vec::with_capacity(SOCKETS);
    println!(
        "http: listening on port {} ({SOCKETS} sockets, body limit {} KiB, idle {} ms, first head {} ms, read {} ms)",
        options.port,
        options.config.max_body_bytes >> 10,
        settings.config.idle_timeout_ms,
        settings.config.head_timeout_ms,
        settings.config.read_timeout_ms
    );
    println!("http: up {address}");
    loop {
        let busy = net.poll();
        accept_all(&mut net, &mut listener, &mut conns, &settings);
        let mut i = 0;
        while i < conns.len() {
            let budget = BODY_BUDGET.saturating_sub(reserved_elsewhere(&conns, i));
            let Some(c) = conns.get_mut(i) else {
                break;
            };
            match service(&mut net, c, budget, &mut settings) {
                Next::Keep => i += 1,
                Next::Forget => drop(conns.swap_remove(i)),
                Next::Abort => conns.swap_remove(i).stream.abort(&mut net),
            }
        }
        reserve(&mut net, &listener, &mut conns);
        settings.routes.tick(settings.rejected);
        if !busy {
            // Nothing arrived: sleep until a frame or a timer. Whatever this
            // turn queued to send makes `wait` return at once.
            net.wait(IDLE_WAKE_MS);
        }
    }
}

fn accept_all(
    net: &mut NetStack,
    listener: &mut TcpListener,
    conns: &mut Vec<Connection>,
    settings: &Settings<'_>,
) {
    loop {
        match listener.try_accept(net) {
            Ok(Some(stream)) => conns.push(Connection {
                stream,
                phase: Phase::Open {
                    conn: Box::new(ServerConn::new(settings.config, net.now_ms())),
                    out: Output::default(),
                    reserved: 0,
                },
            }),
            Ok(None) => return,
            Err(e) => fail("http: listen", &e),
        }
    }
}

/// Keeps a socket listening: when every socket holds a connection, the
/// oldest one that has not completed a request head (and owes no output)
/// is turned away with 503 and closed (a client may retry; a reset would
/// look like a crash); a fresh socket listens on the next turn.
fn reserve(net: &mut NetStack, listener: &TcpListener, conns: &mut Vec<Connection>) {
    if listener.has_free_socket(net) {
        return;
    }
    let oldest = conns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.phase {
            Phase::Open { conn, out, .. } if out.is_empty() => {
                conn.awaiting_first_head().map(|opened| (opened, i))
            }
            _ => None,
        })
        .min();
    if let Some((_, i)) = oldest {
        let shed = conns.swap_remove(i);
        // Fits an empty send buffer; if it does not go out, the close does.
        let _ = shed.stream.try_write(net, BUSY);
    }
}

/// Body bytes reserved by all connections but `skip`.
fn reserved_elsewhere(conns: &[Connection], skip: usize) -> usize {
    conns
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, c)| match &c.phase {
            Phase::Open { reserved, .. } => *reserved,
            _ => 0,
        })
        .sum()
}

/// One turn of one connection; `budget`: how many body bytes it may reserve.
fn service(
    net: &mut NetStack,
    c: &mut Connection,
    budget: usize,
    settings: &mut Settings<'_>,
) -> Next {
    let config = settings.config;
    let now = net.now_ms();
    let stream = &c.stream;
    #[cfg(feature = "test-image")]
    if let Phase::Quitting { since_ms } = c.phase {
        // Acknowledged, or the peer already closed too, or out of patience.
        if stream.unacknowledged(net) == 0
            || !stream.is_open(net)
            || now.saturating_sub(since_ms) >= QUIT_WAIT_MS
        {
            println!("http: quit requested, powering off");
            kernel::exit(kernel::ExitCode::Success);
        }
        return Next::Keep;
    }
    if !stream.is_open(net) {
        // Closed (after our close, a reset or a timeout) or TIME-WAIT
        // (both sides closed; the response was acknowledged).
        return Next::Forget;
    }
    match &mut c.phase {
        Phase::Open {
            conn,
            out,
            reserved,
        } => {
            if flush(net, stream, out) {
                out.progress_ms = now;
            }
            if !out.is_empty() {
                // A peer that stops reading would hold the socket forever
                // (zero window): drop it after the idle timeout.
                if now.saturating_sub(out.progress_ms) >= config.idle_timeout_ms {
                    #[cfg(feature = "test-image")]
                    if settings.log_events {
                        println!("http: connection dropped: peer stopped reading");
                    }
                    return Next::Abort;
                }
                return Next::Keep;
            }
            if core::mem::take(&mut out.responded) {
                conn.response_sent(now);
            }
            #[cfg(feature = "test-image")]
            if out.quit_after {
                stream.shutdown_write(net);
                c.phase = Phase::Quitting { since_ms: now };
                return Next::Keep;
            }
            if out.close_after {
                stream.shutdown_write(net);
                c.phase = Phase::Closing { since_ms: now };
                return Next::Keep;
            }
            // Offer what the socket holds; only what `conn` takes is removed.
            // A body is admitted (or refused) as soon as its head is in,
            // including a pipelined head parsed when the last response went.
            admit_body(conn, reserved, budget);
            while stream.try_read_with(net, |data| conn.receive(data, now)) > 0 {
                admit_body(conn, reserved, budget);
            }
            if stream.peer_closed(net) {
                conn.peer_closed();
            }
            serve_events(conn, out, reserved, now, settings);
            out.progress_ms = now;
            flush(net, stream, out);
        }
        Phase::Closing { since_ms } => {
            while stream.try_read_with(net, |d| d.len()) > 0 {}
            // Our FIN acknowledged (FIN-WAIT-2) means the response arrived;
            // otherwise give the peer the full linger time to take it.
            let acked = stream.write_side_acknowledged(net);
            let waited = now.saturating_sub(*since_ms);
            if waited >= LINGER_MS || (acked && waited >= LINGER_MS / 5) {
                return Next::Abort;
            }
        }
        #[cfg(feature = "test-image")]
        Phase::Quitting { .. } => {}
    }
    Next::Keep
}

/// Moves queued output into the socket's send buffer, generating `/bytes`
/// body bytes as room appears. Returns whether any byte moved.
fn flush(net: &mut NetStack, stream: &TcpStream, out: &mut Output) -> bool {
    let mut moved = false;
    if out.sent < out.queued.len() {
        if let Ok(n) = stream.try_write(net, out.queued.get(out.sent..).unwrap_or(&[])) {
            out.sent += n;
            moved |= n > 0;
        }
        if out.sent < out.queued.len() {
            return moved;
        }
    }
    #[cfg(feature = "test-image")]
    while let Some((offset, total)) = out.stream {
        if offset >= total {
            out.stream = None;
            break;
        }
        let left = total - offset;
        let sent = stream.try_write_with(net, |buf| {
            let n = (buf.len() as u64).min(left) as usize;
            let chunk = buf.get_mut(..n).unwrap_or(&mut []);
            for (k, b) in chunk.iter_mut().enumerate() {
                *b = pattern(offset + k as u64);
            }
            n
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

/// Reserves the whole declared body of the request being read, once, or
/// refuses the request with 503 when `budget` cannot hold it.
fn admit_body(conn: &mut ServerConn, reserved: &mut usize, budget: usize) {
    match conn.body_in_progress() {
        Some(len) if *reserved == 0 && len > SMALL_BODY && len <= budget => *reserved = len,
        Some(len) if *reserved == 0 && len > SMALL_BODY => conn.refuse_busy(),
        _ => {}
    }
}

/// Runs `conn` until it has nothing to do or a response is queued.
fn serve_events(
    conn: &mut ServerConn,
    out: &mut Output,
    reserved: &mut usize,
    now: u64,
    settings: &mut Settings<'_>,
) {
    loop {
        match conn.poll(now) {
            ServerEvent::Pending => return,
            ServerEvent::Request(request) => {
                *reserved = 0;
                answer(conn, out, &request, now, settings);
                return;
            }
            // `100 Continue`.
            ServerEvent::Send(bytes) => out.queue(&bytes),
            // The error (below: the reason) is logged by the test image only.
            #[cfg_attr(not(feature = "test-image"), allow(unused_variables))]
            ServerEvent::Reject { error, response } => {
                settings.rejected += 1;
                #[cfg(feature = "test-image")]
                if settings.log_events {
                    println!("http: request rejected: {}", error.status());
                }
                *reserved = 0;
                out.queue(&response);
                out.close_after = true;
                return;
            }
            #[cfg_attr(not(feature = "test-image"), allow(unused_variables))]
            ServerEvent::Close(reason) => {
                #[cfg(feature = "test-image")]
                if settings.log_events && reason == http1::CloseReason::Idle {
                    println!("http: idle connection closed");
                }
                *reserved = 0;
                out.close_after = true;
                return;
            }
        }
    }
}

fn answer(
    conn: &mut ServerConn,
    out: &mut Output,
    request: &Request,
    now: u64,
    settings: &mut Settings<'_>,
) {
    // Test image: the `/bytes` body to generate and whether to power off,
    // both only once the head is queued.
    #[cfg(feature = "test-image")]
    let mut then: (Option<(u64, u64)>, bool) = (None, false);
    let result = match settings.routes.route(request) {
        Reply::Whole(response) => conn.respond(&response, now).map(|o| (o.bytes, o.close)),
        #[cfg(feature = "test-image")]
        Reply::Pattern(n) => {
            let head = Response::new(200, Vec::new())
                .with_header("Content-Type", b"application/octet-stream");
            conn.respond_streamed(&head, n as usize, now).map(|o| {
                then.0 = Some((0, o.body_len as u64));
                (o.bytes, o.close)
            })
        }
        #[cfg(feature = "test-image")]
        Reply::Quit => {
            let mut response = text(200, b"bye");
            response.close = true;
            then.1 = true;
            conn.respond(&response, now).map(|o| (o.bytes, o.close))
        }
    };
    match result {
        Ok((bytes, close)) if bytes.len() <= settings.max_queued => {
            out.queue(&bytes);
            #[cfg(feature = "test-image")]
            {
                out.stream = then.0.filter(|&(_, total)| total > 0);
                out.quit_after = then.1;
            }
            out.responded = true;
            out.close_after = close;
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
#[cfg(feature = "test-image")]
pub fn pattern(i: u64) -> u8 {
    (i.wrapping_add(i >> 8) & 0xFF) as u8
}
