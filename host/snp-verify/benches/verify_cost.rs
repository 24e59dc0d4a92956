//! What one SNP verification costs a client: the real Milan report and its
//! VCEK through `verify` (VCEK chain to the pinned ARK, report signature,
//! policy), repeated; prints the median per verification. The fleet's
//! paper extrapolation (bench/README.md) multiplies it by the node count.
//! Run: `cargo bench -p snp-verify --bench verify_cost`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{policy_for, vector, MILAN_REPORT, MILAN_VCEK};
use snp_verify::{verify, Evidence};
use std::time::Instant;

fn main() {
    let report = vector(MILAN_REPORT);
    let vcek = vector(MILAN_VCEK);
    let policy = policy_for(&report);
    let evidence = Evidence::new(&report, &vcek);
    let mut per_round = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..20 {
            if let Err(r) = verify(&evidence, &policy) {
                eprintln!("verify_cost: the Milan vector was refused: {r}");
                std::process::exit(1);
            }
        }
        per_round.push(start.elapsed().as_secs_f64() * 1e3 / 20.0);
    }
    per_round.sort_by(f64::total_cmp);
    let median = per_round
        .get(per_round.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "snp verify (Milan report + VCEK chain + signature + policy): {median:.2} ms per verification (median of 7 rounds of 20, one thread)"
    );
}
