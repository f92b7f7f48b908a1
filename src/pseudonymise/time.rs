//! `--shift-time`: every RFC 3339 timestamp moved by the same whole number of days, so that a
//! recording does not tell when it was made while the intervals in it (a key's expiry after
//! its creation, a device last seen before now) stay as they were. Only the date changes: the
//! time of day, fractions and offset are kept as written. The shift comes from the map's key,
//! so runs with one `--map` shift alike; Go's zero time (`0001-01-01T00:00:00Z`) stays. HTTP
//! dates in headers (`date`, `last-modified`) move alike.

use std::sync::LazyLock;

use chrono::{Days, NaiveDate};
use regex::Regex;

use super::forms::bit;

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
        .expect("valid")
});

/// Days back, between 30 and 412: drawn from the map's key.
pub fn shift_days(key: &[u8]) -> u64 {
    let bits = (0..9u8).fold(0u64, |n, i| n << 1 | u64::from(bit(key, &[b't', i])));
    30 + bits % 383
}

/// `text` with its timestamps `days` earlier, if it has any.
pub fn shift(text: &str, days: u64) -> Option<String> {
    let mut changed = false;
    let out = TIMESTAMP.replace_all(text, |caps: &regex::Captures| {
        let whole = &caps[0];
        let Ok(date) = NaiveDate::parse_from_str(&caps[1], "%Y-%m-%d") else {
            return whole.to_string();
        };
        match date.checked_sub_days(Days::new(days)) {
            Some(shifted) if chrono::Datelike::year(&date) > 1900 => {
                changed = true;
                format!("{}{}", shifted.format("%Y-%m-%d"), &whole[10..])
            }
            _ => whole.to_string(),
        }
    });
    changed.then(|| out.into_owned())
}

/// An HTTP date (`date`, `last-modified` headers: `Wed, 02 Dec 2026 12:39:26 GMT`) `days`
/// earlier, if it is one.
pub fn shift_http_date(value: &str, days: u64) -> Option<String> {
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let shifted = date.checked_sub_days(Days::new(days))?;
    Some(shifted.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_move_and_the_rest_stays() {
        assert_eq!(
            shift(
                "created 2026-11-23T10:00:07.118903Z, expires 2027-01-01T00:00:00+00:00",
                30
            )
            .unwrap(),
            "created 2026-10-24T10:00:07.118903Z, expires 2026-12-02T00:00:00+00:00"
        );
        assert_eq!(shift("0001-01-01T00:00:00Z, 1.76.1", 30), None);
        assert_eq!(
            shift_http_date("Wed, 02 Dec 2026 12:39:26 GMT", 30).unwrap(),
            "Mon, 02 Nov 2026 12:39:26 GMT"
        );
    }
}
