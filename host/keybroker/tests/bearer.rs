//! Resource reads the way guest-components' `kbs_protocol` makes them
//! (attestation-agent/kbs_protocol/src/client/{rcar_client,token_client}.rs):
//! the RCAR client keeps the `kbs-session-id` cookie in its cookie store;
//! the token client sends `Authorization: Bearer <token>` with the token
//! `/attest` returned, and no cookie. Trustee's server takes the session
//! cookie first, then the bearer token (kbs/src/api_server.rs
//! get_attestation_token). Every refusal is the broker's one 401.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use serde_json::{json, Value};

const RESOURCE: &str = "/kbs/v0/resource/repo/key/model";

fn assert_refused(r: &Response) {
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    // kbs_protocol reads a 401 body as kbs_types::ErrorInformation.
    assert_eq!(
        r.json(),
        json!({"type": "https://github.com/confidential-containers/kbs/errors/Unauthorized", "detail": "unauthorized"})
    );
}

/// kbs_protocol's Request: version 0.4.0 and its hash-algorithm list.
fn kbs_protocol_request() -> String {
    json!({
        "version": "0.4.0",
        "tee": "sample",
        "extra-params": {"supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"]},
    })
    .to_string()
}

/// RCAR handshake as kbs_protocol does it (sample evidence plus the
/// measurement our broker's allow-list needs); returns the guest and the
/// token from `/attest`.
fn handshake(broker: &Broker) -> (Guest, String) {
    let r = broker.request("POST", "/kbs/v0/auth", None, Some(&kbs_protocol_request()));
    assert_eq!(r.status, 200);
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_string();
    let challenge = r.json();
    // No `selected-hash-algorithm` in the challenge: kbs_protocol uses SHA-384.
    assert_eq!(challenge["extra-params"], "");
    let guest = Guest {
        cookie,
        nonce: challenge["nonce"].as_str().expect("nonce").to_string(),
        key: jwe::EcPrivateKey::generate(&mut rand_core::OsRng),
    };
    let body = guest.sample(&M1, &guest.digest());
    // kbs_types serialises `init-data: None` as null.
    let mut body: Value = serde_json::from_str(&body).expect("json");
    body["init-data"] = Value::Null;
    let r = guest.attest(broker, &body.to_string());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["token"].as_str().expect("token").to_string();
    (guest, token)
}

/// The claims as kbs_protocol's `Token::new` reads them (second part,
/// base64url, JSON with numeric `exp`).
fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn get_bearer(broker: &Broker, token: &str) -> Response {
    http_with(
        broker.addr,
        "GET",
        RESOURCE,
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
}

fn opens_with(r: &Response, guest: &Guest, key: &[u8]) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let jwe = jwe::Jwe::from_json(&r.body).expect("JWE");
    let plain = jwe::decrypt(&jwe, &guest.key).expect("opens with the TEE key");
    assert_eq!(plain.as_slice(), key);
    let other = jwe::EcPrivateKey::generate(&mut rand_core::OsRng);
    assert!(jwe::decrypt(&jwe, &other).is_err());
}

#[test]
fn the_token_from_attest_reads_resources_without_a_cookie() {
    let (broker, dir) = Broker::start("bearer", &["--insecure-allow-sample"]);
    let key = std::fs::read(dir.join("model.key")).expect("key");
    let (guest, token) = handshake(&broker);
    // What kbs_protocol's Token::new and check_valid need.
    let c = claims(&token);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let exp = c["exp"].as_u64().expect("numeric exp");
    assert!(exp > now && c["iat"].as_u64().expect("numeric iat") <= now);
    // Trustee's token verifier finds the TEE key at `/tee-pubkey`.
    let tee_key: kbs_protocol::TeePubKey =
        serde_json::from_value(c.pointer("/tee-pubkey").expect("tee-pubkey").clone())
            .expect("TeePubKey");
    assert_eq!(
        serde_json::to_value(tee_key).expect("json"),
        serde_json::to_value(guest.tee_pubkey()).expect("json")
    );

    // The token client: bearer only, the JWE is made to the TEE key.
    opens_with(&get_bearer(&broker, &token), &guest, &key);
    broker.expect_log("released resource=repo/key/model session=- via=bearer-token");
    // The scheme is case-insensitive (RFC 9110).
    let r = http_with(
        broker.addr,
        "GET",
        RESOURCE,
        &[("Authorization", &format!("bearer {token}"))],
        None,
    );
    opens_with(&r, &guest, &key);
    // The RCAR client: the session cookie.
    opens_with(&guest.get(&broker, RESOURCE), &guest, &key);
    // The session cookie is looked at first, as Trustee does: a stale
    // cookie falls back to the token, a good cookie wins over a bad token.
    let r = http_with(
        broker.addr,
        "GET",
        RESOURCE,
        &[
            ("Cookie", "kbs-session-id=0123456789abcdef0123456789abcdef"),
            ("Authorization", &format!("Bearer {token}")),
        ],
        None,
    );
    opens_with(&r, &guest, &key);
    let r = http_with(
        broker.addr,
        "GET",
        RESOURCE,
        &[("Cookie", &guest.cookie), ("Authorization", "Bearer x.y.z")],
        None,
    );
    opens_with(&r, &guest, &key);
    // A token does not open the path check: unknown paths are refused alike.
    let r = http_with(
        broker.addr,
        "GET",
        "/kbs/v0/resource/repo/key/other",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_refused(&r);
    broker.expect_refusal("no-resource");
}

#[test]
fn missing_forged_and_malformed_tokens_are_refused() {
    let (broker, _dir) = Broker::start("bearer-forged", &["--insecure-allow-sample"]);
    let (_, token) = handshake(&broker);
    let (_, second) = handshake(&broker);
    // Missing: neither cookie nor token.
    assert_refused(&broker.request("GET", RESOURCE, None, None));
    broker.expect_refusal("no-session");
    // Forged: the first token's header and signature over the second
    // token's claims (another TEE key), and a changed expiry.
    let (a, b): (Vec<&str>, Vec<&str>) = (token.split('.').collect(), second.split('.').collect());
    let swapped = format!("{}.{}.{}", a[0], b[1], a[2]);
    let mut later = claims(&token);
    later["exp"] = json!(later["exp"].as_u64().expect("exp") + 3600);
    let extended = format!(
        "{}.{}.{}",
        a[0],
        URL_SAFE_NO_PAD.encode(later.to_string()),
        a[2]
    );
    let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), a[1]);
    for forged in [&swapped, &extended, &unsigned] {
        assert_refused(&get_bearer(&broker, forged));
    }
    assert_eq!(broker.count_log("REFUSED reason=token ", 3), 3);
    // Malformed Authorization headers.
    for value in [
        "Bearer".to_string(),
        "Bearer ".to_string(),
        format!("Basic {token}"),
        format!("Bearer {token} extra"),
        format!("Token {token}"),
        "Bearer not-a-jwt".to_string(),
    ] {
        let r = http_with(
            broker.addr,
            "GET",
            RESOURCE,
            &[("Authorization", &value)],
            None,
        );
        assert_refused(&r);
    }
    assert_eq!(broker.count_log("REFUSED reason=token ", 9), 9);
    // Two Authorization headers are ambiguous.
    let bearer = format!("Bearer {token}");
    let r = http_with(
        broker.addr,
        "GET",
        RESOURCE,
        &[("Authorization", &bearer), ("Authorization", &bearer)],
        None,
    );
    assert_refused(&r);
    assert_eq!(broker.count_log("REFUSED reason=token ", 10), 10);
    // The genuine token still works.
    assert_eq!(get_bearer(&broker, &token).status, 200);
}

#[test]
fn a_token_from_another_broker_is_foreign() {
    let (first, _d1) = Broker::start("bearer-first", &["--insecure-allow-sample"]);
    let (second, _d2) = Broker::start("bearer-second", &["--insecure-allow-sample"]);
    let (_, token) = handshake(&first);
    assert_eq!(get_bearer(&first, &token).status, 200);
    // Same format, same claims shape, signed by another process's key.
    assert_refused(&get_bearer(&second, &token));
    second.expect_refusal("token");
}

#[test]
fn an_expired_token_is_refused() {
    let (broker, _dir) = Broker::start(
        "bearer-expired",
        &["--insecure-allow-sample", "--session-ttl-secs", "1"],
    );
    let (_, token) = handshake(&broker);
    let exp = claims(&token)["exp"].as_u64().expect("exp");
    // Wait until the wall clock is past `exp` (whole seconds).
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        if now >= exp {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_refused(&get_bearer(&broker, &token));
    broker.expect_refusal("token-expired");
}

#[test]
fn trustee_sample_quote_without_a_measurement_is_refused() {
    // kbs_protocol's sample attester sends only {svn, report_data}; this
    // broker's allow-list needs the measurement member as well.
    let (broker, _dir) = Broker::start("bearer-sample", &["--insecure-allow-sample"]);
    let r = broker.request("POST", "/kbs/v0/auth", None, Some(&kbs_protocol_request()));
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_string();
    let guest = Guest {
        cookie,
        nonce: r.json()["nonce"].as_str().expect("nonce").to_string(),
        key: jwe::EcPrivateKey::generate(&mut rand_core::OsRng),
    };
    let rd = base64::engine::general_purpose::STANDARD.encode(guest.digest());
    let body = guest.attestation(json!({"svn": "1", "report_data": rd}));
    assert_refused(&guest.attest(&broker, &body));
    broker.expect_refusal("bad-request");
}
