//! An unauthenticated `/auth` flood does not stop a legitimate guest: the
//! flooding addresses (127.0.0.2 and up, still loopback) are held to their
//! per-peer rate (429), unattested sessions are capped with the oldest
//! evicted, and a guest on 127.0.0.1 completes auth, attest and the key
//! release while the flood runs.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Counts {
    ok: AtomicUsize,
    limited: AtomicUsize,
    other: AtomicUsize,
}

/// One `/auth` from `source`; the status code.
async fn auth_from(source: IpAddr, broker: SocketAddr) -> std::io::Result<u16> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(broker).await?;
    let body = request_json("sample");
    let request = format!(
        "POST /kbs/v0/auth HTTP/1.1\r\nHost: {broker}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let status = raw
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(status)
}

/// Floods from `sources` (eight concurrent requests from the first, one
/// from each other) until `stop`.
fn flood(
    broker: SocketAddr,
    sources: Vec<IpAddr>,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, flood_tasks(broker, sources, stop, counts));
    })
}

async fn flood_tasks(
    broker: SocketAddr,
    sources: Vec<IpAddr>,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    let mut tasks = Vec::new();
    for (i, source) in sources.into_iter().enumerate() {
        // The first address floods hardest.
        for _ in 0..if i == 0 { 8 } else { 1 } {
            let stop = Arc::clone(&stop);
            let counts = Arc::clone(&counts);
            tasks.push(tokio::task::spawn_local(async move {
                while !stop.load(Ordering::Relaxed) {
                    match auth_from(source, broker).await {
                        Ok(200) => counts.ok.fetch_add(1, Ordering::Relaxed),
                        Ok(429) => counts.limited.fetch_add(1, Ordering::Relaxed),
                        _ => counts.other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[test]
fn a_guest_gets_its_key_during_an_auth_flood() {
    let (broker, dir) = Broker::start(
        "flood",
        &["--insecure-allow-sample", "--max-unattested-sessions", "64"],
    );
    let key = std::fs::read(dir.join("model.key")).expect("key");
    let sources: Vec<IpAddr> = (2..42)
        .map(|n| IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let flooder = flood(broker.addr, sources, Arc::clone(&stop), Arc::clone(&counts));

    // Let every flooding address spend its burst and the table fill.
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts.limited.load(Ordering::Relaxed) < 500 {
        assert!(
            Instant::now() < deadline,
            "the flood never hit the rate limit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The legitimate guest, from 127.0.0.1, three times over.
    for _ in 0..3 {
        let guest = Guest::auth(&broker, "sample");
        let r = guest.attest(&broker, &guest.sample(&M1, &guest.digest()));
        let refusals: Vec<String> = broker
            .log()
            .into_iter()
            .filter(|l| l.contains("REFUSED") && !l.contains("auth-rate"))
            .collect();
        assert_eq!(r.status, 200, "{refusals:?}");
        let r = guest.get(&broker, "/kbs/v0/resource/repo/key/model");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let jwe = jwe::Jwe::from_json(&r.body).expect("JWE");
        assert_eq!(
            jwe::decrypt(&jwe, &guest.key).expect("opens").as_slice(),
            key.as_slice()
        );
    }
    stop.store(true, Ordering::Relaxed);
    flooder.join().expect("flooder");
    let elapsed = started.elapsed().as_secs_f64();
    let ok = counts.ok.load(Ordering::Relaxed);
    let limited = counts.limited.load(Ordering::Relaxed);
    assert_eq!(counts.other.load(Ordering::Relaxed), 0, "only 200 or 429");
    // 40 addresses, a burst of 40 each and 20/s after that (slack for timing).
    let most = 40.0 * (40.0 + 20.0 * elapsed) + 40.0;
    assert!(
        (ok as f64) <= most,
        "{ok} sessions in {elapsed:.1}s (at most {most})"
    );
    assert!(limited >= 500);
    // The table stayed bounded: far more sessions were made than it holds.
    assert!(ok > 64 + 100, "{ok}");
    // Rate refusals are logged in batches, not one line each.
    let lines = broker.count_log("REFUSED reason=auth-rate ", 1);
    assert!(
        lines >= 1 && lines * 50 < limited,
        "{lines} lines for {limited} refusals"
    );
}
