//! The cassette on disk while recording: an append-only layout that is loadable at every moment.
//!
//! The file is the canonical cassette text with its `interactions` array left open; each
//! finished exchange is appended (`,\n` and the interaction, indented as in the canonical form)
//! with one `write` before its client gets the response, so a killed recorder loses nothing that
//! finished. Closing writes `\n  ]\n}\n`, which leaves exactly the canonical file. The loader
//! accepts an open array and keeps every complete interaction.
//!
//! The task that finished an exchange writes it itself, under a lock, in the order exchanges
//! finish: a write into the page cache takes microseconds, less than handing the exchange to
//! another thread and being woken when it is done. `fsync` runs on a thread of its own within
//! [`SYNC_EVERY`] of a write and on close, so no write waits for the disk (an `fsync` per
//! exchange cost about 6 ms here and capped a recording at 5,000 exchanges a second); a power
//! cut can cost the last [`SYNC_EVERY`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::cassette::Cassette;
use crate::redact::Scanned;

const CLOSE: &str = "\n  ]\n}\n";
/// The longest a written exchange waits for `fsync`.
const SYNC_EVERY: Duration = Duration::from_millis(100);

pub struct Writer {
    file: Mutex<Appending>,
    /// Set by a write, cleared by the sync thread before it syncs.
    dirty: Arc<AtomicBool>,
    /// Dropping it stops the sync thread.
    stop: Option<std::sync::mpsc::Sender<()>>,
    syncer: Option<JoinHandle<()>>,
}

struct Appending {
    file: File,
    /// No interaction written yet: the next one follows `[` without a comma.
    first: bool,
    closed: bool,
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
        let dirty = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let syncer = {
            let dirty = Arc::clone(&dirty);
            // Syncs a duplicate descriptor, so that writes do not wait on the lock meanwhile.
            let handle = file.try_clone()?;
            std::thread::Builder::new()
                .name("tailtape-fsync".into())
                .spawn(move || {
                    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                        stopped.recv_timeout(SYNC_EVERY)
                    {
                        if dirty.swap(false, Ordering::AcqRel) {
                            if let Err(err) = handle.sync_data() {
                                eprintln!("tailtape record: fsync failed: {err}");
                            }
                        }
                    }
                })?
        };
        Ok(Writer {
            file: Mutex::new(Appending {
                file,
                first: cassette.interactions.is_empty(),
                closed: false,
            }),
            dirty,
            stop: Some(stop),
            syncer: Some(syncer),
        })
    }

    /// Writes an interaction at the end of the cassette, with one `write`; once this returns, a
    /// killed recorder keeps it (see the module docs on `fsync`).
    pub fn append(&self, interaction: &Scanned) -> std::io::Result<()> {
        let mut appending = lock(&self.file);
        if appending.closed {
            return Err(std::io::Error::other("cassette closed"));
        }
        let separator: &[u8] = if appending.first { b"\n" } else { b",\n" };
        appending
            .file
            .write_all(&[separator, interaction.text()].concat())?;
        appending.first = false;
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Closes the interactions array: the file becomes the canonical cassette.
    pub fn close(&mut self) -> std::io::Result<()> {
        self.stop.take();
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
        let mut appending = lock(&self.file);
        if appending.closed {
            return Ok(());
        }
        appending.closed = true;
        appending.file.write_all(CLOSE.as_bytes())?;
        appending.file.sync_all()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The file, whatever a panicking writer left: every write is whole or an error.
fn lock(file: &Mutex<Appending>) -> MutexGuard<'_, Appending> {
    file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
