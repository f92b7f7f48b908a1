//! The recorded answers replay serves, prepared as bytes on the wire ([`prepare`]), and each
//! one's request line, kept so that replay's memory does not grow with a cassette's bodies.
//! The first ones, up to a budget of bytes ([`IN_MEMORY`] unless the
//! [`Builder`](super::Builder) says otherwise), stay in memory as prepared [`Answer`]s: an ordinary cassette, and the hot path, are served from memory. The
//! rest are written once, at start, to an unlinked temporary file (status, headers, body and
//! request line in one record) and read back per request with one positioned read (`read_at`:
//! no seek, no lock, so any number of tasks read at once). An interaction then costs a few
//! words of memory, whatever its bodies.
//!
//! If the temporary file cannot be made or written, the answers stay in memory (one warning
//! says so): replay works as before, only with more memory. A read that fails at request time
//! (the disk gone) is an [`io::Error`] the caller turns into a 5xx answer.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use bytes::Bytes;

use crate::body::Body;
use crate::http::{Answer, Reply};

/// How many bytes of answers (bodies, headers, request lines) stay in memory by default; the
/// rest go to the temporary file. Far above the bundled cassettes (39 KB of bodies in all),
/// far below a cassette of hundreds of megabytes.
pub const IN_MEMORY: usize = 1 << 20;

/// Spilled records are written to the file in chunks of about this many bytes.
const CHUNK: usize = 1 << 20;

/// Headers never replayed: hop-by-hop ones, those the server sets itself, and
/// `content-encoding`, because cassettes store bodies decoded.
const NOT_REPLAYED: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-encoding",
];

/// The recorded response as bytes on the wire: JSON compact, text and bytes as they are.
pub fn prepare(response: crate::cassette::Response) -> Answer {
    let is_json = matches!(response.body, Body::Json(_) | Body::Doc(_));
    let mut headers: Vec<(String, String)> = response
        .headers
        .into_iter()
        .filter(|(name, _)| !NOT_REPLAYED.contains(&name.as_str()))
        .collect();
    if is_json && !headers.iter().any(|(name, _)| name == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let body = match response.body {
        Body::Empty => Bytes::new(),
        Body::Json(value) => Bytes::from(value.to_string()),
        Body::Doc(doc) => Bytes::from(serde_json::to_vec(&doc.root()).unwrap_or_default()),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
    };
    Answer {
        status: response.status,
        headers,
        body,
    }
}

/// Where one answer is.
enum Slot {
    /// `kept[i]`.
    Memory(u32),
    /// A record of the file: its request line's `line` bytes at `at`, then `answer` bytes of
    /// the answer.
    File { at: u64, line: u32, answer: u32 },
}

/// An answer kept in memory, with its request line.
struct Kept {
    line: String,
    answer: Answer,
}

/// The answers, in the order pushed.
pub struct Answers {
    budget: usize,
    /// Bytes of `kept`, counted against `budget`.
    kept_bytes: usize,
    kept: Vec<Kept>,
    slots: Vec<Slot>,
    /// The temporary file, once something was spilled; `None` also after it failed.
    file: Option<File>,
    /// Whether the file failed at start (then everything stays in memory).
    failed: bool,
    /// Bytes written to the file so far; records past it are still in `pending`.
    written: u64,
    pending: Vec<u8>,
    /// The largest answer's body, in bytes.
    largest: usize,
}

/// What the answers take, for the start-up log line and scripts/replay-memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerBytes {
    /// Answers kept in memory, and their bytes (bodies, headers, request lines).
    pub in_memory: (usize, usize),
    /// Answers in the temporary file, and their bytes there.
    pub in_file: (usize, u64),
    /// The largest body.
    pub largest_body: usize,
}

impl Answers {
    /// No answers yet; `budget` bytes of them will be kept in memory.
    pub fn new(budget: usize) -> Answers {
        Answers {
            budget,
            kept_bytes: 0,
            kept: Vec::new(),
            slots: Vec::new(),
            file: None,
            failed: false,
            written: 0,
            pending: Vec::new(),
            largest: 0,
        }
    }

    /// Sets how many bytes of the answers pushed from now on stay in memory (all of them
    /// counted, those pushed before too).
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
    }

    /// Adds the answer of the next interaction, whose request is shown as `line`; returns its
    /// index.
    pub fn push(&mut self, line: String, answer: Answer) -> usize {
        let index = self.slots.len();
        self.largest = self.largest.max(answer.body.len());
        let size = line.len() + size_of(&answer);
        if self.kept_bytes + size <= self.budget || !self.spill(&line, &answer) {
            self.kept_bytes += size;
            self.slots.push(Slot::Memory(self.kept.len() as u32));
            self.kept.push(Kept { line, answer });
        }
        index
    }

    /// Writes what is still pending to the file; call it once every answer is pushed (reading
    /// works before too, from the pending bytes).
    pub fn finish(&mut self) {
        if let Err(err) = self.flush() {
            self.fail(&err);
        }
        if self.failed {
            // Records that were never written are read from here.
            self.pending.shrink_to_fit();
        } else {
            self.pending = Vec::new();
        }
    }

    /// Answer `index`, as it was pushed.
    pub fn get(&self, index: usize) -> io::Result<Reply<'_>> {
        match self.slots[index] {
            Slot::Memory(i) => Ok(Reply::Lent(&self.kept[i as usize].answer)),
            Slot::File { at, line, answer } => {
                let record = self.read(at + u64::from(line), answer as usize)?;
                decode(Bytes::from(record)).map(Reply::Own)
            }
        }
    }

    /// The request line of answer `index`.
    pub fn line(&self, index: usize) -> io::Result<String> {
        match self.slots[index] {
            Slot::Memory(i) => Ok(self.kept[i as usize].line.clone()),
            Slot::File { at, line, .. } => String::from_utf8(self.read(at, line as usize)?)
                .map_err(|_| corrupt("a request line is not UTF-8")),
        }
    }

    /// What the answers take.
    pub fn bytes(&self) -> AnswerBytes {
        AnswerBytes {
            in_memory: (self.kept.len(), self.kept_bytes),
            in_file: (self.slots.len() - self.kept.len(), self.written),
            largest_body: self.largest,
        }
    }

    /// Bytes of memory the answers' bookkeeping takes (not counting the answers kept in
    /// memory, nor any pending bytes).
    pub fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
            + self.kept.len() * std::mem::size_of::<Kept>()
    }

    /// Appends a record to the pending bytes, and them to the file when there are enough;
    /// `false` if there is no file to spill to.
    fn spill(&mut self, line: &str, answer: &Answer) -> bool {
        if self.failed {
            return false;
        }
        let record = encode(answer);
        let (Ok(line_len), Ok(answer_len)) =
            (u32::try_from(line.len()), u32::try_from(record.len()))
        else {
            return false;
        };
        if self.file.is_none() {
            match tempfile::tempfile() {
                Ok(file) => self.file = Some(file),
                Err(err) => {
                    self.fail(&err);
                    return false;
                }
            }
        }
        let at = self.written + self.pending.len() as u64;
        self.pending.extend_from_slice(line.as_bytes());
        self.pending.extend_from_slice(&record);
        self.slots.push(Slot::File {
            at,
            line: line_len,
            answer: answer_len,
        });
        if self.pending.len() >= CHUNK
            && let Err(err) = self.flush()
        {
            // What was spilled is still in `pending`, which is then kept.
            self.fail(&err);
        }
        true
    }

    fn flush(&mut self) -> io::Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if self.failed || self.pending.is_empty() {
            return Ok(());
        }
        file.write_all(&self.pending)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// After a failed write: the pending records stay in memory for good, and the answers
    /// pushed from now on too.
    fn fail(&mut self, err: &io::Error) {
        if !self.failed {
            crate::log::warn(format!(
                "cannot write answers to a temporary file ({err}): keeping them in memory"
            ));
        }
        self.failed = true;
    }

    /// `len` bytes at `at` of the spilled records.
    fn read(&self, at: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buffer = vec![0; len];
        if at >= self.written {
            let start = (at - self.written) as usize;
            buffer.copy_from_slice(&self.pending[start..start + len]);
            return Ok(buffer);
        }
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("no temporary file"))?;
        file.read_exact_at(&mut buffer, at)?;
        Ok(buffer)
    }
}

/// Bytes of an answer, as counted against the budget.
fn size_of(answer: &Answer) -> usize {
    let headers: usize = answer.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    answer.body.len() + headers
}

/// An answer as a record: status (2 bytes), header count (4), each header's name and value
/// (each a length of 4 bytes and the bytes), then the body to the end. Little-endian.
fn encode(answer: &Answer) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + 8 * answer.headers.len() + size_of(answer));
    out.extend_from_slice(&answer.status.to_le_bytes());
    out.extend_from_slice(&(answer.headers.len() as u32).to_le_bytes());
    for (name, value) in &answer.headers {
        for text in [name, value] {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.extend_from_slice(&answer.body);
    out
}

/// The answer [`encode`] wrote; the body shares `record`'s allocation.
fn decode(record: Bytes) -> io::Result<Answer> {
    let mut at = 0;
    let mut take = |n: usize| -> io::Result<&[u8]> {
        let bytes = record
            .get(at..at + n)
            .ok_or_else(|| corrupt("an answer record is cut short"))?;
        at += n;
        Ok(bytes)
    };
    let status = u16::from_le_bytes(take(2)?.try_into().expect("2 bytes"));
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let mut headers = Vec::with_capacity(count.min(64) as usize);
    for _ in 0..count {
        let mut text = || -> io::Result<String> {
            let len = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
            String::from_utf8(take(len as usize)?.to_vec())
                .map_err(|_| corrupt("a header is not UTF-8"))
        };
        let name = text()?;
        let value = text()?;
        headers.push((name, value));
    }
    Ok(Answer {
        status,
        headers,
        body: record.slice(at..),
    })
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(n: usize) -> Answer {
        Answer {
            status: 200 + n as u16,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-n".into(), n.to_string()),
            ],
            body: Bytes::from(format!("{{\"n\":{n},\"pad\":\"{}\"}}", "é".repeat(n))),
        }
    }

    fn same(a: &Answer, b: &Answer) -> bool {
        a.status == b.status && a.headers == b.headers && a.body == b.body
    }

    #[test]
    fn spilled_answers_read_back_as_pushed_before_and_after_finish() {
        let mut answers = Answers::new(100);
        for n in 0..50 {
            assert_eq!(answers.push(format!("GET /{n}"), answer(n)), n);
        }
        let bytes = answers.bytes();
        assert!(bytes.in_memory.0 >= 1 && bytes.in_file.0 >= 40, "{bytes:?}");
        for n in 0..50 {
            assert!(same(answers.get(n).unwrap().answer(), &answer(n)), "{n}");
        }
        answers.finish();
        for n in (0..50).rev() {
            assert!(same(answers.get(n).unwrap().answer(), &answer(n)), "{n}");
            assert_eq!(answers.line(n).unwrap(), format!("GET /{n}"));
        }
    }

    #[test]
    fn a_failed_read_is_an_error_not_a_panic() {
        let mut answers = Answers::new(0);
        answers.push("GET /".into(), answer(1));
        answers.finish();
        // The disk gone: the file no longer holds the record.
        answers.file = Some(tempfile::tempfile().unwrap());
        assert!(answers.get(0).is_err());
        assert!(answers.line(0).is_err());
    }

    #[test]
    fn a_record_cut_short_is_an_error_not_a_panic() {
        let record = encode(&answer(3));
        for cut in [0, 1, 5, 9, 20] {
            let err = decode(Bytes::copy_from_slice(&record[..cut])).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
    }
}
