//! The proxy binary as a child process, killed when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use super::fake::Fake;

pub const BIN: &str = env!("CARGO_BIN_EXE_appliance-client");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The proxy binary, killed when dropped.
pub struct Proxy {
    child: Child,
    lines: Receiver<String>,
    pub url: String,
    /// What it printed before listening.
    pub startup: Vec<String>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    pub fn start(fake: &Fake, manifest: &str) -> Self {
        Self::start_with(&["--url", &fake.url(), "--manifest", manifest])
    }

    /// `proxy --listen 127.0.0.1:0 --insecure ARGS...`.
    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["proxy", "--listen", "127.0.0.1:0", "--insecure"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn proxy");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proxy = Self {
            child,
            lines,
            url: String::new(),
            startup: Vec::new(),
        };
        loop {
            let line = proxy
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("proxy listening on ...");
            if let Some(url) = line.strip_prefix("proxy listening on ") {
                proxy.url = url.to_string();
                return proxy;
            }
            proxy.startup.push(line);
        }
    }

    pub fn wait_for(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no line starting {prefix:?}"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Everything printed so far.
    pub fn printed(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// One plain HTTP request; (status, body).
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("connect");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer sk-unused\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("send");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("receive");
        let raw = text(&raw);
        let (head, body) = raw.split_once("\r\n\r\n").expect("head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, serde_json::from_str(body).expect("JSON body"))
    }
}
