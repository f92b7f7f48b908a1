//! The tape reader: one pass of recursive descent over the bytes (at most [`MAX_DEPTH`] deep,
//! so the stack is bounded), pushing a [`Token`] per value and member name. Strings are only
//! checked (escapes, control characters), never copied; numbers are checked against JSON's
//! grammar and, like serde_json, refused when they do not fit an `f64`.

use super::{Kind, MAX_DEPTH, Token};

/// Why bytes are not one JSON document, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {at}")]
pub struct ParseError {
    pub at: usize,
    pub reason: &'static str,
}

/// Objects with up to this many members are checked for repeated names without allocating.
const ON_STACK: usize = 64;

/// FNV-1a: a few instructions a byte, enough to tell member names apart before comparing them.
fn fingerprint(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
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

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
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
        if kind == Kind::Object && count > 1 {
            self.unique_names(at)?;
        }
        Ok(())
    }

    /// Refuses an object (the token at `at`) that names a member twice: its names are sorted by
    /// a fingerprint, and only names with the same fingerprint are compared.
    fn unique_names(&self, at: usize) -> Result<(), ParseError> {
        let object = self.tape[at];
        let count = object.count as usize;
        let mut on_stack = [(0u64, 0u32); ON_STACK];
        let mut on_heap = Vec::new();
        let names = if count <= ON_STACK {
            &mut on_stack[..count]
        } else {
            on_heap.resize(count, (0, 0));
            &mut on_heap[..]
        };
        let mut i = at + 1;
        for slot in names.iter_mut() {
            *slot = (fingerprint(&self.name(i)), i as u32);
            i = self.tape[i + 1].next as usize;
        }
        names.sort_unstable();
        let repeated = names.chunk_by(|a, b| a.0 == b.0).any(|same| {
            same.iter().enumerate().any(|(k, a)| {
                same[..k]
                    .iter()
                    .any(|b| self.same_name(a.1 as usize, b.1 as usize))
            })
        });
        if repeated {
            return Err(ParseError {
                at: object.start as usize,
                reason: "an object names a member twice",
            });
        }
        Ok(())
    }

    /// Whether the member name tokens at `a` and `b` read the same.
    fn same_name(&self, a: usize, b: usize) -> bool {
        let raw = |t: &Token| &self.text[t.start as usize..t.end as usize];
        let (ta, tb) = (&self.tape[a], &self.tape[b]);
        match (ta.kind, tb.kind) {
            (Kind::String, Kind::String) => raw(ta) == raw(tb),
            _ => self.name(a) == self.name(b),
        }
    }

    /// The decoded name of the member name token at `i`.
    fn name(&self, i: usize) -> std::borrow::Cow<'_, str> {
        let token = &self.tape[i];
        let raw = &self.source[token.start as usize..token.end as usize];
        match token.kind {
            Kind::String => raw[1..raw.len() - 1].into(),
            _ => serde_json::from_str::<String>(raw)
                .expect("a checked string")
                .into(),
        }
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
        self.pos += 1;
        let mut kind = Kind::String;
        loop {
            let rest = &self.text[self.pos..];
            let Some(stop) = memchr::memchr2(b'"', b'\\', rest) else {
                self.pos = self.text.len();
                return self.fail("a string is not closed");
            };
            if let Some(control) = rest[..stop].iter().position(|&b| b < 0x20) {
                self.pos += control;
                return self.fail("a control character in a string");
            }
            self.pos += stop;
            if self.text[self.pos] == b'"' {
                self.pos += 1;
                break;
            }
            kind = Kind::EscapedString;
            self.escape()?;
        }
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
