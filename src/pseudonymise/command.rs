//! `tailtape pseudonymise` on the command line: load every cassette (any that cannot be read
//! stops the run before anything is written, exit 2), learn from all of them, replace in each,
//! check each result, save the map, then write them (in place under the cassette's claim, or
//! under `--out`), atomically: a map that cannot be saved leaves every cassette as it was.
//! `--check` only searches the files for the map's real values (exit 1 naming file and
//! interaction when one is found).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::{Leftover, Map, Pseudonymiser, is_marked, warn_if_in_work_tree, write_atomically};
use crate::cassette::{self, Cassette, Claim, Source};
use crate::cli::PseudonymiseArgs;

/// A line on stdout; a reader that went away (`| head`) ends nothing.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// A cassette to rewrite: where it is read from and where it goes.
struct Job {
    from: PathBuf,
    to: PathBuf,
    cassette: Cassette,
}

pub fn command(args: &PseudonymiseArgs) -> anyhow::Result<ExitCode> {
    let map = match &args.map {
        // A fresh map knows no real value: the check would pass whatever the files hold.
        Some(path) if args.check && !path.exists() => {
            bail!(
                "{}: no such map: --check needs the map the files were made with",
                path.display()
            )
        }
        Some(path) => {
            warn_if_in_work_tree(path);
            Map::load_or_fresh(path)?
        }
        None if args.check => bail!("--check needs --map FILE: the real values to look for"),
        None => Map::fresh()?,
    };
    let jobs = jobs(&args.paths, args.out.as_deref())?;
    let mut pseudonymiser = Pseudonymiser::new(map);
    if args.shift_time {
        pseudonymiser = pseudonymiser.shift_time();
    }
    if args.check {
        return Ok(check(&mut pseudonymiser, &jobs));
    }
    let known = pseudonymiser.map().len();
    for job in jobs.iter().filter(|job| !is_marked(&job.cassette)) {
        pseudonymiser.learn(&job.cassette);
    }
    let mut written = Vec::new();
    for mut job in jobs {
        let name = job.from.display().to_string();
        if is_marked(&job.cassette) {
            crate::log::info(format!("{name}: already pseudonymised, left as it is"));
            if job.to == job.from {
                continue;
            }
        } else {
            pseudonymiser
                .apply(&mut job.cassette)
                .with_context(|| name.clone())?;
        }
        let text = job.cassette.to_canonical_string();
        let leftovers = pseudonymiser.check(text.as_bytes());
        if let Some(leftover) = leftovers.first() {
            bail!("{name}: not written: {leftover}");
        }
        written.push((job, text));
    }
    // The map first: cassettes rewritten without the map that made them could not be
    // continued with the same pseudonyms.
    let map = pseudonymiser.map_mut();
    if let Some(path) = &args.map {
        map.save(path)?;
    }
    for (job, text) in &written {
        write(&job.from, &job.to, text.as_bytes())?;
        say!(
            "{} -> {}: {} pseudonymised",
            job.from.display(),
            job.to.display(),
            crate::log::count(job.cassette.interactions.len(), "interaction")
        );
    }
    let map = pseudonymiser.map();
    say!(
        "{} written; the map has {} ({} new)",
        crate::log::count(written.len(), "cassette"),
        crate::log::count(map.len(), "pair"),
        map.len() - known
    );
    Ok(ExitCode::SUCCESS)
}

/// The cassettes the arguments name, loaded, each with where it is written.
fn jobs(paths: &[PathBuf], out: Option<&Path>) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for path in paths {
        for source in cassette::sources(std::slice::from_ref(path), true)? {
            let Source::File(file) = source else {
                continue;
            };
            let to = match out {
                None => file.clone(),
                Some(dir) if path.is_dir() => dir.join(file.strip_prefix(path).unwrap_or(&file)),
                Some(dir) => dir.join(file.file_name().unwrap_or(file.as_os_str())),
            };
            if jobs.iter().any(|job: &Job| job.to == to) {
                bail!("{}: two cassettes would be written there", to.display());
            }
            let cassette = cassette::load(&file)?;
            jobs.push(Job {
                from: file,
                to,
                cassette,
            });
        }
    }
    Ok(jobs)
}

fn write(from: &Path, to: &Path, text: &[u8]) -> anyhow::Result<()> {
    let context = || format!("cannot write {}", to.display());
    if from == to {
        return Claim::exclusive(to)?.replace(text).with_context(context);
    }
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).with_context(context)?;
    }
    write_atomically(to, text, false).with_context(context)
}

/// Searches each file for the map's real values: the file's bytes, and each interaction to
/// name where.
fn check(pseudonymiser: &mut Pseudonymiser, jobs: &[Job]) -> ExitCode {
    let mut failed = false;
    for job in jobs {
        let name = job.from.display();
        let bytes = std::fs::read(&job.from).unwrap_or_default();
        let in_file = pseudonymiser.check(&bytes);
        let mut placed: Vec<Leftover> = Vec::new();
        for (index, interaction) in job.cassette.interactions.iter().enumerate() {
            let mut text = Vec::new();
            interaction
                .write_canonical(&mut text)
                .expect("writing into memory does not fail");
            for leftover in pseudonymiser.check(&text) {
                // The method only: the path may hold the very value.
                let method = &interaction.request.method;
                say!("{name}: interaction {index} ({method}): {leftover}");
                placed.push(leftover);
            }
        }
        for leftover in in_file.iter().filter(|l| !placed.contains(l)) {
            say!("{name}: outside the interactions: {leftover}");
        }
        if in_file.is_empty() && placed.is_empty() {
            say!("{name}: no real value of the map");
        } else {
            failed = true;
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
