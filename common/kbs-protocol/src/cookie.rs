//! The `kbs-session-id` cookie from a `Set-Cookie` value.
//!
//! Trustee sets `kbs-session-id=<32 hex>; Expires=<IMF-fixdate>` (actix-web
//! cookie with only an expiry, kbs/src/attestation/session.rs); our broker
//! adds `Max-Age`, `Path`, `HttpOnly` and `SameSite`. A proxy may add more.
//! Attributes are dropped: the guest echoes the pair only, for the one
//! broker it talks to, within the session.

use alloc::string::String;

use crate::types::SESSION_COOKIE;

/// Longest session id accepted (Trustee's is 32 hex digits).
const MAX_ID_LEN: usize = 128;

/// `kbs-session-id=<value>` (the pair to send back in `Cookie`), if
/// `set_cookie` sets that cookie to a plain alphanumeric id. Other cookies
/// and odd values give `None`.
pub fn session_cookie_pair(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    let (name, value) = pair.split_once('=')?;
    let ok = name.trim() == SESSION_COOKIE
        && !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| {
        let mut out = String::from(SESSION_COOKIE);
        out.push('=');
        out.push_str(value);
        out
    })
}
