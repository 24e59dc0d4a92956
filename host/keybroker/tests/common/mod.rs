//! Test helpers: the broker binary as a child process on 127.0.0.1:0, a
//! minimal HTTP/1.1 client, a guest's side of the protocol, and the shared
//! AMD vectors. Nothing here talks to any address but loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use jwe::EcPrivateKey;
use rand_core::OsRng;
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_keybroker");

/// A fresh, empty directory under cargo's per-target temp dir.
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("keybroker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// `../shared/testdata/snp/<path>` from the repository root.
pub fn vector(path: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/snp");
    assert!(
        root.is_dir(),
        "test vectors missing: {} (shared/ must sit beside the repository clone)",
        root.display()
    );
    let full = root.join(path);
    let data = std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    if path.ends_with(".hex") {
        let text = String::from_utf8(data).expect("hex file is ASCII");
        return hex::decode(text.trim()).expect("hex file decodes");
    }
    data
}

pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Allowed measurements of the test manifests.
pub const M1: [u8; 48] = [0x11; 48];
pub const M2: [u8; 48] = [0x22; 48];

/// A manifest shaped like image-builder's, listing `digests`, with a zero
/// minimum TCB for Milan (the generation of the real vectors).
pub fn write_manifest(dir: &Path, digests: &[[u8; 48]]) -> PathBuf {
    let policy = json!({
        "guest_policy": "0x30000", "debug_allowed": false, "migration_agent_allowed": false,
        "required_vmpl": 0, "min_report_version": 3, "vlek_allowed": false,
        "min_tcb": {"milan": {"bootloader": 0, "tee": 0, "snp": 0, "microcode": 0}},
        "runtime_config_sha256": [],
    });
    write_manifest_named(dir, "manifest.json", digests, policy)
}

/// `dir/name`: a manifest listing `digests` with `policy` as its policy.
pub fn write_manifest_named(
    dir: &Path,
    name: &str,
    digests: &[[u8; 48]],
    policy: Value,
) -> PathBuf {
    let configs: Vec<Value> = digests
        .iter()
        .map(|d| json!({"vcpus": 1, "vcpu_type": "EPYC-v4", "guest_features": "0x1", "launch_digest": hex(d)}))
        .collect();
    let manifest = json!({
        "format_version": 1,
        "launch_configurations": configs,
        "policy": policy,
    });
    let path = dir.join(name);
    std::fs::write(&path, manifest.to_string()).expect("write manifest");
    path
}

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run keybroker")
}

/// Adds a 32-byte random key as `repo/key/model`; returns the key.
pub fn add_key(resources: &Path, dir: &Path, path: &str) -> Vec<u8> {
    add_key_bound(resources, dir, path, &[])
}

/// Adds a 32-byte random key at `path` with `binding` arguments
/// (`--manifest F` / `--measurement HEX`); returns the key.
pub fn add_key_bound(resources: &Path, dir: &Path, path: &str, binding: &[&str]) -> Vec<u8> {
    let mut key = vec![0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut key);
    let file = dir.join("model.key");
    std::fs::write(&file, &key).expect("write key");
    let mut args = vec![
        "add-resource",
        "--resources",
        resources.to_str().expect("utf-8"),
        "--path",
        path,
        "--file",
        file.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(binding);
    let out = run(&args);
    assert!(
        out.status.success(),
        "add-resource: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    key
}

/// A running `keybroker serve` on 127.0.0.1 (killed on drop).
pub struct Broker {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Broker {
    /// Starts the broker with `extra` arguments after the required ones.
    pub fn start(name: &str, extra: &[&str]) -> (Broker, PathBuf) {
        let dir = tmp_dir(name);
        let manifest = write_manifest(&dir, &[M1, M2]);
        let resources = dir.join("resources");
        add_key(&resources, &dir, "repo/key/model");
        let broker = Self::start_with(&manifest, &resources, extra);
        (broker, dir)
    }

    pub fn start_with(manifest: &Path, resources: &Path, extra: &[&str]) -> Broker {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--manifest"])
            .arg(manifest)
            .arg("--resources")
            .arg(resources)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keybroker serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("log").push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = log.lock().expect("log").iter().find_map(|l| {
                l.split_once("listening on ")
                    .and_then(|(_, a)| a.trim().parse::<SocketAddr>().ok())
            });
            if let Some(addr) = found {
                assert!(addr.ip().is_loopback());
                return Broker { child, addr, log };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("broker exited ({status}): {:?}", log.lock().expect("log"));
            }
            assert!(
                Instant::now() < deadline,
                "broker did not start: {:?}",
                log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// Waits (briefly) for a log line containing `needle`.
    pub fn expect_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self.log().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}: {:#?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the refusal line with `reason`.
    /// How many log lines contain `needle`, waiting (briefly) for at least
    /// `want`: the log is read by another thread, so lines lag the replies.
    pub fn count_log(&self, needle: &str, want: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let n = self.log().iter().filter(|l| l.contains(needle)).count();
            if n >= want || Instant::now() >= deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn expect_refusal(&self, reason: &str) -> String {
        self.expect_log(&format!("REFUSED reason={reason} "))
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<&str>,
    ) -> Response {
        http(self.addr, method, path, cookie, body)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// One HTTP/1.1 request with `Connection: close`; reads to EOF.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Response {
    let cookie_header = cookie.map(|c| ("Cookie", c));
    let headers: Vec<(&str, &str)> = cookie_header.into_iter().collect();
    http_with(addr, method, path, &headers, body)
}

/// One HTTP/1.1 request with `Connection: close` and the given extra
/// header fields (a POST also gets a JSON Content-Type); reads to EOF.
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let body = body.unwrap_or("");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let body = raw[split + 4..].to_vec();
    assert!(
        !headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")),
        "chunked bodies are not expected"
    );
    Response {
        status,
        headers,
        body,
    }
}

/// The guest's side: a session cookie, its nonce and a TEE key.
pub struct Guest {
    pub cookie: String,
    pub nonce: String,
    pub key: EcPrivateKey,
}

pub fn request_json(tee: &str) -> String {
    json!({"version": "0.4.0", "tee": tee, "extra-params": {}}).to_string()
}

impl Guest {
    /// POST /auth; panics unless it succeeds.
    pub fn auth(broker: &Broker, tee: &str) -> Guest {
        let r = broker.request("POST", "/kbs/v0/auth", None, Some(&request_json(tee)));
        assert_eq!(r.status, 200, "auth: {}", String::from_utf8_lossy(&r.body));
        let set_cookie = r.header("set-cookie").expect("Set-Cookie").to_string();
        let cookie = set_cookie.split(';').next().expect("cookie").to_string();
        let challenge = r.json();
        Guest {
            cookie,
            nonce: challenge["nonce"].as_str().expect("nonce").to_string(),
            key: EcPrivateKey::generate(&mut OsRng),
        }
    }

    pub fn tee_pubkey(&self) -> kbs_protocol::TeePubKey {
        let public = self.key.public_key();
        kbs_protocol::ec_p256_tee_pubkey(public.jwk_x(), public.jwk_y())
    }

    /// The SNP REPORT_DATA this guest must present (digest + 16 zeros).
    pub fn report_data(&self) -> [u8; 64] {
        kbs_protocol::report_data(&self.nonce, &self.tee_pubkey(), "").expect("report data")
    }

    /// The 48-byte runtime-data digest sample evidence carries.
    pub fn digest(&self) -> [u8; 48] {
        kbs_protocol::runtime_data_digest(&self.nonce, &self.tee_pubkey(), "").expect("digest")
    }

    /// An Attestation body with `evidence` as primary evidence.
    pub fn attestation(&self, evidence: Value) -> String {
        json!({
            "runtime-data": {"nonce": self.nonce, "tee-pubkey": serde_json::to_value(self.tee_pubkey()).expect("jwk")},
            "tee-evidence": {"primary_evidence": evidence, "additional_evidence": ""},
        })
        .to_string()
    }

    /// Sample evidence claiming `measurement` with REPORT_DATA `report_data`.
    pub fn sample(&self, measurement: &[u8; 48], report_data: &[u8]) -> String {
        let rd = base64::engine::general_purpose::STANDARD.encode(report_data);
        self.attestation(json!({"svn": "1", "report_data": rd, "measurement": hex(measurement)}))
    }

    pub fn attest(&self, broker: &Broker, body: &str) -> Response {
        broker.request("POST", "/kbs/v0/attest", Some(&self.cookie), Some(body))
    }

    pub fn get(&self, broker: &Broker, path: &str) -> Response {
        broker.request("GET", path, Some(&self.cookie), None)
    }
}
