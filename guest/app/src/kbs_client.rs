//! One HTTP/1.1 request to the key broker over a fresh smoltcp TCP
//! connection (`Connection: close`), with common/http1 doing the encoding
//! and the bounded response parsing (Content-Length or chunked bodies, so a
//! proxy between the guest and Trustee may re-frame answers). Blocking: polls the stack until the
//! response is complete, the connection fails or a deadline passes.

use http1::{
    encode_request, ClientConfig, ClientError, ClientRequest, Header, ReceivedResponse,
    ResponseParser,
};
use kernel::net::smoltcp::socket::tcp;
use kernel::net::smoltcp::time::Duration;
use kernel::net::smoltcp::wire::Ipv4Address;
use kernel::net::NetStack;

const SOCKET_BUFFER: usize = 64 << 10;
/// From SYN to an established connection.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// From the request sent to the whole response received.
const RESPONSE_TIMEOUT_MS: u64 = 20_000;
/// No byte at all for this long fails the response (the broker's verifier
/// answers well within it).
const READ_TIMEOUT_MS: u64 = 10_000;
/// KBS answers are small: a challenge, a token, a JWE around a 32-byte key.
/// Also the chunk limit: one chunk never needs to be larger than the body.
const MAX_BODY: usize = 64 << 10;

/// Why no response arrived. Fixed texts: nothing from the peer is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// Refused or reset before the connection was established.
    Connect,
    /// Not established, or no complete response, in time.
    Timeout,
    /// The peer closed or reset before the response was complete.
    Closed,
    /// The response is not acceptable HTTP (or over the limits).
    Http(ClientError),
    /// The request could not be encoded (a programming error).
    Encode,
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TransportError::Connect => f.write_str("connection refused"),
            TransportError::Timeout => f.write_str("timed out"),
            TransportError::Closed => f.write_str("connection closed without an answer"),
            TransportError::Http(e) => write!(f, "{e}"),
            TransportError::Encode => f.write_str("request could not be encoded"),
        }
    }
}

pub struct KbsClient {
    remote: (Ipv4Address, u16),
    host: alloc::string::String,
    next_port: u16,
}

impl KbsClient {
    /// `first_port`: a random start for the local ports (one per request).
    pub fn new(host: [u8; 4], port: u16, first_port: u16) -> Self {
        let [a, b, c, d] = host;
        KbsClient {
            remote: (Ipv4Address::new(a, b, c, d), port),
            host: alloc::format!("{a}.{b}.{c}.{d}:{port}"),
            next_port: first_port,
        }
    }

    /// Send `method path` with `headers` and `body`; the whole response.
    pub fn request(
        &mut self,
        net: &mut NetStack,
        method: &str,
        path: &str,
        headers: &[Header],
        body: &[u8],
    ) -> Result<ReceivedResponse, TransportError> {
        let wire = encode_request(&ClientRequest {
            method,
            host: &self.host,
            path,
            headers,
            body,
            close: true,
        })
        .map_err(|_| TransportError::Encode)?;
        let local_port = 49152 + self.next_port % 16384;
        self.next_port = self.next_port.wrapping_add(1);
        let handle = net.add_tcp_socket(SOCKET_BUFFER, SOCKET_BUFFER);
        let result = exchange(net, handle, self.remote, local_port, &wire);
        // Everything needed has arrived (or the attempt failed): reset
        // rather than linger, then forget the socket.
        net.tcp(handle).abort();
        net.poll();
        net.remove_socket(handle);
        result
    }
}

fn now_ms(net: &NetStack) -> u64 {
    net.clock().now_us() / 1000
}

fn exchange(
    net: &mut NetStack,
    handle: kernel::net::smoltcp::iface::SocketHandle,
    remote: (Ipv4Address, u16),
    local_port: u16,
    wire: &[u8],
) -> Result<ReceivedResponse, TransportError> {
    net.tcp(handle)
        .set_timeout(Some(Duration::from_millis(RESPONSE_TIMEOUT_MS)));
    net.connect(handle, remote, local_port)
        .map_err(|_| TransportError::Connect)?;
    let start = now_ms(net);
    let config = ClientConfig {
        max_body_bytes: MAX_BODY,
        max_chunk_bytes: MAX_BODY,
        timeout_ms: RESPONSE_TIMEOUT_MS,
        read_timeout_ms: Some(READ_TIMEOUT_MS),
        ..ClientConfig::default()
    };
    let mut sent = 0usize;
    let mut parser: Option<ResponseParser> = None;
    loop {
        net.poll();
        let now = now_ms(net);
        let sock = net.tcp(handle);
        match sock.state() {
            tcp::State::SynSent | tcp::State::SynReceived => {
                if now.saturating_sub(start) >= CONNECT_TIMEOUT_MS {
                    return Err(TransportError::Timeout);
                }
                continue;
            }
            tcp::State::Closed if sent == 0 => return Err(TransportError::Connect),
            _ => {}
        }
        if sent < wire.len() {
            if !sock.may_send() {
                return Err(TransportError::Closed);
            }
            if let Ok(n) = sock.send_slice(&wire[sent..]) {
                sent += n;
            }
            if sent < wire.len() {
                if now.saturating_sub(start) >= RESPONSE_TIMEOUT_MS {
                    return Err(TransportError::Timeout);
                }
                continue;
            }
        }
        let p = parser.get_or_insert_with(|| ResponseParser::new(config, false, now));
        while sock.can_recv() {
            match sock.recv(|d| {
                let n = p.receive(d);
                (n, n)
            }) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        if !sock.may_recv() && !sock.can_recv() {
            p.peer_closed();
        }
        match p.poll(now) {
            Ok(Some(response)) => return Ok(response),
            Ok(None) => {}
            Err(ClientError::Truncated) => return Err(TransportError::Closed),
            Err(ClientError::Timeout) => return Err(TransportError::Timeout),
            Err(e) => return Err(TransportError::Http(e)),
        }
    }
}
