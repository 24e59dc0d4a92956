//! Test-only TCP service for the end-to-end network test (self-test word
//! `net`; `net-static` uses the static configuration instead of DHCP). Not
//! the appliance's server: that is `common/http1`.
//!
//! Port 8080, one command line per connection:
//!   `UPLOAD <n>\n` + n bytes      -> `<sha256 hex of the bytes>\n`
//!   `DOWNLOAD <n> <seed>\n`       -> n bytes, byte i = (i + i/256 + seed) mod 256
//!   `FETCH <n>\n`                 -> the guest connects as a TCP client to
//!                                   10.0.2.100:1234 (the test maps it to a
//!                                   listener on the host's 127.0.0.1 with
//!                                   `guestfwd`), reads n bytes, answers with
//!                                   their SHA-256 (or `ERR ...`)
//!   `STATS\n`                     -> one line of counters (`concurrent-max N ...`)
//!   `QUIT\n`                      -> `bye\n`, then the VM powers off (success)
//! After its answer the server waits for the client to close first, so its
//! sockets never sit in TIME-WAIT and are ready for the next connection.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use kernel::net::smoltcp::iface::SocketHandle;
use kernel::net::smoltcp::socket::tcp;
use kernel::net::smoltcp::time::Duration;
use kernel::net::smoltcp::wire::{Ipv4Address, Ipv4Cidr};
use kernel::net::{IpConfig, NetStack};
use kernel::println;
use sha2::{Digest, Sha256};

const PORT: u16 = 8080;
/// Listening sockets: one per simultaneous connection.
const SOCKETS: usize = 12;
const SOCKET_BUFFER: usize = 64 << 10;
const MAX_HEADER: usize = 64;
const DHCP_TIMEOUT_MS: u64 = 20_000;
/// Where `FETCH` connects: QEMU's `guestfwd` address in the test.
const FETCH_HOST: Ipv4Address = Ipv4Address::new(10, 0, 2, 100);
const FETCH_PORT: u16 = 1234;

enum State {
    /// Reading the command line.
    Header(Vec<u8>),
    Upload {
        remaining: u64,
        hasher: Sha256,
    },
    Download {
        sent: u64,
        total: u64,
        seed: u8,
    },
    /// Waiting on a client connection of the guest's own.
    Fetch {
        client: SocketHandle,
        want: u64,
        got: u64,
        hasher: Sha256,
    },
    /// Sending a short answer; `quit` powers off once it is out.
    Reply {
        data: Vec<u8>,
        sent: usize,
        quit: bool,
    },
    /// Answer sent: discard input until the client closes, then close.
    Drain,
    Closing,
}

struct Conn {
    handle: SocketHandle,
    state: State,
}

#[derive(Default)]
struct Counters {
    /// Client sockets closing; removed once closed.
    closing_clients: Vec<SocketHandle>,
    next_port: u16,
    concurrent_max: usize,
    connections: u64,
    uploaded: u64,
    downloaded: u64,
}

fn fail(what: &str, err: &dyn core::fmt::Display) -> ! {
    println!("net: FAILED: {what}: {err}");
    kernel::exit(kernel::ExitCode::Failure)
}

pub fn run(static_config: bool) -> ! {
    let config = if static_config {
        IpConfig::Static {
            address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
            gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
        }
    } else {
        IpConfig::Dhcp
    };
    let mut net = match kernel::net::bring_up(config) {
        Ok(n) => n,
        Err(e) => fail("bring-up", &e),
    };
    let address = match net.wait_for_address(DHCP_TIMEOUT_MS) {
        Ok(a) => a,
        Err(e) => fail("address", &e),
    };
    let mut conns: Vec<Conn> = (0..SOCKETS)
        .map(|_| Conn {
            handle: net.add_tcp_socket(SOCKET_BUFFER, SOCKET_BUFFER),
            state: State::Closing,
        })
        .collect();
    let mut counters = Counters::default();
    // Listen on every socket before announcing the address: the test
    // connects as soon as it sees the line.
    for conn in conns.iter_mut() {
        service(&mut net, conn, &mut counters);
    }
    println!(
        "net: test service on port {PORT} ({SOCKETS} sockets, {} KiB shared for virtio)",
        kernel::stats::shared_bytes() >> 10
    );
    println!(
        "net: up {} ({})",
        address.address(),
        if static_config { "static" } else { "dhcp" }
    );
    loop {
        net.poll();
        let mut established = 0;
        for conn in conns.iter_mut() {
            service(&mut net, conn, &mut counters);
            if net.tcp(conn.handle).state() == tcp::State::Established {
                established += 1;
            }
        }
        counters.concurrent_max = counters.concurrent_max.max(established);
        counters.closing_clients.retain(|&h| {
            let open = net.tcp(h).is_open();
            if !open {
                net.remove_socket(h);
            }
            open
        });
    }
}

fn service(net: &mut NetStack, conn: &mut Conn, counters: &mut Counters) {
    if let State::Fetch {
        client,
        want,
        got,
        hasher,
    } = &mut conn.state
    {
        let c = net.tcp(*client);
        while *got < *want && c.can_recv() {
            let left = *want - *got;
            match c.recv(|d| {
                let take = (d.len() as u64).min(left) as usize;
                hasher.update(&d[..take]);
                (take, take)
            }) {
                Ok(n) if n > 0 => *got += n as u64,
                _ => break,
            }
        }
        let connecting = matches!(c.state(), tcp::State::SynSent | tcp::State::SynReceived);
        if *got == *want || !c.is_open() || (!connecting && !c.may_recv()) {
            let answer = if *got == *want {
                hex_line(core::mem::take(hasher).finalize().as_slice())
            } else {
                alloc::format!("ERR fetched {got} of {want} bytes\n")
            };
            c.close();
            counters.closing_clients.push(*client);
            conn.state = reply(answer.as_bytes(), false);
        }
        return;
    }
    let stats = net.device().stats();
    let sock = net.tcp(conn.handle);
    if !sock.is_open() {
        // Closed (first time, after a close or a reset): listen again.
        if let Err(e) = sock.listen(PORT) {
            fail("listen", &e);
        }
        sock.set_timeout(Some(Duration::from_secs(60)));
        conn.state = State::Header(Vec::new());
        return;
    }
    if !sock.is_active() || sock.state() == tcp::State::SynReceived {
        return; // listening, or the handshake is not complete
    }
    match &mut conn.state {
        State::Header(line) => {
            // Byte-wise read keeps the header logic simple (headers are tiny).
            let mut byte = [0u8; 1];
            while line.len() <= MAX_HEADER {
                match sock.recv_slice(&mut byte) {
                    Ok(1) => {
                        if byte[0] == b'\n' {
                            counters.connections += 1;
                            conn.state = command(net, line, counters, &stats);
                            return;
                        }
                        line.push(byte[0]);
                    }
                    _ => break,
                }
            }
            if line.len() > MAX_HEADER {
                conn.state = reply(b"ERR header too long\n", false);
            } else if !sock.may_recv() {
                sock.close();
                conn.state = State::Closing;
            }
        }
        State::Upload { remaining, hasher } => {
            while *remaining > 0 && sock.can_recv() {
                let want = *remaining;
                let got = sock.recv(|data| {
                    let take = (data.len() as u64).min(want) as usize;
                    hasher.update(&data[..take]);
                    (take, take)
                });
                match got {
                    Ok(n) if n > 0 => *remaining -= n as u64,
                    _ => break,
                }
            }
            if *remaining == 0 {
                let hex = hex_line(core::mem::take(hasher).finalize().as_slice());
                conn.state = reply(hex.as_bytes(), false);
            } else if !sock.may_recv() {
                sock.close();
                conn.state = State::Closing;
            }
        }
        State::Download { sent, total, seed } => {
            while *sent < *total && sock.can_send() {
                let (start, left, seed) = (*sent, *total - *sent, *seed);
                let n = sock.send(|buf| {
                    let n = (buf.len() as u64).min(left) as usize;
                    for (i, b) in buf[..n].iter_mut().enumerate() {
                        *b = pattern(start + i as u64, seed);
                    }
                    (n, n)
                });
                match n {
                    Ok(n) if n > 0 => *sent += n as u64,
                    _ => break,
                }
            }
            if *sent == *total {
                counters.downloaded += *total;
                conn.state = State::Drain;
            } else if !sock.may_send() {
                sock.abort();
                conn.state = State::Closing;
            }
        }
        State::Reply { data, sent, quit } => {
            if let Ok(n) = sock.send_slice(&data[*sent..]) {
                *sent += n;
            }
            if *sent == data.len() {
                if *quit {
                    // Let the answer reach the client, then power off.
                    let t0 = kernel::time::tsc();
                    while net.tcp(conn.handle).send_queue() > 0
                        && kernel::time::us_since(t0) < 1_000_000
                    {
                        net.poll();
                    }
                    println!("net: quit requested, powering off");
                    kernel::exit(kernel::ExitCode::Success);
                }
                conn.state = State::Drain;
            } else if !sock.may_send() {
                sock.abort();
                conn.state = State::Closing;
            }
        }
        State::Drain => {
            while sock.can_recv() {
                if sock.recv(|d| (d.len(), ())).is_err() {
                    break;
                }
            }
            if !sock.may_recv() {
                sock.close();
                conn.state = State::Closing;
            }
        }
        State::Closing | State::Fetch { .. } => {}
    }
}

fn reply(data: &[u8], quit: bool) -> State {
    State::Reply {
        data: data.to_vec(),
        sent: 0,
        quit,
    }
}

/// The download pattern; the test computes the same bytes.
fn pattern(i: u64, seed: u8) -> u8 {
    (i.wrapping_add(i >> 8).wrapping_add(u64::from(seed)) & 0xFF) as u8
}

fn hex_line(digest: &[u8]) -> String {
    let mut hex = String::with_capacity(2 * digest.len() + 1);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    hex.push('\n');
    hex
}

/// Open a client connection to the test's host listener (see `FETCH`).
fn fetch(net: &mut NetStack, want: u64, counters: &mut Counters) -> State {
    let client = net.add_tcp_socket(SOCKET_BUFFER, SOCKET_BUFFER);
    let port = 49152 + counters.next_port % 16384;
    counters.next_port = counters.next_port.wrapping_add(1);
    net.tcp(client).set_timeout(Some(Duration::from_secs(60)));
    if let Err(e) = net.connect(client, (FETCH_HOST, FETCH_PORT), port) {
        net.remove_socket(client);
        return reply(alloc::format!("ERR connect: {e}\n").as_bytes(), false);
    }
    State::Fetch {
        client,
        want,
        got: 0,
        hasher: Sha256::new(),
    }
}

fn command(
    net: &mut NetStack,
    line: &[u8],
    counters: &mut Counters,
    stats: &kernel::net::device::DeviceStats,
) -> State {
    let text = core::str::from_utf8(line)
        .unwrap_or("")
        .trim_end_matches('\r');
    let mut words = text.split(' ');
    let number = |w: Option<&str>| w.and_then(|w| w.parse::<u64>().ok());
    match words.next() {
        Some("UPLOAD") => match number(words.next()) {
            Some(n) => {
                counters.uploaded += n;
                State::Upload {
                    remaining: n,
                    hasher: Sha256::new(),
                }
            }
            None => reply(b"ERR usage: UPLOAD <n>\n", false),
        },
        Some("DOWNLOAD") => match (number(words.next()), number(words.next())) {
            (Some(total), Some(seed)) if seed < 256 => State::Download {
                sent: 0,
                total,
                seed: seed as u8,
            },
            _ => reply(b"ERR usage: DOWNLOAD <n> <seed 0-255>\n", false),
        },
        Some("FETCH") => match number(words.next()) {
            Some(n) => fetch(net, n, counters),
            None => reply(b"ERR usage: FETCH <n>\n", false),
        },
        Some("STATS") => {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "concurrent-max {} connections {} uploaded {} downloaded {} rx-packets {} tx-packets {} dropped {} device-errors {}",
                counters.concurrent_max,
                counters.connections,
                counters.uploaded,
                counters.downloaded,
                stats.rx_packets,
                stats.tx_packets,
                stats.dropped,
                stats.device_errors
            );
            reply(s.as_bytes(), false)
        }
        Some("QUIT") => reply(b"bye\n", true),
        _ => reply(b"ERR unknown command\n", false),
    }
}
