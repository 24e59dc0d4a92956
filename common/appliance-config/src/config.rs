//! The validated configuration.

use alloc::string::String;
use core::fmt;

/// Validated runtime configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// TCP port the appliance serves HTTP on.
    pub listen_port: u16,
    /// Where the key broker listens.
    pub kbs: KbsAddress,
    /// KBS resource holding the model key.
    pub resource_path: ResourcePath,
    pub log_level: LogLevel,
    /// OHTTP key id to use (`ohttp_key_id`); `None`: drawn at random.
    pub ohttp_key_id: Option<u8>,
    /// Key id of the previous boot (`previous_ohttp_key_id`), never drawn
    /// again, so a client of the old key is told to refetch the keys.
    pub previous_ohttp_key_id: Option<u8>,
}

/// Key broker address: IPv4 only (the guest stack has no DNS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbsAddress {
    pub host: [u8; 4],
    pub port: u16,
}

impl fmt::Display for KbsAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.host;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}

/// A KBS resource path `repo/type/tag`, as in
/// `/kbs/v0/resource/<repo>/<type>/<tag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath(pub(crate) String);

impl ResourcePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three segments: repository, type, tag.
    #[cfg(feature = "inspect")]
    pub fn segments(&self) -> (&str, &str, &str) {
        let mut it = self.0.splitn(3, '/');
        // Validation guarantees three segments; empty strings never occur.
        (
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
        )
    }
}

impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most verbose log level the appliance emits (its log events are fixed and
/// allow-listed at every level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Self::Error, Self::Warn, Self::Info, Self::Debug]
            .into_iter()
            .find(|level| level.as_str() == name)
    }
}
