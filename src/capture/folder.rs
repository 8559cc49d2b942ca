//! The inbox folder. A scanner or a person drops files; we take a file only
//! once its size has stayed the same across two polls (a scanner may still
//! be writing it), store it, and move it to `processed/` — or to `failed/`
//! with a `.reason.txt` beside it when the file itself is bad (unreadable,
//! too large). When storing failed for a passing reason (the database down,
//! restarting, refusing connections, busy, out of disk), the file stays in
//! the inbox and the watcher backs off (1 s, doubling up to a minute)
//! before taking any file again: the fault is the database's, not the
//! file's, and `failed/` is never looked at again. A file over
//! the document limit goes to `failed/` unread: its size is checked from
//! the metadata and the read is bounded, so a 100 GB file dropped in the
//! inbox costs nothing but the move.
//!
//! File events (inotify, through `notify`) make a drop or a rename into the
//! folder show up within about a second; listing the folder every
//! `poll_interval` stays as the fallback, because network shares (SMB, NFS)
//! deliver no events for files other machines write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Settings;
use crate::domain::{RawDocument, Source};
use crate::read::MAX_DOCUMENT_BYTES;
use crate::store::Store;
use crate::workflow::{self, Received};

/// Files whose names end like this are still being written by their sender.
const PARTIAL_SUFFIXES: &[&str] = &[".part", ".tmp", ".crdownload", ".partial", "~"];

/// The first wait after a transient failure; it doubles per failure.
const BACKOFF_START: Duration = Duration::from_secs(1);
/// The longest wait between tries while the database stays unavailable.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Why a file was not taken.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// The file itself is bad; it was moved to `failed/` with this reason.
    #[error("{reason}")]
    Rejected { reason: String },
    /// Storing failed for a passing reason; the file stays in the inbox and
    /// is tried again after `retry_in`.
    #[error("{reason} (the file stays in the inbox; next try in {} s)", retry_in.as_secs())]
    Deferred { reason: String, retry_in: Duration },
}

/// Remembers each file's size between polls, and how long to hold off
/// after transient failures.
#[derive(Debug)]
pub struct FolderWatcher {
    dir: PathBuf,
    seen: HashMap<PathBuf, u64>,
    /// Transient failures in a row, and when to try again. One for the
    /// whole folder, not per file: the database being down concerns every
    /// file alike, and trying the rest of a batch would only wait out
    /// connection timeouts one file after another.
    backoff: Option<(u32, Instant)>,
}

impl FolderWatcher {
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<FolderWatcher> {
        let dir = dir.into();
        for sub in ["processed", "failed"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        Ok(FolderWatcher {
            dir,
            seen: HashMap::new(),
            backoff: None,
        })
    }

    /// One poll: returns the files that are ready (size unchanged since the
    /// last poll). While backing off after a transient failure it returns
    /// none, but keeps watching sizes, so that ready files are returned on
    /// the first poll after the wait.
    pub async fn poll(&mut self) -> std::io::Result<Vec<PathBuf>> {
        let holding = self
            .backoff
            .is_some_and(|(_, not_before)| Instant::now() < not_before);
        let mut ready = Vec::new();
        let mut now = HashMap::new();
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let meta = match entry.metadata().await {
                Ok(m) if m.is_file() => m,
                _ => continue,
            };
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || PARTIAL_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                continue;
            }
            if self.seen.get(&path) == Some(&meta.len()) {
                ready.push(path.clone());
            }
            now.insert(path, meta.len());
        }
        if holding {
            self.seen = now;
            return Ok(Vec::new());
        }
        ready.sort();
        for p in &ready {
            now.remove(p);
        }
        self.seen = now;
        Ok(ready)
    }

    /// Files seen once and waiting for their size to settle, or for the
    /// backoff to end.
    pub fn has_pending(&self) -> bool {
        !self.seen.is_empty()
    }

    /// Stores one ready file and moves it out of the inbox: to `processed/`,
    /// or to `failed/` when the file is bad. A transient failure leaves it
    /// where it is and starts (or lengthens) the backoff.
    pub async fn take(
        &mut self,
        store: &Store,
        settings: &Settings,
        path: &Path,
    ) -> Result<Received, TakeError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let outcome = match read_bounded(path, MAX_DOCUMENT_BYTES).await {
            Ok(bytes) => {
                let raw = RawDocument {
                    filename: name.clone(),
                    bytes,
                    source: Source::Folder {
                        path: path.display().to_string(),
                    },
                };
                match workflow::receive_document(store, &raw, settings).await {
                    Ok(r) => Ok(r),
                    Err(e) if e.is_transient() => {
                        let failures = self.backoff.map_or(1, |(n, _)| n.saturating_add(1));
                        let retry_in = backoff(failures);
                        self.backoff = Some((failures, Instant::now() + retry_in));
                        return Err(TakeError::Deferred {
                            reason: workflow::error_text(&e),
                            retry_in,
                        });
                    }
                    Err(e) => Err(workflow::error_text(&e)),
                }
            }
            Err(reason) => Err(reason),
        };
        if outcome.is_ok() {
            self.backoff = None;
            crate::failpoint::hit("inbox-stored");
        }
        let target = match &outcome {
            Ok(_) => self.dir.join("processed").join(&name),
            Err(reason) => {
                let failed = self.dir.join("failed").join(&name);
                let _ = tokio::fs::write(failed.with_extension("reason.txt"), reason).await;
                failed
            }
        };
        if let Err(e) = tokio::fs::rename(path, unique(&target)).await {
            // The document is stored; a file we cannot move is taken again
            // on the next poll and deduplicated by its hash.
            warn!(path = %path.display(), error = %e, "cannot move file out of the inbox");
        }
        outcome.map_err(|reason| TakeError::Rejected { reason })
    }
}

/// The wait after `failures` transient failures in a row: 1 s, 2 s, 4 s,
/// ... up to [`BACKOFF_MAX`].
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_START
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX)
}

/// The file's bytes if it has at most `limit` of them. Checks the size
/// before reading, and reads at most `limit + 1` bytes in case the file
/// grows meanwhile: never the whole of an oversized file.
async fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = tokio::fs::File::open(path).await.map_err(cannot)?;
    let size = file.metadata().await.map_err(cannot)?.len();
    let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
    let too_large = |size: u64| format!("file is {size} bytes, more than the {limit} byte limit");
    if size > limit64 {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    file.take(limit64.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(cannot)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limit64 {
        return Err(too_large(read));
    }
    Ok(bytes)
}

/// `target`, or `target` with a counter if that name is taken.
fn unique(target: &Path) -> PathBuf {
    if !target.exists() {
        return target.to_path_buf();
    }
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let ext = target
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..)
        .map(|i| target.with_file_name(format!("{stem}.{i}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| target.to_path_buf())
}

/// How long a file's size must stay the same, when file events tell us
/// to look sooner than the poll interval.
const SETTLE: Duration = Duration::from_secs(1);

/// Watches `settings.inbox` until `token` is cancelled.
pub async fn watch_folder(store: Store, settings: Settings, token: CancellationToken) {
    let mut watcher = match FolderWatcher::new(&settings.inbox) {
        Ok(w) => w,
        Err(e) => {
            error!(dir = %settings.inbox.display(), error = %e, "cannot prepare the inbox folder; folder capture is off");
            return;
        }
    };
    let (events, mut changed) = tokio::sync::mpsc::channel::<()>(1);
    // Kept alive for as long as we watch; dropping it stops the events.
    let _file_events = match file_events(&settings.inbox, events) {
        Ok(w) => {
            info!(dir = %settings.inbox.display(), "watching inbox folder (file events, and listing every {} s)", settings.poll_interval.as_secs());
            Some(w)
        }
        Err(e) => {
            warn!(dir = %settings.inbox.display(), error = %e, "no file events for the inbox folder; listing it every {} s", settings.poll_interval.as_secs());
            None
        }
    };
    loop {
        match watcher.poll().await {
            Ok(ready) => {
                for path in ready {
                    match watcher.take(&store, &settings, &path).await {
                        Ok(r) => {
                            info!(path = %path.display(), document_id = r.document_id.0, new = r.new, "captured from inbox")
                        }
                        Err(TakeError::Rejected { reason }) => {
                            warn!(path = %path.display(), %reason, "inbox file failed")
                        }
                        Err(e @ TakeError::Deferred { .. }) => {
                            // The rest of this batch waits too: see `backoff`.
                            warn!(path = %path.display(), reason = %e, "cannot store inbox file now; will retry");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                warn!(dir = %settings.inbox.display(), error = %e, "cannot list the inbox folder")
            }
        }
        // A file seen once is looked at again soon, to see if it settled.
        let next = if watcher.has_pending() {
            SETTLE.min(settings.poll_interval)
        } else {
            settings.poll_interval
        };
        tokio::select! {
            _ = token.cancelled() => break,
            Some(()) = changed.recv() => {
                // Something arrived or moved: give it a moment, then look.
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(SETTLE) => {}
                }
            }
            _ = tokio::time::sleep(next) => {}
        }
    }
}

/// Sends on `changed` whenever something happens in `dir` (created,
/// written, renamed in); bursts collapse into one pending signal.
fn file_events(
    dir: &Path,
    changed: tokio::sync::mpsc::Sender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = changed.try_send(());
        }
    })?;
    watcher.watch(dir, notify::RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        for (failures, secs) in [(0, 1), (1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (40, 60)] {
            assert_eq!(backoff(failures), Duration::from_secs(secs), "{failures}");
        }
    }
}
