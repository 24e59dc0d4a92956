//! Resources bound to measurements: one broker serving two images (two
//! manifests), each image's key bound to its own manifest. A session
//! attested as one image cannot read the other's key, by cookie or by
//! bearer token, and gets the same 401 as any refusal.

mod common;

use common::*;
use serde_json::json;

const KEY_A: &str = "/kbs/v0/resource/image-a/key/model";
const KEY_B: &str = "/kbs/v0/resource/image-b/key/model";

fn opens_with(r: &Response, guest: &Guest, key: &[u8]) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let jwe = jwe::Jwe::from_json(&r.body).expect("JWE");
    let plain = jwe::decrypt(&jwe, &guest.key).expect("opens with the TEE key");
    assert_eq!(plain.as_slice(), key);
}

fn assert_refused(r: &Response) {
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"type": "https://github.com/confidential-containers/kbs/errors/Unauthorized", "detail": "unauthorized"})
    );
}

/// A sample session attested as `measurement`; returns it and its token.
fn attested(broker: &Broker, measurement: &[u8; 48]) -> (Guest, String) {
    let guest = Guest::auth(broker, "sample");
    let r = guest.attest(broker, &guest.sample(measurement, &guest.digest()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["token"].as_str().expect("token").to_string();
    (guest, token)
}

fn bearer(broker: &Broker, path: &str, token: &str) -> Response {
    let auth = format!("Bearer {token}");
    http_with(broker.addr, "GET", path, &[("Authorization", &auth)], None)
}

#[test]
fn one_measurement_cannot_read_another_measurements_resource() {
    let dir = tmp_dir("two-images");
    let policy = json!({"guest_policy": "0x30000"});
    let a = write_manifest_named(&dir, "a.json", &[M1], policy.clone());
    let b = write_manifest_named(&dir, "b.json", &[M2], policy);
    let resources = dir.join("resources");
    let key_a = add_key_bound(
        &resources,
        &dir,
        "image-a/key/model",
        &["--manifest", a.to_str().expect("utf-8")],
    );
    let key_b = add_key_bound(
        &resources,
        &dir,
        "image-b/key/model",
        &["--measurement", &hex(&M2)],
    );
    assert_ne!(key_a, key_b);
    // The binding sits beside the key, under a name no path can reach.
    let sidecar = resources.join("image-a/key/.model.measurements");
    let text = std::fs::read_to_string(&sidecar).expect("binding file");
    assert_eq!(text, format!(r#"{{"measurements":["{}"]}}"#, hex(&M1)));

    let broker = Broker::start_with(
        &a,
        &resources,
        &[
            "--manifest",
            b.to_str().expect("utf-8"),
            "--insecure-allow-sample",
        ],
    );
    let (guest_a, token_a) = attested(&broker, &M1);
    let (guest_b, token_b) = attested(&broker, &M2);

    // Each image reads its own key, by cookie and by token.
    opens_with(&guest_a.get(&broker, KEY_A), &guest_a, &key_a);
    opens_with(&guest_b.get(&broker, KEY_B), &guest_b, &key_b);
    opens_with(&bearer(&broker, KEY_A, &token_a), &guest_a, &key_a);
    opens_with(&bearer(&broker, KEY_B, &token_b), &guest_b, &key_b);

    // And not the other's.
    assert_refused(&guest_a.get(&broker, KEY_B));
    assert_refused(&guest_b.get(&broker, KEY_A));
    assert_refused(&bearer(&broker, KEY_B, &token_a));
    assert_refused(&bearer(&broker, KEY_A, &token_b));
    assert_eq!(
        broker.count_log("REFUSED reason=resource-measurement ", 4),
        4
    );
    // The refusal looks exactly like a missing resource.
    let missing = guest_a.get(&broker, "/kbs/v0/resource/image-c/key/model");
    assert_refused(&missing);
    assert_eq!(missing.body, guest_a.get(&broker, KEY_B).body);
    // A measurement in neither manifest never gets a session.
    let other = Guest::auth(&broker, "sample");
    assert_refused(&other.attest(&broker, &other.sample(&[0x33; 48], &other.digest())));

    // Re-adding without a binding makes it readable by every measurement
    // the broker accepts.
    let file = dir.join("model.key");
    std::fs::write(&file, &key_b).expect("write");
    let out = run(&[
        "add-resource",
        "--resources",
        resources.to_str().expect("utf-8"),
        "--path",
        "image-b/key/model",
        "--file",
        file.to_str().expect("utf-8"),
        "--replace",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("every measurement the broker accepts"));
    opens_with(&guest_a.get(&broker, KEY_B), &guest_a, &key_b);
}
