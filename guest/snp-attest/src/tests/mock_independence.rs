//! The mock secure processor must not share header offsets or message
//! helpers with the guest code it tests (a test reads its source).

const MOCK: &str = include_str!("../mock.rs");

/// The only crate items it may name: the transport trait it implements and
/// the types in that trait's signature.
const ALLOWED: [&str; 3] = [
    "use crate::error::TransportError;",
    "use crate::message::Page;",
    "use crate::messenger::GuestRequestTransport;",
];

fn violations(src: &str) -> usize {
    src.lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .filter(|code| {
            (code.contains("crate::") && !ALLOWED.contains(code)) || code.contains("super::")
        })
        .count()
}

#[test]
fn mock_uses_its_own_literals() {
    assert_eq!(violations(MOCK), 0);
}

#[test]
fn the_check_catches_shared_constants() {
    assert_eq!(violations("use crate::message::{Header, HEADER_LEN};"), 1);
    assert_eq!(
        violations("    let h = crate::message::Header::read(&x);"),
        1
    );
    assert_eq!(violations("use crate::message::Page; // ok"), 0);
}
