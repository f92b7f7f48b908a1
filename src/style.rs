//! Colour for people, plain text for everything else. Text is built with ANSI styles and
//! printed through `anstream`, which strips them when stdout is not a terminal or `NO_COLOR`
//! is set, so callers never decide.

use std::io::Write;

use anstyle::{AnsiColor, Style};

fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// Errors, failures, things missing.
pub fn bad(text: &str) -> String {
    paint(AnsiColor::Red.on_default().bold(), text)
}

/// Warnings.
pub fn warn(text: &str) -> String {
    paint(AnsiColor::Yellow.on_default(), text)
}

/// Success.
pub fn good(text: &str) -> String {
    paint(AnsiColor::Green.on_default(), text)
}

/// Headings: a cassette name, a section.
pub fn heading(text: &str) -> String {
    paint(Style::new().bold(), text)
}

/// Prints to stdout, styled on a terminal, plain otherwise.
pub fn print(text: &str) {
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
