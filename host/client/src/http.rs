//! Blocking HTTP/1.1 to the appliance: one request per connection
//! (`Connection: close`), encoded and parsed by the sans-I/O `http1` crate
//! over a std `TcpStream`. Only `http://` URLs: the confidentiality comes
//! from the OHTTP encapsulation, not from the transport.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use http1::{
    encode_request, ClientConfig, ClientRequest, Header, ReceivedResponse, ResponseParser,
};

/// Where the appliance is: the URL's host (for `Host`) and its addresses.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: String,
    host: String,
    addrs: Vec<SocketAddr>,
}

/// Bounds for one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

/// `http://HOST[:PORT][/]`; any other form is refused rather than guessed.
pub fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// URLs (the OHTTP layer is the protection)"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(format!("{url:?}: expected http://HOST[:PORT] with no path"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            let port = p.parse().map_err(|_| format!("{url:?}: bad port"))?;
            (h, port)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    Ok((host.to_string(), port))
}

impl Endpoint {
    /// Parses `url` and resolves its host.
    pub fn new(url: &str) -> Result<Self, String> {
        let (host, port) = parse_url(url)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (bare, port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host}: no address"));
        }
        let host = if port == 80 {
            host
        } else {
            format!("{host}:{port}")
        };
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            host,
            addrs,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn get(&self, path: &str, limits: Limits) -> Result<ReceivedResponse, String> {
        self.exchange("GET", path, &[], &[], limits)
    }

    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        limits: Limits,
    ) -> Result<ReceivedResponse, String> {
        let headers = [
            Header::new("Content-Type", content_type.as_bytes()),
            Header::new("Accept", b"message/ohttp-res"),
        ];
        self.exchange("POST", path, &headers, body, limits)
    }

    fn connect(&self, timeout: Duration) -> Result<TcpStream, String> {
        let mut last = String::from("no address");
        for addr in &self.addrs {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(last)
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[Header],
        body: &[u8],
        limits: Limits,
    ) -> Result<ReceivedResponse, String> {
        let wire = encode_request(&ClientRequest {
            method,
            host: &self.host,
            path,
            headers,
            body,
            close: true,
        })
        .map_err(|e| format!("request: {e}"))?;
        let started = Instant::now();
        let mut stream = self.connect(limits.timeout.min(Duration::from_secs(10)))?;
        let _ = stream.set_nodelay(true);
        stream
            .write_all(&wire)
            .map_err(|e| format!("{method} {path}: send: {e}"))?;
        let timeout_ms = u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX);
        let config = ClientConfig {
            max_body_bytes: limits.max_body_bytes,
            timeout_ms,
            ..ClientConfig::default()
        };
        let mut parser = ResponseParser::new(config, method == "HEAD", 0);
        let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match parser.poll(elapsed()) {
                Ok(Some(response)) => return Ok(response),
                Ok(None) => {}
                Err(e) => return Err(format!("{method} {path}: {e}")),
            }
            let left = timeout_ms.saturating_sub(elapsed()).max(1);
            let _ = stream.set_read_timeout(Some(Duration::from_millis(left)));
            match stream.read(&mut buf) {
                Ok(0) => parser.peer_closed(),
                Ok(n) => {
                    // The parser takes what fits its limits; a refusal to
                    // take more shows up as an error from `poll`.
                    parser.receive(buf.get(..n).unwrap_or(&[]));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{method} {path}: receive: {e}")),
            }
        }
    }
}

/// Whether `response`'s media type (before any parameters) is `want`.
pub fn has_media_type(response: &ReceivedResponse, want: &str) -> bool {
    response
        .header("content-type")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(want))
}

/// A short printable excerpt of a body the appliance sent (for messages).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    clean.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080"),
            Ok(("127.0.0.1".into(), 8080))
        );
        assert_eq!(
            parse_url("http://127.0.0.1:8080/"),
            Ok(("127.0.0.1".into(), 8080))
        );
        assert_eq!(parse_url("http://[::1]:9"), Ok(("[::1]".into(), 9)));
        assert_eq!(parse_url("http://[::1]"), Ok(("[::1]".into(), 80)));
        assert_eq!(parse_url("http://host"), Ok(("host".into(), 80)));
        for bad in [
            "https://127.0.0.1",
            "127.0.0.1:80",
            "http://",
            "http://h:x",
            "http://h:80/v1",
            "http://u@h",
            "http://:80",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
