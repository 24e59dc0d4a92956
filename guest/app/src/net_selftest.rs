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
//! Test image only (feature `test-image`).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::Ipv4Addr;
use kernel::net::{
    Deadline, DeviceStats, IpConfig, NetStack, SocketOptions, TcpListener, TcpStream,
};
use kernel::{fail, println};
use sha2::{Digest, Sha256};

const PORT: u16 = 8080;
/// Simultaneous connections.
const SOCKETS: usize = 12;
const SOCKET: SocketOptions = SocketOptions {
    rx_bytes: 64 << 10,
    tx_bytes: 64 << 10,
    timeout_ms: 60_000,
    nagle: true,
};
const MAX_HEADER: usize = 64;
const DHCP_TIMEOUT_MS: u64 = 20_000;
/// After `QUIT`: how long the answer may take to be acknowledged.
const QUIT_WAIT_MS: u64 = 1_000;
/// Where `FETCH` connects: QEMU's `guestfwd` address in the test.
const FETCH_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 100);
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
        client: TcpStream,
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
}

struct Conn {
    stream: TcpStream,
    state: State,
}

/// What happens to a connection after a turn.
enum Next {
    Keep,
    /// Close gracefully (drop the stream).
    Close,
    /// Reset.
    Abort,
}

#[derive(Default)]
struct Counters {
    concurrent_max: usize,
    connections: u64,
    uploaded: u64,
    downloaded: u64,
}

pub fn run(static_config: bool) -> ! {
    let config = if static_config {
        IpConfig::Static {
            address: Ipv4Addr::new(10, 0, 2, 15),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
        }
    } else {
        IpConfig::Dhcp
    };
    let mut net = match kernel::net::bring_up(config) {
        Ok(n) => n,
        Err(e) => fail("net: bring-up", &e),
    };
    let address = match net.wait_for_address(DHCP_TIMEOUT_MS) {
        Ok(a) => a,
        Err(e) => fail("net: address", &e),
    };
    // Every socket listens before the address is announced: the test
    // connects as soon as it sees the line.
    let mut listener = match TcpListener::bind(&mut net, PORT, SOCKETS, SOCKET) {
        Ok(l) => l,
        Err(e) => fail("net: listen", &e),
    };
    let mut conns: Vec<Conn> = Vec::new();
    let mut counters = Counters::default();
    println!(
        "net: test service on port {PORT} ({SOCKETS} sockets, {} KiB shared for virtio)",
        kernel::stats::shared_bytes() >> 10
    );
    println!(
        "net: up {address} ({})",
        if static_config { "static" } else { "dhcp" }
    );
    loop {
        net.poll();
        loop {
            match listener.try_accept(&mut net) {
                Ok(Some(stream)) => conns.push(Conn {
                    stream,
                    state: State::Header(Vec::new()),
                }),
                Ok(None) => break,
                Err(e) => fail("net: listen", &e),
            }
        }
        let mut established = 0;
        let mut i = 0;
        while let Some(conn) = conns.get_mut(i) {
            let next = service(&mut net, conn, &mut counters);
            if conn.stream.is_established(&mut net) {
                established += 1;
            }
            match next {
                Next::Keep => i += 1,
                Next::Close => conns.swap_remove(i).stream.close(),
                Next::Abort => conns.swap_remove(i).stream.abort(&mut net),
            }
        }
        counters.concurrent_max = counters.concurrent_max.max(established);
    }
}

fn service(net: &mut NetStack, conn: &mut Conn, counters: &mut Counters) -> Next {
    let stream = &conn.stream;
    if let State::Fetch {
        client,
        want,
        got,
        hasher,
    } = &mut conn.state
    {
        while *got < *want {
            let left = *want - *got;
            let n = client.try_read_with(net, |d| {
                let take = (d.len() as u64).min(left) as usize;
                hasher.update(&d[..take]);
                take
            });
            if n == 0 {
                break;
            }
            *got += n as u64;
        }
        let connecting = client.is_connecting(net);
        if *got == *want || !client.is_open(net) || (!connecting && client.peer_closed(net)) {
            let answer = if *got == *want {
                hex_line(core::mem::take(hasher).finalize().as_slice())
            } else {
                alloc::format!("ERR fetched {got} of {want} bytes\n")
            };
            // Dropping the client closes it gracefully.
            conn.state = reply(answer.as_bytes(), false);
        }
        return Next::Keep;
    }
    if !stream.is_open(net) {
        return Next::Close; // reset or timed out
    }
    match &mut conn.state {
        State::Header(line) => {
            // Byte-wise read keeps the header logic simple (headers are tiny).
            let mut byte = [0u8; 1];
            while line.len() <= MAX_HEADER && stream.try_read(net, &mut byte) == 1 {
                if byte[0] == b'\n' {
                    counters.connections += 1;
                    conn.state = command(net, line, counters);
                    return Next::Keep;
                }
                line.push(byte[0]);
            }
            if line.len() > MAX_HEADER {
                conn.state = reply(b"ERR header too long\n", false);
            } else if stream.peer_closed(net) {
                return Next::Close;
            }
        }
        State::Upload { remaining, hasher } => {
            while *remaining > 0 {
                let want = *remaining;
                let n = stream.try_read_with(net, |data| {
                    let take = (data.len() as u64).min(want) as usize;
                    hasher.update(&data[..take]);
                    take
                });
                if n == 0 {
                    break;
                }
                *remaining -= n as u64;
            }
            if *remaining == 0 {
                let hex = hex_line(core::mem::take(hasher).finalize().as_slice());
                conn.state = reply(hex.as_bytes(), false);
            } else if stream.peer_closed(net) {
                return Next::Close;
            }
        }
        State::Download { sent, total, seed } => {
            while *sent < *total {
                let (start, left, seed) = (*sent, *total - *sent, *seed);
                let written = stream.try_write_with(net, |buf| {
                    let n = (buf.len() as u64).min(left) as usize;
                    for (i, b) in buf[..n].iter_mut().enumerate() {
                        *b = pattern(start + i as u64, seed);
                    }
                    n
                });
                match written {
                    Ok(n) if n > 0 => *sent += n as u64,
                    Ok(_) => break,
                    Err(_) => return Next::Abort,
                }
            }
            if *sent == *total {
                counters.downloaded += *total;
                conn.state = State::Drain;
            }
        }
        State::Reply { data, sent, quit } => {
            match stream.try_write(net, &data[*sent..]) {
                Ok(n) => *sent += n,
                Err(_) => return Next::Abort,
            }
            if *sent == data.len() {
                if *quit {
                    // Let the answer reach the client, then power off.
                    let deadline = Deadline::after(net, QUIT_WAIT_MS);
                    while stream.unacknowledged(net) > 0 && !deadline.passed(net) {
                        net.poll();
                    }
                    println!("net: quit requested, powering off");
                    kernel::exit(kernel::ExitCode::Success);
                }
                conn.state = State::Drain;
            }
        }
        State::Drain => {
            while stream.try_read_with(net, |d| d.len()) > 0 {}
            if stream.peer_closed(net) {
                return Next::Close;
            }
        }
        State::Fetch { .. } => {}
    }
    Next::Keep
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
fn fetch(net: &mut NetStack, want: u64) -> State {
    match TcpStream::open(net, FETCH_HOST, FETCH_PORT, SOCKET) {
        Ok(client) => State::Fetch {
            client,
            want,
            got: 0,
            hasher: Sha256::new(),
        },
        Err(e) => reply(alloc::format!("ERR connect: {e}\n").as_bytes(), false),
    }
}

fn command(net: &mut NetStack, line: &[u8], counters: &mut Counters) -> State {
    let stats: DeviceStats = net.device_stats();
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
            Some(n) => fetch(net, n),
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
