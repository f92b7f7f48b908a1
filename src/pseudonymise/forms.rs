//! Pseudonyms of the same form as the value they replace, so that what reads a cassette (the
//! schemas, replay's matcher, the emulator's seed) takes them as it took the real ones.
//!
//! Readable kinds count: `user-N@domain-M.example` (one domain pseudonym per real domain),
//! `domain-N.example`, `User N`, `host-N`, `tailnet-N`, `hooks-N.example`. Ids, keys and serial
//! numbers keep their shape: the prefix up to the last `:` (`nodekey:`), the first letter and a
//! `CNTRL` suffix of the API's ids, separators, and each other character's class (a digit for a
//! digit, a hex digit in a hex value, a letter of the same case), drawn from an HMAC of the value
//! under the map's key. A candidate another value already has is drawn again.

use ring::hmac;

use super::map::{Kind, Map};

/// The API's ids end so (`n5SUKe8CNTRL`).
const ID_SUFFIX: &str = "CNTRL";

/// The pseudonym of `real`, chosen now and recorded in `map` (or the one it already has).
pub fn pseudonym(map: &mut Map, kind: Kind, real: &str) -> String {
    if let Some(entry) = map.get(real) {
        return entry.pseudonym.clone();
    }
    let chosen = match kind {
        Kind::Email => email(map, real),
        Kind::Address => unreachable!("addresses are chosen by addresses.rs"),
        _ => (0u32..)
            .map(|attempt| candidate(map, kind, real, attempt))
            .find(|c| map.is_free(c))
            .expect("some candidate is free"),
    };
    map.insert(kind, real, chosen.clone());
    chosen
}

/// `user-N@` and the domain's own pseudonym (a domain without a dot, such as `github`, names
/// an identity provider and stays).
fn email(map: &mut Map, real: &str) -> String {
    let (_, domain) = real.rsplit_once('@').unwrap_or((real, ""));
    let domain = if domain.contains('.') {
        pseudonym(map, Kind::Domain, &domain.to_ascii_lowercase())
    } else {
        domain.to_string()
    };
    (map.count(Kind::Email) + 1..)
        .map(|n| format!("user-{n}@{domain}"))
        .find(|c| map.is_free(c))
        .expect("some number is free")
}

fn candidate(map: &Map, kind: Kind, real: &str, attempt: u32) -> String {
    let n = map.count(kind) + 1 + attempt as usize;
    match kind {
        Kind::Tailnet => format!("tailnet-{n}"),
        Kind::Domain => format!("domain-{n}.example"),
        Kind::Name => format!("User {n}"),
        Kind::Host => format!("host-{n}"),
        Kind::UrlHost => format!("hooks-{n}.example"),
        Kind::Url => format!("https://avatars.example/user-{n}.png"),
        Kind::MagicDns => match real.strip_prefix("tail") {
            Some(rest) if !rest.is_empty() => {
                format!("tail{}", shaped(map.key(), kind, rest, attempt))
            }
            _ => format!("tailnet-{n}"),
        },
        Kind::Id | Kind::Key | Kind::Serial => shaped_id(map.key(), kind, real, attempt),
        Kind::Email | Kind::Address => unreachable!("chosen elsewhere"),
    }
}

/// An id of the same shape: the prefix to the last `:`, the first letter of a letter-led id and
/// a `CNTRL` suffix kept.
fn shaped_id(key: &[u8], kind: Kind, real: &str, attempt: u32) -> String {
    let (prefix, body) = match real.rfind(':') {
        Some(i) => real.split_at(i + 1),
        None => ("", real),
    };
    let (body, suffix) = match body.strip_suffix(ID_SUFFIX) {
        Some(rest) if !rest.is_empty() => (rest, ID_SUFFIX),
        _ => (body, ""),
    };
    let (lead, body) = match body.chars().next() {
        Some(c) if c.is_ascii_alphabetic() && !suffix.is_empty() => body.split_at(1),
        _ => ("", body),
    };
    format!("{prefix}{lead}{}{suffix}", shaped(key, kind, body, attempt))
}

/// Each character of `body` replaced by one of its class, drawn from the HMAC of `body`.
fn shaped(key: &[u8], kind: Kind, body: &str, attempt: u32) -> String {
    // Separators (`-` in a UUID) do not count for the value's alphabet.
    let alphanumeric = || body.chars().filter(char::is_ascii_alphanumeric);
    let all_digits = alphanumeric().all(|c| c.is_ascii_digit());
    let hex_lower =
        !all_digits && alphanumeric().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    let hex_upper =
        !all_digits && alphanumeric().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c));
    let mut stream = Stream::new(key, kind, body, attempt);
    body.chars()
        .enumerate()
        .map(|(i, c)| {
            let from: &[u8] = if c.is_ascii_digit() {
                if all_digits && i == 0 && body.len() > 1 {
                    b"123456789"
                } else if hex_lower || hex_upper {
                    // A hex value's digits may become any hex digit of its case.
                    if hex_lower {
                        b"0123456789abcdef"
                    } else {
                        b"0123456789ABCDEF"
                    }
                } else {
                    b"0123456789"
                }
            } else if hex_lower && c.is_ascii_lowercase() {
                b"0123456789abcdef"
            } else if hex_upper && c.is_ascii_uppercase() {
                b"0123456789ABCDEF"
            } else if c.is_ascii_lowercase() {
                b"abcdefghijklmnopqrstuvwxyz"
            } else if c.is_ascii_uppercase() {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            } else {
                return c;
            };
            from[stream.next() as usize % from.len()] as char
        })
        .collect()
}

/// Bytes from HMAC-SHA256(key, kind | value | attempt | block), block after block.
struct Stream {
    key: hmac::Key,
    seed: Vec<u8>,
    block: u32,
    bytes: Vec<u8>,
}

impl Stream {
    fn new(key: &[u8], kind: Kind, value: &str, attempt: u32) -> Stream {
        let mut seed = format!("{kind:?}\0{value}\0").into_bytes();
        seed.extend_from_slice(&attempt.to_be_bytes());
        Stream {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            seed,
            block: 0,
            bytes: Vec::new(),
        }
    }

    fn next(&mut self) -> u8 {
        if self.bytes.is_empty() {
            let mut input = self.seed.clone();
            input.extend_from_slice(&self.block.to_be_bytes());
            self.block += 1;
            self.bytes = hmac::sign(&self.key, &input).as_ref().to_vec();
        }
        self.bytes.pop().expect("refilled above")
    }
}

/// One keyed pseudo-random bit of `input`, for the address permutation.
pub fn bit(key: &[u8], input: &[u8]) -> bool {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input).as_ref()[0] & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_keys_keep_their_shape() {
        let mut map = Map::fresh().unwrap();
        let node = pseudonym(&mut map, Kind::Id, "n5SUKe8CNTRL");
        assert!(node.starts_with('n') && node.ends_with("CNTRL") && node.len() == 12);
        let device = pseudonym(&mut map, Kind::Id, "393735751060");
        assert!(device.len() == 12 && device.bytes().all(|b| b.is_ascii_digit()));
        assert!(!device.starts_with('0') && device != "393735751060");
        let key = pseudonym(&mut map, Kind::Key, "nodekey:01234567890abcdef");
        assert!(key.starts_with("nodekey:") && key.len() == 25);
        assert!(key[8..].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn one_domain_one_pseudonym() {
        let mut map = Map::fresh().unwrap();
        let a = pseudonym(&mut map, Kind::Email, "amelie@example.com");
        let b = pseudonym(&mut map, Kind::Email, "bruno@Example.com");
        let c = pseudonym(&mut map, Kind::Email, "carol@example.org");
        let domain = |e: &str| e.split_once('@').unwrap().1.to_string();
        assert_eq!(domain(&a), domain(&b));
        assert_ne!(domain(&a), domain(&c));
        assert_ne!(a, b);
        assert_eq!(pseudonym(&mut map, Kind::Email, "amelie@example.com"), a);
    }
}
