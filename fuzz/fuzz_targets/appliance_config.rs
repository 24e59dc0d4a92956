//! The runtime configuration (fw_cfg `opt/appliance/config`): any bytes are
//! refused or accepted without a panic, oversized files are refused, parsing
//! is deterministic, and HOST_DATA binds exactly these bytes.
#![no_main]

use appliance_config::{check_host_data, parse, sha256, MAX_CONFIG_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = parse(data);
    if data.len() > MAX_CONFIG_BYTES {
        assert!(first.is_err(), "an oversized configuration was accepted");
    }
    let Ok(config) = first else { return };
    assert_eq!(parse(data).ok(), Some(config));
    let digest = sha256(data);
    assert_eq!(check_host_data(data, &digest).ok(), Some(digest));
    let mut other = digest;
    other[0] ^= 1;
    assert!(check_host_data(data, &other).is_err());
});
