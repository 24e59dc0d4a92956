//! Blocking HTTP/1.1 to the appliance: one request per connection
//! (`Connection: close`), encoded and parsed by the sans-I/O `http1` crate
//! over a std `TcpStream`. Only `http://` URLs: the confidentiality comes
//! from the OHTTP encapsulation, not from the transport. A URL may carry a
//! base path (`http://balancer/node/node-1`, a fleet node behind a
//! path-routing balancer); every request path is appended to it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use http1::{
    encode_request, ClientConfig, ClientRequest, Header, ReceivedResponse, ResponseParser,
};

/// Where the appliance is: the URL's host (for `Host`), its addresses and
/// the base path every request path is appended to (empty for none).
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: String,
    host: String,
    base: String,
    addrs: Vec<SocketAddr>,
}

/// A parsed `http://HOST[:PORT][/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// As written in the URL (IPv6 in brackets).
    pub host: String,
    pub port: u16,
    /// `""` or `/seg[/seg...]`, without a trailing slash.
    pub path: String,
}

impl Url {
    /// `http://HOST[:PORT]`: where paths of a fleet listing are resolved.
    pub fn origin(&self) -> String {
        if self.port == 80 {
            format!("http://{}", self.host)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }
}

/// Bounds for one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

/// A path segment: unreserved characters only (RFC 3986), so nothing is
/// percent-decoded, re-encoded or interpreted differently by a balancer.
fn valid_segment(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

/// Each connect attempt waits at most this long (within the exchange's timeout).
const CONNECT_ATTEMPT: Duration = Duration::from_secs(10);
/// Resolved addresses tried per exchange: a name resolving to many
/// unreachable addresses must not multiply the wait.
const MAX_CONNECT_ADDRS: usize = 4;

/// A host as a URL may name it: a DNS name or IPv4 address (`[A-Za-z0-9.-]`
/// in non-empty dot-separated labels) or a bracketed IPv6 literal. Anything
/// else (control characters, `%`, `_`, spaces...) is refused, so a host
/// from an untrusted listing can never reach a printed line or a resolver
/// in an odd form.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[') {
        return inner
            .strip_suffix(']')
            .is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok());
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `http://HOST[:PORT][/PATH][/]`; any other form (query, fragment,
/// userinfo, `..`, empty or escaped segments, a host that is not a DNS
/// name, IPv4 or bracketed IPv6 address) is refused rather than guessed.
pub fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// URLs (the OHTTP layer is the protection)"))?;
    if rest.contains(['?', '#', '@']) {
        return Err(format!(
            "{url:?}: expected http://HOST[:PORT][/PATH] with no query, fragment or user"
        ));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    if !path.is_empty() && !path.split('/').skip(1).all(valid_segment) {
        return Err(format!(
            "{url:?}: path segments may only hold A-Z a-z 0-9 . _ ~ - (no empty, . or .. segments)"
        ));
    }
    if authority.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            // Digits only: `u16::from_str` would also take a sign.
            let port = p
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| p.parse().ok())
                .flatten()
                .ok_or_else(|| format!("{url:?}: bad port"))?;
            (h, port)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    if !valid_host(host) {
        return Err(format!(
            "{url:?}: the host must be a DNS name, an IPv4 address or a bracketed IPv6 address"
        ));
    }
    Ok(Url {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

impl Endpoint {
    /// Parses `url` and resolves its host.
    pub fn new(url: &str) -> Result<Self, String> {
        let Url { host, port, path } = parse_url(url)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        // std's name resolution (getaddrinfo) takes no timeout: a slow
        // resolver can hold this call beyond any exchange's deadline.
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
            base: path,
            addrs,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `path` under the base path (`/node/n1` + `/` = `/node/n1/`).
    fn full_path(&self, path: &str) -> String {
        let full = format!("{}{path}", self.base);
        if full.is_empty() {
            "/".into()
        } else {
            full
        }
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

    fn connect(&self, deadline: Instant) -> Result<TcpStream, String> {
        connect_within(&self.addrs, deadline, TcpStream::connect_timeout)
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[Header],
        body: &[u8],
        limits: Limits,
    ) -> Result<ReceivedResponse, String> {
        let path = &self.full_path(path);
        let wire = encode_request(&ClientRequest {
            method,
            host: &self.host,
            path,
            headers,
            body,
            close: true,
        })
        .map_err(|e| format!("request: {e}"))?;
        // The timeout bounds the whole exchange: connecting, sending and
        // receiving (the addresses were resolved in `Endpoint::new`).
        let started = Instant::now();
        let deadline = started + limits.timeout;
        let mut stream = self.connect(deadline)?;
        let _ = stream.set_nodelay(true);
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("{method} {path}: timed out connecting"));
        }
        stream
            .set_write_timeout(Some(left))
            .map_err(|e| format!("{method} {path}: send: {e}"))?;
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

/// Connects to the first of `addrs` (at most [`MAX_CONNECT_ADDRS`]) that
/// answers before `deadline`; each attempt gets the time left, at most
/// [`CONNECT_ATTEMPT`]. `connect` is `TcpStream::connect_timeout` (a
/// parameter for the tests).
fn connect_within<S>(
    addrs: &[SocketAddr],
    deadline: Instant,
    connect: impl Fn(&SocketAddr, Duration) -> std::io::Result<S>,
) -> Result<S, String> {
    let mut last = String::from("no address");
    for addr in addrs.iter().take(MAX_CONNECT_ADDRS) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("{last}; timed out connecting"));
        }
        match connect(addr, left.min(CONNECT_ATTEMPT)) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// Whether `response`'s media type (before any parameters) is `want`.
pub fn has_media_type(response: &ReceivedResponse, want: &str) -> bool {
    response
        .header("content-type")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(want))
}

/// `text` with every control character (ESC, CR, LF...) replaced by a
/// space: what the client prints of anything a listing, a balancer or an
/// appliance sent, so none of them can forge or rewrite printed lines.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A short printable excerpt of a body the appliance sent (for messages).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let short: String = text.chars().take(200).collect();
    printable(&short).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, path: &str) -> Result<Url, String> {
        Ok(Url {
            host: host.into(),
            port,
            path: path.into(),
        })
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080"),
            url("127.0.0.1", 8080, "")
        );
        assert_eq!(
            parse_url("http://127.0.0.1:8080/"),
            url("127.0.0.1", 8080, "")
        );
        assert_eq!(parse_url("http://[::1]:9"), url("[::1]", 9, ""));
        assert_eq!(parse_url("http://[::1]"), url("[::1]", 80, ""));
        assert_eq!(parse_url("http://host"), url("host", 80, ""));
        assert_eq!(
            parse_url("http://h:80/node/node-1"),
            url("h", 80, "/node/node-1")
        );
        assert_eq!(
            parse_url("http://h:81/node/node-1/"),
            url("h", 81, "/node/node-1")
        );
        assert_eq!(
            parse_url("http://h/.well-known/appliance-fleet"),
            url("h", 80, "/.well-known/appliance-fleet")
        );
        assert_eq!(parse_url("http://h/a_b~c.d-e"), url("h", 80, "/a_b~c.d-e"));
        for bad in [
            "https://127.0.0.1",
            "127.0.0.1:80",
            "http://",
            "http://h:x",
            "http://u@h",
            "http://u@h/p",
            "http://h/p@q",
            "http://:80",
            "http:///p",
            "http://h:1/p?q=1",
            "http://h:1/p#f",
            "http://h:1/a/../b",
            "http://h:1/..",
            "http://h:1/./a",
            "http://h:1//a",
            "http://h:1/a//b",
            "http://h:1/a%2fb",
            "http://h:1/a b",
            "http://h:1/a\\b",
            "http://h:1/a/b//",
            "http://h:1/é",
            "http://a\x1b[31mb/x",
            "http://a\rb/x",
            "http://a\nb:80",
            "http://a b",
            "http://h_1",
            "http://h%41",
            "http://.h",
            "http://h.",
            "http://a..b",
            "http://::1",
            "http://[::1",
            "http://[h]:80",
            "http://[::1]x:80",
            "http://h:+80",
            "http://h:65536",
            "http://hé",
        ] {
            assert!(parse_url(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_url("http://Node-1.example.COM:8080"),
            url("Node-1.example.COM", 8080, "")
        );
        assert_eq!(parse_url("http://[fe80::1]:1/a"), url("[fe80::1]", 1, "/a"));
    }

    #[test]
    fn printed_text_has_no_control_characters() {
        assert_eq!(printable("a\x1b[2Jb\rc\nd\te\u{9b}f"), "a [2Jb c d e f");
        assert_eq!(excerpt(b"  <h1>\x1b]0;x\x07 hi\r\n"), "<h1> ]0;x  hi");
    }

    #[test]
    fn connecting_stays_within_the_deadline_and_four_addresses() {
        use std::sync::Mutex;
        let addrs: Vec<SocketAddr> = (1..=6)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .collect();
        // Every address refuses at once: only the first four are tried.
        let tried = Mutex::new(Vec::new());
        let deadline = Instant::now() + Duration::from_secs(60);
        let refused = connect_within(&addrs, deadline, |a, t| {
            tried.lock().expect("lock").push((a.port(), t));
            Err::<(), _>(std::io::Error::from(ErrorKind::ConnectionRefused))
        });
        assert!(refused.is_err_and(|e| e.starts_with("127.0.0.1:4: ")));
        let tried = tried.into_inner().expect("lock");
        assert_eq!(
            tried.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert!(tried.iter().all(|(_, t)| *t <= CONNECT_ATTEMPT));

        // Every address hangs for the whole time it is given: the first one
        // gets only what is left of a 300 ms exchange, then it stops.
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        let calls = Mutex::new(0);
        let hung = connect_within(&addrs, deadline, |_, t| {
            assert!(t <= Duration::from_millis(300), "{t:?}");
            *calls.lock().expect("lock") += 1;
            std::thread::sleep(t);
            Err::<(), _>(std::io::Error::from(ErrorKind::TimedOut))
        });
        assert!(hung.is_err_and(|e| e.ends_with("timed out connecting")));
        assert_eq!(calls.into_inner().expect("lock"), 1);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn paths_are_appended_to_the_base() {
        let plain = Endpoint::new("http://127.0.0.1:9").expect("endpoint");
        assert_eq!(plain.full_path("/"), "/");
        assert_eq!(plain.full_path("/v1/attestation"), "/v1/attestation");
        let node = Endpoint::new("http://127.0.0.1:9/node/node-1/").expect("endpoint");
        assert_eq!(node.url(), "http://127.0.0.1:9/node/node-1");
        assert_eq!(node.full_path("/"), "/node/node-1/");
        assert_eq!(
            node.full_path("/v1/attestation"),
            "/node/node-1/v1/attestation"
        );
        assert_eq!(node.full_path(""), "/node/node-1");
        assert_eq!(
            parse_url("http://127.0.0.1:9/x").map(|u| u.origin()),
            Ok("http://127.0.0.1:9".to_string())
        );
        assert_eq!(
            parse_url("http://h/x").map(|u| u.origin()),
            Ok("http://h".to_string())
        );
    }
}
