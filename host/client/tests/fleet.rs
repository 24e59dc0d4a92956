//! A fleet behind one address: `verify --fleet` judges every node on its
//! own; the proxy's pool sends each request to the least busy verified
//! node, retries once elsewhere when a node fails, follows a node that
//! comes back with a new key, and never sends to a key it has not verified.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use appliance_client::fleet::{
    verify_nodes, Node, NodeStatus, Pool, Verifier, MAX_CONCURRENT_VERIFICATIONS,
};
use appliance_client::proxy::Failure;
use appliance_client::{verify, Options, Reason, Refusal};
use common::balancer::{listing, web_404, Balancer};
use common::fake::{key, Fake};
use common::proxy_bin::{Proxy, BIN};
use common::*;

const BODY: &[u8] = br#"{"input":"x","model":"all-MiniLM-L6-v2"}"#;
const REQUEST: &str = r#"{"input":"a sentence","model":"all-MiniLM-L6-v2"}"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fakes are not behind a balancer: their URLs are absolute.
fn options() -> Options {
    Options {
        insecure: true,
        allow_absolute_node_urls: true,
        ..Options::default()
    }
}

fn node(name: &str, fake: &Fake) -> Node {
    Node {
        name: name.into(),
        url: fake.url(),
        on_balancer: false,
    }
}

const WARNING: &str = "appliance-client: WARNING: --insecure with --fleet: sample evidence is unsigned, so the balancer and any server the listing names can pose as a node and read requests; development only";

/// A pool of `nodes`, verified against a manifest naming only MEASUREMENT.
fn pool(nodes: Vec<Node>) -> Pool {
    let verdicts = verify_nodes(nodes, &manifest(&[MEASUREMENT]), &options());
    Pool::new(
        verdicts,
        Box::new(|n| verify(&n.url, &manifest(&[MEASUREMENT]), &options())),
    )
}

fn status(pool: &Pool, name: &str) -> NodeStatus {
    pool.statuses()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
        .expect("listed")
}

#[test]
fn verify_fleet_judges_every_node_on_its_own() {
    let good = Fake::start(MEASUREMENT);
    let unlisted = Fake::start(OTHER_MEASUREMENT);
    let web = web_404();
    let balancer = Balancer::start();
    balancer.route("node-1", good.addr);
    balancer.route("node-2", unlisted.addr);
    let web_url = format!("http://{web}");
    balancer.set_listing(&listing(&[
        ("node-1", "/node/node-1"),
        ("node-2", "/node/node-2"),
        ("web", &web_url),
    ]));
    let manifest = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let manifest = manifest.to_str().expect("utf8");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["verify", "--fleet", &balancer.url(), "--manifest", manifest])
            .args(["--insecure", "--allow-absolute-node-urls"])
            .args(extra)
            .output()
            .expect("run")
    };

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // The --insecure warning, once, before anything else.
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("{WARNING}\n")), "{stderr}");
    assert_eq!(stderr.matches("--insecure with --fleet").count(), 1);
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        format!(
            "node-1 verified: sample evidence, measurement {MEASUREMENT}, key id 1, url {}/node/node-1",
            balancer.url()
        )
    );
    assert!(
        lines[1].starts_with("node-2 refused: measurement: "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("web refused: endpoint: GET /v1/attestation answered 404"),
        "{}",
        lines[2]
    );
    // The balancer stripped the prefix; nothing but GETs was sent.
    assert_eq!(
        good.seen(),
        ["GET /v1/attestation", "GET /.well-known/ohttp-gateway"]
    );
    assert_eq!(unlisted.posts(), 0);

    let out = run(&["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let verified: Vec<_> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|n| (n["name"].clone(), n["verified"].clone()))
        .collect();
    assert_eq!(
        verified,
        [
            ("node-1".into(), true.into()),
            ("node-2".into(), false.into()),
            ("web".into(), false.into())
        ]
    );
    assert_eq!(json[0]["summary"]["measurement"], MEASUREMENT);
    assert_eq!(json[1]["refused"]["reason"], "measurement");

    // The proxy does not start without a verified node: it prints every
    // node's line and exits 1.
    balancer.set_listing(&listing(&[("node-2", "/node/node-2"), ("web", &web_url)]));
    let out = Command::new(BIN)
        .args(["proxy", "--listen", "127.0.0.1:0", "--insecure"])
        .args(["--fleet", &balancer.url(), "--manifest", manifest])
        .args(["--allow-absolute-node-urls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains("node-2 refused: measurement: "),
        "{printed}"
    );
    assert!(printed.contains("web refused: endpoint: "), "{printed}");
    assert!(!printed.contains("proxy listening"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no node of the fleet verified"));
    assert!(stderr.starts_with(&format!("{WARNING}\n")), "{stderr}");
    assert_eq!(stderr.matches("--insecure with --fleet").count(), 1);

    // Only good nodes: exit 0.
    balancer.set_listing(&listing(&[("node-1", "/node/node-1")]));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A listing that cannot be read: exit 2, nothing verified.
    balancer.set_listing(r#"{"version":2,"nodes":[{"name":"node-1","url":"/node/node-1"}]}"#);
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("fleet listing: version 2"));
    assert!(out.stdout.is_empty());
}

#[test]
fn the_pool_spreads_concurrent_requests() {
    let (a, b) = (Fake::start(MEASUREMENT), Fake::start(MEASUREMENT));
    for f in [&a, &b] {
        f.state().delay = Duration::from_millis(300);
    }
    let pool = pool(vec![node("a", &a), node("b", &b)]);
    let vias: Vec<Option<String>> = std::thread::scope(|s| {
        let running: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let f = pool.forward(BODY);
                    assert_eq!(f.result.map(|r| r.status), Ok(200));
                    f.via
                })
            })
            .collect();
        running
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let on = |n: &str| vias.iter().filter(|v| v.as_deref() == Some(n)).count();
    assert_eq!((on("a"), a.posts()), (on("a"), on("a")));
    assert_eq!((on("b"), b.posts()), (on("b"), on("b")));
    assert!(
        on("a") >= 3 && on("b") >= 3,
        "8 requests in flight together: a {}, b {}",
        on("a"),
        on("b")
    );

    // Fewest in flight, not plain turns: while a slow request holds a, the
    // next ones all go to b.
    a.state().delay = Duration::from_millis(1500);
    b.state().delay = Duration::ZERO;
    let (a_before, b_before) = (a.posts(), b.posts());
    std::thread::scope(|s| {
        let slow = s.spawn(|| pool.forward(BODY).via);
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..4 {
            assert_eq!(pool.forward(BODY).via.as_deref(), Some("b"));
        }
        assert_eq!(slow.join().expect("thread").as_deref(), Some("a"));
    });
    assert_eq!((a.posts(), b.posts()), (a_before + 1, b_before + 4));
}

#[test]
fn a_stopped_node_is_skipped_and_followed_when_it_returns_with_a_new_key() {
    let (a, b) = (Fake::start(MEASUREMENT), Fake::start(MEASUREMENT));
    let nodes = vec![node("a", &a), node("b", &b)];
    let pool = pool(nodes.clone());
    let first = pool.forward(BODY);
    assert_eq!(first.via.as_deref(), Some("a"));

    // a stops: the next request (b's turn) and the one after (a's turn,
    // retried on b) are both answered by b.
    a.set_down(true);
    let before = a.posts();
    for _ in 0..2 {
        let f = pool.forward(BODY);
        assert_eq!(f.result.map(|r| r.status), Ok(200));
        assert_eq!(f.via.as_deref(), Some("b"));
    }
    assert_eq!(b.posts(), 2);
    assert!(matches!(status(&pool, "a"), NodeStatus::Down(_)));
    // Down: no further attempt on a.
    assert_eq!(pool.forward(BODY).via.as_deref(), Some("b"));
    assert_eq!(a.posts(), before);

    // a comes back after a reboot with key id 2; the refresh verifies it.
    a.rotate(2);
    a.set_down(false);
    pool.refresh(Ok(nodes));
    assert_eq!(status(&pool, "a"), NodeStatus::Verified { key_id: 2 });
    let vias: Vec<_> = (0..2).map(|_| pool.forward(BODY)).collect();
    assert!(vias
        .iter()
        .all(|f| f.result.as_ref().map(|r| r.status) == Ok(200)));
    assert!(vias.iter().any(|f| f.via.as_deref() == Some("a")));
    assert_eq!(a.posts(), before + 1, "decrypted with the new key");
}

#[test]
fn a_busy_node_stays_in_use_and_its_request_goes_to_another() {
    let (a, b) = (Fake::start(MEASUREMENT), Fake::start(MEASUREMENT));
    let pool = pool(vec![node("a", &a), node("b", &b)]);
    a.state().gateway_busy = true;
    // a's turn: it answers 503 with Retry-After; b answers the request.
    let f = pool.forward(BODY);
    assert_eq!(f.result.map(|r| r.status), Ok(200));
    assert_eq!(f.via.as_deref(), Some("b"));
    assert_eq!(a.posts(), 1);
    assert!(matches!(status(&pool, "a"), NodeStatus::Verified { .. }));
    // Not marked down: once it has room it answers its turns again.
    a.state().gateway_busy = false;
    let vias: Vec<_> = (0..2).map(|_| pool.forward(BODY).via).collect();
    assert!(vias.contains(&Some("a".into())), "{vias:?}");
    // Both full: the request fails as busy (the proxy answers 503, so
    // SDKs retry), and neither node is marked down.
    a.state().gateway_busy = true;
    b.state().gateway_busy = true;
    assert!(matches!(
        pool.forward(BODY).result,
        Err(Failure::Client(appliance_client::ClientError::Busy(_)))
    ));
    assert!(matches!(status(&pool, "a"), NodeStatus::Verified { .. }));
    assert!(matches!(status(&pool, "b"), NodeStatus::Verified { .. }));
}

#[test]
fn a_key_rejection_reverifies_that_node_and_retries_on_it() {
    let a = Fake::start(MEASUREMENT);
    let pool = pool(vec![node("a", &a)]);
    assert_eq!(pool.forward(BODY).result.map(|r| r.status), Ok(200));
    a.rotate(7);
    let f = pool.forward(BODY);
    assert_eq!(f.result.map(|r| r.status), Ok(200));
    assert_eq!(a.posts(), 3, "the rejected attempt and the retry");
    assert_eq!(status(&pool, "a"), NodeStatus::Verified { key_id: 7 });
}

#[test]
fn the_listing_cannot_get_a_request_sent_to_an_unverified_key() {
    let good = Fake::start(MEASUREMENT);
    // Its gateway serves another key than its evidence commits to.
    let swapped = Fake::start(MEASUREMENT);
    swapped.state().keys_override = Some(key(1).1);
    let unlisted = Fake::start(OTHER_MEASUREMENT);
    let pool = pool(vec![
        node("good", &good),
        node("swapped", &swapped),
        node("unlisted", &unlisted),
    ]);
    assert!(
        matches!(status(&pool, "swapped"), NodeStatus::Refused(r) if r.starts_with("keys-mismatch"))
    );
    assert!(
        matches!(status(&pool, "unlisted"), NodeStatus::Refused(r) if r.starts_with("measurement"))
    );
    for _ in 0..6 {
        assert_eq!(pool.forward(BODY).via.as_deref(), Some("good"));
    }
    // Refused nodes are tried again (every few refreshes), and stay unused.
    pool.refresh(Ok(vec![
        node("good", &good),
        node("swapped", &swapped),
        node("unlisted", &unlisted),
    ]));
    for _ in 0..4 {
        assert_eq!(pool.forward(BODY).via.as_deref(), Some("good"));
    }
    assert_eq!((swapped.posts(), unlisted.posts()), (0, 0));

    // The listing moves "good" to the unlisted image's address: the verified
    // key stays with the old address, the new one is verified and refused.
    let before = good.posts();
    pool.refresh(Ok(vec![Node {
        name: "good".into(),
        url: unlisted.url(),
        on_balancer: false,
    }]));
    assert!(matches!(status(&pool, "good"), NodeStatus::Refused(_)));
    assert_eq!(pool.statuses().len(), 1, "unlisted nodes dropped");
    let f = pool.forward(BODY);
    assert!(matches!(f.result, Err(Failure::Unavailable(_))));
    assert_eq!((good.posts(), unlisted.posts()), (before, 0));
}

#[test]
fn proxy_fleet_fails_over_and_follows_a_rebooted_node() {
    let (one, two) = (Fake::start(MEASUREMENT), Fake::start(MEASUREMENT));
    two.rotate(2);
    let balancer = Balancer::start();
    balancer.route("node-1", one.addr);
    balancer.route("node-2", two.addr);
    balancer.set_listing(&listing(&[
        ("node-1", "/node/node-1"),
        ("node-2", "/node/node-2"),
    ]));
    let manifest = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let manifest = manifest.to_str().expect("utf8");
    let fleet = balancer.url();
    let proxy = Proxy::start_with(&[
        "--fleet",
        &fleet,
        "--manifest",
        manifest,
        "--refresh-secs",
        "1",
    ]);
    assert!(proxy
        .startup
        .iter()
        .any(|l| l.starts_with("node-1 verified: sample evidence")));
    assert!(proxy
        .startup
        .iter()
        .any(|l| l.starts_with("node-2 verified: sample evidence") && l.contains(", key id 2, ")));
    for n in 1..=2 {
        let (status, _) = proxy.request("POST", "/v1/embeddings", REQUEST);
        assert_eq!(status, 200);
        let line = proxy.wait_for("POST /v1/embeddings -> 200 in ");
        assert!(line.ends_with(&format!(" ms via node-{n}")), "{line}");
    }
    assert_eq!((one.posts(), two.posts()), (1, 1), "one each");

    // node-2 stops: the balancer answers 503 for it; every request is
    // still answered, by node-1.
    two.set_down(true);
    for _ in 0..3 {
        let (status, body) = proxy.request("POST", "/v1/embeddings", REQUEST);
        assert_eq!(status, 200, "{body}");
    }
    let down = proxy.wait_for("proxy: node-2 down: ");
    assert!(down.contains("503"), "{down}");
    assert_eq!(one.posts(), 4);

    // node-2 reboots with key id 3; the refresh verifies it and it is used.
    two.rotate(3);
    two.set_down(false);
    proxy.wait_for("proxy: node-2 verified (key id 3)");
    let before = two.posts();
    for _ in 0..2 {
        let (status, _) = proxy.request("POST", "/v1/embeddings", REQUEST);
        assert_eq!(status, 200);
    }
    let line = proxy.wait_for("POST /v1/embeddings -> 200 in ");
    assert!(line.ends_with(" via node-2"), "{line}");
    assert_eq!(two.posts(), before + 1);
    let printed = proxy.printed().join("\n");
    assert!(!printed.contains("a sentence"), "no text printed");
}

#[test]
fn nodes_off_the_balancer_need_allow_absolute_node_urls() {
    let (good, other) = (Fake::start(MEASUREMENT), Fake::start(MEASUREMENT));
    let balancer = Balancer::start();
    balancer.route("node-1", good.addr);
    let other_url = other.url();
    // The same origin written out in full is still on the balancer.
    let full = format!("{}/node/node-1", balancer.url());
    balancer.set_listing(&listing(&[
        ("node-1", "/node/node-1"),
        ("other", &other_url),
    ]));
    let manifest = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let manifest = manifest.to_str().expect("utf8");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["verify", "--fleet", &balancer.url(), "--manifest", manifest])
            .args(["--insecure"])
            .args(extra)
            .output()
            .expect("run")
    };

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("node-1 verified: "), "{}", lines[0]);
    assert_eq!(
        lines[1],
        format!(
            "other refused: node-url: node URL {other_url} is not on the balancer; pass --allow-absolute-node-urls to allow other hosts"
        )
    );
    // Nothing was sent to it.
    assert!(other.seen().is_empty(), "{:?}", other.seen());

    let out = run(&["--allow-absolute-node-urls"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("other verified: "));

    balancer.set_listing(&listing(&[("node-1", &full)]));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // Without --fleet the flag is a usage error.
    let out = Command::new(BIN)
        .args(["verify", "--url", &good.url(), "--manifest", manifest])
        .args(["--insecure", "--allow-absolute-node-urls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--allow-absolute-node-urls is for --fleet"));
    let out = Command::new(BIN)
        .args(["proxy", "--listen", "127.0.0.1:0", "--url", &good.url()])
        .args(["--manifest", manifest, "--allow-absolute-node-urls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--allow-absolute-node-urls is for --fleet"));

    // verify_nodes (and so the pool's verifier) refuses it too.
    let before = other.seen().len();
    let nodes = vec![Node {
        name: "other".into(),
        url: other.url(),
        on_balancer: false,
    }];
    let strict = Options {
        insecure: true,
        ..Options::default()
    };
    let verdicts = verify_nodes(nodes, &manifest_of(), &strict);
    assert!(
        matches!(&verdicts[0].1, Err(r) if r.reason == Reason::NodeUrl),
        "{:?}",
        verdicts[0].1.as_ref().err()
    );
    assert_eq!(other.seen().len(), before);
}

fn manifest_of() -> appliance_client::Manifest {
    manifest(&[MEASUREMENT])
}

#[test]
fn control_characters_in_a_listed_host_never_reach_the_output() {
    let good = Fake::start(MEASUREMENT);
    let balancer = Balancer::start();
    balancer.route("node-1", good.addr);
    // A JSON listing naming a host with ESC and CR (a terminal escape that
    // would recolour the line and rewrite it from its start).
    balancer.set_listing(
        r#"{"version":1,"nodes":[{"name":"node-1","url":"/node/node-1"},{"name":"evil","url":"http://h\u001b[32m\rnode-9 verified/x"}]}"#,
    );
    let manifest = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let out = Command::new(BIN)
        .args(["verify", "--fleet", &balancer.url(), "--manifest"])
        .arg(&manifest)
        .args(["--insecure", "--allow-absolute-node-urls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let all = [out.stdout, out.stderr].concat();
    assert!(
        !all.iter().any(|&b| b.is_ascii_control() && b != b'\n'),
        "{all:?}"
    );
    let stderr = String::from_utf8(all).expect("utf8");
    assert!(
        stderr.contains(r#"fleet listing: node evil: url: "http://h\u{1b}[32m\rnode-9 verified/x": the host must be a DNS name"#),
        "{stderr}"
    );
}

/// A pool of `names` whose initial verdicts are `initial`, verified again
/// with `verifier`.
fn judged(
    names: &[&str],
    initial: impl Fn(&str) -> Result<(), Refusal>,
    verifier: Verifier,
) -> Pool {
    let good = Fake::start(MEASUREMENT);
    let verdicts = names
        .iter()
        .map(|n| {
            let node = Node {
                name: (*n).into(),
                url: format!("http://127.0.0.1:9/{n}"),
                on_balancer: true,
            };
            let verdict = initial(n)
                .and_then(|()| verify(&good.url(), &manifest(&[MEASUREMENT]), &options()));
            (node, verdict)
        })
        .collect();
    Pool::new(verdicts, verifier)
}

fn listed(pool: &Pool) -> Vec<Node> {
    pool.statuses()
        .into_iter()
        .map(|(n, _)| Node {
            url: format!("http://127.0.0.1:9/{n}"),
            name: n,
            on_balancer: true,
        })
        .collect()
}

#[test]
fn refused_nodes_are_verified_again_only_every_sixth_refresh() {
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&calls);
    let pool = judged(
        &["bad", "down"],
        |n| {
            Err(match n {
                "bad" => Refusal::new(Reason::KeysMismatch, "other keys"),
                _ => Refusal::new(Reason::Connection, "refused"),
            })
        },
        Box::new(move |n| {
            seen.lock().expect("lock").push(n.name.clone());
            Err(match n.name.as_str() {
                "bad" => Refusal::new(Reason::KeysMismatch, "other keys"),
                _ => Refusal::new(Reason::Connection, "refused"),
            })
        }),
    );
    let count = |name: &str| {
        calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|n| *n == name)
            .count()
    };
    for refresh in 1..=12 {
        pool.refresh(Ok(listed(&pool)));
        // Down: every refresh. Refused: the 6th and the 12th.
        assert_eq!(count("down"), refresh);
        assert_eq!(count("bad"), refresh / 6, "after refresh {refresh}");
        assert!(matches!(status(&pool, "bad"), NodeStatus::Refused(_)));
    }
}

#[test]
fn a_verification_that_panics_leaves_its_node_down_and_the_others_verified() {
    let a = Fake::start(MEASUREMENT);
    let nodes = vec![node("a", &a), node("boom", &a)];
    let verdicts = vec![
        (nodes[0].clone(), Err(Refusal::new(Reason::Connection, "x"))),
        (nodes[1].clone(), Err(Refusal::new(Reason::Connection, "x"))),
    ];
    let pool = Arc::new(Pool::new(
        verdicts,
        Box::new(|n| {
            assert!(n.name != "boom", "the verifier panics");
            verify(&n.url, &manifest(&[MEASUREMENT]), &options())
        }),
    ));
    pool.refresh(Ok(nodes.clone()));
    assert_eq!(status(&pool, "a"), NodeStatus::Verified { key_id: 1 });
    assert_eq!(
        status(&pool, "boom"),
        NodeStatus::Down("verification panicked".into())
    );
    // Tried again at the next refresh (still panicking, still down).
    pool.refresh(Ok(nodes.clone()));
    assert_eq!(
        status(&pool, "boom"),
        NodeStatus::Down("verification panicked".into())
    );

    // A refresh thread whose lister panics goes on with the next refresh.
    a.rotate(4);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    pool.spawn_refresh(
        Box::new(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            assert!(n != 0, "the first listing panics");
            // "a" moved: a new member, verified afresh (key id 4).
            Ok(vec![Node {
                name: "a".into(),
                url: format!("{}/", a.url()),
                on_balancer: false,
            }])
        }),
        Duration::from_millis(50),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) < 3 {
        assert!(std::time::Instant::now() < deadline, "refresh thread died");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status(&pool, "a"), NodeStatus::Verified { key_id: 4 });
}

#[test]
fn a_refresh_verifies_at_most_eight_nodes_at_once() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (Arc::clone(&running), Arc::clone(&most));
    let names: Vec<String> = (0..24).map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let pool = judged(
        &names,
        |_| Err(Refusal::new(Reason::Connection, "not yet")),
        Box::new(move |_| {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            r.fetch_sub(1, Ordering::SeqCst);
            Err(Refusal::new(Reason::Connection, "still down"))
        }),
    );
    pool.refresh(Ok(listed(&pool)));
    let most = most.load(Ordering::SeqCst);
    assert!(
        (2..=MAX_CONCURRENT_VERIFICATIONS).contains(&most),
        "{most} at once"
    );
    assert!(pool
        .statuses()
        .iter()
        .all(|(_, s)| *s == NodeStatus::Down("connection: still down".into())));
}
