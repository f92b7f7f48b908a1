//! A progress bar on stderr for long validations: nothing for the first second, nothing when
//! stderr is not a terminal, and the line is cleared when the work is done, so output that is
//! read or piped never carries it.

use std::io::{IsTerminal, Stderr, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 24;
/// Redraw (and look at the clock) once per this many interactions.
const EVERY: usize = 512;

pub struct Progress<W: Write> {
    out: Option<W>,
    started: Instant,
    delay: Duration,
    files: usize,
    file: usize,
    interactions: usize,
    drawn: bool,
}

impl Progress<Stderr> {
    /// Shows progress on stderr after a second, if stderr is a terminal.
    pub fn on_terminal(files: usize) -> Self {
        let stderr = std::io::stderr();
        let out = stderr.is_terminal().then_some(stderr);
        Progress::new(out, files, Duration::from_secs(1))
    }
}

impl<W: Write> Progress<W> {
    pub fn new(out: Option<W>, files: usize, delay: Duration) -> Self {
        Progress {
            out,
            started: Instant::now(),
            delay,
            files,
            file: 0,
            interactions: 0,
            drawn: false,
        }
    }

    /// A new cassette begins.
    pub fn next_file(&mut self) {
        self.file += 1;
        self.draw();
    }

    /// One more interaction checked.
    pub fn tick(&mut self) {
        self.interactions += 1;
        if self.interactions.is_multiple_of(EVERY) {
            self.draw();
        }
    }

    /// Clears the line, if one was drawn.
    pub fn finish(&mut self) {
        if let (Some(out), true) = (&mut self.out, self.drawn) {
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }

    fn draw(&mut self) {
        if self.started.elapsed() < self.delay {
            return;
        }
        let line = self.line();
        if let Some(out) = &mut self.out {
            let _ = write!(out, "\r{line}");
            let _ = out.flush();
            self.drawn = true;
        }
    }

    fn line(&self) -> String {
        let done = self.file.saturating_sub(1).min(self.files);
        let filled = (done * WIDTH).checked_div(self.files).unwrap_or(WIDTH);
        format!(
            "[{}{}] cassette {}/{}, {} interactions",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.file.min(self.files),
            self.files,
            self.interactions
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(progress: Progress<Vec<u8>>) -> String {
        String::from_utf8(progress.out.unwrap()).unwrap()
    }

    #[test]
    fn draws_after_the_delay_and_clears_at_the_end() {
        let mut progress = Progress::new(Some(Vec::new()), 2, Duration::ZERO);
        progress.next_file();
        for _ in 0..EVERY {
            progress.tick();
        }
        progress.next_file();
        progress.finish();
        let out = drawn(progress);
        assert!(out.contains("\r[------------------------] cassette 1/2, 0 interactions"));
        assert!(out.contains("\r[------------------------] cassette 1/2, 512 interactions"));
        assert!(out.contains("\r[############------------] cassette 2/2, 512 interactions"));
        assert!(out.ends_with("\r\x1b[2K"));
    }

    #[test]
    fn silent_before_the_delay() {
        let mut progress = Progress::new(Some(Vec::new()), 1, Duration::from_secs(3600));
        progress.next_file();
        progress.tick();
        progress.finish();
        assert_eq!(drawn(progress), "");
    }
}
