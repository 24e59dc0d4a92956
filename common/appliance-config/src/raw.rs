//! The file's shape as serde sees it. Leaves are kept as JSON values so that
//! `values` can check them and name the key in every error; serde handles
//! structure: unknown, missing and repeated keys (a repeated key would let
//! two readers of the same file see different configurations).

use core::fmt;
use core::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub listen_port: Value,
    pub kbs: Object<RawKbs>,
    pub resource_path: Value,
    // Absent means the default; an explicit `null` must reach validation as
    // a bad value, not turn into `None`.
    #[serde(default, deserialize_with = "present")]
    pub log_level: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub ohttp_key_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub previous_ohttp_key_id: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKbs {
    pub host: Value,
    pub port: Value,
}

/// What an object stands for, for "expected ..." messages.
pub(crate) trait Expecting {
    const EXPECTING: &'static str;
}

impl Expecting for RawConfig {
    const EXPECTING: &'static str = "a JSON object (the appliance config)";
}

impl Expecting for RawKbs {
    const EXPECTING: &'static str = "an object {\"host\", \"port\"} for key \"kbs\"";
}

/// Derived struct deserializers also accept a JSON array of the field values
/// in order; this wrapper only lets an object through.
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de> + Expecting> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OnlyMap<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de> + Expecting> Visitor<'de> for OnlyMap<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }

        d.deserialize_map(OnlyMap(PhantomData))
    }
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
