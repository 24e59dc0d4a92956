//! One HTTP/1.1 request to the key broker over a fresh TCP connection
//! (`Connection: close`), with common/http1 doing the encoding and the
//! bounded response parsing (Content-Length or chunked bodies, so a proxy
//! between the guest and Trustee may re-frame answers). Blocking: polls the
//! stack until the response is complete, the connection fails or a deadline
//! passes.

use appliance_config::KbsAddress;
use core::net::Ipv4Addr;
use http1::{
    encode_request, ClientConfig, ClientError, ClientRequest, Header, ReceivedResponse,
    ResponseParser,
};
use kernel::net::{Deadline, NetStack, SocketOptions, TcpError, TcpStream};

const SOCKET: SocketOptions = SocketOptions {
    rx_bytes: 64 << 10,
    tx_bytes: 64 << 10,
    timeout_ms: RESPONSE_TIMEOUT_MS,
    nagle: true,
};
/// From SYN to an established connection.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// From the request sent to the whole response received.
const RESPONSE_TIMEOUT_MS: u64 = 20_000;
/// No byte at all for this long fails the response (the broker's verifier
/// answers well within it).
const READ_TIMEOUT_MS: u64 = 10_000;
/// Longest sleep between looks at the response's timeouts.
const WAKE_MS: u64 = 100;
/// KBS answers are small: a challenge, a token, a JWE around a 32-byte key.
/// Also the chunk limit: one chunk never needs to be larger than the body.
const MAX_BODY: usize = 64 << 10;

/// Why no response arrived. Fixed texts: nothing from the peer is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Refused or reset before the connection was established.
    #[error("connection refused")]
    Connect,
    /// Not established, or no complete response, in time.
    #[error("timed out")]
    Timeout,
    /// The peer closed or reset before the response was complete.
    #[error("connection closed without an answer")]
    Closed,
    /// The broker answered with a server error (5xx); it may recover.
    #[error("server error {0}")]
    ServerError(u16),
    /// The response is not acceptable HTTP (or over the limits).
    #[error("{0}")]
    Http(ClientError),
    /// The request could not be encoded (a programming error).
    #[error("request could not be encoded")]
    Encode,
}

/// Sends `method path` with `headers` and `body` to the broker at `kbs`;
/// the whole response.
pub fn request(
    net: &mut NetStack,
    kbs: KbsAddress,
    method: &str,
    path: &str,
    headers: &[Header],
    body: &[u8],
) -> Result<ReceivedResponse, TransportError> {
    let wire = encode_request(&ClientRequest {
        method,
        host: &alloc::format!("{kbs}"),
        path,
        headers,
        body,
        close: true,
    })
    .map_err(|_| TransportError::Encode)?;
    let connected = Deadline::after(net, CONNECT_TIMEOUT_MS);
    let address = Ipv4Addr::from(kbs.host);
    let stream =
        TcpStream::connect(net, address, kbs.port, SOCKET, connected).map_err(|e| match e {
            TcpError::Timeout => TransportError::Timeout,
            _ => TransportError::Connect,
        })?;
    let result = exchange(net, &stream, &wire);
    // Everything needed has arrived (or the attempt failed): reset
    // rather than linger.
    stream.abort(net);
    net.poll();
    result
}

fn exchange(
    net: &mut NetStack,
    stream: &TcpStream,
    wire: &[u8],
) -> Result<ReceivedResponse, TransportError> {
    let deadline = Deadline::after(net, RESPONSE_TIMEOUT_MS);
    stream.write_all(net, wire, deadline).map_err(|e| match e {
        TcpError::Timeout => TransportError::Timeout,
        _ => TransportError::Closed,
    })?;
    let config = ClientConfig {
        max_body_bytes: MAX_BODY,
        max_chunk_bytes: MAX_BODY,
        timeout_ms: RESPONSE_TIMEOUT_MS,
        read_timeout_ms: Some(READ_TIMEOUT_MS),
        ..ClientConfig::default()
    };
    let mut parser = ResponseParser::new(config, false, net.now_ms());
    loop {
        let mut busy = net.poll();
        while stream.try_read_with(net, |d| parser.receive(d)) > 0 {
            busy = true;
        }
        if stream.peer_closed(net) && !stream.readable(net) {
            parser.peer_closed();
        }
        match parser.poll(net.now_ms()) {
            Ok(Some(response)) => return Ok(response),
            Ok(None) => {}
            Err(ClientError::Truncated) => return Err(TransportError::Closed),
            Err(ClientError::Timeout) => return Err(TransportError::Timeout),
            Err(e) => return Err(TransportError::Http(e)),
        }
        if !busy {
            net.wait(WAKE_MS);
        }
    }
}
