//! `apflow eval DIR`: per-field accuracy of extraction against the folder's
//! `truth.jsonl`, scored by the corpus convention: amounts equal to the
//! cent, dates exact, ids after removing spaces and case, names and line
//! descriptions fuzzy (folded, containment or similarity >= 0.85), a line
//! item correct when all its labelled fields are. Only labelled fields
//! count: an absent key means "not labelled". Besides accuracy it prints
//! line-item precision, recall and F1, and a calibration table: how often
//! fields reported in each confidence band are right (routing trusts the
//! confidence, so the top band must be right nearly always).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use rust_decimal::Decimal;
use serde_json::Value;

use super::output::invoice_json;
use crate::config::Settings;
use crate::{extract, read};

const FIELDS: &[&str] = &[
    "invoice_number",
    "invoice_date",
    "due_date",
    "vendor_name",
    "vendor_vat_id",
    "currency",
    "total_amount",
    "net_amount",
    "tax_amount",
    "po_number",
    "iban",
];

#[derive(Default, Clone, Copy)]
struct Tally {
    labelled: usize,
    found: usize,
    correct: usize,
}

/// Reported fields by confidence band: (from, to, fields, right). A model
/// that routes on confidence needs the top band (>= 0.9) right at least
/// 97% of the time.
fn calibration_table(reported: &[(f64, bool)]) -> Vec<(f64, f64, usize, usize)> {
    [(0.9, 1.0), (0.7, 0.9), (0.5, 0.7), (0.0, 0.5)]
        .into_iter()
        .map(|(lo, hi)| {
            let in_band: Vec<bool> = reported
                .iter()
                .filter(|(c, _)| *c >= lo && (*c < hi || (hi >= 1.0 && *c <= 1.0)))
                .map(|(_, r)| *r)
                .collect();
            let right = in_band.iter().filter(|r| **r).count();
            (lo, hi, in_band.len(), right)
        })
        .collect()
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn amount_eq(a: &str, b: &str) -> bool {
    match (a.parse::<Decimal>(), b.parse::<Decimal>()) {
        (Ok(x), Ok(y)) => x.round_dp(2) == y.round_dp(2),
        _ => false,
    }
}

fn fuzzy_eq(a: &str, b: &str) -> bool {
    let (a, b) = (fold(a), fold(b));
    !a.is_empty()
        && !b.is_empty()
        && (a.contains(&b) || b.contains(&a) || strsim::normalized_levenshtein(&a, &b) >= 0.85)
}

fn field_eq(field: &str, want: &str, got: &str) -> bool {
    match field {
        "total_amount"
        | "net_amount"
        | "tax_amount"
        | "quantity"
        | "unit_price"
        | "amount"
        | "price_base_quantity" => amount_eq(want, got),
        "vendor_name" | "description" => fuzzy_eq(want, got),
        "invoice_date" | "due_date" | "currency" => want == got,
        _ => want
            .replace(' ', "")
            .eq_ignore_ascii_case(&got.replace(' ', "")),
    }
}

fn line_eq(want: &Value, got: &Value) -> bool {
    let Value::Object(w) = want else { return false };
    w.iter().all(
        |(k, v)| match (v.as_str(), got.get(k).and_then(Value::as_str)) {
            (Some(wv), Some(gv)) => field_eq(k, wv, gv),
            _ => false,
        },
    )
}

/// Which read path `eval` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As the service reads: embedded e-invoice XML first.
    EInvoiceFirst,
    /// What a person sees: the text layer (OCR where there is none).
    Visual,
    /// As if scanned: every page rendered at 300 dpi and OCR'd.
    Scan,
}

/// Reads a document the way `mode` says. In scan mode with an OCR cache,
/// a page set OCR'd on an earlier run is taken from the cache: OCR is
/// nearly all of a scan eval's time, and a change to extraction does not
/// change what OCR reads.
async fn read_for(
    bytes: Vec<u8>,
    mode: Mode,
    settings: &Settings,
    ocr_cache: Option<&Path>,
) -> Result<crate::domain::ReadDocument, read::Error> {
    if mode != Mode::Scan || read::sniff(&bytes) != Some(crate::domain::DocumentKind::Pdf) {
        return read::read_document(
            Arc::new(bytes),
            settings.read_options(mode != Mode::EInvoiceFirst),
            settings.read_timeout,
        )
        .await;
    }
    let cached = ocr_cache.map(|dir| ocr_cache::path(dir, &bytes));
    if let Some(pages) = cached.as_deref().and_then(ocr_cache::load) {
        return Ok(crate::domain::ReadDocument {
            kind: crate::domain::DocumentKind::Pdf,
            pages,
            einvoice: None,
            einvoice_xml: None,
        });
    }
    let options = settings.read_options(true);
    let doc = tokio::task::spawn_blocking(move || {
        let pages = pdf_extract::Document::load_mem(&bytes)
            .map(|d| d.get_pages().len())
            .unwrap_or(1);
        let numbers: Vec<u32> = (1..=u32::try_from(pages).unwrap_or(1)).collect();
        Ok(crate::domain::ReadDocument {
            kind: crate::domain::DocumentKind::Pdf,
            pages: read::ocr::ocr_pdf_pages(&bytes, &numbers, &options.ocr)?,
            einvoice: None,
            einvoice_xml: None,
        })
    })
    .await
    .unwrap_or_else(|e| Err(read::Error::Crashed(e.to_string())))?;
    if let Some(path) = cached
        && let Err(e) = ocr_cache::save(&path, &doc.pages)
    {
        eprintln!("cannot keep the OCR result in {}: {e:#}", path.display());
    }
    Ok(doc)
}

/// The pages OCR read, kept on disk by the hash of the document's bytes.
/// Exact (every coordinate as read), unlike `read --json`, which rounds for
/// people. The file names the apflow version that wrote it, and another
/// version reads afresh; clear the folder after changing the OCR path.
mod ocr_cache {
    use std::path::{Path, PathBuf};

    use crate::domain::{BBox, Line, Page, Word};
    use anyhow::{Context, Result};
    use serde_json::{Value, json};

    const WRITER: &str = concat!("apflow ", env!("CARGO_PKG_VERSION"), " ocr 1");

    pub fn path(dir: &Path, bytes: &[u8]) -> PathBuf {
        dir.join(format!("{}.json", crate::domain::sha256_hex(bytes)))
    }

    pub fn save(path: &Path, pages: &[Page]) -> Result<()> {
        let pages: Vec<Value> = pages
            .iter()
            .map(|p| {
                let lines: Vec<Value> = p
                    .lines
                    .iter()
                    .map(|l| {
                        l.words
                            .iter()
                            .map(|w| {
                                let b = w.bbox;
                                json!([w.text, b.x0, b.y0, b.x1, b.y1, w.confidence])
                            })
                            .collect()
                    })
                    .collect();
                json!({"number": p.number, "width": p.width, "height": p.height, "lines": lines})
            })
            .collect();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        }
        let text = serde_json::to_string(&json!({"writer": WRITER, "pages": pages}))?;
        std::fs::write(path, text).with_context(|| path.display().to_string())
    }

    /// The cached pages, or `None` when there are none (or they are from
    /// another apflow, or unreadable: then OCR runs again).
    pub fn load(path: &Path) -> Option<Vec<Page>> {
        let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        if v.get("writer")?.as_str()? != WRITER {
            return None;
        }
        let f = |v: &Value| v.as_f64().map(|x| x as f32);
        v.get("pages")?
            .as_array()?
            .iter()
            .map(|p| {
                let lines = p
                    .get("lines")?
                    .as_array()?
                    .iter()
                    .map(|l| {
                        let words = l
                            .as_array()?
                            .iter()
                            .map(|w| {
                                Some(Word {
                                    text: w.get(0)?.as_str()?.to_string(),
                                    bbox: BBox {
                                        x0: f(w.get(1)?)?,
                                        y0: f(w.get(2)?)?,
                                        x1: f(w.get(3)?)?,
                                        y1: f(w.get(4)?)?,
                                    },
                                    confidence: f(w.get(5)?)?,
                                })
                            })
                            .collect::<Option<Vec<_>>>()?;
                        Some(Line { words })
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(Page {
                    number: u32::try_from(p.get("number")?.as_u64()?).ok()?,
                    width: f(p.get("width")?)?,
                    height: f(p.get("height")?)?,
                    lines,
                })
            })
            .collect()
    }
}

pub async fn run(
    dir: &Path,
    mode: Mode,
    model: Option<&extract::model::Model>,
    json: bool,
    verbose: bool,
    ocr_cache: Option<&Path>,
    settings: &Settings,
) -> Result<i32> {
    let visual_only = mode != Mode::EInvoiceFirst;
    let truth_path = dir.join("truth.jsonl");
    let text = std::fs::read_to_string(&truth_path)
        .with_context(|| format!("cannot read {}", truth_path.display()))?;
    let mut tallies: BTreeMap<&str, Tally> =
        FIELDS.iter().map(|f| (*f, Tally::default())).collect();
    let mut lines = Tally::default();
    // Lines extracted for documents whose lines are labelled (precision).
    let mut lines_extracted = 0usize;
    // Per reported header field: its confidence and whether it was right.
    let mut reported: Vec<(f64, bool)> = Vec::new();
    let (mut docs, mut errors) = (0usize, 0usize);
    let started = Instant::now();
    for (i, row) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let rec: Value = serde_json::from_str(row)
            .with_context(|| format!("{}:{}", truth_path.display(), i + 1))?;
        let file = rec
            .get("file")
            .and_then(Value::as_str)
            .with_context(|| format!("{}:{}: no \"file\"", truth_path.display(), i + 1))?;
        let truth = rec.get("fields").cloned().unwrap_or(Value::Null);
        docs += 1;
        let got = match std::fs::read(dir.join(file)) {
            Ok(bytes) => match read_for(bytes, mode, settings, ocr_cache).await {
                Ok(doc) => invoice_json(&extract::extract_with(&doc, model)),
                Err(e) => {
                    errors += 1;
                    eprintln!("{file}: {e}");
                    Value::Null
                }
            },
            Err(e) => {
                errors += 1;
                eprintln!("{file}: {e}");
                Value::Null
            }
        };
        for f in FIELDS {
            let Some(want) = truth.get(*f).and_then(Value::as_str) else {
                continue;
            };
            let t = tallies.entry(f).or_default();
            t.labelled += 1;
            let g = got.get(*f).and_then(Value::as_str);
            if g.is_some() {
                t.found += 1;
            }
            let right = g.is_some_and(|g| field_eq(f, want, g));
            if g.is_some() {
                let confidence = got["confidence"][*f].as_f64().unwrap_or(0.0);
                reported.push((confidence, right));
            }
            if right {
                t.correct += 1;
            } else if verbose {
                eprintln!("{file}: {f}: want {want:?}, got {g:?}");
            }
        }
        if let Some(want_lines) = truth.get("line_items").and_then(Value::as_array) {
            let got_lines = got
                .get("line_items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            lines.labelled += want_lines.len();
            lines.found += got_lines.len().min(want_lines.len());
            lines_extracted += got_lines.len();
            let mut used = vec![false; got_lines.len()];
            for w in want_lines {
                if let Some(j) =
                    (0..got_lines.len()).find(|&j| !used[j] && line_eq(w, &got_lines[j]))
                {
                    used[j] = true;
                    lines.correct += 1;
                } else if verbose {
                    eprintln!("{file}: line item missed: want {w}");
                }
            }
            if verbose {
                for (g, _) in got_lines.iter().zip(&used).filter(|(_, u)| !**u) {
                    eprintln!("{file}: line item not in the truth: got {g}");
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let calibration = calibration_table(&reported);
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(lines.correct, lines_extracted);
    let recall = ratio(lines.correct, lines.labelled);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let pct = |t: &Tally| {
        if t.labelled == 0 {
            0.0
        } else {
            100.0 * t.correct as f64 / t.labelled as f64
        }
    };
    if json {
        let fields: serde_json::Map<String, Value> = tallies
            .iter()
            .map(|(k, t)| ((*k).to_string(), serde_json::json!({"labelled": t.labelled, "found": t.found, "correct": t.correct, "accuracy": pct(t)})))
            .collect();
        println!(
            "{}",
            serde_json::json!({"documents": docs, "errors": errors, "visual_only": visual_only, "model": model.is_some(), "fields": fields,
            "line_items": {"labelled": lines.labelled, "extracted": lines_extracted, "correct": lines.correct, "accuracy": pct(&lines),
                "precision": precision, "recall": recall, "f1": f1},
            "calibration": calibration.iter().map(|(lo, hi, n, right)| serde_json::json!({"from": lo, "to": hi, "fields": n, "right": right})).collect::<Vec<_>>(),
            "seconds": elapsed.as_secs_f64()})
        );
        return Ok(0);
    }
    println!(
        "{} documents from {} ({}; {}), {errors} unreadable, {:.1}s",
        docs,
        dir.display(),
        match mode {
            Mode::Scan => "scanned: pages rendered at 300 dpi and OCR'd",
            Mode::Visual => "visual only",
            Mode::EInvoiceFirst => "e-invoice XML first",
        },
        if model.is_some() {
            "rules + model"
        } else {
            "rules only"
        },
        elapsed.as_secs_f64()
    );
    println!(
        "{:<16} {:>9} {:>7} {:>8} {:>9}",
        "field", "labelled", "found", "correct", "accuracy"
    );
    let (mut all_l, mut all_c) = (0, 0);
    for (k, t) in &tallies {
        if t.labelled == 0 {
            continue;
        }
        all_l += t.labelled;
        all_c += t.correct;
        println!(
            "{k:<16} {:>9} {:>7} {:>8} {:>8.1}%",
            t.labelled,
            t.found,
            t.correct,
            pct(t)
        );
    }
    println!(
        "{:<16} {:>9} {:>7} {:>8} {:>8.1}%",
        "line_items",
        lines.labelled,
        lines.found,
        lines.correct,
        pct(&lines)
    );
    let overall = Tally {
        labelled: all_l,
        found: 0,
        correct: all_c,
    };
    println!(
        "{:<16} {:>9} {:>7} {:>8} {:>8.1}%",
        "all header fields",
        all_l,
        "",
        all_c,
        pct(&overall)
    );
    println!(
        "line items: precision {:.1}%, recall {:.1}%, F1 {:.3} ({} extracted, {} labelled, {} right)",
        100.0 * precision,
        100.0 * recall,
        f1,
        lines_extracted,
        lines.labelled,
        lines.correct
    );
    println!("calibration (header fields reported):");
    for (lo, hi, n, right) in &calibration {
        if *n > 0 {
            println!(
                "  confidence {lo:.2}-{hi:.2}: {n:>5} fields, {:>5.1}% right",
                100.0 * *right as f64 / *n as f64
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_bands() {
        let t = calibration_table(&[
            (1.0, true),
            (0.95, false),
            (0.9, true),
            (0.8, true),
            (0.1, false),
        ]);
        assert_eq!(t[0], (0.9, 1.0, 3, 2));
        assert_eq!(t[1], (0.7, 0.9, 1, 1));
        assert_eq!(t[3], (0.0, 0.5, 1, 0));
    }
}
