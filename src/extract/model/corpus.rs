//! A development corpus on disk: source folders, each with `truth.jsonl`
//! (and optionally `meta.jsonl`), split into `tune` and `check` by the
//! root's `splits.jsonl` (see `shared/corpus/varied/README.md`).
//!
//! `train` learns from `tune` documents only and `eval` reports both
//! splits side by side; both read the splits here, so they cannot
//! disagree on which document is which.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

/// The split file of a corpus root.
pub const SPLITS: &str = "splits.jsonl";

/// The split that may be learned from; every other split is for reading
/// scores only.
pub const TUNE: &str = "tune";

/// One labelled document of a corpus.
#[derive(Debug, Clone)]
pub struct Document {
    /// The source folder, relative to the root.
    pub source: String,
    /// The file, relative to its source folder (as in `truth.jsonl`).
    pub file: String,
    pub path: PathBuf,
    pub split: String,
    /// The `fields` object of its `truth.jsonl` line.
    pub fields: Value,
    /// Documents sharing a layout: the generator family `meta.jsonl`
    /// names, else the vendor (a shop prints every receipt alike), else
    /// the document alone. Training holds whole groups out to measure
    /// what it does on layouts it never saw.
    pub layout_group: String,
    /// Derived from another document of the corpus (a scan of a PDF)
    /// whose split is not this one's: learning from it would learn the
    /// other split's layout.
    pub source_in_other_split: bool,
}

/// Source folder -> split -> files, from `root/splits.jsonl`.
pub fn splits(root: &Path) -> Result<BTreeMap<String, BTreeMap<String, HashSet<String>>>> {
    let mut out: BTreeMap<String, BTreeMap<String, HashSet<String>>> = BTreeMap::new();
    for (line, rec) in jsonl(&root.join(SPLITS))? {
        let get = |k: &str| {
            rec.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .with_context(|| format!("{line}: no {k:?}"))
        };
        out.entry(get("source")?)
            .or_default()
            .entry(get("split")?)
            .or_default()
            .insert(get("file")?);
    }
    Ok(out)
}

/// Every labelled document of the corpus with its split. A source folder
/// without `truth.jsonl` is skipped; a document the splits do not name is
/// left out (it belongs to no split).
pub fn documents(root: &Path) -> Result<Vec<Document>> {
    let mut out = Vec::new();
    for (source, by_split) in splits(root)? {
        let dir = root.join(&source);
        let truth = dir.join("truth.jsonl");
        if !truth.is_file() {
            continue;
        }
        let split_of = |file: &str| {
            by_split
                .iter()
                .find(|(_, files)| files.contains(file))
                .map(|(s, _)| s.clone())
        };
        // meta.jsonl says which split a derived document's original is in,
        // and which generator family made it.
        let mut other_split: HashSet<String> = HashSet::new();
        let mut family: std::collections::HashMap<String, String> = Default::default();
        let meta = dir.join("meta.jsonl");
        if meta.is_file() {
            for (_, rec) in jsonl(&meta)? {
                let Some(file) = rec.get("file").and_then(Value::as_str) else {
                    continue;
                };
                if let Some(f) = rec.get("family").and_then(Value::as_str) {
                    family.insert(file.to_string(), f.to_string());
                }
                if let Some(original) = rec.get("source_split").and_then(Value::as_str)
                    && split_of(file).is_some_and(|s| s != original)
                {
                    other_split.insert(file.to_string());
                }
            }
        }
        for (line, rec) in jsonl(&truth)? {
            let file = rec
                .get("file")
                .and_then(Value::as_str)
                .with_context(|| format!("{line}: no \"file\""))?;
            let Some(split) = split_of(file) else {
                continue;
            };
            let fields = rec.get("fields").cloned().unwrap_or(Value::Null);
            let layout_group = match family.get(file) {
                Some(f) => format!("{source}/family/{f}"),
                None => match fields.get("vendor_name").and_then(Value::as_str) {
                    Some(v) => format!("{source}/vendor/{}", v.to_lowercase()),
                    None => format!("{source}/file/{file}"),
                },
            };
            out.push(Document {
                source: source.clone(),
                file: file.to_string(),
                path: dir.join(file),
                split,
                fields,
                layout_group,
                source_in_other_split: other_split.contains(file),
            });
        }
    }
    Ok(out)
}

/// The non-empty lines of a JSON-lines file, each with "path:line" for
/// error messages.
fn jsonl(path: &Path) -> Result<Vec<(String, Value)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let at = format!("{}:{}", path.display(), i + 1);
            let v = serde_json::from_str(l).with_context(|| at.clone())?;
            Ok((at, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_of_a_check_document_is_marked_even_in_tune() {
        let root = tempfile::tempdir().expect("temp dir");
        let w = |p: &str, s: &str| {
            let p = root.path().join(p);
            std::fs::create_dir_all(p.parent().expect("a parent folder"))
                .expect("create the folder");
            std::fs::write(p, s).expect("write a test file");
        };
        w(
            SPLITS,
            concat!(
                r#"{"source": "scans", "file": "a.pdf", "split": "tune"}"#,
                "\n",
                r#"{"source": "scans", "file": "b.pdf", "split": "tune"}"#,
                "\n",
                r#"{"source": "scans", "file": "c.pdf", "split": "check"}"#,
                "\n"
            ),
        );
        w(
            "scans/truth.jsonl",
            concat!(
                r#"{"file": "a.pdf", "fields": {"total_amount": "1.00"}}"#,
                "\n",
                r#"{"file": "b.pdf", "fields": {}}"#,
                "\n",
                r#"{"file": "c.pdf", "fields": {}}"#,
                "\n",
                r#"{"file": "unsplit.pdf", "fields": {}}"#,
                "\n"
            ),
        );
        w(
            "scans/meta.jsonl",
            concat!(
                r#"{"file": "a.pdf", "source_split": "tune", "family": "F"}"#,
                "\n",
                r#"{"file": "b.pdf", "source_split": "check"}"#,
                "\n"
            ),
        );
        let docs = documents(root.path()).expect("the test corpus reads");
        let of = |f: &str| docs.iter().find(|d| d.file == f);
        assert_eq!(docs.len(), 3, "the unsplit document belongs nowhere");
        assert!(!of("a.pdf").expect("listed").source_in_other_split);
        assert!(of("b.pdf").expect("listed").source_in_other_split);
        assert_eq!(of("c.pdf").expect("listed").split, "check");
        assert_eq!(of("a.pdf").expect("listed").fields["total_amount"], "1.00");
        assert_eq!(of("a.pdf").expect("listed").layout_group, "scans/family/F");
        assert_eq!(
            of("b.pdf").expect("listed").layout_group,
            "scans/file/b.pdf"
        );
    }
}
