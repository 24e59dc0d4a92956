//! Key broker throughput: complete KBS exchanges (auth + attest with sample
//! evidence, and auth + attest + resource) against the real binary on
//! 127.0.0.1, sequential and with several client threads.
//! Run: `cargo bench -p keybroker --bench attest_throughput`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Broker, Guest, M1};
use std::time::Instant;

fn exchange(broker: &Broker, with_resource: bool) {
    let guest = Guest::auth(broker, "sample");
    let body = guest.sample(&M1, &guest.digest());
    let r = guest.attest(broker, &body);
    assert_eq!(r.status, 200, "attest refused");
    if with_resource {
        let r = guest.get(broker, "/kbs/v0/resource/repo/key/model");
        assert_eq!(r.status, 200, "resource refused");
    }
}

fn measure(broker: &Broker, threads: usize, per_thread: usize, with_resource: bool) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    exchange(broker, with_resource);
                }
            });
        }
    });
    (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
}

/// The broker keeps at most 4096 live sessions (its `session-limit`), so a
/// run stays well below that: 20 + 3 x 600 exchanges.
fn main() {
    let (broker, _dir) =
        Broker::start("bench", &["--insecure-allow-sample", "--auth-per-sec", "0"]);
    for _ in 0..20 {
        exchange(&broker, true); // warm-up
    }
    println!("key broker throughput (sample evidence, loopback, client in this process)");
    println!("{:<34} {:>10}", "exchange", "per second");
    for (label, threads, n, res) in [
        ("auth+attest, 1 client", 1, 100, false),
        ("auth+attest, 4 clients", 4, 50, false),
        ("auth+attest+resource, 1 client", 1, 100, true),
        ("auth+attest+resource, 4 clients", 4, 50, true),
    ] {
        let mut runs: Vec<f64> = (0..3).map(|_| measure(&broker, threads, n, res)).collect();
        runs.sort_by(f64::total_cmp);
        println!("{label:<34} {:>10.0}", runs[1]);
    }
}
