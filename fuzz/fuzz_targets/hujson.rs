//! The HuJSON parser (policy files) on arbitrary text: it never panics, an error's line and
//! column lie inside the text, and HuJSON being a superset of JSON, any text serde_json reads
//! gives the same value (matching compares a JSON body with a recorded HuJSON one this way).
//! One difference is known and allowed: jsonc-parser reads `-0` as the integer 0, where
//! serde_json reads the float -0.0 (crash-0fefd27c; README, "Fuzzing").
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tailtape::body::parse_hujson;
use tailtape_fuzz::check_place;

/// Equal JSON values, where 0 and -0 are one number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64() == Some(0.0) && y.as_f64() == Some(0.0))
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let hujson = parse_hujson(text);
    if let Err(err) = &hujson {
        check_place(text, err.line, err.column, &err.message);
    }
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        let read = hujson.as_ref().ok();
        assert!(
            read.is_some_and(|value| same(value, &json)),
            "JSON that HuJSON reads differently: {read:?}, not {json:?}"
        );
    }
});
