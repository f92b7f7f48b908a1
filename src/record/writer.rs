//! The cassette on disk while recording: an append-only layout that is loadable at every moment.
//!
//! The file is the canonical cassette text with its `interactions` array left open; each finished
//! exchange is appended (`,\n` and the interaction, indented as in the canonical form) with one
//! `write` (of two buffers, not copied into one) before its client gets the response, so a killed
//! recorder loses nothing that finished. Closing writes `\n  ]\n}\n`, which leaves exactly the
//! canonical file. The loader accepts an open array and keeps every complete interaction.
//!
//! A large exchange, scanned in pieces (`redact/streamed.rs`), is written piece by piece as its
//! text is generated again, each piece checked against the one scanned; when one does not match
//! (or a write fails), the file is cut back to where the exchange began, so it stays loadable
//! with what it held before. A recorder killed meanwhile leaves a cut interaction, which the
//! loader reports and drops.
//!
//! The writer holds the cassette's [`Claim`] (no other tailtape writes it meanwhile) and writes
//! into a temporary file beside it; that file takes the cassette's place at start on a new path,
//! and at the first exchange written when the path holds a file already, so the old cassette stays
//! whole until there is something to replace it with.
//!
//! The task that finished an exchange writes it itself, under a lock, in the order exchanges
//! finish: a write into the page cache takes microseconds, less than handing the exchange to
//! another thread and being woken when it is done. `fsync` runs on a thread of its own within
//! [`SYNC_EVERY`] of a write and on close, so no write waits for the disk (an `fsync` per exchange
//! cost about 6 ms here and capped a recording at 5,000 exchanges a second); a power cut can cost
//! the last [`SYNC_EVERY`].

use std::fs::File;
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::cassette::{Cassette, Claim, Holds};
use crate::redact::Scanned;
use crate::redact::streamed::Generate;

const CLOSE: &str = "\n  ]\n}\n";
/// The longest a written exchange waits for `fsync`.
const SYNC_EVERY: Duration = Duration::from_millis(100);

pub struct Writer {
    file: Mutex<Appending>,
    /// Held until the writer is dropped, after the file is closed.
    claim: Claim,
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
    /// The temporary file being written, until it replaces the cassette at the first exchange.
    pending: Option<PathBuf>,
}

impl Writer {
    /// Starts the cassette `claim` holds with `cassette` (its header and any interactions kept
    /// from before). A new path (or an empty file) gets it at once; a file with content is
    /// replaced only when the first exchange is written, so that a run that records nothing
    /// leaves it as it was, and at every moment the path holds the old cassette or the new one.
    pub fn create(claim: Claim, cassette: &Cassette) -> std::io::Result<Writer> {
        let canonical = cassette.to_canonical_string();
        let open = match canonical.strip_suffix(CLOSE) {
            Some(open) => open.to_string(),
            None => canonical
                .strip_suffix("[]\n}\n")
                .map(|head| format!("{head}["))
                .ok_or_else(|| std::io::Error::other("unexpected canonical cassette layout"))?,
        };
        let replaces = claim.holds()? == Holds::Text;
        let (temp, mut file) = claim.temp_file()?;
        let started = file
            .write_all(open.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| match replaces {
                true => Ok(()),
                false => claim.replace_with(&temp),
            });
        if let Err(err) = started {
            let _ = std::fs::remove_file(&temp);
            return Err(err);
        }
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
                        if dirty.swap(false, Ordering::AcqRel)
                            && let Err(err) = handle.sync_data()
                        {
                            crate::log::error(format!("fsync failed: {err}"));
                        }
                    }
                })?
        };
        Ok(Writer {
            file: Mutex::new(Appending {
                file,
                first: cassette.interactions.is_empty(),
                closed: false,
                pending: replaces.then_some(temp),
            }),
            claim,
            dirty,
            stop: Some(stop),
            syncer: Some(syncer),
        })
    }

    /// Writes an interaction at the end of the cassette, with one `write` (a large one piece by
    /// piece, see the module docs); once this returns, a killed recorder keeps it (see the
    /// module docs on `fsync`).
    /// `source` generates the text of a large one again (the interaction scanned).
    pub fn append(&self, interaction: &Scanned, source: &dyn Generate) -> std::io::Result<()> {
        let mut appending = lock(&self.file);
        if appending.closed {
            return Err(std::io::Error::other("cassette closed"));
        }
        let separator: &[u8] = if appending.first { b"\n" } else { b",\n" };
        let file = &mut appending.file;
        match interaction.whole() {
            Some(text) => {
                write_all_vectored(file, &mut [IoSlice::new(separator), IoSlice::new(text)])?
            }
            None => write_in_pieces(file, separator, interaction, source)?,
        }
        appending.first = false;
        if let Some(temp) = &appending.pending {
            appending.file.sync_data()?;
            self.claim.replace_with(temp)?;
            appending.pending = None;
        }
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
        if let Some(temp) = appending.pending.take() {
            // Nothing recorded: the cassette stays as it was.
            return std::fs::remove_file(temp);
        }
        appending.file.write_all(CLOSE.as_bytes())?;
        appending.file.sync_all()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Writes `separator` and the pieces of `interaction`; on an error, cuts the file back to its
/// length before (the writes append, so the next one follows what is kept).
fn write_in_pieces(
    file: &mut File,
    separator: &[u8],
    interaction: &Scanned,
    source: &dyn Generate,
) -> std::io::Result<()> {
    let start = file.metadata()?.len();
    let written = file
        .write_all(separator)
        .and_then(|()| interaction.write_pieces(source, &mut |piece| file.write_all(piece)));
    match written {
        Ok(()) => Ok(()),
        Err(err) => match file.set_len(start) {
            Ok(()) => Err(err),
            Err(cut) => Err(std::io::Error::other(format!(
                "{err}; cutting the cassette back to its last whole interaction failed: {cut}"
            ))),
        },
    }
}

/// Writes every byte of `parts`, in one `write` unless the system takes less (`write_all` for
/// several buffers, without copying them into one).
fn write_all_vectored(file: &mut File, mut parts: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !parts.is_empty() {
        match file.write_vectored(parts) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut parts, written),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The file, whatever a panicking writer left: every write is whole or an error.
fn lock(file: &Mutex<Appending>) -> MutexGuard<'_, Appending> {
    file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
