//! The proxy answers only requests addressed to a loopback name or address,
//! so a web page that rebinds its own DNS name to 127.0.0.1 gets nothing
//! (and nothing is forwarded to the appliance).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::fake::Fake;
use common::proxy_bin::Proxy;
use common::*;

/// A raw request with `host` (or no Host line); (status, body).
fn send(proxy: &Proxy, host: Option<&str>, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = proxy.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("receive");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_string())
}

#[test]
fn only_loopback_hosts_are_served() {
    let fake = Fake::start(MEASUREMENT);
    let manifest = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let proxy = Proxy::start(&fake, manifest.to_str().expect("utf8"));
    let port = proxy.url.rsplit(':').next().expect("port").to_string();
    let embed = r#"{"input":"hello","model":"all-MiniLM-L6-v2"}"#;
    let posts = || fake.seen().iter().filter(|s| s.starts_with("POST")).count();

    for host in [
        Some("attacker.example".to_string()),
        Some(format!("attacker.example:{port}")),
        Some(format!("127.0.0.1.nip.io:{port}")),
    ] {
        let (status, body) = send(&proxy, host.as_deref(), "POST", "/v1/embeddings", embed);
        assert_eq!(status, 403, "{host:?}: {body}");
        assert!(body.contains("host_not_allowed"), "{body}");
    }
    // No Host at all: http1 refuses the request before the proxy sees it.
    assert_eq!(send(&proxy, None, "POST", "/v1/embeddings", embed).0, 400);
    assert_eq!(posts(), 0, "nothing was forwarded");

    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "LOCALHOST".into(),
    ] {
        let (status, body) = send(&proxy, Some(&host), "POST", "/v1/embeddings", embed);
        assert_eq!(status, 200, "{host}: {body}");
    }
    assert_eq!(posts(), 3);
}
