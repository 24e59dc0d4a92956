//! The session cookie as Trustee (actix-web cookie with an Expires date),
//! our broker and a proxy set it.

use kbs_protocol::session_cookie_pair;

const ID: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn trustee_and_broker_forms() {
    let want = Some(format!("kbs-session-id={ID}"));
    for set_cookie in [
        // Trustee: only an expiry (kbs/src/attestation/session.rs).
        format!("kbs-session-id={ID}; Expires=Thu, 01 Jan 2026 00:05:00 GMT"),
        // Our broker.
        format!("kbs-session-id={ID}; Max-Age=300; Path=/kbs/v0; HttpOnly; SameSite=Strict"),
        // Bare, and with a proxy's extra attributes.
        format!("kbs-session-id={ID}"),
        format!("kbs-session-id={ID}; Path=/; Secure; HttpOnly; Domain=kbs.example"),
    ] {
        assert_eq!(session_cookie_pair(&set_cookie), want, "{set_cookie}");
    }
}

#[test]
fn other_cookies_and_odd_values_are_not_taken() {
    for set_cookie in [
        "other=abc; Path=/",
        "kbs-session-idx=abc",
        "kbs-session-id=",
        "kbs-session-id",
        "kbs-session-id=a\"b",
        "kbs-session-id=ab cd",
        "kbs-session-id=ab,cd",
        "; kbs-session-id=abc",
        "",
    ] {
        assert_eq!(session_cookie_pair(set_cookie), None, "{set_cookie:?}");
    }
    let long = format!("kbs-session-id={}", "a".repeat(129));
    assert_eq!(session_cookie_pair(&long), None);
    let max = format!("kbs-session-id={}", "a".repeat(128));
    assert_eq!(session_cookie_pair(&max), Some(max.clone()));
}
