//! Read + extract throughput, single-threaded, on the sample invoices and
//! (when present) the development corpus, both read paths.
//!
//!     cargo bench --bench extract [-- DIR...]
//!
//! Prints documents per second, the median time per page (the budget for
//! a text-layer page is 20 ms, read + extract) and the slowest document.
//! Plain timing with
//! `std::time` (no bench framework): the numbers to compare are per-document
//! milliseconds on the same machine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use apflow::{extract, read};

mod common;

fn run(label: &str, docs: &[(PathBuf, Vec<u8>)], visual_only: bool) {
    let options = read::ReadOptions {
        visual_only,
        ..Default::default()
    };
    let mut slowest = (Duration::ZERO, PathBuf::new());
    let mut per_page = Vec::new();
    let rounds = 3;
    let start = Instant::now();
    for _ in 0..rounds {
        for (path, bytes) in docs {
            let t = Instant::now();
            let pages = match read::read(bytes, &options) {
                Ok(doc) => {
                    std::hint::black_box(extract::extract(&doc));
                    doc.pages.len().max(1)
                }
                Err(_) => 1,
            };
            let took = t.elapsed();
            per_page.push(took / u32::try_from(pages).unwrap_or(1));
            if took > slowest.0 {
                slowest = (took, path.clone());
            }
        }
    }
    let total = start.elapsed();
    let n = docs.len() * rounds;
    per_page.sort();
    let median = per_page
        .get(per_page.len() / 2)
        .copied()
        .unwrap_or_default();
    println!(
        "{label:<40} {:>4} docs x{rounds}  {:>8.2} ms/doc  {:>7.1} docs/s  median {:.2} ms/page  slowest {:.1} ms ({})",
        docs.len(),
        total.as_secs_f64() * 1000.0 / n as f64,
        n as f64 / total.as_secs_f64(),
        median.as_secs_f64() * 1000.0,
        slowest.0.as_secs_f64() * 1000.0,
        slowest
            .1
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = common::dirs(&root);
    for dir in dirs {
        let docs: Vec<(PathBuf, Vec<u8>)> = common::files(&dir, &["pdf", "xml"])
            .into_iter()
            .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
            .collect();
        if docs.is_empty() {
            println!("{}: no documents, skipped", dir.display());
            continue;
        }
        let name = dir
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        run(&format!("{name} (e-invoice first)"), &docs, false);
        run(&format!("{name} (visual only)"), &docs, true);
    }
}
