//! The mock hypervisor must not share constants or helpers with the code it
//! tests: otherwise a wrong offset or exit code in the guest code would be
//! mirrored by the mock and every test would still pass.

/// Every file of the mock (checked against the directory below).
const SOURCES: [(&str, &str); 11] = [
    ("ap.rs", include_str!("../mock/ap.rs")),
    ("config.rs", include_str!("../mock/config.rs")),
    ("devices.rs", include_str!("../mock/devices.rs")),
    ("events.rs", include_str!("../mock/events.rs")),
    ("exits.rs", include_str!("../mock/exits.rs")),
    ("layout.rs", include_str!("../mock/layout.rs")),
    ("mod.rs", include_str!("../mock/mod.rs")),
    ("msr_protocol.rs", include_str!("../mock/msr_protocol.rs")),
    ("psc.rs", include_str!("../mock/psc.rs")),
    ("pvalidate.rs", include_str!("../mock/pvalidate.rs")),
    ("rmp.rs", include_str!("../mock/rmp.rs")),
];

/// The only items of the crate the mock may name: the trait it implements,
/// the types in the trait's signature, and the page size operand.
const ALLOWED: [&str; 2] = [
    "use crate::{Ghcb, GhcbCopy, PageSize, SnpHardware};",
    "use crate::PageSize;",
];

/// `Ghcb` accessors that interpret the page with the crate's offsets; the
/// mock may only use `as_bytes` / `as_bytes_mut`.
const GHCB_ACCESSORS: [&str; 22] = [
    ".read_u16(",
    ".read_u32(",
    ".read_u64(",
    ".write_u16(",
    ".write_u32(",
    ".write_u64(",
    ".field_if_valid(",
    ".valid_bitmap(",
    ".set_valid_bitmap(",
    ".mark_valid(",
    ".is_valid(",
    ".clear_valid_bitmap(",
    ".shared_buffer",
    ".usage(",
    ".protocol_version(",
    ".sw_exit_",
    ".set_sw_",
    ".set_rax(",
    ".rax(",
    ".xcr0(",
    ".reset(",
    "Ghcb::new(",
];

/// Lines of `src` (comments removed) that break the rules.
fn violations(src: &str) -> std::vec::Vec<std::string::String> {
    let mut out = std::vec::Vec::new();
    for (i, line) in src.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("").trim();
        let bad_use = code.contains("crate::") && !ALLOWED.contains(&code);
        let escape = code.contains("super::super");
        let accessor = GHCB_ACCESSORS.iter().any(|m| code.contains(m));
        if bad_use || escape || accessor {
            out.push(std::format!("line {}: {code}", i + 1));
        }
    }
    out
}

#[test]
fn mock_uses_only_the_trait_and_raw_bytes() {
    for (name, src) in SOURCES {
        let v = violations(src);
        assert!(v.is_empty(), "mock/{name}: {v:?}");
    }
}

#[test]
fn every_mock_file_is_checked() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/mock");
    let mut on_disk: std::vec::Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    on_disk.sort();
    let listed: std::vec::Vec<_> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn the_check_catches_shared_constants() {
    assert_eq!(violations("use crate::nae::EXIT_CPUID;").len(), 1);
    assert_eq!(violations("    let c = crate::ghcb::OFF_RAX;").len(), 1);
    assert_eq!(violations("use super::super::nae;").len(), 1);
    assert_eq!(violations("let x = ghcb.sw_exit_code();").len(), 1);
    assert_eq!(
        violations("let p = ghcb.as_bytes(); // crate::nae in a comment").len(),
        0
    );
}
