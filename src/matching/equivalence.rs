//! The equivalences matching knows: two requests written differently that mean the same thing
//! to the API. Each is a canonicalisation applied while a request's form is built (`form.rs`,
//! so lookup stays one hash probe), driven by the schemas (`shapes.rs`) and by HTTP semantics,
//! and each rewrite is noted under a stable [`Equivalence`] name ([`Notes`]), so that a match
//! can say which ones it used. This file holds the names, the notes, and the rules on single
//! values: a date-time as its instant, a parameter's text against its default.

use serde_json::Value;

/// One way two requests can differ in writing and still mean the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Equivalence {
    /// Date-times compared as UTC instants (`Z` ≡ `+00:00`).
    DateTimeInstant,
    /// An optional field or parameter sent as `null` ≡ left out.
    AbsentNull,
    /// An optional field or parameter sent with its documented default ≡ left out.
    AbsentDefault,
    /// The tailnet's own name in a path ≡ `-`.
    TailnetName,
    /// A path under an alias template (`vip-services`) ≡ the operation's own path.
    PathAlias,
    /// OAuth client credentials in `Authorization: Basic` ≡ in the form (RFC 6749 2.3.1).
    OauthBasicCredentials,
    /// No `Accept` (or `*/*`) accepts the media type of a recording (RFC 9110 12.5.1).
    AcceptAny,
}

impl Equivalence {
    pub const ALL: [Equivalence; 7] = [
        Equivalence::DateTimeInstant,
        Equivalence::AbsentNull,
        Equivalence::AbsentDefault,
        Equivalence::TailnetName,
        Equivalence::PathAlias,
        Equivalence::OauthBasicCredentials,
        Equivalence::AcceptAny,
    ];

    /// The stable name the journal and the log use.
    pub fn name(self) -> &'static str {
        match self {
            Equivalence::DateTimeInstant => "date-time-instant",
            Equivalence::AbsentNull => "absent-null",
            Equivalence::AbsentDefault => "absent-default",
            Equivalence::TailnetName => "tailnet-name",
            Equivalence::PathAlias => "path-alias",
            Equivalence::OauthBasicCredentials => "oauth-basic-credentials",
            Equivalence::AcceptAny => "accept-any",
        }
    }
}

/// What the canonicalisations rewrote in one request: per equivalence, a hash of the places and
/// the values as written (0: nothing). Two matching requests used an equivalence exactly when
/// their notes for it differ (one side wrote `+00:00` where the other wrote `Z`, or wrote it
/// elsewhere). A fixed array: building a form allocates nothing for its notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes([u64; Equivalence::ALL.len()]);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Notes {
    /// Notes that `kind` rewrote `raw` at `place` (the parts of its location).
    pub fn note(&mut self, kind: Equivalence, place: &[&str], raw: &str) {
        // FNV-1a over the parts, each ended by a byte no UTF-8 text holds: cheap, and a
        // collision could only hide which equivalence was used, never change a match.
        let entry = &mut self.0[kind as usize];
        let mut hash = if *entry == 0 { FNV_OFFSET } else { *entry };
        for part in place.iter().chain([&raw]) {
            for &byte in part.as_bytes().iter().chain([&0xff]) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
            }
        }
        // 0 stands for "nothing rewritten".
        *entry = hash.max(1);
    }

    /// The equivalences by which `self` and `other` differ, in a stable order.
    pub fn differing(&self, other: &Notes) -> impl Iterator<Item = Equivalence> + '_ {
        let other = other.0;
        Equivalence::ALL
            .into_iter()
            .filter(move |kind| self.0[*kind as usize] != other[*kind as usize])
    }
}

/// `text` as a UTC instant in one spelling (RFC 3339, `Z`, fraction only when not zero), or
/// `None` when it is not an RFC 3339 date-time.
pub fn instant(text: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(
        parsed
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// Whether a query parameter or form field's `text` is the `default` it would carry.
pub fn is_param(default: &Value, text: &str) -> bool {
    match default {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => n.to_string() == text,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_spelt_one_way() {
        assert_eq!(
            instant("2027-01-01T00:00:00+00:00").as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            instant("2027-01-01T00:00:00Z"),
            instant("2027-01-01T02:00:00+02:00")
        );
        assert_eq!(
            instant("2027-01-01T00:00:00.000Z"),
            instant("2027-01-01T00:00:00Z")
        );
        assert_ne!(
            instant("2027-01-01T00:00:00Z"),
            instant("2027-01-01T00:00:01Z")
        );
        assert_eq!(instant("tomorrow"), None);
    }

    #[test]
    fn notes_differ_only_where_the_writing_did() {
        let mut a = Notes::default();
        let mut b = Notes::default();
        let written = "2027-01-01T00:00:00+00:00";
        a.note(Equivalence::DateTimeInstant, &["/expiry"], written);
        assert_eq!(
            a.differing(&b).collect::<Vec<_>>(),
            [Equivalence::DateTimeInstant]
        );
        b.note(Equivalence::DateTimeInstant, &["/expiry"], written);
        assert_eq!(a.differing(&b).count(), 0);
        b.note(Equivalence::AbsentNull, &["/comment"], "null");
        assert_eq!(
            a.differing(&b).collect::<Vec<_>>(),
            [Equivalence::AbsentNull]
        );
    }
}
