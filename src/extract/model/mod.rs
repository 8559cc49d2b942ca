//! The learned part of extraction: a candidate scorer that reads any
//! layout, and the calibrated confidence that routing trusts.
//!
//! ```text
//! pages ─ rules ─────────────────────────────┐
//!   └──── candidates (every date/amount/id) ─┴─ features + embeddings
//!            └─ scorer (MLP) ─ P(field | candidate)
//!                 └─ decide: best candidate per field; net + tax = total
//!                      └─ calibrate: P, agreement with rules, arithmetic
//!                           → measured accuracy on held-out synthetic invoices
//! ```
//!
//! Weights are trained by `apflow train` on invoices the project
//! generates itself (`synth`) and read back through the same read path
//! (text layer, and rasterised, degraded copies through OCR). The shipped
//! weights live in `models/extraction/` with their model card; the
//! sentence-embedding model is fetched by `make` into
//! `models/all-minilm-l6-v2/` and distilled there into static token
//! vectors (`embed`). Without either, extraction is rules only.

pub mod calibration;
pub mod candidates;
pub mod corpus;
mod degrade;
pub mod embed;
pub mod scorer;
pub mod synth;
pub mod train;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use self::calibration::Calibration;
use self::candidates::{Candidate, Value};
use self::embed::Embedder;
use self::scorer::Scorer;
use crate::domain::{ExtractedInvoice, Field, Page};

/// The fields the model chooses, in the scorer's output order.
pub const FIELDS: [&str; 7] = [
    "invoice_number",
    "invoice_date",
    "due_date",
    "po_number",
    "net_amount",
    "tax_amount",
    "total_amount",
];
const NET: usize = 4;
const TAX: usize = 5;
const TOTAL: usize = 6;

/// Below this the model has no opinion and the rules' value stands.
const MIN_PROBABILITY: f32 = 0.35;

/// How much more a candidate the rules chose by a fallback (no label)
/// counts when ranking.
const RULES_PRIOR: f32 = 4.0;

/// Rules confidence from which a value counts as found by its label.
const LABELLED: f32 = 0.7;

/// Per model field, whether the rules found it by its label (next to or
/// below it). Such a value stands: the scorer learns from synthetic
/// invoices, and on a real layout the label rules know they are right
/// nearly always (99.8 % in the development corpus), while the scorer can
/// be sure of a wrong reading of a label it never saw in that role
/// ("Nummer" in a seller block). The scorer then decides the fields the
/// rules did not find by a label, and every field's confidence.
pub fn labelled_by_rules(inv: &ExtractedInvoice) -> [bool; 7] {
    fn by_label<T>(f: &Option<Field<T>>) -> bool {
        f.as_ref()
            .is_some_and(|f| f.location.is_some() && f.confidence >= LABELLED)
    }
    [
        by_label(&inv.invoice_number),
        by_label(&inv.invoice_date),
        by_label(&inv.due_date),
        by_label(&inv.po_number),
        by_label(&inv.net_amount),
        by_label(&inv.tax_amount),
        by_label(&inv.total_amount),
    ]
}

/// Index in the features of "the rules chose this candidate for field 0".
const RULES_FEATURE: usize = 8;

/// Whether the rules chose candidate `c` for `field`.
fn rules_chose(c: &Candidate, field: usize) -> bool {
    c.features
        .get(RULES_FEATURE + field)
        .is_some_and(|f| *f > 0.5)
}

/// The ranking weight of a candidate for a field: its probability, raised
/// by the rules' prior.
fn weight(c: &Candidate, field: usize, p: f32) -> f32 {
    if rules_chose(c, field) {
        (p * RULES_PRIOR).min(1.0).max(p)
    } else {
        p
    }
}

/// Candidates scored together; bounds the memory of one document's
/// scoring, whatever its length.
const SCORING_CHUNK: usize = 1024;

/// Folder of the scorer's weights, inside the models folder.
pub const SCORER_DIR: &str = "extraction";
/// Folder of the sentence-embedding model, inside the models folder.
pub const EMBEDDER_DIR: &str = "all-minilm-l6-v2";

pub struct Model {
    embedder: Embedder,
    scorer: Scorer,
    calibration: Calibration,
}

impl Model {
    /// Loads the model from a models folder (`models/` in a checkout).
    pub fn load(models: &Path) -> Result<Model> {
        let dir = models.join(SCORER_DIR);
        Ok(Model {
            embedder: Embedder::load(&models.join(EMBEDDER_DIR))?,
            scorer: Scorer::load(&dir.join("scorer.safetensors"))?,
            calibration: Calibration::load(&dir.join("calibration.json"))?,
        })
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// The scorer's input rows for these candidates.
    pub fn inputs(embedder: &Embedder, candidates: &[Candidate]) -> Result<Tensor> {
        let texts: Vec<&str> = candidates
            .iter()
            .flat_map(|c| [c.left.as_str(), c.above.as_str()])
            .collect();
        let vectors = embedder.embed(&texts)?;
        let mut rows = Vec::with_capacity(candidates.len() * scorer::INPUT);
        for (i, c) in candidates.iter().enumerate() {
            rows.extend_from_slice(&vectors[2 * i]);
            rows.extend_from_slice(&vectors[2 * i + 1]);
            rows.extend_from_slice(&c.features);
        }
        Ok(Tensor::from_vec(
            rows,
            (candidates.len(), scorer::INPUT),
            &Device::Cpu,
        )?)
    }

    /// Re-decides the model's fields of a rules extraction, and sets every
    /// such field's confidence from the calibration table.
    pub fn apply(&self, pages: &[Page], inv: &mut ExtractedInvoice) -> Result<()> {
        let candidates = candidates::candidates(pages, inv);
        if candidates.is_empty() {
            return Ok(());
        }
        // Scored a slice at a time: the input rows (two embeddings per
        // candidate) of a 2,000-page document would otherwise take hundreds
        // of megabytes at once.
        let mut probabilities = Vec::with_capacity(candidates.len());
        for chunk in candidates.chunks(SCORING_CHUNK) {
            probabilities.extend(
                self.scorer
                    .probabilities(&Model::inputs(&self.embedder, chunk)?)?,
            );
        }
        let decision = decide(&candidates, &probabilities, labelled_by_rules(inv));
        let situations = merge(inv, &candidates, &decision, read_by_ocr(pages));
        calibrate(inv, &situations, &self.calibration);
        Ok(())
    }
}

/// The model's choice for one field: a candidate index and its probability.
pub type Choice = Option<(usize, f32)>;

/// Per field, the candidates that may be it, most probable first, one per
/// distinct value.
fn ranked(candidates: &[Candidate], probabilities: &[Vec<f32>], field: usize) -> Vec<(usize, f32)> {
    let mut r: Vec<(usize, f32)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.value.fits(field))
        .map(|(i, _)| (i, probabilities[i][field]))
        .collect();
    let w = |&(i, p): &(usize, f32)| weight(&candidates[i], field, p);
    r.sort_by(|a, b| w(b).total_cmp(&w(a)).then(a.0.cmp(&b.0)));
    // A set, not a list: a long document repeats values on every page.
    let mut seen: std::collections::HashSet<&Value> = std::collections::HashSet::new();
    r.retain(|(i, _)| seen.insert(&candidates[*i].value));
    r
}

/// The model's choice per field. Amounts are chosen together: among the
/// top few net, tax and total candidates, the set that adds up wins unless
/// the scorer is much surer of one that does not.
pub fn decide(
    candidates: &[Candidate],
    probabilities: &[Vec<f32>],
    labelled: [bool; 7],
) -> [Choice; 7] {
    // A field the rules found by its label keeps the rules' candidate. An
    // id or date the candidates missed keeps the rules' value (no model
    // choice); an amount they missed is left to the model and the
    // arithmetic below, since a labelled amount no candidate matches is
    // more often the rules' mistake (a rate read as the tax).
    let ranked = |field: usize| -> Vec<(usize, f32)> {
        let r = ranked(candidates, probabilities, field);
        let by_rules: Vec<(usize, f32)> = r
            .iter()
            .copied()
            .filter(|&(i, _)| rules_chose(&candidates[i], field))
            .collect();
        let amount = matches!(field, NET | TAX | TOTAL);
        if labelled[field] && (!by_rules.is_empty() || !amount) {
            by_rules
        } else {
            r
        }
    };
    let mut out: [Choice; 7] = [None; 7];
    for (field, slot) in out.iter_mut().enumerate() {
        *slot = ranked(field).first().copied().filter(|&(i, p)| {
            labelled[field] || weight(&candidates[i], field, p) >= MIN_PROBABILITY
        });
    }
    let top = |field: usize| -> Vec<Option<(usize, f32)>> {
        let mut v: Vec<Option<(usize, f32)>> =
            ranked(field).into_iter().take(4).map(Some).collect();
        if !(labelled[field] && v.len() == 1) {
            v.push(None);
        }
        v
    };
    let amount = |c: &Option<(usize, f32)>| match c {
        Some((i, _)) => match candidates[*i].value {
            Value::Amount(a) => Some(a),
            _ => None,
        },
        None => None,
    };
    let log_p = |c: &Option<(usize, f32)>, best: f32, field: usize| match c {
        Some((i, p)) => weight(&candidates[*i], field, *p).max(1e-4).ln(),
        // Leaving a field empty costs what its best candidate claims.
        None => (1.0 - best).max(1e-4).ln(),
    };
    let (mut nets, mut taxes, totals) = (top(NET), top(TAX), top(TOTAL));
    let best = |v: &[Option<(usize, f32)>]| v.first().copied().flatten().map_or(0.0, |c| c.1);
    let (bn, bt, bg) = (best(&nets), best(&taxes), best(&totals));
    // The amount that would close the sum, when it is printed anywhere on
    // the pages, joins the choices however unsure the scorer is of it: a
    // VAT breakdown's tax column or a net under a label no synthetic
    // layout used is still the one number that adds up.
    let closing = closing_candidates(candidates, probabilities, &nets, &taxes, &totals);
    for (field, c) in closing {
        let list = if field == NET { &mut nets } else { &mut taxes };
        // A field the rules read by its label keeps that one value.
        let by_label_only = labelled[field] && list.len() == 1;
        if !by_label_only && !list.contains(&Some(c)) {
            list.push(Some(c));
        }
    }
    let closes = |n: &Choice, t: &Choice, g: &Choice| matches!((amount(n), amount(t), amount(g)), (Some(n), Some(t), Some(g)) if n + t == g);
    let mut chosen: Option<(f32, [Choice; 3])> = None;
    for n in &nets {
        for t in &taxes {
            for g in &totals {
                let mut score;
                if closes(n, t, g) {
                    // Within a closing set, a value counts as at least
                    // slightly likely: the arithmetic vouches for it.
                    let floor = |c: &Choice, field| {
                        c.map_or(0.0, |(i, p)| {
                            weight(&candidates[i], field, p).max(CLOSING_FLOOR).ln()
                        })
                    };
                    score = floor(n, NET) + floor(t, TAX) + floor(g, TOTAL) + 3.0;
                } else {
                    score = log_p(n, bn, NET) + log_p(t, bt, TAX) + log_p(g, bg, TOTAL);
                    match (amount(n), amount(t), amount(g)) {
                        (Some(_), Some(_), Some(_)) => score -= 1.5,
                        (Some(n), None, Some(g)) if n == g => score += 1.0,
                        _ => {}
                    }
                }
                if chosen.as_ref().is_none_or(|(s, _)| score > *s) {
                    chosen = Some((score, [*n, *t, *g]));
                }
            }
        }
    }
    if let Some((_, [n, t, g])) = chosen {
        let closed = closes(&n, &t, &g);
        for (field, c) in [(NET, n), (TAX, t), (TOTAL, g)] {
            out[field] = c.filter(|c| labelled[field] || closed || c.1 >= MIN_PROBABILITY / 2.0);
        }
    }
    out
}

/// The probability a value in a closing net + tax = total set counts as
/// at least, whatever the scorer says of it.
const CLOSING_FLOOR: f32 = 0.05;

/// For every net and total among the choices, the candidate printing
/// total - net (a tax); for every tax and total, the one printing total -
/// tax (a net). Each value once, the candidate the scorer likes best for
/// that field.
fn closing_candidates(
    candidates: &[Candidate],
    probabilities: &[Vec<f32>],
    nets: &[Choice],
    taxes: &[Choice],
    totals: &[Choice],
) -> Vec<(usize, (usize, f32))> {
    let amount = |c: &Choice| match c.map(|(i, _)| &candidates[i].value) {
        Some(Value::Amount(a)) => Some(*a),
        _ => None,
    };
    let printed = |field: usize, value: Decimal| -> Option<(usize, f32)> {
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.value == Value::Amount(value))
            .map(|(i, _)| (i, probabilities[i][field]))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    };
    let mut out: Vec<(usize, (usize, f32))> = Vec::new();
    for g in totals.iter().filter_map(amount) {
        for (field, parts) in [(TAX, nets), (NET, taxes)] {
            for part in parts.iter().filter_map(amount) {
                let rest = g - part;
                if rest >= Decimal::ZERO
                    && let Some(c) = printed(field, rest)
                    && !out.contains(&(field, c))
                {
                    out.push((field, c));
                }
            }
        }
    }
    out
}

/// Whether the amounts chosen for an invoice add up, and the dates are in
/// order: a value that validates is more likely right.
fn validated(inv: &ExtractedInvoice, field: usize) -> bool {
    let v = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value);
    let d = |f: &Option<Field<NaiveDate>>| f.as_ref().map(|f| f.value);
    match field {
        NET | TAX | TOTAL => match (v(&inv.net_amount), v(&inv.tax_amount), v(&inv.total_amount)) {
            (Some(n), Some(t), Some(g)) => n + t == g,
            _ => false,
        },
        1 | 2 => {
            matches!((d(&inv.invoice_date), d(&inv.due_date)), (Some(i), Some(due)) if due >= i)
        }
        _ => false,
    }
}

/// How a field was decided: what calibration looks up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Situation {
    /// The scorer's probability (0 where the rules' value was kept).
    pub probability: f32,
    /// Whether the page was read by OCR.
    pub scanned: bool,
    /// Whether the rules found the same value (or the model had no opinion).
    pub agrees: bool,
    /// Whether the amounts add up / the dates are in order.
    pub validated: bool,
}

impl Situation {
    /// The scorer had no opinion on a value the rules kept: the rules' own
    /// confidence stands (`apflow eval --no-model` measures it on real
    /// invoices: 99.8 % right in its 0.7-0.9 band), and calibration
    /// neither records nor sets one.
    pub fn rules_confidence_stands(&self) -> bool {
        self.agrees && self.probability < MIN_PROBABILITY
    }
}

/// Whether the pages were read by OCR: text-layer words are certain
/// (confidence 1), OCR'd ones carry Tesseract's confidence, which is below
/// 1 for nearly every word.
pub fn read_by_ocr(pages: &[Page]) -> bool {
    let (mut ocr, mut all) = (0usize, 0usize);
    for w in pages
        .iter()
        .flat_map(|p| p.lines.iter())
        .flat_map(|l| l.words.iter())
    {
        all += 1;
        ocr += usize::from(w.confidence < 1.0);
    }
    2 * ocr > all
}

/// Writes the model's choices into the invoice; where the model has no
/// opinion the rules' value is kept. Returns how each field was decided.
pub fn merge(
    inv: &mut ExtractedInvoice,
    candidates: &[Candidate],
    decision: &[Choice; 7],
    scanned: bool,
) -> [Situation; 7] {
    let rules = inv.clone();
    let mut out = [Situation {
        scanned,
        ..Situation::default()
    }; 7];
    for (field, choice) in decision.iter().enumerate() {
        match *choice {
            Some((i, p)) => {
                let c = &candidates[i];
                out[field].probability = p;
                out[field].agrees = set(inv, field, &c.value, Some((c.page, c.bbox)), &rules);
            }
            None => out[field].agrees = true,
        }
    }
    for (field, s) in out.iter_mut().enumerate() {
        s.validated = validated(inv, field);
    }
    out
}

/// Sets each model field's confidence from the calibration table.
pub fn calibrate(
    inv: &mut ExtractedInvoice,
    situations: &[Situation; 7],
    calibration: &Calibration,
) {
    for (field, s) in situations.iter().enumerate() {
        if !s.rules_confidence_stands() {
            set_confidence(inv, field, calibration.confidence(s));
        }
    }
}

/// Sets `field` to the candidate's value; whether the rules had the same.
fn set(
    inv: &mut ExtractedInvoice,
    field: usize,
    value: &Value,
    location: Option<(u32, crate::domain::BBox)>,
    rules: &ExtractedInvoice,
) -> bool {
    fn field_of<T>(value: T, location: Option<(u32, crate::domain::BBox)>) -> Field<T> {
        Field {
            value,
            confidence: 0.0,
            location,
        }
    }
    match (field, value) {
        (0, Value::Id(s)) => {
            let same = rules
                .invoice_number
                .as_ref()
                .is_some_and(|f| candidates::compact(&f.value) == candidates::compact(s));
            if !same {
                inv.invoice_number = Some(field_of(s.clone(), location));
            }
            same
        }
        (3, Value::Id(s)) => {
            let same = rules
                .po_number
                .as_ref()
                .is_some_and(|f| candidates::compact(&f.value) == candidates::compact(s));
            if !same {
                inv.po_number = Some(field_of(s.clone(), location));
            }
            same
        }
        (1 | 2, Value::Date(d)) => {
            let slot = if field == 1 {
                &mut inv.invoice_date
            } else {
                &mut inv.due_date
            };
            let rule = if field == 1 {
                &rules.invoice_date
            } else {
                &rules.due_date
            };
            let same = rule.as_ref().is_some_and(|f| f.value == *d);
            if !same {
                *slot = Some(field_of(*d, location));
            }
            same
        }
        (NET | TAX | TOTAL, Value::Amount(a)) => {
            let (slot, rule) = match field {
                NET => (&mut inv.net_amount, &rules.net_amount),
                TAX => (&mut inv.tax_amount, &rules.tax_amount),
                _ => (&mut inv.total_amount, &rules.total_amount),
            };
            let same = rule.as_ref().is_some_and(|f| f.value == *a);
            if !same {
                *slot = Some(field_of(*a, location));
            }
            same
        }
        _ => false,
    }
}

fn set_confidence(inv: &mut ExtractedInvoice, field: usize, c: f32) {
    fn on<T>(f: &mut Option<Field<T>>, c: f32) {
        if let Some(f) = f {
            f.confidence = c;
        }
    }
    match field {
        0 => on(&mut inv.invoice_number, c),
        1 => on(&mut inv.invoice_date, c),
        2 => on(&mut inv.due_date, c),
        3 => on(&mut inv.po_number, c),
        NET => on(&mut inv.net_amount, c),
        TAX => on(&mut inv.tax_amount, c),
        _ => on(&mut inv.total_amount, c),
    }
}

/// Whether the token table in `models` is the one the scorer there was
/// trained on (recorded in its `metrics.json`); `None` when that is not
/// recorded or cannot be read. Measured accuracy is the model card's only
/// on the same table.
pub fn trained_on_this_table(models: &Path) -> Option<bool> {
    let metrics = std::fs::read(models.join(SCORER_DIR).join("metrics.json")).ok()?;
    let metrics: serde_json::Value = serde_json::from_slice(&metrics).ok()?;
    let trained = metrics.get("token_vectors_sha256")?.as_str()?.to_string();
    let here = embed::table_fingerprint(&models.join(EMBEDDER_DIR)).ok()?;
    Some(trained == here)
}

/// Where the models folder is: `APFLOW_MODELS`, else `models/` in the
/// working directory, else `models/` beside or above the executable (a
/// checkout's `target/release/apflow`).
pub fn models_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("APFLOW_MODELS") {
        return Some(PathBuf::from(dir));
    }
    let has_model = |d: &Path| d.join(SCORER_DIR).join("scorer.safetensors").is_file();
    let cwd = PathBuf::from("models");
    if has_model(&cwd) {
        return Some(cwd);
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .map(|a| a.join("models"))
        .find(|d| has_model(d))
}

/// The shipped model, loaded once; `None` (rules only, with one warning)
/// when its files are missing.
pub fn shipped() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let loaded = models_dir()
                .context("no models folder (set APFLOW_MODELS or run `make`)")
                .and_then(|d| Model::load(&d));
            match loaded {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!("extraction model not loaded, using rules only: {e:#}");
                    None
                }
            }
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BBox;

    /// A candidate holding `cents` / 100, with no surroundings (the train
    /// tests use it too).
    pub(super) fn amount(cents: i64) -> Candidate {
        Candidate {
            value: Value::Amount(Decimal::new(cents, 2)),
            page: 1,
            bbox: BBox {
                x0: 0.0,
                y0: 0.0,
                x1: 1.0,
                y1: 1.0,
            },
            left: String::new(),
            above: String::new(),
            features: Vec::new(),
        }
    }

    /// Probabilities for net, tax, total (other fields 0).
    fn p(net: f32, tax: f32, total: f32) -> Vec<f32> {
        vec![0.0, 0.0, 0.0, 0.0, net, tax, total]
    }

    #[test]
    fn amounts_that_add_up_win_over_a_slightly_likelier_one_that_does_not() {
        let c = vec![
            amount(100_000),
            amount(19_000),
            amount(119_000),
            amount(120_000),
        ];
        // The scorer slightly prefers 1200.00 as the total, but only
        // 1190.00 closes 1000.00 + 190.00.
        let probs = vec![
            p(0.9, 0.0, 0.1),
            p(0.0, 0.8, 0.0),
            p(0.0, 0.0, 0.55),
            p(0.0, 0.0, 0.6),
        ];
        let d = decide(&c, &probs, [false; 7]);
        assert_eq!(d[NET].map(|x| x.0), Some(0));
        assert_eq!(d[TAX].map(|x| x.0), Some(1));
        assert_eq!(d[TOTAL].map(|x| x.0), Some(2));
    }

    #[test]
    fn pages_read_by_ocr_are_told_from_the_text_layer() {
        let text_layer = crate::extract::rules::tests::page(&[
            &[(40.0, "Invoice No. 2026-0142")],
            &[(40.0, "Total 1.190,00")],
        ]);
        assert!(!read_by_ocr(std::slice::from_ref(&text_layer)));
        let mut scanned = text_layer;
        for w in scanned.lines.iter_mut().flat_map(|l| l.words.iter_mut()) {
            w.confidence = 0.91;
        }
        assert!(read_by_ocr(&[scanned]));
        assert!(!read_by_ocr(&[]));
    }

    #[test]
    fn the_rules_feature_index_names_the_rules_choice() {
        assert_eq!(candidates::FEATURES[RULES_FEATURE], "rules_invoice_number");
        assert_eq!(
            candidates::FEATURES[RULES_FEATURE + TOTAL],
            "rules_total_amount"
        );
    }

    #[test]
    fn a_tax_the_scorer_doubts_is_taken_when_it_closes_the_sum() {
        // A VAT breakdown row "19 % | 1000.00 | 190.00": the scorer took
        // its base for the tax and barely considers 190.00.
        let c = vec![amount(100_000), amount(19_000), amount(119_000)];
        let probs = vec![p(0.9, 0.6, 0.0), p(0.0, 0.02, 0.0), p(0.0, 0.0, 0.95)];
        let d = decide(&c, &probs, [false; 7]);
        assert_eq!(d[NET].map(|x| x.0), Some(0));
        assert_eq!(d[TAX].map(|x| x.0), Some(1), "{d:?}");
        assert_eq!(d[TOTAL].map(|x| x.0), Some(2));
    }

    #[test]
    fn a_closing_value_printed_nowhere_is_not_invented() {
        // 190.00 would close the sum but is not on the page: the tax stays
        // open rather than made up.
        let c = vec![amount(100_000), amount(119_000)];
        let probs = vec![p(0.9, 0.1, 0.0), p(0.0, 0.0, 0.95)];
        let d = decide(&c, &probs, [false; 7]);
        assert_eq!(d[TOTAL].map(|x| x.0), Some(1));
        assert_eq!(d[TAX], None, "{d:?}");
    }

    #[test]
    fn a_sure_total_is_kept_even_when_nothing_adds_up() {
        let c = vec![amount(100_000), amount(50_000)];
        let probs = vec![p(0.2, 0.0, 0.1), p(0.0, 0.0, 0.97)];
        let d = decide(&c, &probs, [false; 7]);
        assert_eq!(d[TOTAL].map(|x| x.0), Some(1));
        assert_eq!(d[TAX], None);
    }
}
