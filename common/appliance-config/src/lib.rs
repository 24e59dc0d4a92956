//! Strict parser for the appliance runtime configuration, the fw_cfg file
//! `opt/appliance/config`, and its SHA-256 binding to SNP `HOST_DATA`.
//!
//! Schema (UTF-8 JSON object, at most [`MAX_CONFIG_BYTES`]):
//!
//! ```json
//! {
//!   "listen_port": 8080,
//!   "kbs": { "host": "10.0.2.2", "port": 8081 },
//!   "resource_path": "default/model/key",
//!   "log_level": "info"
//! }
//! ```
//!
//! | key | type | rule | default |
//! |---|---|---|---|
//! | `listen_port` | integer | 1..=65535 | required |
//! | `kbs.host` | string | IPv4 dotted quad, decimal octets without leading zeros; not 0.0.0.0, 127/8, multicast or broadcast | required |
//! | `kbs.port` | integer | 1..=65535 | required |
//! | `resource_path` | string | `repo/type/tag`: three non-empty segments of `[A-Za-z0-9._-]`, no `..`, no `.` segment, at most 255 bytes | required |
//! | `log_level` | string | `error`, `warn`, `info` or `debug` | `info` |
//! | `ohttp_key_id` | integer | 0..=255, not `previous_ohttp_key_id`: the serving key's id | drawn at random |
//! | `previous_ohttp_key_id` | integer | 0..=255: the last boot's key id, never drawn again | none |
//!
//! The key ids exist so a launcher that knows the last boot's id can keep a
//! reboot from reusing it (a client of the old key then gets RFC 9458's
//! "unknown key" problem rather than a plain 400).
//!
//! Only `log_level` and the key ids have defaults: every other value decides where the
//! appliance listens or whom it trusts for its model key, so it must be
//! stated. Unknown keys, repeated keys, `null`, wrong types and trailing data
//! are errors; each error names the key. What the host can change in this
//! file it can also change in `HOST_DATA`, so the file is only trusted after
//! [`check_host_data`] under SNP.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

mod config;
mod digest;
mod error;
mod raw;
mod values;

pub use config::{Config, KbsAddress, LogLevel, ResourcePath};
pub use digest::{check_host_data, sha256};
pub use error::ConfigError;

/// Largest accepted configuration file, in bytes.
pub const MAX_CONFIG_BYTES: usize = 4096;

/// Parses and validates a configuration file. Does not check `HOST_DATA`.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge { len: bytes.len() });
    }
    let raw: raw::Object<raw::RawConfig> =
        serde_json::from_slice(bytes).map_err(ConfigError::from_json)?;
    values::validate(raw.0)
}
