//! `tailtape close`: closes cassettes cut short inside their interactions, as a recorder killed
//! mid-write (or a copy that failed half-way) leaves them. It keeps every complete interaction,
//! drops a partial one after them and closes the array as the recorder would have, by the
//! loader's own truncation logic ([`cassette::stream_to_end`]), so what it writes is exactly
//! what `validate` and `replay` read from the cut file. The file is replaced atomically, under
//! the cassette's claim (not while a recorder writes it); a closed cassette is left as it is,
//! and a file it cannot make sense of is refused with its line and column. Exit 2 if any was.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cassette::{self, Claim, Ending, Source};
use crate::cli::CloseArgs;

pub fn command(args: &CloseArgs) -> anyhow::Result<ExitCode> {
    let mut refused = false;
    for source in cassette::sources(&args.paths, true)? {
        let Source::File(path) = source else {
            continue;
        };
        match close(&path) {
            Ok(done) => println!("{done}"),
            Err(err) => {
                crate::log::error(format!("{err:#}"));
                refused = true;
            }
        }
    }
    Ok(if refused {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Closes one cassette; says what it did.
fn close(path: &Path) -> anyhow::Result<String> {
    let name = path.display().to_string();
    let claim = Claim::exclusive(path)?;
    let text =
        std::fs::read_to_string(claim.path()).with_context(|| format!("cannot read {name}"))?;
    let mut count = 0;
    let (_, ending) = cassette::stream_to_end(&name, &text, |_, _| count += 1)?;
    let Ending::Cut {
        complete,
        closed,
        partial_line,
    } = ending
    else {
        return Ok(format!(
            "{name}: already closed ({}); not changed",
            interactions(count)
        ));
    };
    claim
        .replace(closed.as_bytes())
        .with_context(|| format!("cannot write {name}"))?;
    let dropped = match partial_line {
        Some(line) => format!("dropped a partial interaction from line {line} on"),
        None => "nothing partial dropped".into(),
    };
    Ok(format!(
        "{name}: closed after {} complete {}; {dropped}",
        complete,
        if complete == 1 {
            "interaction"
        } else {
            "interactions"
        }
    ))
}

fn interactions(n: usize) -> String {
    format!("{n} interaction{}", if n == 1 { "" } else { "s" })
}
