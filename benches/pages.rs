//! Time per page from 1 to 2,000 pages: a text PDF made of sample 01's
//! first page repeated (poppler's `pdfseparate` and `pdfunite`), read and
//! extracted in this process with the shipped model, then the whole
//! pipeline (`apflow ingest` on a fresh SQLite database holding the sample
//! master data, so the invoice is validated and matched against its PO).
//!
//!     cargo bench --bench pages [-- PAGES...]
//!
//! Issue 16's budget: the time per page stays flat as documents grow.
//! Plain `std::time`; compare numbers from the same machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use apflow::{extract, read};

fn long_pdf(dir: &Path, one: &Path, pages: usize) -> PathBuf {
    let out = dir.join(format!("long-{pages}.pdf"));
    if pages == 1 {
        std::fs::copy(one, &out).expect("copy the page");
        return out;
    }
    let ok = Command::new("pdfunite")
        .args(std::iter::repeat_n(one, pages))
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "pdfunite (poppler-utils) failed");
    out
}

fn ingest(root: &Path, dir: &Path, pdf: &Path) -> f64 {
    let db = dir.join(format!("{}.db", pdf.display().to_string().len()));
    let _ = std::fs::remove_file(&db);
    let url = format!("sqlite://{}", db.display());
    let apflow = env!("CARGO_BIN_EXE_apflow");
    for (kind, file) in [
        ("vendors", "vendors.jsonl"),
        ("pos", "pos.jsonl"),
        ("receipts", "receipts.jsonl"),
    ] {
        let ok = Command::new(apflow)
            .current_dir(root)
            .args(["--database-url", &url, "import", kind])
            .arg(root.join("samples").join(file))
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "import {kind}");
    }
    let t = Instant::now();
    let out = Command::new(apflow)
        .current_dir(root)
        .args(["--database-url", &url, "ingest"])
        .arg(pdf)
        .env("APFLOW_LOG", "error")
        .output()
        .expect("run apflow ingest");
    let took = t.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("invoice"),
        "ingest gave no invoice: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sizes: Vec<usize> = {
        let named: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if named.is_empty() {
            vec![1, 10, 100, 500, 1000, 2000]
        } else {
            named
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let one = dir.path().join("page.pdf");
    let ok = Command::new("pdfseparate")
        .args(["-f", "1", "-l", "1"])
        .arg(root.join("samples/invoices/01_nordlicht_RE-2026-00412.pdf"))
        .arg(&one)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "pdfseparate (poppler-utils) failed");
    let model = extract::model::shipped();
    // The model loads on first use: not part of any document's time.
    let warm = read::read(
        &std::fs::read(&one).expect("page"),
        &read::ReadOptions::default(),
    )
    .expect("read the page");
    std::hint::black_box(extract::extract_with(&warm, model));
    println!(
        "model: {}",
        if model.is_some() {
            "shipped"
        } else {
            "NOT LOADED (rules only)"
        }
    );
    println!(
        "{:>6} {:>10} {:>12} {:>12} {:>14} {:>12}",
        "pages", "read s", "extract s", "extract/page", "ingest s", "ingest/page"
    );
    for pages in sizes {
        let pdf = long_pdf(dir.path(), &one, pages);
        let bytes = std::fs::read(&pdf).expect("read the PDF");
        let t = Instant::now();
        let doc = read::read(&bytes, &read::ReadOptions::default()).expect("read");
        let read_s = t.elapsed().as_secs_f64();
        assert_eq!(doc.pages.len(), pages);
        let t = Instant::now();
        let invoice = extract::extract_with(&doc, model);
        let extract_s = t.elapsed().as_secs_f64();
        std::hint::black_box(invoice);
        let ingest_s = ingest(&root, dir.path(), &pdf);
        let n = pages as f64;
        println!(
            "{pages:>6} {read_s:>10.3} {extract_s:>12.3} {:>9.2} ms {ingest_s:>14.2} {:>9.2} ms",
            extract_s * 1000.0 / n,
            ingest_s * 1000.0 / n
        );
    }
}
