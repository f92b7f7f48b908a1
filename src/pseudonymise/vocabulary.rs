//! The API's own words, never learned as identifying values: the field names, enum values and
//! definitions of the embedded schemas, the policy file's keywords and the operating systems
//! devices report. Replacement works on whole words everywhere in a cassette, so a device
//! called `tags`, `linux` or `member` would otherwise rename a field, an `os` value or
//! `autogroup:member` in the policy; such a name is generic and stays as it is.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::Value;

/// Words of the policy file and of device answers that no schema spells out.
const EXTRA: &[&str] = &[
    // autogroups and policy keywords
    "autogroup",
    "admin",
    "auditor",
    "billing-admin",
    "danger-all",
    "internet",
    "it-admin",
    "member",
    "network-admin",
    "nonroot",
    "owner",
    "self",
    "shared",
    "tagged",
    "group",
    "tag",
    "check",
    // operating systems
    "android",
    "freebsd",
    "illumos",
    "ios",
    "linux",
    "macos",
    "openbsd",
    "plan9",
    "solaris",
    "tvos",
    "windows",
];

static WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut words: HashSet<String> = EXTRA.iter().map(|w| w.to_string()).collect();
    for (_, text) in crate::embedded::SCHEMAS {
        if let Ok(document) = serde_json::from_str::<Value>(text) {
            collect(&document, &mut words);
        }
    }
    words
});

/// Whether `value` is one of the API's own words (compared without case).
pub fn is_api_word(value: &str) -> bool {
    WORDS.contains(&value.to_ascii_lowercase())
}

/// Every object key, and every `enum` or `const` string with its parts split at `:`, `/`,
/// `-`, `_` and `.`, lower-cased.
fn collect(value: &Value, words: &mut HashSet<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                add(key, words);
                match (key.as_str(), member) {
                    ("enum", Value::Array(items)) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .for_each(|item| add(item, words)),
                    ("const", Value::String(text)) => add(text, words),
                    _ => {}
                }
                collect(member, words);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, words)),
        _ => {}
    }
}

fn add(word: &str, words: &mut HashSet<String>) {
    let word = word.to_ascii_lowercase();
    for part in word.split([':', '/', '-', '_', '.']) {
        words.insert(part.to_string());
    }
    words.insert(word);
}

#[cfg(test)]
mod tests {
    use super::is_api_word;

    #[test]
    fn field_names_enum_values_and_policy_words_are_the_apis() {
        for word in ["tags", "hostname", "acls", "Linux", "member", "autogroup"] {
            assert!(is_api_word(word), "{word}");
        }
        for name in ["pangolin", "amelie", "corp-gw"] {
            assert!(!is_api_word(name), "{name}");
        }
    }
}
