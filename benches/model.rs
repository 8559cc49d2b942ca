//! The extraction model's budgets: model load time, and extraction *after
//! reading* per page on one core, rules only against rules + model. The
//! model runs twice over the documents: the first pass sees every text for
//! the first time, as on a new vendor's invoice; nothing is cached between
//! the passes but what the CPU caches, so the two should agree.
//!
//!     OMP_THREAD_LIMIT=1 RAYON_NUM_THREADS=1 cargo bench --bench model [-- DIR...]
//!
//! Plain `std::time`; compare numbers from the same machine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use apflow::domain::ReadDocument;
use apflow::{extract, read};

mod common;

/// Milliseconds per page of `extract_with` over the documents.
fn per_page(docs: &[ReadDocument], model: Option<&extract::model::Model>) -> (f64, Duration) {
    let pages: usize = docs.iter().map(|d| d.pages.len().max(1)).sum();
    let start = Instant::now();
    for d in docs {
        std::hint::black_box(extract::extract_with(d, model));
    }
    let took = start.elapsed();
    (took.as_secs_f64() * 1000.0 / pages as f64, took)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = common::dirs(&root);
    let models = root.join("models");
    let start = Instant::now();
    let model = match extract::model::Model::load(&models) {
        Ok(m) => m,
        Err(e) => {
            println!("no model in {} ({e:#}); run `make` first", models.display());
            return;
        }
    };
    println!(
        "model load: {:.0} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let options = read::ReadOptions {
        visual_only: true,
        ..Default::default()
    };
    for dir in dirs {
        let docs: Vec<ReadDocument> = common::files(&dir, &["pdf"])
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|b| read::read(&b, &options).ok())
            .collect();
        if docs.is_empty() {
            println!("{}: no documents, skipped", dir.display());
            continue;
        }
        let pages: usize = docs.iter().map(|d| d.pages.len().max(1)).sum();
        let name = dir
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        let (rules, _) = per_page(&docs, None);
        let (first, _) = per_page(&docs, Some(&model));
        let (second, _) = per_page(&docs, Some(&model));
        println!(
            "{name}: {} documents, {pages} pages; extraction after reading, ms/page: rules {rules:.2}, rules+model first pass {first:.2}, second pass {second:.2}",
            docs.len()
        );
    }
}
