//! What tailtape tells the person or CI job running it, on stderr: one place for the prefix
//! (`tailtape replay: `, said once), the verbosity (`-q`: warnings and errors only; `-v`: also a
//! line per request answered or exchange recorded) and the format (`--log-format json`: one
//! JSON object per line, `{"level", "command", "message"}`, for CI log processors). What a
//! command produces (reports, tables, the first stdout line with the base URL) goes to stdout
//! and is not a log line.
//!
//! The settings are the process's: [`init`] sets them when a command starts.

use std::fmt::Display;
use std::io::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::json;

use crate::cli::{LogArgs, LogFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

struct Settings {
    command: &'static str,
    format: LogFormat,
}

static SETTINGS: RwLock<Settings> = RwLock::new(Settings {
    command: "",
    format: LogFormat::Human,
});

/// The most detailed level written, as a number (`Level as u8`): read on every request, so an
/// atomic rather than behind the lock.
static MOST: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets what the log lines of `command` look like and how many there are.
pub fn init(command: &'static str, args: &LogArgs) {
    let most = if args.quiet {
        Level::Warn
    } else if args.verbose {
        Level::Debug
    } else {
        Level::Info
    };
    MOST.store(most as u8, Ordering::Relaxed);
    let mut settings = SETTINGS.write().unwrap_or_else(|p| p.into_inner());
    *settings = Settings {
        command,
        format: args.log_format,
    };
}

pub fn error(message: impl Display) {
    emit(Level::Error, message);
}

pub fn warn(message: impl Display) {
    emit(Level::Warn, message);
}

pub fn info(message: impl Display) {
    emit(Level::Info, message);
}

/// Whether debug lines are written: callers that must build a line first ask.
pub fn debugging() -> bool {
    MOST.load(Ordering::Relaxed) >= Level::Debug as u8
}

pub fn debug(message: impl Display) {
    emit(Level::Debug, message);
}

/// `count` and `noun`, in the plural unless the count is 1: `1 cassette`, `2 cassettes`.
pub fn count(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// One line (a message of several lines in human format is written as it is, prefixed once).
/// A message that starts with `tailtape: ` (as the answers to clients do) loses it, so that the
/// prefix is never said twice.
fn emit(level: Level, message: impl Display) {
    if level as u8 > MOST.load(Ordering::Relaxed) {
        return;
    }
    let settings = SETTINGS.read().unwrap_or_else(|p| p.into_inner());
    let message = message.to_string();
    let message = message.strip_prefix("tailtape: ").unwrap_or(&message);
    let line = match settings.format {
        LogFormat::Human => {
            let command = match settings.command {
                "" => "tailtape".to_string(),
                command => format!("tailtape {command}"),
            };
            let label = match level {
                Level::Error => "error: ",
                Level::Warn => "warning: ",
                Level::Info | Level::Debug => "",
            };
            format!("{command}: {label}{message}\n")
        }
        LogFormat::Json => {
            json!({"level": level.as_str(), "command": settings.command, "message": message})
                .to_string()
                + "\n"
        }
    };
    // One write per line, so that lines of concurrent tasks do not interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_are_plural_unless_one() {
        assert_eq!(count(0, "cassette"), "0 cassettes");
        assert_eq!(count(1, "exchange"), "1 exchange");
        assert_eq!(count(2, "warning"), "2 warnings");
    }
}
