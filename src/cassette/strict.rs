//! A JSON value read with duplicate object keys refused. `serde_json::Value` keeps the last of
//! two equal keys without a word, so a hand-edited cassette with a key written twice (a
//! header, a field of a body) would load as something its reviewer never saw. [`StrictValue`]
//! builds the same `Value` in the same single pass, and stops at the second occurrence of a
//! key: serde_json then reports the line and column where it stands, just after that key.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// The beginning of the message of a duplicate-key error, so the loader can tell it from a
/// syntax error.
pub const DUPLICATE_KEY: &str = "duplicate key";

/// The error for a key seen twice in one object.
pub fn duplicate_key<E: de::Error>(key: &str) -> E {
    E::custom(format!(
        "{DUPLICATE_KEY} \"{key}\": each key may appear once in an object"
    ))
}

/// Deserializes a [`Value`], refusing duplicate keys at any depth.
#[derive(Clone, Copy)]
pub struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match object.entry(key) {
                Entry::Vacant(vacant) => {
                    vacant.insert(map.next_value_seed(StrictValue)?);
                }
                Entry::Occupied(occupied) => return Err(duplicate_key(occupied.key())),
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeSeed;

    use super::StrictValue;

    fn read(text: &str) -> Result<serde_json::Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        StrictValue.deserialize(&mut de)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"b": [1, -2, 3.5, "x", null, true, {}], "a": {"c": []}}"#;
        let strict = read(text).unwrap();
        let plain: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(strict, plain);
        assert_eq!(strict.to_string(), plain.to_string(), "same key order");
    }

    #[test]
    fn refuses_a_duplicate_key_at_any_depth_with_its_place() {
        let err = read("{\"a\": [{\"x\": 1,\n  \"x\": 2}]}").unwrap_err();
        assert!(err.to_string().starts_with("duplicate key \"x\""), "{err}");
        assert_eq!((err.line(), err.column()), (2, 5));
        assert!(read(r#"{"a": {"x": 1}, "b": {"x": 1}}"#).is_ok());
    }
}
