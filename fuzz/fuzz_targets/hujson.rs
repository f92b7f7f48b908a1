//! The HuJSON parser (policy files) on arbitrary text: it never panics, an error's line and
//! column lie inside the text, and HuJSON being a superset of JSON, any text serde_json reads
//! gives the same value (matching compares a JSON body with a recorded HuJSON one this way).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tailtape::body::parse_hujson;
use tailtape_fuzz::check_place;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let hujson = parse_hujson(text);
    if let Err(err) = &hujson {
        check_place(text, err.line, err.column);
    }
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        assert_eq!(
            hujson.as_ref().ok(),
            Some(&json),
            "JSON that HuJSON reads differently"
        );
    }
});
