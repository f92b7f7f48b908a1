//! Pseudonymisation: a recording of a real tailnet made shareable. Redaction (`redact/`)
//! removes secrets; this replaces what names the tailnet, its people, machines and addresses by
//! stable pseudonyms of the same form, so that the cassette still validates, replays and seeds
//! the emulator, and can be attached to a public issue.
//!
//! A [`Pseudonymiser`] first learns the identifying values of exchanges (`learn.rs`: from the
//! API's field names and path parameters), giving each a pseudonym of its form (`forms.rs`,
//! addresses in `addresses.rs`), then replaces every occurrence everywhere (`replace.rs`). The
//! pairs live in a [`Map`] (`map.rs`), kept between runs by `--map FILE`, so every cassette of
//! one run and of later runs agrees. `check.rs` searches bytes for any real value still there;
//! `tailtape pseudonymise` (`command.rs`) and `record --pseudonymise` both run it before
//! writing.

mod addresses;
mod check;
mod command;
mod forms;
mod learn;
mod map;
mod replace;
mod time;
mod vocabulary;

pub use addresses::Full;
pub use check::Leftover;
pub use command::command;
pub use map::{Entry, Kind, Map, MapError, git_work_tree, write_atomically};

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cassette::{Cassette, Interaction};
use crate::routes::OperationTable;
use check::Checker;
use learn::Learner;
use replace::{Finder, Replacer};

/// The field of `recorded` that marks a pseudonymised cassette.
pub const MARK: &str = "pseudonymised";

pub struct Pseudonymiser {
    map: Map,
    table: &'static OperationTable,
    /// The map's values as of the last replacement, rebuilt when the map grows.
    finder: Option<(usize, Finder)>,
    /// The same for the check.
    checker: Option<(usize, Checker)>,
    /// With `--shift-time`: days timestamps move back.
    shift_days: Option<u64>,
}

impl Pseudonymiser {
    pub fn new(map: Map) -> Pseudonymiser {
        Pseudonymiser {
            map,
            table: OperationTable::embedded(),
            finder: None,
            checker: None,
            shift_days: None,
        }
    }

    /// Moves every timestamp back by the same number of days, drawn from the map's key.
    pub fn shift_time(mut self) -> Pseudonymiser {
        self.shift_days = Some(time::shift_days(self.map.key()));
        self
    }

    pub fn map(&self) -> &Map {
        &self.map
    }

    pub fn map_mut(&mut self) -> &mut Map {
        &mut self.map
    }

    /// Learns what a whole cassette names, before any of it is replaced.
    pub fn learn(&mut self, cassette: &Cassette) {
        let mut learner = Learner {
            map: &mut self.map,
            table: self.table,
        };
        learner.recorded(&cassette.recorded);
        for interaction in &cassette.interactions {
            learner.interaction(interaction);
        }
    }

    /// A replacer over the map as it is now (its finder rebuilt if the map grew).
    fn replacer(&mut self) -> Replacer<'_> {
        let stale = self
            .finder
            .as_ref()
            .is_none_or(|(len, _)| *len != self.map.len());
        if stale {
            self.finder = Some((self.map.len(), Finder::new(&self.map, false)));
        }
        Replacer {
            map: &mut self.map,
            finder: &self.finder.as_ref().expect("built above").1,
            shift_days: self.shift_days,
        }
    }

    /// Replaces what the map knows in a cassette (learned before) and marks it.
    pub fn apply(&mut self, cassette: &mut Cassette) -> Result<(), Full> {
        let mut replacer = self.replacer();
        replacer.recorded(&mut cassette.recorded)?;
        for interaction in &mut cassette.interactions {
            replacer.interaction(interaction)?;
        }
        cassette
            .recorded
            .extra
            .insert(MARK.into(), Value::Bool(true));
        Ok(())
    }

    /// Learns from and replaces in one exchange (the recorder's way).
    pub fn exchange(&mut self, interaction: &mut Interaction) -> Result<(), Full> {
        Learner {
            map: &mut self.map,
            table: self.table,
        }
        .interaction(interaction);
        self.replacer().interaction(interaction)
    }

    /// The real values still in `text`.
    pub fn check(&mut self, text: &[u8]) -> Vec<Leftover> {
        let stale = self
            .checker
            .as_ref()
            .is_none_or(|(len, _)| *len != self.map.len());
        if stale {
            self.checker = Some((self.map.len(), Checker::new(&self.map)));
        }
        let (_, checker) = self.checker.as_ref().expect("built above");
        checker.check(&self.map, text)
    }
}

/// `record --pseudonymise`: a [`Pseudonymiser`] for one recording, and the map file it
/// updates after each exchange that taught it something new.
pub struct Session {
    pseudonymiser: Pseudonymiser,
    map_file: Option<PathBuf>,
}

impl Session {
    /// Loads `map_file` (a warning if it sits in a git work tree), or starts a fresh map.
    pub fn start(map_file: Option<&Path>) -> Result<Session, MapError> {
        let map = match map_file {
            Some(path) => {
                warn_if_in_work_tree(path);
                Map::load_or_fresh(path)?
            }
            None => Map::fresh()?,
        };
        Ok(Session {
            pseudonymiser: Pseudonymiser::new(map),
            map_file: map_file.map(Path::to_path_buf),
        })
    }

    /// Pseudonymises one exchange and saves what the map learned.
    pub fn exchange(&mut self, interaction: &mut Interaction) -> Result<(), SessionError> {
        self.pseudonymiser.exchange(interaction)?;
        if let Some(path) = &self.map_file
            && self.pseudonymiser.map().changed()
        {
            self.pseudonymiser.map_mut().save(path)?;
        }
        Ok(())
    }

    /// The first real value still in the text about to be written.
    pub fn check(&mut self, text: &[u8]) -> Option<Leftover> {
        self.pseudonymiser.check(text).into_iter().next()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Full(#[from] Full),
    #[error(transparent)]
    Map(#[from] MapError),
}

/// Warns on stderr when the map file sits inside a git work tree: it holds the real values.
pub fn warn_if_in_work_tree(path: &Path) {
    if let Some(tree) = git_work_tree(path) {
        crate::log::warn(format!(
            "{} is inside the git work tree {}: it holds the real values, keep it out of the \
             repository",
            path.display(),
            tree.display()
        ));
    }
}

/// Whether a cassette says it was pseudonymised already.
pub fn is_marked(cassette: &Cassette) -> bool {
    cassette.recorded.extra.get(MARK) == Some(&Value::Bool(true))
}
