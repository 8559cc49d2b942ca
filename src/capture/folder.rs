//! The inbox folder. A scanner or a person drops files; we take a file only
//! once its size has stayed the same across two polls (a scanner may still
//! be writing it), store it, and move it to `processed/` — or to `failed/`
//! with a `.reason.txt` beside it when it could not be stored. Polling, not
//! inotify, because network shares do not deliver inotify events.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Settings;
use crate::domain::{RawDocument, Source};
use crate::store::Store;
use crate::workflow::{self, Received};

/// Files whose names end like this are still being written by their sender.
const PARTIAL_SUFFIXES: &[&str] = &[".part", ".tmp", ".crdownload", ".partial", "~"];

/// Remembers each file's size between polls.
#[derive(Debug)]
pub struct FolderWatcher {
    dir: PathBuf,
    seen: HashMap<PathBuf, u64>,
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
        })
    }

    /// One poll: returns the files that are ready (size unchanged since the
    /// last poll).
    pub async fn poll(&mut self) -> std::io::Result<Vec<PathBuf>> {
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
        ready.sort();
        for p in &ready {
            now.remove(p);
        }
        self.seen = now;
        Ok(ready)
    }

    /// Stores one ready file and moves it out of the inbox.
    pub async fn take(
        &self,
        store: &Store,
        settings: &Settings,
        path: &Path,
    ) -> Result<Received, String> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let outcome = match tokio::fs::read(path).await {
            Ok(bytes) => {
                let raw = RawDocument {
                    filename: name.clone(),
                    bytes,
                    source: Source::Folder {
                        path: path.display().to_string(),
                    },
                };
                workflow::receive_document(store, &raw, settings)
                    .await
                    .map_err(|e| workflow::error_text(&e))
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        };
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
        outcome
    }
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

/// Watches `settings.inbox` until `token` is cancelled.
pub async fn watch_folder(store: Store, settings: Settings, token: CancellationToken) {
    let mut watcher = match FolderWatcher::new(&settings.inbox) {
        Ok(w) => w,
        Err(e) => {
            error!(dir = %settings.inbox.display(), error = %e, "cannot prepare the inbox folder; folder capture is off");
            return;
        }
    };
    info!(dir = %settings.inbox.display(), "watching inbox folder");
    loop {
        match watcher.poll().await {
            Ok(ready) => {
                for path in ready {
                    match watcher.take(&store, &settings, &path).await {
                        Ok(r) => {
                            info!(path = %path.display(), document_id = r.document_id.0, new = r.new, "captured from inbox")
                        }
                        Err(reason) => warn!(path = %path.display(), %reason, "inbox file failed"),
                    }
                }
            }
            Err(e) => {
                warn!(dir = %settings.inbox.display(), error = %e, "cannot list the inbox folder")
            }
        }
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}
