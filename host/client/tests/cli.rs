//! The `appliance-client` binary: exit codes, the insecure warning, `embed`
//! output, and the proxy with plain HTTP (what the `openai` package sends).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::fake::{embedding, Fake};
use common::proxy_bin::{Proxy, BIN};
use common::*;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn verify_exit_codes_and_the_insecure_warning() {
    let fake = Fake::start(MEASUREMENT);
    let url = fake.url();
    let good = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let good = good.to_str().expect("utf8");
    let base = ["verify", "--url", &url, "--manifest", good];

    let out = run(&base, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("refused: sample-refused: "));

    let out = run(&[&base[..], &["--insecure"]].concat(), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("WARNING: INSECURE: sample evidence is unsigned"));
    let summary = text(&out.stdout);
    for want in [
        "tee: sample",
        MEASUREMENT,
        "EPYC-v4, 1 vCPU",
        "key: id 1",
        "boot log: model",
        "binding: ok",
        // The configuration digest and every check with its values.
        "config: sha256 1111111111111111111111111111111111111111111111111111111111111111",
        &format!("check measurement: ok: {MEASUREMENT} (expected one of 1 launch digest(s) (manifest))"),
        "check report-data: ok: equal",
        "check runtime-config: ok: 1111111111111111111111111111111111111111111111111111111111111111 (expected any",
    ] {
        assert!(summary.contains(want), "{want} in {summary}");
    }

    let out = run(&[&base[..], &["--insecure", "--json"]].concat(), None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(json["tee"], "sample");
    assert_eq!(json["binding"], "ok");
    assert_eq!(json["runtime_config_sha256"], "11".repeat(32));
    assert!(json["checks"].as_array().is_some_and(|c| c.len() >= 3));

    // A pinned configuration other than the boot log's is refused; its own
    // is accepted and said to be stricter than the manifest.
    let out = run(
        &[
            &base[..],
            &["--insecure", "--config-sha256", &"22".repeat(32)],
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused: host-data: "),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        &[
            &base[..],
            &["--insecure", "--config-sha256", &"11".repeat(32)],
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("stricter: runtime configuration must be one of 1"));
    // A value that would loosen the manifest's policy is a usage error.
    for loose in [
        &["--min-tcb", "milan:bl=0,tee=0,snp=0,ucode=0"][..],
        &["--min-report-version", "2"][..],
    ] {
        let out = run(&[&base[..], &["--insecure"], loose].concat(), None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{loose:?}: {}",
            text(&out.stderr)
        );
    }

    let other = manifest_file(&[OTHER_MEASUREMENT], GUEST_POLICY, None);
    let out = run(
        &[
            "verify",
            "--url",
            &url,
            "--manifest",
            other.to_str().expect("utf8"),
            "--insecure",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    // The insecure warning, then exactly one refusal line.
    let refusals: Vec<&str> = err.lines().filter(|l| l.starts_with("refused: ")).collect();
    assert_eq!(refusals.len(), 1, "{err}");
    assert!(refusals[0].starts_with("refused: measurement: "), "{err}");
}

#[test]
fn usage_and_connection_errors_exit_2() {
    let good = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let good = good.to_str().expect("utf8");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["verify", "--url", url.as_str(), "--manifest", good],
        vec![
            "verify",
            "--url",
            url.as_str(),
            "--manifest",
            "/nonexistent/manifest.json",
        ],
        vec!["verify", "--manifest", good],
        vec!["embed", "--url", url.as_str(), "--manifest", good],
        vec![
            "proxy",
            "--listen",
            "0.0.0.0:0",
            "--url",
            url.as_str(),
            "--manifest",
            good,
        ],
    ] {
        let out = run(&args, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn embed_prints_one_vector_per_input() {
    let fake = Fake::start(MEASUREMENT);
    let url = fake.url();
    let m = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let m = m.to_str().expect("utf8");
    let base = ["embed", "--url", &url, "--manifest", m, "--insecure"];
    for extra in [&[][..], &["--encoding", "base64"][..]] {
        let args = [&base[..], extra, &["first text", "second text"]].concat();
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let lines: Vec<Vec<f32>> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON array per line"))
            .collect();
        assert_eq!(
            lines,
            vec![embedding("first text"), embedding("second text")]
        );
    }
    let out = run(
        &[&base[..], &["--stdin", "--json", "arg"]].concat(),
        Some("line one\n\nline two\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("response JSON");
    assert_eq!(json["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["object"], "list");

    // An OpenAI error inside the encapsulation: its message, exit 1.
    let out = run(&[&base[..], &[""]].concat(), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("must not contain empty strings"),
        "{}",
        text(&out.stderr)
    );
}

/// A refused `embed` sends nothing: the fake sees the evidence and key GETs
/// and no POST. The same command accepted does POST, so the count can tell.
#[test]
fn embed_sends_nothing_when_it_refuses() {
    let fake = Fake::start(MEASUREMENT);
    let url = fake.url();
    let good = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let good = good.to_str().expect("utf8");
    let other = manifest_file(&[OTHER_MEASUREMENT], GUEST_POLICY, None);
    let other = other.to_str().expect("utf8");
    let posts = || fake.seen().iter().filter(|s| s.starts_with("POST")).count();
    for (manifest, insecure, reason) in [
        (good, &[][..], "refused: sample-refused: "),
        (other, &["--insecure"][..], "refused: measurement: "),
    ] {
        let gets = fake.seen().len();
        let args = [
            &["embed", "--url", &url, "--manifest", manifest][..],
            insecure,
            &["secret text"],
        ]
        .concat();
        let out = run(&args, None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(reason), "{reason} in {err}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        assert!(fake.seen().len() > gets, "the evidence was fetched");
        assert_eq!(posts(), 0, "{:?}", fake.seen());
    }
    let out = run(
        &[
            "embed",
            "--url",
            &url,
            "--manifest",
            good,
            "--insecure",
            "secret text",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(posts(), 1, "{:?}", fake.seen());
}

/// What the `openai` package sends by default: base64 embeddings.
const SDK_BODY: &str = r#"{"input":["secret prompt one","secret prompt two"],"model":"all-MiniLM-L6-v2","encoding_format":"base64"}"#;

fn check_embeddings(body: &serde_json::Value) {
    let data = body["data"].as_array().expect("data");
    let first = data[0]["embedding"].as_str().expect("base64");
    assert_eq!(
        serving_api::embeddings::decode_base64_embedding(first),
        Some(embedding("secret prompt one"))
    );
}

#[test]
fn proxy_round_trip_and_key_rotation() {
    let fake = Fake::start(MEASUREMENT);
    let m = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let proxy = Proxy::start(&fake, m.to_str().expect("utf8"));

    let (status, body) = proxy.request("POST", "/v1/embeddings", SDK_BODY);
    assert_eq!(status, 200, "{body}");
    check_embeddings(&body);
    let (status, models) = proxy.request("GET", "/v1/models", "");
    assert_eq!(status, 200);
    assert_eq!(models["data"][0]["id"], serving_api::MODEL_ID);
    let (status, err) = proxy.request("POST", "/v1/embeddings", r#"{"input":"x","model":"gpt-4"}"#);
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "model_not_found");
    let (status, _) = proxy.request("GET", "/v1/chat/completions", "");
    assert_eq!(status, 404);

    // A full appliance (503 with Retry-After): 503 to the SDK, so it
    // retries, and the next request goes through.
    fake.state().gateway_busy = true;
    let (status, err) = proxy.request("POST", "/v1/embeddings", SDK_BODY);
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["error"]["code"], "appliance_busy");
    fake.state().gateway_busy = false;
    let (status, body) = proxy.request("POST", "/v1/embeddings", SDK_BODY);
    assert_eq!(status, 200, "{body}");

    // A reboot: new key, new evidence. The proxy re-verifies and retries.
    fake.rotate(2);
    let (status, body) = proxy.request("POST", "/v1/embeddings", SDK_BODY);
    assert_eq!(status, 200, "{body}");
    check_embeddings(&body);
    proxy.wait_for("proxy: re-verified (sample evidence, key id 2)");

    // A reboot into an image the manifest does not list: refused, and stays so.
    fake.state().measurement = OTHER_MEASUREMENT.into();
    fake.rotate(3);
    for _ in 0..2 {
        let (status, err) = proxy.request("POST", "/v1/embeddings", SDK_BODY);
        assert_eq!(status, 502, "{err}");
        assert_eq!(err["error"]["code"], "appliance_not_verified");
        assert!(err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("measurement"));
    }
    let posts = fake.seen().iter().filter(|s| s.starts_with("POST")).count();
    fake.state().measurement = MEASUREMENT.into();
    fake.rotate(4);
    let (status, _) = proxy.request("POST", "/v1/embeddings", SDK_BODY);
    assert_eq!(status, 502, "refused until restarted");
    assert_eq!(
        fake.seen().iter().filter(|s| s.starts_with("POST")).count(),
        posts,
        "nothing forwarded once refused"
    );

    proxy.wait_for("POST /v1/embeddings -> 502");
    let printed = proxy.printed().join("\n");
    assert!(!printed.contains("secret prompt"), "{printed}");
}
