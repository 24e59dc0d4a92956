//! A fleet behind one address: a balancer serves a listing of nodes
//! ([`listing`]) and routes `/node/NAME/...` to node NAME with the prefix
//! stripped. The client verifies every node on its own ([`verify_fleet`])
//! and decides which verified node gets each request ([`pool`]); the
//! balancer only carries bytes, so a hostile one can deny service but can
//! never make the client encrypt to a key whose evidence it has not
//! verified (a node's key comes only from that node's own evidence, and a
//! request misrouted to another node cannot be decrypted there).

pub mod listing;
pub mod pool;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::{Reason, Refusal};
use crate::http::printable;
use crate::manifest::Manifest;
use crate::verify::{verify, Options, VerifiedAppliance};
pub use listing::{FleetError, ListingError, Node};
pub use pool::{NodeStatus, Pool, Verifier};

/// Every listed node with its verdict, in listing order.
pub type FleetVerdicts = Vec<(Node, Result<VerifiedAppliance, Refusal>)>;

/// Verifications running at once: each holds up to two bodies and a
/// thread, so a listing of 256 nodes must not mean 256 of each.
pub const MAX_CONCURRENT_VERIFICATIONS: usize = 8;

/// What a verification that panicked counts as (the node is retried).
pub const PANICKED: &str = "verification panicked";

/// `work` on every item, at most [`MAX_CONCURRENT_VERIFICATIONS`] at once,
/// results in item order. A panic in one item's `work` is caught (its
/// result is `panicked()`) and never stops the others.
pub(crate) fn bounded<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> R + Sync,
    panicked: impl Fn() -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..MAX_CONCURRENT_VERIFICATIONS.min(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                // `work` shares nothing mutable with us: unwind safety holds.
                let result =
                    catch_unwind(AssertUnwindSafe(|| work(item))).unwrap_or_else(|_| panicked());
                let mut results = results.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .map(|r| r.unwrap_or_else(&panicked))
        .collect()
}

/// Verifies one listed node: refused without a request when its URL is off
/// the balancer and `options.allow_absolute_node_urls` is not set (an
/// untrusted listing must not make the client send requests to any host
/// it names).
pub fn verify_node(
    node: &Node,
    manifest: &Manifest,
    options: &Options,
) -> Result<VerifiedAppliance, Refusal> {
    if !node.on_balancer && !options.allow_absolute_node_urls {
        return Err(Refusal::new(
            Reason::NodeUrl,
            format!(
                "node URL {} is not on the balancer; pass --allow-absolute-node-urls to allow other hosts",
                printable(&node.url)
            ),
        ));
    }
    verify(&node.url, manifest, options)
}

/// Verifies every node of `nodes`, [`MAX_CONCURRENT_VERIFICATIONS`] at a
/// time; one node's refusal, slowness or panic never changes another's
/// verdict.
pub fn verify_nodes(nodes: Vec<Node>, manifest: &Manifest, options: &Options) -> FleetVerdicts {
    let verdicts = bounded(
        &nodes,
        |node| verify_node(node, manifest, options),
        || Err(Refusal::new(Reason::Connection, PANICKED)),
    );
    nodes.into_iter().zip(verdicts).collect()
}

/// Fetches the listing at `listing_url` (the balancer's address, or the
/// listing's own URL) and verifies every node in it.
pub fn verify_fleet(
    listing_url: &str,
    manifest: &Manifest,
    options: &Options,
) -> Result<FleetVerdicts, FleetError> {
    let nodes = listing::fetch(listing_url, options.fetch_timeout)?;
    Ok(verify_nodes(nodes, manifest, options))
}

/// `node-1 verified: sample evidence, measurement HEX, key id 1, url URL`
/// or `node-2 refused: REASON: DETAIL`: what `verify --fleet` and
/// `proxy --fleet` print per node (control characters replaced: the
/// details come from the listing, the balancer and the nodes).
pub fn verdict_line(node: &Node, verdict: &Result<VerifiedAppliance, Refusal>) -> String {
    match verdict {
        Ok(a) => verified_line(&node.name, a),
        Err(r) => printable(&format!("{} refused: {r}", node.name)),
    }
}

pub(crate) fn verified_line(name: &str, a: &VerifiedAppliance) -> String {
    let s = a.summary();
    printable(&format!(
        "{name} verified: {} evidence, measurement {}, key id {}, url {}",
        s.tee,
        s.measurement,
        a.key_id(),
        s.url
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn at_most_eight_at_once_in_order_and_panics_caught() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<usize> = (0..30).collect();
        let results = bounded(
            &items,
            |&i| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
                assert!(i != 7, "item 7 panics");
                Some(i * 2)
            },
            || None,
        );
        let want: Vec<Option<usize>> = (0..30).map(|i| (i != 7).then_some(i * 2)).collect();
        assert_eq!(results, want);
        let most = most.load(Ordering::SeqCst);
        assert!(
            (2..=MAX_CONCURRENT_VERIFICATIONS).contains(&most),
            "{most} at once"
        );
        assert!(bounded(&[] as &[u8], |_| 1, || 0).is_empty());
    }
}
