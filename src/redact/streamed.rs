//! The final scan of a large exchange, in pieces: an interaction's canonical text over twice the
//! piece size (1 MiB, or `TAILTAPE_RECORD_CHUNK` bytes, a test knob) is never held whole. Pass 1
//! generates it into [`FirstPass`], which holds a small text whole (the usual case, scanned once
//! at its end as before) and otherwise cuts it into pieces, scans each together with the last
//! [`OVERLAP`] bytes before it (or a piece's size, if smaller; from a line start, so that a
//! secret across a boundary is found)
//! and keeps only its length and SHA-256. Pass 2 ([`Passed::write_pieces`]), run by the writer,
//! generates the text again and hands on each piece only once it matches its digest, so nothing
//! unscanned reaches the disk; a piece that does not match stops the writing with
//! [`changed`]. Both passes generate the same text: an interaction serializes the same way
//! every time ([`Generate`]).

use std::io::Write;

use ring::digest::{Context, SHA256};

use super::RuleError;
use crate::cassette::Interaction;

/// The piece size unless `TAILTAPE_RECORD_CHUNK` says otherwise.
const PIECE: usize = 1 << 20;
/// How much of the text before a piece is scanned again with it, at most.
const OVERLAP: usize = 64 << 10;
/// The smallest piece `TAILTAPE_RECORD_CHUNK` may ask for.
const MIN_PIECE: usize = 64;

/// The piece size: `TAILTAPE_RECORD_CHUNK` (a test knob, so that tests use small bodies) or
/// 1 MiB; a text over twice this size is scanned and written in pieces.
pub fn piece_size() -> Result<usize, RuleError> {
    let Ok(value) = std::env::var("TAILTAPE_RECORD_CHUNK") else {
        return Ok(PIECE);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|&bytes| bytes >= MIN_PIECE)
        .ok_or(RuleError::BadChunk {
            value,
            min: MIN_PIECE,
        })
}

/// A text generated on demand, the same bytes every time.
pub trait Generate {
    fn generate(&self, out: &mut dyn Write) -> std::io::Result<()>;
}

impl Generate for Interaction {
    fn generate(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.write_canonical(out)
    }
}

/// What pass 1 leaves: the text itself when small, or what pass 2 checks it against.
#[derive(Debug)]
pub enum Passed {
    Whole(Vec<u8>),
    Pieces(Vec<Piece>),
}

/// One piece of a text: its length and digest.
#[derive(Debug)]
pub struct Piece {
    len: usize,
    digest: ring::digest::Digest,
}

/// Pass 1 found a secret (in the whole text, or in a piece with the text before it).
pub struct Shown;

impl Passed {
    /// Pass 2: generates the text again from `source` and gives `out` each piece once it
    /// matches the piece pass 1 scanned; stops at the first that does not, with [`changed`],
    /// or at an error of `out`. A whole text is given at once.
    pub fn write_pieces(
        &self,
        source: &dyn Generate,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let pieces = match self {
            Passed::Whole(text) => return out(text),
            Passed::Pieces(pieces) => pieces,
        };
        let mut second = SecondPass {
            pieces: pieces.iter(),
            buf: Vec::with_capacity(pieces.first().map_or(0, |p| p.len)),
            out,
        };
        source.generate(&mut second)?;
        match (second.buf.is_empty(), second.pieces.next()) {
            (true, None) => Ok(()),
            _ => Err(changed()),
        }
    }
}

/// The error of a text that changed between its scan and its writing.
pub fn changed() -> std::io::Error {
    std::io::Error::other("the exchange's text changed between its scan and its writing")
}

/// Pass 1 over the text `generate` writes (into the concrete sink, so that a small text costs
/// what writing into a buffer costs): `shows` says whether a text (whole, or a piece after the
/// end of the text before it) holds a secret; `capacity` is the size expected for a small text.
pub fn first_pass(
    generate: impl FnOnce(&mut FirstPass<'_>) -> std::io::Result<()>,
    piece: usize,
    capacity: usize,
    shows: &dyn Fn(&[u8]) -> bool,
) -> Result<Passed, Shown> {
    let mut pass = FirstPass {
        piece,
        whole: true,
        buf: Vec::with_capacity(capacity.min(2 * piece)),
        window: Vec::new(),
        window_at: 0,
        run_start: 0,
        pieces: Vec::new(),
        shown: false,
        shows,
    };
    // The only error a generation can meet is the sink's: a secret shown (fail closed anyway).
    if generate(&mut pass).is_err() || pass.shown {
        return Err(Shown);
    }
    if pass.whole {
        return match shows(&pass.buf) {
            true => Err(Shown),
            false => Ok(Passed::Whole(pass.buf)),
        };
    }
    while !pass.buf.is_empty() && !pass.shown {
        pass.emit();
    }
    match pass.shown {
        true => Err(Shown),
        false => Ok(Passed::Pieces(pass.pieces)),
    }
}

/// Pass 1's sink.
pub struct FirstPass<'s> {
    piece: usize,
    /// The text so far is at most twice the piece size and held whole in `buf`.
    whole: bool,
    /// The text not yet cut into a piece.
    buf: Vec<u8>,
    /// The end of the text already scanned (at most [`OVERLAP`], from a line start), then the
    /// piece being scanned.
    window: Vec<u8>,
    /// Where `window` starts in the text.
    window_at: usize,
    /// Where the run of base64 characters reaching the end of the text scanned so far starts.
    run_start: usize,
    pieces: Vec<Piece>,
    shown: bool,
    shows: &'s dyn Fn(&[u8]) -> bool,
}

impl FirstPass<'_> {
    /// Cuts the next piece from `buf` (at most the piece size, ending at a character boundary),
    /// scans it after the end of the text before it, and keeps its length and digest.
    fn emit(&mut self) {
        let mut end = self.piece.min(self.buf.len());
        while end < self.buf.len() && end > 0 && is_continuation(self.buf[end]) {
            end -= 1;
        }
        let piece = &self.buf[..end];
        let mut digest = Context::new(&SHA256);
        digest.update(piece);
        self.pieces.push(Piece {
            len: end,
            digest: digest.finish(),
        });
        let scanned = self.window.len();
        self.window.extend_from_slice(piece);
        self.buf.drain(..end);
        if (self.shows)(&self.window) {
            self.shown = true;
        }
        self.keep_tail(scanned);
    }

    /// Keeps the last [`OVERLAP`] bytes (or a piece's size) of the window to scan with the next piece, from the
    /// start of a line; within one line longer than that (a long string), from a character
    /// boundary a multiple of four from the start of the base64 run it sits in, so that the
    /// run is decoded as it is in the whole text.
    fn keep_tail(&mut self, scanned: usize) {
        let window = &self.window;
        if let Some(at) = window[scanned..].iter().rposition(|&b| !is_base64(b)) {
            self.run_start = self.window_at + scanned + at + 1;
        }
        let from = window.len().saturating_sub(OVERLAP.min(self.piece));
        let start = match memchr::memchr(b'\n', &window[from..]) {
            Some(at) => from + at + 1,
            None => {
                let mut start = from;
                let run = self.run_start.saturating_sub(self.window_at);
                if start > run {
                    start = (start + (4 - (start - run) % 4) % 4).min(window.len());
                }
                while start < window.len() && is_continuation(window[start]) {
                    start += 1;
                }
                start
            }
        };
        self.window.drain(..start);
        self.window_at += start;
    }
}

impl Write for FirstPass<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.shown {
            return Err(std::io::Error::other("a secret is shown"));
        }
        if self.whole {
            if self.buf.len() + data.len() <= 2 * self.piece {
                self.buf.extend_from_slice(data);
                return Ok(data.len());
            }
            self.whole = false;
        }
        while self.buf.len() >= self.piece {
            self.emit();
        }
        let take = data.len().min(self.piece - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        Ok(take)
    }

    #[inline]
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.whole && self.buf.len() + data.len() <= 2 * self.piece {
            self.buf.extend_from_slice(data);
            return Ok(());
        }
        let mut data = data;
        while !data.is_empty() {
            let took = self.write(data)?;
            data = &data[took..];
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct SecondPass<'p, 'o> {
    pieces: std::slice::Iter<'p, Piece>,
    buf: Vec<u8>,
    out: &'o mut dyn FnMut(&[u8]) -> std::io::Result<()>,
}

impl Write for SecondPass<'_, '_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let Some(piece) = self.pieces.as_slice().first() else {
            return Err(changed());
        };
        let take = data.len().min(piece.len - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == piece.len {
            let mut digest = Context::new(&SHA256);
            digest.update(&self.buf);
            if digest.finish().as_ref() != piece.digest.as_ref() {
                return Err(changed());
            }
            (self.out)(&self.buf)?;
            self.buf.clear();
            self.pieces.next();
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn is_continuation(byte: u8) -> bool {
    byte & 0xc0 == 0x80
}

/// A character of base64, standard or URL-safe, or its padding.
fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'-' | b'_' | b'=')
}
