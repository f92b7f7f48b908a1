//! The mapping from real values to pseudonyms, and the `--map FILE` that keeps it between runs.
//!
//! The map holds the secret key the pseudonyms are derived from and every pair chosen so far,
//! so that a later run (more cassettes, a recording continued with `--mode new`) gives the same
//! value the same pseudonym. It names real people and machines: the file is written owner-only
//! and the command warns when it sits inside a git work tree, where it could be committed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a real value is; it decides the form of its pseudonym (`forms.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A tailnet name that is neither an email address nor a domain.
    Tailnet,
    Email,
    Domain,
    /// A person's display name.
    Name,
    /// A device's hostname or machine name (the first label of its MagicDNS name).
    Host,
    /// The tailnet's MagicDNS label (`tailfe8c` in `pangolin.tailfe8c.ts.net`).
    MagicDns,
    /// Node, device, user, key, webhook, invite and client ids.
    Id,
    /// nodeKey, machineKey, discoKey, tailnetLockKey.
    Key,
    /// A posture serial number.
    Serial,
    /// The host of a webhook or log-streaming endpoint URL.
    UrlHost,
    /// A profile picture URL (its path names the person).
    Url,
    /// An IP address or CIDR prefix (`addresses.rs`).
    Address,
}

impl Kind {
    /// What a report calls it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Tailnet => "tailnet name",
            Kind::Email => "email address",
            Kind::Domain => "domain",
            Kind::Name => "display name",
            Kind::Host => "hostname",
            Kind::MagicDns => "MagicDNS name",
            Kind::Id => "id",
            Kind::Key => "key",
            Kind::Serial => "serial number",
            Kind::UrlHost => "endpoint host",
            Kind::Url => "URL",
            Kind::Address => "address",
        }
    }

    /// Whether the value is matched regardless of ASCII case (names and domains are; ids and
    /// keys are not).
    pub fn case_insensitive(self) -> bool {
        matches!(
            self,
            Kind::Tailnet
                | Kind::Email
                | Kind::Domain
                | Kind::Name
                | Kind::Host
                | Kind::MagicDns
                | Kind::UrlHost
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    pub real: String,
    pub pseudonym: String,
}

/// The file's layout.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(rename = "tailtape-pseudonymise-map")]
    version: u64,
    /// The HMAC key, hex.
    key: String,
    entries: Vec<Entry>,
}

const VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}:{line}:{column}: not a tailtape pseudonymise map: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Inconsistent { file: String, message: String },
    #[error("cannot draw a random key: {0}")]
    Random(String),
}

/// Real values and their pseudonyms, one pseudonym per real value and never two real values
/// for one pseudonym.
#[derive(Debug)]
pub struct Map {
    key: Vec<u8>,
    entries: BTreeMap<String, Entry>,
    /// Every pseudonym given, for collisions.
    taken: HashSet<String>,
    /// Every pseudonym and real value, lower-cased: a new pseudonym differs from all of them
    /// in any case.
    folded_taken: HashSet<String>,
    /// A case-insensitive value, lower-cased → its key in `entries`.
    folded: HashMap<String, String>,
    /// How many entries each kind has: the `N` of the next `host-N`.
    counts: HashMap<Kind, usize>,
    /// Whether entries were added since the map was loaded or saved.
    changed: bool,
    /// Where the search for a free public address last stopped, per pool (`addresses.rs`).
    cursors: HashMap<&'static str, usize>,
}

impl Map {
    /// An empty map with a fresh random key.
    pub fn fresh() -> Result<Map, MapError> {
        let mut key = vec![0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|e| MapError::Random(e.to_string()))?;
        Ok(Map::with_key(key))
    }

    fn with_key(key: Vec<u8>) -> Map {
        Map {
            key,
            entries: BTreeMap::new(),
            taken: HashSet::new(),
            folded_taken: HashSet::new(),
            folded: HashMap::new(),
            counts: HashMap::new(),
            changed: false,
            cursors: HashMap::new(),
        }
    }

    /// Loads `path`, or starts a fresh map when there is no such file (it is written by
    /// [`Map::save`]), as long as its directory exists: a map that could not be saved is
    /// refused before anything is rewritten.
    pub fn load_or_fresh(path: &Path) -> Result<Map, MapError> {
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                    return Err(MapError::Inconsistent {
                        file,
                        message: format!(
                            "its directory {} does not exist: the map could not be saved",
                            dir.display()
                        ),
                    });
                }
                return Map::fresh();
            }
            Err(error) => return Err(MapError::Io { file, error }),
        };
        let parsed: MapFile = serde_json::from_str(&text).map_err(|e| MapError::Invalid {
            file: file.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let inconsistent = |message: String| MapError::Inconsistent {
            file: file.clone(),
            message,
        };
        if parsed.version != VERSION {
            return Err(inconsistent(format!(
                "version {} is not {VERSION}",
                parsed.version
            )));
        }
        let key = decode_hex(&parsed.key)
            .filter(|key| key.len() >= 16)
            .ok_or_else(|| inconsistent("`key` is not 32 or more hex digits".into()))?;
        let mut map = Map::with_key(key);
        for (index, entry) in parsed.entries.into_iter().enumerate() {
            if let Some(wrong) = malformed(&entry) {
                return Err(inconsistent(format!(
                    "entry {} ({}): {wrong}",
                    index + 1,
                    entry.kind.describe()
                )));
            }
            if map.entries.contains_key(&entry.real) {
                return Err(inconsistent(format!(
                    "a {} is listed twice",
                    entry.kind.describe()
                )));
            }
            if !map.taken.insert(entry.pseudonym.clone()) {
                return Err(inconsistent(format!(
                    "the pseudonym {} is given to two values",
                    entry.pseudonym
                )));
            }
            map.add(entry);
        }
        Ok(map)
    }

    /// Writes the map to `path` atomically, readable by its owner only.
    pub fn save(&mut self, path: &Path) -> Result<(), MapError> {
        let file = MapFile {
            version: VERSION,
            key: encode_hex(&self.key),
            entries: self.entries.values().cloned().collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a map serialises");
        text.push('\n');
        write_atomically(path, text.as_bytes(), true).map_err(|error| MapError::Io {
            file: path.display().to_string(),
            error,
        })?;
        self.changed = false;
        Ok(())
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The entry of `real`, or of the case-insensitive value it spells in another case
    /// (`Alices-MacBook-Pro` and `alices-macbook-pro` are one device).
    pub fn get(&self, real: &str) -> Option<&Entry> {
        self.entries.get(real).or_else(|| {
            let key = self.folded.get(&real.to_ascii_lowercase())?;
            self.entries.get(key)
        })
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    /// How many values of `kind` the map has.
    pub fn count(&self, kind: Kind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Whether `candidate` may be given as a new pseudonym: no other value has it, and it is
    /// not itself a real value of the map, in any case.
    pub fn is_free(&self, candidate: &str) -> bool {
        !self.folded_taken.contains(&candidate.to_ascii_lowercase())
    }

    pub fn cursor(&self, pool: &'static str) -> usize {
        self.cursors.get(pool).copied().unwrap_or(0)
    }

    pub fn set_cursor(&mut self, pool: &'static str, at: usize) {
        self.cursors.insert(pool, at);
    }

    /// Records a new pair; the caller chose a pseudonym no other value has (a permuted
    /// address may be another real address: the permutation is a bijection).
    pub fn insert(&mut self, kind: Kind, real: &str, pseudonym: String) {
        debug_assert!(!self.taken.contains(&pseudonym));
        self.taken.insert(pseudonym.clone());
        self.add(Entry {
            kind,
            real: real.to_string(),
            pseudonym,
        });
        self.changed = true;
    }

    /// Files an entry whose pseudonym is in `taken` already.
    fn add(&mut self, entry: Entry) {
        *self.counts.entry(entry.kind).or_default() += 1;
        let real = entry.real.to_ascii_lowercase();
        self.folded_taken
            .insert(entry.pseudonym.to_ascii_lowercase());
        self.folded_taken.insert(real.clone());
        if entry.kind.case_insensitive() {
            self.folded
                .entry(real)
                .or_insert_with(|| entry.real.clone());
        }
        self.entries.insert(entry.real.clone(), entry);
    }
}

/// What is wrong with an entry of a map file: an empty value, or a pseudonym not of its kind's
/// form. The real value is never named.
fn malformed(entry: &Entry) -> Option<String> {
    let pseudonym = &entry.pseudonym;
    if entry.real.trim().is_empty() {
        return Some("its real value is empty".into());
    }
    if pseudonym.trim().is_empty() {
        return Some("its pseudonym is empty".into());
    }
    let fits = match entry.kind {
        Kind::Address => {
            let (ip, len) = pseudonym.split_once('/').unwrap_or((pseudonym, "0"));
            ip.parse::<std::net::IpAddr>().is_ok() && len.parse::<u8>().is_ok()
        }
        Kind::Email => pseudonym.matches('@').count() == 1,
        _ => true,
    };
    (!fits).then(|| {
        format!(
            "the pseudonym {pseudonym:?} is not of the form of its kind ({})",
            entry.kind.describe()
        )
    })
}

/// Writes `bytes` to `path` through a temporary file beside it, synced, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tailtape-tmp");
    let temp = PathBuf::from(temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The git work tree holding `path`, if any: a map file there could be committed with the
/// cassettes it was made for.
pub fn git_work_tree(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_map_loads_with_its_key_and_pairs() {
        let dir = std::env::temp_dir().join(format!("tailtape-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map.json");
        let mut map = Map::fresh().unwrap();
        map.insert(Kind::Host, "pangolin", "host-1".into());
        map.save(&path).unwrap();
        let loaded = Map::load_or_fresh(&path).unwrap();
        assert_eq!(loaded.key(), map.key());
        assert_eq!(loaded.get("pangolin").unwrap().pseudonym, "host-1");
        assert!(!loaded.is_free("host-1") && !loaded.is_free("pangolin"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entries_of_the_wrong_form_are_refused() {
        let entry = |kind, real: &str, pseudonym: &str| Entry {
            kind,
            real: real.into(),
            pseudonym: pseudonym.into(),
        };
        assert_eq!(
            malformed(&entry(Kind::Address, "100.64.1.2", "100.70.3.4")),
            None
        );
        assert_eq!(
            malformed(&entry(Kind::Address, "52.1.0.0/16", "203.0.113.0/28")),
            None
        );
        assert_eq!(
            malformed(&entry(Kind::Email, "a@b.io", "user-1@domain-1.example")),
            None
        );
        for wrong in [
            entry(Kind::Address, "100.64.1.2", "host-1"),
            entry(Kind::Email, "a@b.io", "user-1"),
            entry(Kind::Email, "a@b.io", "a@b@c"),
            entry(Kind::Host, "", "host-1"),
            entry(Kind::Host, "pangolin", " "),
        ] {
            assert!(malformed(&wrong).is_some(), "{wrong:?}");
        }
    }

    #[test]
    fn a_name_in_another_case_is_the_same_value() {
        let mut map = Map::fresh().unwrap();
        map.insert(Kind::Host, "Alices-MacBook-Pro", "host-1".into());
        map.insert(Kind::Id, "nAbc1CNTRL", "nXyz2CNTRL".into());
        assert_eq!(map.get("alices-macbook-pro").unwrap().pseudonym, "host-1");
        assert!(map.get("nabc1cntrl").is_none(), "ids keep their case");
        assert!(!map.is_free("Host-1") && !map.is_free("ALICES-MACBOOK-PRO"));
    }
}
