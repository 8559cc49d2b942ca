//! What more than one bench needs.

use std::path::{Path, PathBuf};

/// The files under `dir` (recursively) whose extension is one of
/// `extensions`, sorted so every run sees them in the same order.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p, extensions));
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| extensions.contains(&x))
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The folders named on the command line (arguments not starting with
/// `--`), else the sample invoices and the development corpus.
pub fn dirs(root: &Path) -> Vec<PathBuf> {
    let named: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if !named.is_empty() {
        return named;
    }
    vec![
        root.join("samples/invoices"),
        root.join("../shared/corpus/zugferd-corpus"),
    ]
}
