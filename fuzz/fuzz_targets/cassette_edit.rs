//! The cassette loader on structured edits of a bundled cassette (a value replaced or removed,
//! a key added, the text cut short as a killed recorder leaves it), so that inputs reach deep
//! into the format check and the typed conversion rather than stopping at JSON syntax.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tailtape_fuzz::{ArbJson, BUNDLED, check_parse};

#[derive(Arbitrary, Debug)]
struct Input {
    cassette: u8,
    edits: Vec<Edit>,
    /// Cut the text after this many bytes (taken modulo its length, on a character boundary).
    cut: Option<u32>,
}

#[derive(Arbitrary, Debug)]
struct Edit {
    /// At each level, which child to go down to (modulo their count).
    path: Vec<u8>,
    op: Op,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Replace(ArbJson),
    Remove,
    Insert(String, ArbJson),
}

/// Walks down `path` and applies `op` there (`Remove` takes the child out of its parent).
fn apply(value: &mut Value, path: &[u8], op: &Op) {
    let children = match &*value {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    if let (Some((&step, rest)), true) = (path.split_first(), children > 0) {
        let i = step as usize % children;
        if rest.is_empty() && matches!(op, Op::Remove) {
            match value {
                Value::Object(map) => {
                    if let Some(key) = map.keys().nth(i).cloned() {
                        map.shift_remove(&key);
                    }
                }
                Value::Array(items) => {
                    items.remove(i);
                }
                _ => {}
            }
            return;
        }
        let child = match value {
            Value::Object(map) => map.values_mut().nth(i),
            Value::Array(items) => items.get_mut(i),
            _ => None,
        };
        if let Some(child) = child {
            apply(child, rest, op);
        }
        return;
    }
    match op {
        Op::Replace(new) => *value = new.to_value(),
        Op::Remove => {}
        Op::Insert(key, new) => {
            if let Value::Object(map) = value {
                map.insert(key.clone(), new.to_value());
            }
        }
    }
}

/// The canonical text of each bundled cassette, as a JSON value to edit.
static VALUES: std::sync::LazyLock<Vec<Value>> = std::sync::LazyLock::new(|| {
    BUNDLED
        .iter()
        .map(|c| serde_json::from_str(&c.to_canonical_string()).expect("canonical text is JSON"))
        .collect()
});

fuzz_target!(|input: Input| {
    let mut value = VALUES[input.cassette as usize % VALUES.len()].clone();
    for edit in &input.edits {
        apply(&mut value, &edit.path, &edit.op);
    }
    let mut text = serde_json::to_string_pretty(&value).expect("a value serializes");
    if let Some(cut) = input.cut {
        let mut at = cut as usize % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    check_parse(&text);
});
