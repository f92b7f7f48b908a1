//! The tape reader: one pass of recursive descent over the bytes (at most [`MAX_DEPTH`] deep,
//! so the stack is bounded), pushing a [`Token`] per value and member name. Strings are only
//! checked (escapes, control characters), never copied; numbers are checked against JSON's
//! grammar and, like serde_json, refused when they do not fit an `f64`.

use super::{Kind, MAX_DEPTH, Token, names};

/// Why bytes are not one JSON document, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {at}")]
pub struct ParseError {
    pub at: usize,
    pub reason: &'static str,
}

/// Eight copies of a byte, for looking at eight bytes of text at once.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

const SPACES: u64 = splat(b' ');

/// The bytes of the little-endian `word` that stop a run of plain string text (`"`, `\\` or
/// a control byte below 0x20), each as its top bit. Only the lowest bit set is sure to mark
/// such a byte (a borrow may set bits above it), which is all a scan needs.
#[inline]
fn stops(word: u64) -> u64 {
    let zero = |x: u64| x.wrapping_sub(splat(1)) & !x;
    let quote = zero(word ^ splat(b'"'));
    let backslash = zero(word ^ splat(b'\\'));
    let control = word.wrapping_sub(splat(0x20)) & !word;
    (quote | backslash | control) & splat(0x80)
}

/// Where the plain text that starts at `pos` ends: the first `"`, `\\` or control byte from
/// there on, or the end of `text`. Eight bytes at a time, then the last few one by one.
#[inline]
fn plain_end(text: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = text.get(pos..pos + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = stops(word);
        if found != 0 {
            return pos + found.trailing_zeros() as usize / 8;
        }
        pos += 8;
    }
    while let Some(&byte) = text.get(pos) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        pos += 1;
    }
    pos
}

/// The tape of `text`, one value found `depth` levels deep in an enclosing document (0 for a
/// document of its own), so that the nesting limit counts from that document's top.
pub(super) fn tape(text: &str, depth: usize) -> Result<Vec<Token>, ParseError> {
    if u32::try_from(text.len()).is_err() {
        return Err(ParseError {
            at: 0,
            reason: "a document over 4 GiB",
        });
    }
    let mut parser = Parser {
        source: text,
        text: text.as_bytes(),
        pos: 0,
        // API answers take a token per 12 to 16 bytes: reserved for one per 8, so that the
        // tape is never copied to grow (pages never written are never resident).
        tape: Vec::with_capacity(text.len() / 8 + 1),
    };
    parser.skip_space();
    parser.value(depth)?;
    parser.skip_space();
    if parser.pos != text.len() {
        return parser.fail("trailing characters after the value");
    }
    Ok(parser.tape)
}

struct Parser<'t> {
    source: &'t str,
    /// `source`'s bytes.
    text: &'t [u8],
    pos: usize,
    tape: Vec<Token>,
}

impl Parser<'_> {
    fn fail<T>(&self, reason: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            at: self.pos,
            reason,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// Skips white space. The pretty layout of a cassette indents with runs of spaces after
    /// each line feed: those go eight at a time.
    #[inline]
    fn skip_space(&mut self) {
        let text = self.text;
        let mut pos = self.pos;
        loop {
            match text.get(pos) {
                Some(b' ' | b'\t' | b'\r') => pos += 1,
                Some(b'\n') => {
                    pos += 1;
                    while let Some(chunk) = text.get(pos..pos + 8) {
                        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
                        if word != SPACES {
                            pos += (word ^ SPACES).trailing_zeros() as usize / 8;
                            break;
                        }
                        pos += 8;
                    }
                }
                _ => break,
            }
        }
        self.pos = pos;
    }

    /// Pushes a finished scalar that started at `start`.
    fn push(&mut self, kind: Kind, start: usize) {
        let next = self.tape.len() as u32 + 1;
        self.tape.push(Token {
            kind,
            start: start as u32,
            end: self.pos as u32,
            count: 0,
            next,
        });
    }

    fn value(&mut self, depth: usize) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'{') => self.container(Kind::Object, b'}', depth),
            Some(b'[') => self.container(Kind::Array, b']', depth),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true", Kind::True),
            Some(b'f') => self.literal(b"false", Kind::False),
            Some(b'n') => self.literal(b"null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.fail("expected a value"),
            None => self.fail("the document ends where a value should be"),
        }
    }

    fn container(&mut self, kind: Kind, close: u8, depth: usize) -> Result<(), ParseError> {
        // serde_json refuses the 128th level.
        if depth + 1 >= MAX_DEPTH {
            return self.fail("nested too deep");
        }
        let at = self.tape.len();
        self.push(kind, self.pos);
        self.pos += 1;
        self.skip_space();
        let mut count = 0u32;
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                if kind == Kind::Object {
                    if self.peek() != Some(b'"') {
                        return self.fail("expected a member name");
                    }
                    self.string()?;
                    self.skip_space();
                    if self.peek() != Some(b':') {
                        return self.fail("expected ':' after a member name");
                    }
                    self.pos += 1;
                    self.skip_space();
                }
                self.value(depth + 1)?;
                count += 1;
                self.skip_space();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_space();
                    }
                    Some(c) if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ if kind == Kind::Object => return self.fail("expected ',' or '}'"),
                    _ => return self.fail("expected ',' or ']'"),
                }
            }
        }
        let next = self.tape.len() as u32;
        let token = &mut self.tape[at];
        token.end = self.pos as u32;
        token.count = count;
        token.next = next;
        if kind == Kind::Object && count > 1 && names::repeated(self.source, &self.tape, at) {
            return Err(ParseError {
                at: self.tape[at].start as usize,
                reason: "an object names a member twice",
            });
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), ParseError> {
        if !self.text[self.pos..].starts_with(word) {
            return self.fail("expected a value");
        }
        let start = self.pos;
        self.pos += word.len();
        self.push(kind, start);
        Ok(())
    }

    fn string(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        let text = self.text;
        let mut pos = start + 1;
        let mut kind = Kind::String;
        loop {
            pos = plain_end(text, pos);
            match text.get(pos) {
                Some(b'"') => break,
                Some(b'\\') => {
                    kind = Kind::EscapedString;
                    self.pos = pos;
                    self.escape()?;
                    pos = self.pos;
                }
                // A control byte; a string never closed is refused as that first.
                Some(_) if memchr::memchr2(b'"', b'\\', &text[pos..]).is_some() => {
                    self.pos = pos;
                    return self.fail("a control character in a string");
                }
                _ => {
                    self.pos = text.len();
                    return self.fail("a string is not closed");
                }
            }
        }
        self.pos = pos + 1;
        self.push(kind, start);
        Ok(())
    }

    /// One escape, at its backslash.
    fn escape(&mut self) -> Result<(), ParseError> {
        self.pos += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'u') => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        if !self.text[self.pos..].starts_with(b"\\u") {
                            return self.fail("a lone leading surrogate in a \\u escape");
                        }
                        self.pos += 1;
                        match self.hex4()? {
                            0xDC00..=0xDFFF => Ok(()),
                            _ => self.fail("a lone leading surrogate in a \\u escape"),
                        }
                    }
                    0xDC00..=0xDFFF => self.fail("a lone trailing surrogate in a \\u escape"),
                    _ => Ok(()),
                }
            }
            _ => self.fail("an invalid escape in a string"),
        }
    }

    /// `u` and four hex digits, at the `u`.
    fn hex4(&mut self) -> Result<u16, ParseError> {
        let digits = self.text.get(self.pos + 1..self.pos + 5);
        let unit = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|d| u16::from_str_radix(d, 16).ok());
        match unit {
            Some(unit) => {
                self.pos += 5;
                Ok(unit)
            }
            None => self.fail("an invalid \\u escape"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("an invalid number"),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            integer = false;
            if self.digits() == 0 {
                return self.fail("an invalid number");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            integer = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.fail("an invalid number");
            }
        }
        let literal = &self.source[start..self.pos];
        // An integer of up to 18 digits always fits; anything else must at least be a finite
        // f64, as serde_json requires.
        let fits = (integer && literal.len() <= 18)
            || literal.parse::<u64>().is_ok()
            || literal.parse::<i64>().is_ok()
            || literal.parse::<f64>().is_ok_and(f64::is_finite);
        if !fits {
            self.pos = start;
            return self.fail("a number out of range");
        }
        self.push(Kind::Number, start);
        Ok(())
    }
}
