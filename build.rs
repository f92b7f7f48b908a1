//! Embeds `schemas/` and `cassettes/` into the binary, so an installed `tailtape` works from any
//! directory. Writes `$OUT_DIR/embedded.rs`: two sorted tables of (relative path, contents).
//! Also tells cargo to re-run when test fixtures change, because rstest's `#[files]` globs them
//! at compile time.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    for (name, dir) in [("SCHEMAS", "schemas"), ("CASSETTES", "cassettes")] {
        let base = root.join(dir);
        let mut files = Vec::new();
        collect_json(&base, &mut files);
        files.sort();
        out.push_str(&format!("pub static {name}: &[(&str, &str)] = &[\n"));
        for file in files {
            let rel = file
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push_str(&format!(
                "    ({rel:?}, include_str!({:?})),\n",
                file.display().to_string()
            ));
        }
        out.push_str("];\n");
        println!("cargo::rerun-if-changed={dir}");
    }
    println!("cargo::rerun-if-changed=tests/vectors");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    fs::write(dest, out).unwrap();
}

fn collect_json(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo::rerun-if-changed={}", path.display());
            collect_json(&path, files);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}
