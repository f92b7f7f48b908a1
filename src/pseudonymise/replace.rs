//! Replaces every real value of the map wherever it appears: the path (each segment
//! percent-decoded), the query and form bodies (each value decoded), every header but `etag`,
//! JSON strings and the object keys that hold names (`corp.example.com` in split DNS), text
//! bodies (the HuJSON policy file), and the cassette's `recorded` notes. In any text, a run
//! holding `%XX` escapes (`bob%40example.com` in a `link` header) is also read decoded,
//! replaced and encoded again.
//!
//! One pass over each string finds every real value (Aho-Corasick), keeps the longest at each
//! place (an email before its domain, `pangolin-gw` before `pangolin`) and only whole words (the
//! characters either side are not ASCII letters or digits), and replaces them together, so a
//! pseudonym is never itself searched again; then addresses are mapped (`addresses.rs`). A JSON
//! string that is base64 of text is replaced inside, and encoded again.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{
    AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode,
};
use regex::Regex;
use serde_json::Value;

use super::addresses::{self, Full};
use super::learn::is_number_id_field;
use super::map::{Kind, Map};
use super::time;
use crate::body::Body;
use crate::cassette::{Headers, Interaction, Recorded};

/// Headers that hold an HTTP date, moved by `--shift-time`.
const HTTP_DATES: &[&str] = &["date", "last-modified", "expires", "if-modified-since"];

/// Bytes a path segment encodes.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'@');
/// Bytes a query value encodes.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// Bytes a run read decoded is encoded with again.
const RUN: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'+')
    .remove(b':');

/// A run of URL characters holding at least one `%XX` escape.
static ESCAPED_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._~+:@%-]*%[0-9A-Fa-f]{2}[A-Za-z0-9._~+:@%-]*").expect("valid")
});

/// The runs of `text` that hold `%XX` escapes, each with where it is and its percent-decoded
/// reading (`+` left as it is).
pub fn escaped_runs(text: &str) -> Vec<(Range<usize>, String)> {
    if !text.contains('%') {
        return Vec::new();
    }
    ESCAPED_RUN
        .find_iter(text)
        .map(|m| {
            let decoded = percent_decode_str(m.as_str()).decode_utf8_lossy();
            (m.range(), decoded.into_owned())
        })
        .collect()
}

/// A whole string that is base64 (standard alphabet, padded) of UTF-8 text: that text. Runs of
/// hex digits only (the API's keys and ids) are not read so.
pub fn base64_text(text: &str) -> Option<String> {
    if text.len() < 16
        || !text.len().is_multiple_of(4)
        || text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    String::from_utf8(STANDARD.decode(text).ok()?).ok()
}

/// The real values of a map, ready to be found in text.
pub struct Finder {
    automaton: Option<AhoCorasick>,
    /// Per pattern: the real value, as in the map.
    reals: Vec<String>,
    /// Lower-cased real value → the map's values that match it regardless of case.
    folded: HashMap<String, String>,
}

/// Where a real value sits in a text.
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub real: String,
}

impl Finder {
    /// The map's values; `addresses` too for the check (replacement maps them by their form).
    pub fn new(map: &Map, with_addresses: bool) -> Finder {
        let mut reals = Vec::new();
        let mut folded = HashMap::new();
        for entry in map.entries() {
            if entry.kind == Kind::Address && !with_addresses {
                continue;
            }
            if entry.kind.case_insensitive() {
                folded.insert(entry.real.to_ascii_lowercase(), entry.real.clone());
            }
            reals.push(entry.real.clone());
        }
        let automaton = (!reals.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&reals)
                .expect("patterns of a map build")
        });
        Finder {
            automaton,
            reals,
            folded,
        }
    }

    /// The whole-word occurrences of real values in `text`, the longest at each place, in order
    /// and not overlapping.
    pub fn find(&self, map: &Map, text: &str) -> Vec<Found> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let bytes = text.as_bytes();
        let mut candidates: Vec<Found> = automaton
            .find_overlapping_iter(text)
            .filter(|m| {
                let before = m.start().checked_sub(1).map(|i| bytes[i]);
                let after = bytes.get(m.end()).copied();
                !before.is_some_and(|b| b.is_ascii_alphanumeric())
                    && !after.is_some_and(|b| b.is_ascii_alphanumeric())
            })
            .filter_map(|m| {
                let matched = &text[m.start()..m.end()];
                let pattern = &self.reals[m.pattern().as_usize()];
                let real = if matched == pattern {
                    pattern.clone()
                } else {
                    self.folded.get(&matched.to_ascii_lowercase())?.clone()
                };
                map.get(&real)?;
                Some(Found {
                    start: m.start(),
                    end: m.end(),
                    real,
                })
            })
            .collect();
        candidates.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut chosen: Vec<Found> = Vec::new();
        for found in candidates {
            if chosen.last().is_none_or(|last| found.start >= last.end) {
                chosen.push(found);
            }
        }
        chosen
    }
}

/// Replaces in strings with one [`Finder`] over the map as it is.
pub struct Replacer<'a> {
    pub map: &'a mut Map,
    pub finder: &'a Finder,
    /// With `--shift-time`: how many days timestamps move back (`time.rs`).
    pub shift_days: Option<u64>,
}

impl Replacer<'_> {
    /// `text` with its real values and addresses replaced, its escaped runs read decoded.
    pub fn text(&mut self, text: &str) -> Result<String, Full> {
        let runs = escaped_runs(text);
        if runs.is_empty() {
            return self.plain(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (range, decoded) in runs {
            out.push_str(&self.plain(&text[last..range.start])?);
            let replaced = self.plain(&decoded)?;
            if replaced == decoded {
                out.push_str(&text[range.clone()]);
            } else {
                out.extend(utf8_percent_encode(&replaced, RUN));
            }
            last = range.end;
        }
        out.push_str(&self.plain(&text[last..])?);
        Ok(out)
    }

    /// `text`, as written, with its real values and addresses replaced.
    fn plain(&mut self, text: &str) -> Result<String, Full> {
        let found = self.finder.find(self.map, text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for f in found {
            out.push_str(&text[last..f.start]);
            out.push_str(&self.map.get(&f.real).expect("found in the map").pseudonym);
            last = f.end;
        }
        out.push_str(&text[last..]);
        let out = addresses::replace(self.map, &out)?.unwrap_or(out);
        Ok(match self.shift_days {
            Some(days) => time::shift(&out, days).unwrap_or(out),
            None => out,
        })
    }

    fn in_place(&mut self, text: &mut String) -> Result<(), Full> {
        *text = self.text(text)?;
        Ok(())
    }

    /// A JSON string: as text, or, when it is base64 of text (a policy file in a
    /// configuration log entry), decoded, replaced and encoded again.
    fn json_string(&mut self, text: &mut String) -> Result<(), Full> {
        if let Some(decoded) = base64_text(text) {
            let replaced = self.text(&decoded)?;
            if replaced != decoded {
                *text = STANDARD.encode(replaced);
            }
            return Ok(());
        }
        self.in_place(text)
    }

    /// A piece of a path or query: replaced as written when it has no escapes, else decoded,
    /// replaced and encoded again with `set`.
    fn encoded(
        &mut self,
        raw: &str,
        set: &'static AsciiSet,
        plus_is_space: bool,
    ) -> Result<String, Full> {
        let unescaped = if plus_is_space {
            raw.replace('+', " ")
        } else {
            raw.to_string()
        };
        let decoded = percent_decode_str(&unescaped)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == raw {
            return self.text(raw);
        }
        let replaced = self.text(&decoded)?;
        if replaced == decoded {
            return Ok(raw.to_string());
        }
        let encoded = utf8_percent_encode(&replaced, set).to_string();
        Ok(match plus_is_space {
            true => encoded.replace("%20", "+"),
            false => encoded,
        })
    }

    /// A query or a form body: each value decoded, replaced and encoded again.
    fn query(&mut self, query: &str) -> Result<String, Full> {
        let pairs: Result<Vec<String>, Full> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => Ok(format!("{k}={}", self.encoded(v, QUERY, true)?)),
                None => Ok(pair.to_string()),
            })
            .collect();
        Ok(pairs?.join("&"))
    }

    pub fn interaction(&mut self, interaction: &mut Interaction) -> Result<(), Full> {
        let request = &mut interaction.request;
        let segments: Result<Vec<String>, Full> = request
            .path
            .split('/')
            .map(|segment| self.encoded(segment, SEGMENT, false))
            .collect();
        request.path = segments?.join("/");
        if let Some(query) = &request.query {
            request.query = Some(self.query(query)?);
        }
        let form = is_form(&request.headers);
        self.headers(&mut request.headers)?;
        self.body(&mut request.body, form)?;
        let response = &mut interaction.response;
        let form = is_form(&response.headers);
        self.headers(&mut response.headers)?;
        self.body(&mut response.body, form)
    }

    pub fn recorded(&mut self, recorded: &mut Recorded) -> Result<(), Full> {
        if let (Some(days), Some(at)) = (self.shift_days, &mut recorded.at)
            && let Some(shifted) = time::shift(at, days)
        {
            *at = shifted;
        }
        for value in recorded.extra.values_mut() {
            self.json(value, None)?;
        }
        Ok(())
    }

    fn headers(&mut self, headers: &mut Headers) -> Result<(), Full> {
        for (name, value) in headers.iter_mut() {
            if name != "etag" {
                self.in_place(value)?;
            }
            if let Some(days) = self.shift_days
                && HTTP_DATES.contains(&name.as_str())
                && let Some(shifted) = time::shift_http_date(value, days)
            {
                *value = shifted;
            }
        }
        Ok(())
    }

    /// A body; `form` when its headers say it is `application/x-www-form-urlencoded`.
    fn body(&mut self, body: &mut Body, form: bool) -> Result<(), Full> {
        if matches!(body, Body::Doc(_)) {
            *body = std::mem::replace(body, Body::Empty).into_value();
        }
        match body {
            Body::Json(value) => self.json(value, None),
            Body::Text(text) if form => {
                *text = self.query(text)?;
                Ok(())
            }
            Body::Text(text) => self.in_place(text),
            Body::Doc(_) | Body::Binary(_) | Body::Empty => Ok(()),
        }
    }

    /// A JSON value under the member name `field`.
    fn json(&mut self, value: &mut Value, field: Option<&str>) -> Result<(), Full> {
        match value {
            Value::String(text) => self.json_string(text),
            Value::Number(number) if field.is_some_and(is_number_id_field) => {
                let pseudonym = self.map.get(&number.to_string()).map(|e| &e.pseudonym);
                if let Some(n) = pseudonym.and_then(|p| p.parse::<u64>().ok()) {
                    *value = Value::from(n);
                }
                Ok(())
            }
            Value::Array(items) => items.iter_mut().try_for_each(|item| self.json(item, field)),
            Value::Object(members) => {
                let renamed = members.keys().any(|k| self.names_something(k));
                if renamed {
                    let old = std::mem::take(members);
                    for (key, member) in old {
                        let key = if self.names_something(&key) {
                            self.text(&key)?
                        } else {
                            key
                        };
                        members.insert(key, member);
                    }
                }
                members
                    .iter_mut()
                    .try_for_each(|(name, member)| self.json(member, Some(name)))
            }
            _ => Ok(()),
        }
    }

    /// Whether an object key holds a name, an id or an address (a domain, an email, `tag:x`,
    /// an IP, a node id keying posture attributes, a host alias of the policy) rather than a
    /// field name of the API.
    fn names_something(&self, key: &str) -> bool {
        key.contains(['.', '@', ':']) || self.map.get(key).is_some()
    }
}

/// Whether the headers say the body is a form.
fn is_form(headers: &Headers) -> bool {
    headers.get("content-type").is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonymise::forms::pseudonym;

    fn replaced(map: &mut Map, text: &str) -> String {
        let finder = Finder::new(map, false);
        Replacer {
            map,
            finder: &finder,
            shift_days: None,
        }
        .text(text)
        .unwrap()
    }

    #[test]
    fn whole_words_only_and_the_longest_first() {
        let mut map = Map::fresh().unwrap();
        let short = pseudonym(&mut map, Kind::Host, "pangolin");
        let long = pseudonym(&mut map, Kind::Host, "pangolin-gw");
        let email = pseudonym(&mut map, Kind::Email, "amelie@example.com");
        let text =
            "pangolin-gw, pangolin.tailfe8c.ts.net, pangolins, Amelie@Example.com, www.example.com";
        let domain = email.split_once('@').unwrap().1;
        assert_eq!(
            replaced(&mut map, text),
            format!("{long}, {short}.tailfe8c.ts.net, pangolins, {email}, www.{domain}")
        );
    }

    #[test]
    fn a_pseudonym_is_not_searched_again() {
        let mut map = Map::fresh().unwrap();
        // A real host literally called `host-1`, after another one was given that pseudonym.
        let first = pseudonym(&mut map, Kind::Host, "otter");
        let second = pseudonym(&mut map, Kind::Host, "host-1");
        assert_eq!(first, "host-1");
        assert_ne!(second, "host-1");
        assert_eq!(
            replaced(&mut map, "otter host-1"),
            format!("host-1 {second}")
        );
    }
}
