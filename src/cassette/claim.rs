//! Claiming a cassette file before writing it: only a regular file or a new path is written
//! (never a device, a FIFO, a directory, or through a symbolic link to one), and one process at
//! a time writes it. `record` holds its claim for the whole recording, `close` while it rewrites.
//!
//! The lock is an `flock` (`File::try_lock`) on `CASSETTE.lock` beside the cassette, not on the
//! cassette itself: writers replace the cassette by renaming a new file over it, which would
//! leave a lock on the old file behind. Writers take it exclusively; `record --mode once` only
//! replaying an existing cassette takes it shared, so parallel replays of one cassette run side
//! by side while no writer can start. The holder of the last claim removes the lock file while
//! still holding it, and a process that locked a file no longer at that path retries, so two
//! processes never both hold a claim.
//!
//! Replacing goes through a temporary file beside the cassette, `fsync`ed before the rename
//! and followed by a sync of the directory: at every moment the path holds the old text or the
//! new one, whole.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a cassette path cannot be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "{file} is {kind}, not a regular file: a cassette is written only to a regular file or a new path"
    )]
    NotRegular { file: String, kind: &'static str },
    #[error(
        "{file} is in use by another tailtape (its lock, {lock}, is held): stop that one first, or use another cassette"
    )]
    Held { file: String, lock: String },
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
}

/// A cassette path this process may write (or, shared, read while no one writes it).
#[derive(Debug)]
pub struct Claim {
    /// The cassette, symbolic links resolved: what is written is the file they point to.
    path: PathBuf,
    lock_path: PathBuf,
    lock: File,
}

/// What a claimed path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Nothing: no file, or an empty one.
    Nothing,
    /// A regular file with content.
    Text,
}

impl Claim {
    /// Claims `path` to write it: fails if another process holds any claim on it.
    pub fn exclusive(path: &Path) -> Result<Claim, ClaimError> {
        Claim::take(path, false)
    }

    /// Claims `path` to read it while no one writes it: fails if a writer holds it.
    pub fn shared(path: &Path) -> Result<Claim, ClaimError> {
        Claim::take(path, true)
    }

    fn take(path: &Path, shared: bool) -> Result<Claim, ClaimError> {
        let name = path.display().to_string();
        let path = resolve(path)?;
        let lock_path = with_suffix(&path, ".lock");
        let io = |error| ClaimError::Io {
            file: lock_path.display().to_string(),
            error,
        };
        loop {
            let lock = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .map_err(io)?;
            let locked = if shared {
                lock.try_lock_shared()
            } else {
                lock.try_lock()
            };
            match locked {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(ClaimError::Held {
                        file: name,
                        lock: lock_path.display().to_string(),
                    });
                }
                Err(std::fs::TryLockError::Error(err)) => return Err(io(err)),
            }
            if !still_at(&lock, &lock_path) {
                // The last holder removed it between our open and our lock: take the new one.
                continue;
            }
            // The kind may have changed while we waited for nothing: check again, locked.
            resolve(&path)?;
            return Ok(Claim {
                path,
                lock_path,
                lock,
            });
        }
    }

    /// The cassette's path, symbolic links resolved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path holds anything yet.
    pub fn holds(&self) -> std::io::Result<Holds> {
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.len() > 0 => Ok(Holds::Text),
            Ok(_) => Ok(Holds::Nothing),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Holds::Nothing),
            Err(err) => Err(err),
        }
    }

    /// A new temporary file beside the cassette, for text that will replace it.
    pub fn temp_file(&self) -> std::io::Result<(PathBuf, File)> {
        let temp = with_suffix(&self.path, ".tailtape-tmp");
        // One a killed run left: only the claim's holder writes here.
        match std::fs::remove_file(&temp) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&temp)?;
        Ok((temp, file))
    }

    /// Puts `temp` (written and synced) in the cassette's place, durably.
    pub fn replace_with(&self, temp: &Path) -> std::io::Result<()> {
        std::fs::rename(temp, &self.path)?;
        sync_dir(&self.path);
        Ok(())
    }

    /// Replaces the cassette with `text`, atomically: the path holds the old text or the new.
    pub fn replace(&self, text: &[u8]) -> std::io::Result<()> {
        let (temp, mut file) = self.temp_file()?;
        let written = file
            .write_all(text)
            .and_then(|()| file.sync_all())
            .and_then(|()| self.replace_with(&temp));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }
}

impl Drop for Claim {
    /// Removes the lock file if no one else holds it; the lock goes with the descriptor.
    fn drop(&mut self) {
        if self.lock.try_lock().is_ok() && still_at(&self.lock, &self.lock_path) {
            let _ = std::fs::remove_file(&self.lock_path);
        }
    }
}

/// `path` with symbolic links resolved, if it is a regular file or nothing yet; else why not.
fn resolve(path: &Path) -> Result<PathBuf, ClaimError> {
    let file = path.display().to_string();
    let not_regular = |kind| ClaimError::NotRegular {
        file: file.clone(),
        kind,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(error) => return Err(ClaimError::Io { file, error }),
    };
    if !meta.file_type().is_symlink() {
        return match kind(&meta) {
            None => Ok(path.to_path_buf()),
            Some(kind) => Err(not_regular(kind)),
        };
    }
    match std::fs::metadata(path) {
        Ok(target) => match kind(&target) {
            None => std::fs::canonicalize(path).map_err(|error| ClaimError::Io {
                file: file.clone(),
                error,
            }),
            Some(kind) => Err(not_regular(kind)),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Err(not_regular("a symbolic link to nothing"))
        }
        Err(error) => Err(ClaimError::Io { file, error }),
    }
}

/// What a file that is not a regular one is, in words; `None` for a regular file.
fn kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let file_type = meta.file_type();
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("neither a file nor a directory")
}

/// Whether the locked `file` is still the one at `path` (the last holder may have removed it).
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
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
