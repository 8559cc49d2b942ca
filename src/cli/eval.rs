//! `apflow eval DIR`: per-field accuracy of extraction against the folder's
//! `truth.jsonl`, scored by the corpus convention: amounts equal to the
//! cent, dates exact, ids after removing spaces and case, names and line
//! descriptions fuzzy (folded, containment or similarity >= 0.85), a line
//! item correct when all its labelled fields are. Only labelled fields
//! count: an absent key means "not labelled". Besides accuracy it prints
//! line-item precision, recall and F1, and a calibration table: how often
//! fields reported in each confidence band are right (routing trusts the
//! confidence, so the top band must be right nearly always).

use std::collections::{BTreeMap, HashSet};
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
    /// Reported at a confidence of 0.9 or more, and wrong: what routing
    /// would pass without a person, by field.
    confident_wrong: usize,
}

/// The confidence from which routing may trust a field.
const CONFIDENT: f64 = 0.9;

/// Reported fields by confidence band: (from, to, fields, right). A model
/// that routes on confidence needs the top band (>= 0.9) right at least
/// 97% of the time.
fn calibration_table(reported: &[(f64, bool)]) -> Vec<(f64, f64, usize, usize)> {
    [(CONFIDENT, 1.0), (0.7, CONFIDENT), (0.5, 0.7), (0.0, 0.5)]
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

/// Reads a document the way `mode` says. With an OCR cache, a document
/// OCR'd on an earlier run (scan mode, or a scan or photo read visually)
/// is taken from the cache: OCR is nearly all of such an eval's time, and
/// a change to extraction does not change what OCR reads.
async fn read_for(
    bytes: Vec<u8>,
    mode: Mode,
    settings: &Settings,
    ocr_cache: Option<&Path>,
) -> Result<crate::domain::ReadDocument, read::Error> {
    let kind = read::sniff(&bytes);
    let cached = ocr_cache
        .filter(|_| mode != Mode::EInvoiceFirst)
        .map(|dir| ocr_cache::path(dir, &bytes, mode == Mode::Scan));
    if let Some(pages) = cached.as_deref().and_then(ocr_cache::load) {
        return Ok(crate::domain::ReadDocument {
            kind: kind.unwrap_or(crate::domain::DocumentKind::Pdf),
            pages,
            einvoice: None,
            einvoice_xml: None,
        });
    }
    let doc = if mode != Mode::Scan || kind != Some(crate::domain::DocumentKind::Pdf) {
        read::read_document(
            Arc::new(bytes),
            settings.read_options(mode != Mode::EInvoiceFirst),
            settings.read_timeout,
        )
        .await?
    } else {
        let options = settings.read_options(true);
        tokio::task::spawn_blocking(move || {
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
        .unwrap_or_else(|e| Err(read::Error::Crashed(e.to_string())))?
    };
    // A text layer is read in milliseconds: only OCR'd pages are kept.
    if let Some(path) = cached
        && extract::model::read_by_ocr(&doc.pages)
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

    const WRITER: &str = concat!("apflow ", env!("CARGO_PKG_VERSION"), " ocr 2");

    /// `rendered`: the pages were rendered and OCR'd (scan mode), not
    /// read as the document comes.
    pub fn path(dir: &Path, bytes: &[u8], rendered: bool) -> PathBuf {
        let how = if rendered { "" } else { "-as-read" };
        dir.join(format!("{}{how}.json", crate::domain::sha256_hex(bytes)))
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

/// What one scoring pass over a folder (or one split of it) found.
#[derive(Default)]
struct Score {
    docs: usize,
    errors: usize,
    fields: BTreeMap<&'static str, Tally>,
    lines: Tally,
    /// Lines extracted for documents whose lines are labelled (precision).
    lines_extracted: usize,
    /// Per line attribute (description, quantity, ...): of the labelled
    /// lines paired with an extracted one at the same position in reading
    /// order, how many have that attribute right. Says *what* a line
    /// reading gets wrong, where F1 only says that it does.
    line_attributes: BTreeMap<String, Tally>,
    /// Per reported header field: its confidence and whether it was right.
    reported: Vec<(f64, bool)>,
    seconds: f64,
}

impl Score {
    fn header(&self) -> Tally {
        self.fields.values().fold(Tally::default(), |a, t| Tally {
            labelled: a.labelled + t.labelled,
            found: a.found + t.found,
            correct: a.correct + t.correct,
            confident_wrong: a.confident_wrong + t.confident_wrong,
        })
    }

    /// Line-item precision, recall and F1.
    fn line_prf(&self) -> (f64, f64, f64) {
        let p = ratio(self.lines.correct, self.lines_extracted);
        let r = ratio(self.lines.correct, self.lines.labelled);
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f1)
    }

    fn json(&self, visual_only: bool, model: bool) -> Value {
        let fields: serde_json::Map<String, Value> = self
            .fields
            .iter()
            .map(|(k, t)| ((*k).to_string(), serde_json::json!({"labelled": t.labelled, "found": t.found, "correct": t.correct, "accuracy": pct(t)})))
            .collect();
        let (precision, recall, f1) = self.line_prf();
        let lines = &self.lines;
        let header = self.header();
        serde_json::json!({"documents": self.docs, "errors": self.errors, "visual_only": visual_only, "model": model, "fields": fields,
            "header": {"labelled": header.labelled, "correct": header.correct, "accuracy": pct(&header)},
            "line_items": {"labelled": lines.labelled, "extracted": self.lines_extracted, "correct": lines.correct, "accuracy": pct(lines),
                "precision": precision, "recall": recall, "f1": f1,
                "attributes": self.line_attributes.iter().map(|(k, t)| (k.clone(), serde_json::json!({"paired": t.labelled, "correct": t.correct}))).collect::<serde_json::Map<String, Value>>()},
            "calibration": calibration_table(&self.reported).iter().map(|(lo, hi, n, right)| serde_json::json!({"from": lo, "to": hi, "fields": n, "right": right})).collect::<Vec<_>>(),
            "seconds": self.seconds})
    }
}

/// "description 12/20, quantity 18/20, ...": each line attribute right
/// out of the labelled lines that have an extracted line to compare with.
fn attributes(score: &Score) -> String {
    score
        .line_attributes
        .iter()
        .map(|(k, t)| format!("{k} {}/{}", t.correct, t.labelled))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn pct(t: &Tally) -> f64 {
    100.0 * ratio(t.correct, t.labelled)
}

/// How `eval` reads and extracts, the same for every folder it scores.
#[derive(Clone, Copy)]
pub struct Eval<'a> {
    pub mode: Mode,
    pub model: Option<&'a extract::model::Model>,
    pub json: bool,
    pub verbose: bool,
    pub ocr_cache: Option<&'a Path>,
    pub settings: &'a Settings,
}

/// Scores `dir`: one folder with `truth.jsonl`, or a corpus root with
/// `splits.jsonl` and one such folder per source.
pub async fn run(dir: &Path, how: &Eval<'_>) -> Result<i32> {
    if dir.join(extract::model::corpus::SPLITS).is_file() && !dir.join("truth.jsonl").is_file() {
        return run_splits(dir, how).await;
    }
    let score = score(dir, None, how).await?;
    if how.json {
        println!(
            "{}",
            score.json(how.mode != Mode::EInvoiceFirst, how.model.is_some())
        );
        return Ok(0);
    }
    println!(
        "{} documents from {} ({}), {} unreadable, {:.1}s",
        score.docs,
        dir.display(),
        describe(how),
        score.errors,
        score.seconds
    );
    println!(
        "{:<16} {:>9} {:>7} {:>8} {:>9}",
        "field", "labelled", "found", "correct", "accuracy"
    );
    let row = |name: &str, t: &Tally, found: String| {
        println!(
            "{name:<16} {:>9} {found:>7} {:>8} {:>8.1}%",
            t.labelled,
            t.correct,
            pct(t)
        );
    };
    for (k, t) in score.fields.iter().filter(|(_, t)| t.labelled > 0) {
        row(k, t, t.found.to_string());
    }
    row("line_items", &score.lines, score.lines.found.to_string());
    row("all header fields", &score.header(), String::new());
    let (precision, recall, f1) = score.line_prf();
    println!(
        "line items: precision {:.1}%, recall {:.1}%, F1 {f1:.3} ({} extracted, {} labelled, {} right)",
        100.0 * precision,
        100.0 * recall,
        score.lines_extracted,
        score.lines.labelled,
        score.lines.correct
    );
    if !score.line_attributes.is_empty() {
        println!(
            "line attributes, lines paired in reading order: {}",
            attributes(&score)
        );
    }
    println!("calibration (header fields reported):");
    for (lo, hi, n, right) in calibration_table(&score.reported) {
        if n > 0 {
            println!(
                "  confidence {lo:.2}-{hi:.2}: {n:>5} fields, {:>5.1}% right",
                100.0 * ratio(right, n)
            );
        }
    }
    Ok(0)
}

fn describe(how: &Eval<'_>) -> String {
    format!(
        "{}; {}",
        match how.mode {
            Mode::Scan => "scanned: pages rendered at 300 dpi and OCR'd",
            Mode::Visual => "visual only",
            Mode::EInvoiceFirst => "e-invoice XML first",
        },
        if how.model.is_some() {
            "rules + model"
        } else {
            "rules only"
        }
    )
}

/// Scores every source folder of a corpus root, `tune` and `check`
/// side by side, with the gap: what was tuned on against layouts that
/// were not. Only check figures say how extraction generalises.
async fn run_splits(root: &Path, how: &Eval<'_>) -> Result<i32> {
    let splits = extract::model::corpus::splits(root)?;
    let mut out = serde_json::Map::new();
    for (source, by_split) in &splits {
        let dir = root.join(source);
        if !dir.join("truth.jsonl").is_file() {
            eprintln!("{}: no truth.jsonl, skipped", dir.display());
            continue;
        }
        let mut scores = Vec::new();
        for split in ["tune", "check"] {
            let files = by_split.get(split).cloned().unwrap_or_default();
            scores.push((split, score(&dir, Some(&files), how).await?));
        }
        if how.json {
            let per: serde_json::Map<String, Value> = scores
                .iter()
                .map(|(s, sc)| {
                    (
                        (*s).to_string(),
                        sc.json(how.mode != Mode::EInvoiceFirst, how.model.is_some()),
                    )
                })
                .collect();
            out.insert(source.clone(), Value::Object(per));
        } else {
            print_side_by_side(source, &scores, how);
        }
    }
    if how.json {
        println!("{}", Value::Object(out));
    }
    Ok(0)
}

fn print_side_by_side(source: &str, scores: &[(&str, Score)], how: &Eval<'_>) {
    let [(_, tune), (_, check)] = scores else {
        return;
    };
    println!(
        "{source}: tune {} documents, check {} documents ({}), {} unreadable, {:.1}s",
        tune.docs,
        check.docs,
        describe(how),
        tune.errors + check.errors,
        tune.seconds + check.seconds
    );
    println!(
        "{:<18} {:>14} {:>14} {:>8} {:>12}",
        "field", "tune", "check", "gap", "wrong>=0.9"
    );
    let cell = |t: &Tally| format!("{:>3}/{:<3} {:>5.1}%", t.correct, t.labelled, pct(t));
    let row = |name: &str, a: &Tally, b: &Tally| {
        if a.labelled + b.labelled > 0 {
            println!(
                "{name:<18} {:>14} {:>14} {:>+7.1} {:>12}",
                cell(a),
                cell(b),
                pct(b) - pct(a),
                format!("{}/{}", a.confident_wrong, b.confident_wrong)
            );
        }
    };
    for (k, t) in &tune.fields {
        row(k, t, &check.fields[k]);
    }
    row("all header fields", &tune.header(), &check.header());
    let (tp, tr, tf) = tune.line_prf();
    let (cp, cr, cf) = check.line_prf();
    if tune.lines.labelled + check.lines.labelled > 0 {
        println!(
            "{:<18} {:>14} {:>14} {:>+7.3}",
            "line items F1",
            format!("{tf:.3}"),
            format!("{cf:.3}"),
            cf - tf
        );
        println!(
            "{:<18} {:>14} {:>14}",
            "  precision/recall",
            format!("{:.0}%/{:.0}%", 100.0 * tp, 100.0 * tr),
            format!("{:.0}%/{:.0}%", 100.0 * cp, 100.0 * cr)
        );
        let keys: std::collections::BTreeSet<&String> = tune
            .line_attributes
            .keys()
            .chain(check.line_attributes.keys())
            .collect();
        for k in keys {
            let cell = |s: &Score| {
                s.line_attributes
                    .get(k)
                    .map_or(String::new(), |t| format!("{}/{}", t.correct, t.labelled))
            };
            println!(
                "{:<18} {:>14} {:>14}",
                format!("  {k}"),
                cell(tune),
                cell(check)
            );
        }
    }
    let (tc, cc) = (
        calibration_table(&tune.reported),
        calibration_table(&check.reported),
    );
    for ((lo, hi, tn, tright), (_, _, cn, cright)) in tc.iter().zip(&cc) {
        if tn + cn > 0 {
            let band =
                |n: usize, right: usize| format!("{:>4} {:>5.1}%", n, 100.0 * ratio(right, n));
            println!(
                "{:<18} {:>14} {:>14}",
                format!("  conf {lo:.1}-{hi:.1}"),
                band(*tn, *tright),
                band(*cn, *cright)
            );
        }
    }
    println!();
}

/// `--vendor-memory`: what remembering a vendor's layout from its
/// e-invoices is worth. Leave-one-out over the vendors (by the truth's
/// vendor name) with two or more hybrid PDFs in `dir`: each document is
/// read visually (its own XML ignored) once as is and once with the
/// places learned from the vendor's previous document's XML
/// (`extract::memory::learn_from_einvoice`), and both are scored.
pub async fn vendor_memory(dir: &Path, how: &Eval<'_>) -> Result<i32> {
    struct Doc {
        file: String,
        truth: Value,
        vendor: String,
        read: crate::domain::ReadDocument,
    }
    let truth_path = dir.join("truth.jsonl");
    let text = std::fs::read_to_string(&truth_path)
        .with_context(|| format!("cannot read {}", truth_path.display()))?;
    let mut docs: Vec<Doc> = Vec::new();
    for row in text.lines().filter(|l| !l.trim().is_empty()) {
        let rec: Value = serde_json::from_str(row)?;
        let (Some(file), Some(vendor)) = (
            rec["file"].as_str(),
            rec["fields"]["vendor_name"].as_str().map(fold),
        ) else {
            continue;
        };
        let bytes = std::fs::read(dir.join(file)).with_context(|| file.to_string())?;
        match read_for(bytes, Mode::EInvoiceFirst, how.settings, None).await {
            Ok(read) if read.einvoice.is_some() => docs.push(Doc {
                file: file.to_string(),
                truth: rec["fields"].clone(),
                vendor,
                read,
            }),
            Ok(_) => {}
            Err(e) => eprintln!("{file}: {e}"),
        }
    }
    let mut by_vendor: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        by_vendor.entry(d.vendor.as_str()).or_default().push(i);
    }
    // field -> (labelled, right without, right with)
    let mut tally: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let (mut vendors, mut scored) = (0, 0);
    for group in by_vendor.values().filter(|g| g.len() >= 2) {
        vendors += 1;
        for (k, &i) in group.iter().enumerate() {
            let teacher = &docs[group[(k + group.len() - 1) % group.len()]];
            let Some(xml) = &teacher.read.einvoice else {
                continue;
            };
            let places = extract::memory::learn_from_einvoice(xml, &teacher.read.pages);
            let d = &docs[i];
            let visual = crate::domain::ReadDocument {
                einvoice: None,
                einvoice_xml: None,
                ..d.read.clone()
            };
            let mut inv = extract::extract_with(&visual, how.model);
            let before = invoice_json(&inv);
            extract::memory::apply(&mut inv, &visual.pages, &places);
            let after = invoice_json(&inv);
            scored += 1;
            for f in extract::memory::TAUGHT_BY_EINVOICE {
                let Some(want) = d.truth.get(f).and_then(Value::as_str) else {
                    continue;
                };
                let right = |v: &Value| {
                    v.get(f)
                        .and_then(Value::as_str)
                        .is_some_and(|g| field_eq(f, want, g))
                };
                let t = tally.entry(f).or_default();
                t.0 += 1;
                t.1 += usize::from(right(&before));
                t.2 += usize::from(right(&after));
                if how.verbose && right(&before) != right(&after) {
                    eprintln!(
                        "{}: {f}: without {:?}, with {:?}",
                        d.file,
                        before.get(f),
                        after.get(f)
                    );
                }
            }
        }
    }
    println!(
        "{scored} documents of {vendors} vendors with two or more e-invoices in {}, each read \
         visually with and without the places learned from the vendor's previous e-invoice ({})",
        dir.display(),
        describe(&Eval {
            mode: Mode::Visual,
            ..*how
        })
    );
    println!(
        "{:<16} {:>9} {:>16} {:>16}",
        "field", "labelled", "without memory", "with memory"
    );
    let (mut l, mut a, mut b) = (0, 0, 0);
    for (f, (n, without, with)) in &tally {
        let pct = |x: usize| 100.0 * ratio(x, *n);
        println!(
            "{f:<16} {n:>9} {without:>6} {:>8.1}% {with:>6} {:>8.1}%",
            pct(*without),
            pct(*with)
        );
        (l, a, b) = (l + n, a + without, b + with);
    }
    println!(
        "{:<16} {l:>9} {a:>6} {:>8.1}% {b:>6} {:>8.1}%",
        "all",
        100.0 * ratio(a, l),
        100.0 * ratio(b, l)
    );
    Ok(0)
}

/// Reads, extracts and scores the documents of `dir/truth.jsonl` (only
/// those in `only`, when given).
async fn score(dir: &Path, only: Option<&HashSet<String>>, how: &Eval<'_>) -> Result<Score> {
    let truth_path = dir.join("truth.jsonl");
    let text = std::fs::read_to_string(&truth_path)
        .with_context(|| format!("cannot read {}", truth_path.display()))?;
    let mut s = Score {
        fields: FIELDS.iter().map(|f| (*f, Tally::default())).collect(),
        ..Score::default()
    };
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
        if only.is_some_and(|only| !only.contains(file)) {
            continue;
        }
        let truth = rec.get("fields").cloned().unwrap_or(Value::Null);
        s.docs += 1;
        let got = match std::fs::read(dir.join(file)) {
            Ok(bytes) => match read_for(bytes, how.mode, how.settings, how.ocr_cache).await {
                Ok(doc) => invoice_json(&extract::extract_with(&doc, how.model)),
                Err(e) => {
                    s.errors += 1;
                    eprintln!("{file}: {e}");
                    Value::Null
                }
            },
            Err(e) => {
                s.errors += 1;
                eprintln!("{file}: {e}");
                Value::Null
            }
        };
        for f in FIELDS {
            let Some(want) = truth.get(*f).and_then(Value::as_str) else {
                continue;
            };
            let t = s.fields.entry(f).or_default();
            t.labelled += 1;
            let g = got.get(*f).and_then(Value::as_str);
            if g.is_some() {
                t.found += 1;
            }
            let right = g.is_some_and(|g| field_eq(f, want, g));
            if g.is_some() {
                let confidence = got["confidence"][*f].as_f64().unwrap_or(0.0);
                s.reported.push((confidence, right));
                if confidence >= CONFIDENT && !right {
                    t.confident_wrong += 1;
                }
            }
            if right {
                t.correct += 1;
            } else if how.verbose {
                eprintln!("{file}: {f}: want {want:?}, got {g:?}");
            }
        }
        if let Some(want_lines) = truth.get("line_items").and_then(Value::as_array) {
            let got_lines = got
                .get("line_items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            s.lines.labelled += want_lines.len();
            s.lines.found += got_lines.len().min(want_lines.len());
            s.lines_extracted += got_lines.len();
            for (w, g) in want_lines.iter().zip(&got_lines) {
                let Value::Object(w) = w else { continue };
                for (k, v) in w {
                    let t = s.line_attributes.entry(k.clone()).or_default();
                    t.labelled += 1;
                    let gv = g.get(k).and_then(Value::as_str);
                    t.found += usize::from(gv.is_some());
                    if let (Some(wv), Some(gv)) = (v.as_str(), gv)
                        && field_eq(k, wv, gv)
                    {
                        t.correct += 1;
                    }
                }
            }
            let mut used = vec![false; got_lines.len()];
            for w in want_lines {
                if let Some(j) =
                    (0..got_lines.len()).find(|&j| !used[j] && line_eq(w, &got_lines[j]))
                {
                    used[j] = true;
                    s.lines.correct += 1;
                } else if how.verbose {
                    eprintln!("{file}: line item missed: want {w}");
                }
            }
            if how.verbose {
                for (g, _) in got_lines.iter().zip(&used).filter(|(_, u)| !**u) {
                    eprintln!("{file}: line item not in the truth: got {g}");
                }
            }
        }
    }
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
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
