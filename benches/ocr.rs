//! OCR speed, against bare Tesseract on the same machine in the same run.
//!
//!     OMP_THREAD_LIMIT=1 cargo bench --bench ocr
//!
//! 1. One scanned page (sample invoice 01 rendered at 300 dpi, 8-bit gray,
//!    as a TIFF): `apflow`'s reader (decode, orientation check, recognise,
//!    words with boxes) against the `tesseract` command line on the same
//!    file with the same languages, each the median of 5 runs, one core
//!    each (`OMP_THREAD_LIMIT=1`).
//!    Then the same page with specks sprayed on, which apflow removes
//!    before recognising (see `read::ocr`).
//! 2. A 20-page scanned PDF (the sample invoices rendered at 300 dpi,
//!    image-only): pages/s through `read::read`, which renders pages with
//!    pdftoppm and recognises them in parallel on every core.

use std::process::Command;
use std::time::{Duration, Instant};

use apflow::read::{self, ReadOptions};

#[path = "../tests/it/scans.rs"]
mod scans;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// One run of the `tesseract` command line on `image`, one core.
fn tesseract(image: &std::path::Path, languages: &str) -> Duration {
    let t = Instant::now();
    let out = Command::new("tesseract")
        .arg(image)
        .arg("-")
        .args(["-l", languages])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("tesseract is installed (tesseract-ocr)");
    assert!(out.status.success());
    t.elapsed()
}

fn sample(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/invoices")
        .join(name)
}

fn main() {
    if std::env::var("OMP_THREAD_LIMIT").as_deref() != Ok("1") {
        eprintln!("note: run with OMP_THREAD_LIMIT=1 (make bench does) for comparable numbers");
    }
    let options = ReadOptions::default();
    let languages = options.ocr.languages.clone();
    let dir = tempfile::tempdir().expect("temp dir");

    // 1. One page, apflow against the tesseract command line.
    let page = scans::Gray::render(&sample("01_nordlicht_RE-2026-00412.pdf"), 300);
    let tiff = scans::Gray::tiff(std::slice::from_ref(&page), 300);
    let tiff_path = dir.path().join("page.tif");
    std::fs::write(&tiff_path, &tiff).expect("write tiff");
    let rounds = 5;
    let ours = median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let doc = read::read(&tiff, &options).expect("OCR");
                std::hint::black_box(doc);
                t.elapsed()
            })
            .collect(),
    );
    let cli = median(
        (0..rounds)
            .map(|_| tesseract(&tiff_path, &languages))
            .collect(),
    );
    println!(
        "one 300 dpi page ({}x{} px, -l {languages}): apflow {:.0} ms, tesseract CLI {:.0} ms, ratio {:.2}",
        page.width,
        page.height,
        ours.as_secs_f64() * 1000.0,
        cli.as_secs_f64() * 1000.0,
        ours.as_secs_f64() / cli.as_secs_f64()
    );

    // 1b. The same page with dust on the scanner's glass: apflow removes
    // the specks first (counting them costs on every scanned page, the
    // median filter on speckled ones only).
    let speckled = scans::Gray::tiff(&[page.speckled(500)], 300);
    let speckled_path = dir.path().join("speckled.tif");
    std::fs::write(&speckled_path, &speckled).expect("write tiff");
    let ours = median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(read::read(&speckled, &options).expect("OCR"));
                t.elapsed()
            })
            .collect(),
    );
    let cli = median(
        (0..rounds)
            .map(|_| tesseract(&speckled_path, &languages))
            .collect(),
    );
    println!(
        "the same page speckled (500 specks per megapixel): apflow {:.0} ms, tesseract CLI {:.0} ms, ratio {:.2}",
        ours.as_secs_f64() * 1000.0,
        cli.as_secs_f64() * 1000.0,
        ours.as_secs_f64() / cli.as_secs_f64()
    );

    // 2. A 20-page scanned PDF.
    let mut names: Vec<_> = std::fs::read_dir(sample(""))
        .expect("samples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    names.sort();
    let pages: Vec<scans::Gray> = names
        .iter()
        .cycle()
        .take(20)
        .map(|p| scans::Gray::render(p, 300))
        .collect();
    let pdf = scans::Gray::pdf(&pages, 300);
    let t = Instant::now();
    let doc = read::read(&pdf, &options).expect("OCR of the scanned PDF");
    let took = t.elapsed().as_secs_f64();
    let words: usize = doc
        .pages
        .iter()
        .flat_map(|p| &p.lines)
        .map(|l| l.words.len())
        .sum();
    println!(
        "20-page scanned PDF ({:.1} MB): {} pages, {words} words in {took:.1} s: {:.2} pages/s on {} cores",
        pdf.len() as f64 / 1e6,
        doc.pages.len(),
        doc.pages.len() as f64 / took,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
}
