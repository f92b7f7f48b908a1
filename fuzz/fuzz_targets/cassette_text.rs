//! The cassette loader on arbitrary text: it never panics, a cassette it loads survives a
//! canonical write and reload unchanged, and an error names the file and a place in it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tailtape_fuzz::check_parse(text);
    }
});
