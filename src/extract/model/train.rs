//! `apflow train`: reproduces the shipped scorer and its calibration from
//! data the project generates itself.
//!
//! 1. `synth` writes invoices in many layouts and languages (the seed
//!    decides everything); each is read back through the product's own read
//!    path: the text layer, and for a share of them a rendered page that
//!    `degrade` makes look scanned, through OCR.
//! 2. Every candidate on every invoice is labelled with the fields its
//!    value equals in the truth.
//! 3. The scorer is trained (binary cross-entropy per field, AdamW) on
//!    seven eighths of the invoices.
//! 4. The held-out eighth is decided exactly as in production; what was
//!    right per situation becomes the calibration table, and the per-field
//!    accuracies (model and rules alone) go into `metrics.json` and the
//!    model card.
//!
//! Same seed, same counts, same machine: the same weights. Training takes
//! minutes on two CPU cores; nothing needs a GPU.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::calibration::Calibration;
use super::candidates::{self, Candidate, Value, compact};
use super::corpus;
use super::embed::{DIM, Embedder};
use super::scorer::{self, INPUT, Scorer};
use super::synth::{self, Truth};
use super::{EMBEDDER_DIR, FIELDS, SCORER_DIR, Situation};
use crate::domain::{ExtractedInvoice, Field};
use crate::read::{self, ReadOptions, ocr};

#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The models folder: reads `all-minilm-l6-v2/`, writes `extraction/`.
    pub models: PathBuf,
    /// Synthetic invoices read from their text layer.
    pub documents: usize,
    /// Of those, how many are also rendered, degraded and OCR'd.
    pub scans: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Corpus roots (folders with `splits.jsonl`): their `tune` documents
    /// are read as a person sees them (embedded XML ignored) and labelled
    /// from `truth.jsonl`. Never their `check` documents.
    pub corpus: Vec<PathBuf>,
}

/// How many times a real document counts against a synthetic one: a few
/// hundred real layouts next to thousands of generated ones would
/// otherwise barely move the weights.
const REAL_WEIGHT: usize = 4;

/// What is known of one training invoice's model fields, in [`FIELDS`]
/// order.
#[derive(Debug, Clone)]
struct Labels {
    /// The true value; `None` where `known` says the invoice has none.
    values: [Option<Value>; 7],
    /// Whether the field is labelled at all: a real document's truth
    /// labels some fields only (a receipt's invoice number is printed but
    /// not labelled), and an unlabelled field teaches nothing either way.
    known: [bool; 7],
}

impl Labels {
    fn of_synthetic(t: &Truth) -> Labels {
        Labels {
            values: [
                Some(Value::Id(t.invoice_number.clone())),
                Some(Value::Date(t.invoice_date)),
                t.due_date.map(Value::Date),
                t.po_number.clone().map(Value::Id),
                t.net_amount.map(Value::Amount),
                t.tax_amount.map(Value::Amount),
                Some(Value::Amount(t.total_amount)),
            ],
            known: [true; 7],
        }
    }

    /// From a corpus truth line's `fields` (the corpus convention: ISO
    /// dates, decimal amounts with a point, ids as printed).
    fn of_corpus(fields: &serde_json::Value) -> Labels {
        let mut labels = Labels {
            values: Default::default(),
            known: [false; 7],
        };
        for (i, name) in FIELDS.iter().enumerate() {
            let Some(text) = fields.get(*name).and_then(serde_json::Value::as_str) else {
                continue;
            };
            let value = match *name {
                "invoice_number" | "po_number" => Some(Value::Id(text.to_string())),
                "invoice_date" | "due_date" => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .map(Value::Date),
                _ => text.parse::<Decimal>().ok().map(Value::Amount),
            };
            if value.is_some() {
                labels.values[i] = value;
                labels.known[i] = true;
            }
        }
        labels
    }
}

/// One read invoice, ready for training.
struct Example {
    /// Orders the examples and picks the held-out eighth.
    seed: u64,
    /// Rendered, degraded and OCR'd rather than read from the text layer.
    scanned: bool,
    /// A real document from a corpus's `tune` split, not a generated one.
    real: bool,
    /// A real document's layout group (`corpus::Document::layout_group`),
    /// hashed: whole groups are held out together.
    layout_group: u64,
    /// What extraction sees of that: the words came from OCR.
    read_by_ocr: bool,
    labels: Labels,
    rules: ExtractedInvoice,
    candidates: Vec<Candidate>,
}

/// Per field: how often the held-out invoices had it right.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldScore {
    pub labelled: usize,
    pub model_right: usize,
    pub rules_right: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub documents: usize,
    pub scans: usize,
    pub held_out: usize,
    pub candidates: usize,
    pub epochs: usize,
    pub seed: u64,
    pub final_loss: f32,
    pub fields: std::collections::BTreeMap<String, FieldScore>,
    /// Real `tune` documents learned from, and of those decided by a
    /// scorer fitted without their layout group (all of them, in two
    /// folds).
    pub real_documents: usize,
    pub real_held_out: usize,
    /// Per field on the real documents, each decided by the scorer fitted
    /// without its fold of layout groups: layouts that scorer never saw.
    pub real_fields: std::collections::BTreeMap<String, FieldScore>,
    pub seconds: f64,
    /// sha256 of the distilled token table the scorer was trained on. The
    /// table is computed on each machine by `apflow distill`, and float
    /// sums in a different order (another CPU's vector unit) can change a
    /// few of its f16 values; `eval` warns when its table is not this one.
    pub token_vectors_sha256: String,
}

/// Runs the whole training; `progress` gets one line per stage.
pub fn train(options: &TrainOptions, progress: &mut dyn FnMut(&str)) -> Result<Metrics> {
    let started = Instant::now();
    let embedder = Embedder::load(&options.models.join(EMBEDDER_DIR)).context(
        "the sentence-embedding model is missing: run `make` (it fetches and distills it)",
    )?;
    progress(&format!(
        "generating and reading {} invoices ({} also as scans)",
        options.documents, options.scans
    ));
    let mut examples = read_examples(options)?;
    for root in &options.corpus {
        let real = read_corpus(root)?;
        progress(&format!(
            "{} tune documents read from {}, {:.0}s",
            real.len(),
            root.display(),
            started.elapsed().as_secs_f64()
        ));
        examples.extend(real);
    }
    let n_candidates: usize = examples.iter().map(|e| e.candidates.len()).sum();
    progress(&format!(
        "{} documents read ({} scans), {n_candidates} candidates, {:.0}s",
        examples.len(),
        examples.iter().filter(|e| e.scanned).count(),
        started.elapsed().as_secs_f64()
    ));

    // Every neighbour text, embedded once.
    let mut texts: Vec<String> = examples
        .iter()
        .flat_map(|e| e.candidates.iter())
        .flat_map(|c| {
            [
                super::embed::normalise(&c.left),
                super::embed::normalise(&c.above),
            ]
        })
        .collect();
    texts.sort();
    texts.dedup();
    let index: HashMap<&str, usize> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut table: Vec<f32> = Vec::with_capacity(texts.len() * DIM);
    for chunk in texts.chunks(256) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for v in embedder.embed(&refs)? {
            table.extend_from_slice(&v);
        }
    }
    progress(&format!(
        "{} distinct neighbour texts embedded, {:.0}s",
        texts.len(),
        started.elapsed().as_secs_f64()
    ));

    // Synthetic invoices: every 8th is held out. Real documents: by
    // layout group, in two folds; a model fitted without a fold decides
    // that fold, so the calibration and the real-document figures come
    // from layouts the deciding model never saw (what a new vendor is).
    let held_out = |e: &Example| !e.real && e.seed % 8 == 7;
    let fold_of = |e: &Example| e.layout_group % 2;
    let row_of = |c: &Candidate| -> Vec<f32> {
        let mut r = Vec::with_capacity(INPUT);
        for t in [&c.left, &c.above] {
            let key = super::embed::normalise(t);
            match index.get(key.as_str()) {
                Some(&i) if !key.is_empty() => r.extend_from_slice(&table[i * DIM..(i + 1) * DIM]),
                _ => r.extend(std::iter::repeat_n(0.0, DIM)),
            }
        }
        r.extend_from_slice(&c.features);
        r
    };
    let fit_on = |learn: &dyn Fn(&Example) -> bool,
                  name: &str,
                  progress: &mut dyn FnMut(&str)|
     -> Result<Fitted> {
        let chosen: Vec<&Example> = examples
            .iter()
            .filter(|e| !held_out(e) && learn(e))
            .collect();
        progress(&format!(
            "fitting {name}: {} documents ({} real)",
            chosen.len(),
            chosen.iter().filter(|e| e.real).count()
        ));
        fit(&chosen, &row_of, options, &mut |line| {
            progress(&format!(
                "{name}: {line}, {:.0}s",
                started.elapsed().as_secs_f64()
            ))
        })
    };

    let mut calibration = Calibration::default();
    let no_scores = || -> std::collections::BTreeMap<String, FieldScore> {
        FIELDS
            .iter()
            .map(|f| ((*f).to_string(), FieldScore::default()))
            .collect()
    };
    let (mut fields, mut real_fields) = (no_scores(), no_scores());
    let (mut n_held, mut n_real_held) = (0, 0);
    if examples.iter().any(|e| e.real) {
        for fold in 0..2 {
            let without = fit_on(
                &|e: &Example| !e.real || fold_of(e) != fold,
                &format!("without real fold {fold}"),
                progress,
            )?;
            for e in examples.iter().filter(|e| e.real && fold_of(e) == fold) {
                n_real_held += 1;
                judge(
                    e,
                    &without.model,
                    &row_of,
                    (&mut calibration, REAL_WEIGHT),
                    &mut real_fields,
                )?;
            }
        }
    }
    let Fitted {
        varmap,
        model,
        final_loss,
    } = fit_on(&|_: &Example| true, "the shipped scorer", progress)?;
    for e in examples.iter().filter(|e| held_out(e)) {
        n_held += 1;
        judge(e, &model, &row_of, (&mut calibration, 1), &mut fields)?;
    }

    for var in varmap.all_vars() {
        let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        anyhow::ensure!(
            values.iter().all(|v| v.is_finite()),
            "training diverged (a weight is not finite); nothing was written"
        );
    }
    let dir = options.models.join(SCORER_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    save_weights(&varmap, &dir.join("scorer.safetensors"))?;
    std::fs::write(
        dir.join("calibration.json"),
        serde_json::to_string_pretty(&calibration)?,
    )?;
    let metrics = Metrics {
        documents: examples.iter().filter(|e| !e.real).count(),
        scans: examples.iter().filter(|e| e.scanned).count(),
        real_documents: examples.iter().filter(|e| e.real).count(),
        real_held_out: n_real_held,
        real_fields,
        held_out: n_held,
        candidates: n_candidates,
        epochs: options.epochs,
        seed: options.seed,
        final_loss,
        fields,
        seconds: started.elapsed().as_secs_f64(),
        token_vectors_sha256: super::embed::table_fingerprint(
            &options.models.join(super::EMBEDDER_DIR),
        )?,
    };
    std::fs::write(
        dir.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?,
    )?;
    std::fs::write(
        dir.join("MODEL_CARD.md"),
        model_card(options, &metrics, &calibration),
    )?;
    let _ = Scorer::load(&dir.join("scorer.safetensors"))
        .context("the weights just written do not load back")?;
    Ok(metrics)
}

/// A fitted scorer and its last epoch's mean loss.
struct Fitted {
    varmap: candle_nn::VarMap,
    model: Scorer,
    final_loss: f32,
}

/// Fits a fresh scorer (initialised from the seed) on every candidate of
/// `examples`, a real document counting [`REAL_WEIGHT`] times.
fn fit(
    examples: &[&Example],
    row_of: &dyn Fn(&Candidate) -> Vec<f32>,
    options: &TrainOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Fitted> {
    let rows: Vec<(&Candidate, [f32; 7], [f32; 7])> = examples
        .iter()
        .flat_map(|e| std::iter::repeat_n(*e, if e.real { REAL_WEIGHT } else { 1 }))
        .flat_map(|e| {
            let mask = e.labels.known.map(f32::from);
            e.candidates
                .iter()
                .map(move |c| (c, targets(c, &e.labels), mask))
        })
        .collect();
    let (varmap, model) = scorer::seeded(options.seed)?;
    let mut optimizer = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr: 2e-3,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )?;
    let mut rng = fastrand::Rng::with_seed(options.seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let batch = 256;
    let mut final_loss = 0.0;
    for epoch in 0..options.epochs {
        rng.shuffle(&mut order);
        if epoch == options.epochs * 2 / 3 {
            optimizer.set_learning_rate(5e-4);
        }
        let (mut sum, mut n) = (0.0f32, 0usize);
        for chunk in order.chunks(batch) {
            let mut x = Vec::with_capacity(chunk.len() * INPUT);
            let mut y = Vec::with_capacity(chunk.len() * FIELDS.len());
            let mut mask = Vec::with_capacity(chunk.len() * FIELDS.len());
            for &i in chunk {
                x.extend(row_of(rows[i].0));
                y.extend_from_slice(&rows[i].1);
                mask.extend_from_slice(&rows[i].2);
            }
            let shape = (chunk.len(), FIELDS.len());
            let x = Tensor::from_vec(x, (chunk.len(), INPUT), &Device::Cpu)?;
            let y = Tensor::from_vec(y, shape, &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, shape, &Device::Cpu)?;
            let loss = bce_with_logits(&model.logits(&x)?, &y, &mask)?;
            optimizer.backward_step(&loss)?;
            sum += loss.to_dtype(DType::F32)?.to_scalar::<f32>()?;
            n += 1;
        }
        final_loss = sum / n.max(1) as f32;
        progress(&format!(
            "epoch {}/{}: loss {final_loss:.4}",
            epoch + 1,
            options.epochs
        ));
    }
    Ok(Fitted {
        varmap,
        model,
        final_loss,
    })
}

/// Decides one invoice exactly as production does, records each decided
/// field in the calibration table (`times` over, a real document's
/// weight), and counts per field whether the model and the rules alone
/// had it right.
fn judge(
    e: &Example,
    model: &Scorer,
    row_of: &dyn Fn(&Candidate) -> Vec<f32>,
    (calibration, times): (&mut Calibration, usize),
    scores: &mut std::collections::BTreeMap<String, FieldScore>,
) -> Result<()> {
    let mut inv = e.rules.clone();
    if !e.candidates.is_empty() {
        let x: Vec<f32> = e.candidates.iter().flat_map(row_of).collect();
        let x = Tensor::from_vec(x, (e.candidates.len(), INPUT), &Device::Cpu)?;
        let p = model.probabilities(&x)?;
        let decision = super::decide(&e.candidates, &p, super::labelled_by_rules(&e.rules));
        let situations = super::merge(&mut inv, &e.candidates, &decision, e.read_by_ocr);
        for _ in 0..times {
            record(calibration, &inv, &situations, &e.labels);
        }
    }
    for (fi, name) in FIELDS.iter().enumerate() {
        let Some(want) = e.labels.values[fi].clone() else {
            continue;
        };
        let score = scores.entry((*name).to_string()).or_default();
        score.labelled += 1;
        if field_value(&inv, fi).is_some_and(|g| same(&g, &want)) {
            score.model_right += 1;
        }
        if field_value(&e.rules, fi).is_some_and(|g| same(&g, &want)) {
            score.rules_right += 1;
        }
    }
    Ok(())
}

/// Binary cross-entropy on logits over the labelled cells (`mask` 1),
/// in the stable form `max(x, 0) - x·y + ln(1 + e^-|x|)`: candle's own
/// takes the log of a sigmoid, which saturates to exactly 0 or 1 once the
/// scorer is sure, and its NaN gradient then wipes out every weight.
fn bce_with_logits(x: &Tensor, y: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let softplus = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let per_cell = (x.relu()? - (x * y)?)?.add(&softplus)?;
    let labelled = mask.sum_all()?.to_scalar::<f32>()?.max(1.0);
    Ok(((per_cell * mask)?.sum_all()? / f64::from(labelled))?)
}

/// Weights in a fixed order, so the same training writes the same bytes.
fn save_weights(varmap: &candle_nn::VarMap, path: &Path) -> Result<()> {
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let tensors: std::collections::BTreeMap<String, Tensor> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    candle_core::safetensors::save(&tensors.into_iter().collect(), path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Generates and reads the invoices, on every core.
fn read_examples(options: &TrainOptions) -> Result<Vec<Example>> {
    // Every k-th invoice is also scanned, spread over all layouts.
    let scan_every = options
        .documents
        .checked_div(options.scans)
        .map_or(usize::MAX, |k| k.max(1));
    let read_options = ReadOptions {
        visual_only: true,
        ..Default::default()
    };
    let mut all = in_parallel(options.documents, |i| {
        let seed = options.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
        let invoice = synth::generate(seed);
        let doc = read::read(&invoice.pdf, &read_options)
            .with_context(|| format!("synthetic invoice {seed} does not read"))?;
        let labels = Labels::of_synthetic(&invoice.truth);
        let mut out = vec![example(seed, false, false, labels.clone(), &doc.pages)];
        if i.is_multiple_of(scan_every) && i / scan_every < options.scans {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut pages = Vec::new();
            for (n, _) in doc.pages.iter().enumerate() {
                let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
                let clean = ocr::page_pgm(&invoice.pdf, number, 300)?;
                let scan = super::degrade::degrade(&clean, &mut rng)?;
                let mut read = ocr::ocr_image(&scan, false, &read_options.ocr)?;
                for p in &mut read {
                    p.number = number;
                }
                pages.extend(read);
            }
            out.push(example(seed, true, false, labels, &pages));
        }
        Ok(out)
    })?;
    all.sort_by_key(|e| (e.seed, e.scanned));
    Ok(all)
}

/// Runs `job(0..count)` on every core (at most 8) and gathers what the
/// jobs return, in no particular order. Work is handed out one index at a
/// time: a scanned document takes a hundred times longer than a text one,
/// so a fixed split would leave a core idle.
fn in_parallel<T: Send>(
    count: usize,
    job: impl Fn(usize) -> Result<Vec<T>> + Sync,
) -> Result<Vec<T>> {
    let workers = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Vec<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (next, job) = (&next, &job);
                scope.spawn(move || -> Result<Vec<T>> {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        out.extend(job(i)?);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a reader thread panicked")))
            })
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

fn example(
    seed: u64,
    scanned: bool,
    real: bool,
    labels: Labels,
    pages: &[crate::domain::Page],
) -> Example {
    let rules = super::super::rules::extract_visual(pages);
    let candidates = candidates::candidates(pages, &rules);
    Example {
        seed,
        scanned,
        real,
        layout_group: 0,
        read_by_ocr: super::read_by_ocr(pages),
        labels,
        rules,
        candidates,
    }
}

/// Reads the `tune` documents of a corpus root the way `eval
/// --visual-only` does (the text layer, OCR where there is none). A
/// document derived from a `check` one (a scan of it) is left out, and so
/// is one that does not read (its error is printed).
fn read_corpus(root: &Path) -> Result<Vec<Example>> {
    let docs: Vec<corpus::Document> = corpus::documents(root)?
        .into_iter()
        .filter(|d| d.split == corpus::TUNE && !d.source_in_other_split)
        .collect();
    let read_options = ReadOptions {
        visual_only: true,
        ..Default::default()
    };
    in_parallel(docs.len(), |i| {
        let d = &docs[i];
        let bytes =
            std::fs::read(&d.path).with_context(|| format!("cannot read {}", d.path.display()))?;
        let doc = match read::read(&bytes, &read_options) {
            Ok(doc) => doc,
            Err(e) => {
                eprintln!("{}: {e}", d.path.display());
                return Ok(Vec::new());
            }
        };
        // Real documents sort after every synthetic one; the held-out
        // eighth is drawn from them the same way.
        let seed = u64::MAX / 2 + i as u64;
        let labels = Labels::of_corpus(&d.fields);
        let ocr = super::read_by_ocr(&doc.pages);
        let mut e = example(seed, ocr, true, labels, &doc.pages);
        e.layout_group = stable_hash(&d.layout_group);
        Ok(vec![e])
    })
    .map(|mut v| {
        v.sort_by_key(|e| e.seed);
        v
    })
}
/// FNV-1a: the same on every machine and run, unlike the std hasher, so
/// the folds (and the weights) are reproducible.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn field_value(inv: &ExtractedInvoice, field: usize) -> Option<Value> {
    let id = |f: &Option<Field<String>>| f.as_ref().map(|f| Value::Id(f.value.clone()));
    let date = |f: &Option<Field<NaiveDate>>| f.as_ref().map(|f| Value::Date(f.value));
    let amount = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| Value::Amount(f.value));
    match field {
        0 => id(&inv.invoice_number),
        1 => date(&inv.invoice_date),
        2 => date(&inv.due_date),
        3 => id(&inv.po_number),
        4 => amount(&inv.net_amount),
        5 => amount(&inv.tax_amount),
        _ => amount(&inv.total_amount),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Id(x), Value::Id(y)) => compact(x) == compact(y),
        _ => a == b,
    }
}

/// 1 for each field whose true value this candidate holds.
fn targets(c: &Candidate, labels: &Labels) -> [f32; 7] {
    let mut t = [0.0; 7];
    for (field, slot) in t.iter_mut().enumerate() {
        if c.value.fits(field)
            && labels.values[field]
                .as_ref()
                .is_some_and(|v| same(v, &c.value))
        {
            *slot = 1.0;
        }
    }
    t
}

/// Counts every reported field of a held-out invoice; a field reported
/// where the truth has none counts as wrong, one not labelled not at all.
fn record(
    cal: &mut Calibration,
    inv: &ExtractedInvoice,
    situations: &[Situation; 7],
    labels: &Labels,
) {
    for (field, s) in situations.iter().enumerate() {
        let Some(got) = field_value(inv, field) else {
            continue;
        };
        if s.rules_confidence_stands() || !labels.known[field] {
            continue;
        }
        let right = labels.values[field]
            .as_ref()
            .is_some_and(|want| same(&got, want));
        cal.record(s, right);
    }
}

/// One table row per field: labelled, right with the model, right with the
/// rules alone.
fn field_rows<'a>(s: &mut String, fields: impl Iterator<Item = (&'a String, &'a FieldScore)>) {
    use std::fmt::Write;
    for (name, f) in fields {
        let pct = |n: usize| 100.0 * n as f64 / f.labelled.max(1) as f64;
        let _ = writeln!(
            s,
            "| {name} | {} | {:.1}% | {:.1}% |",
            f.labelled,
            pct(f.model_right),
            pct(f.rules_right)
        );
    }
}

fn model_card(options: &TrainOptions, m: &Metrics, cal: &Calibration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Extraction scorer: model card\n");
    let _ = writeln!(
        s,
        "Written by `apflow train` on {} ({:.0} s). Do not edit by hand: rerun training.\n",
        chrono::Local::now().format("%Y-%m-%d"),
        m.seconds
    );
    let _ = writeln!(s, "## What it is\n");
    let _ = writeln!(
        s,
        "A multi-layer perceptron ({} → 96 → 48 → {}, ReLU, one sigmoid per field) that scores \
         every date, amount and id-like candidate on an invoice page for the fields {}. Its input \
         is the embedding of the text left of and above the candidate (2 × {DIM}; the mean and the maximum of \
         its word pieces' vectors, distilled from all-MiniLM-L6-v2 by `apflow distill`) and {} hand-made features (position, the rules' choice, label matches, \
         amount arithmetic, formats; see `src/extract/model/candidates.rs`).\n",
        INPUT,
        FIELDS.len(),
        FIELDS.join(", "),
        candidates::FEATURES.len()
    );
    let _ = writeln!(s, "## Data\n");
    let _ = writeln!(
        s,
        "{} synthetic invoices from `src/extract/model/synth.rs` (layouts, languages en/de/fr/nl/es/it/pl, \
         label wordings, date and amount notations, distractors, multi-page tables), read through \
         the product's text-layer reader; {} of them also rendered at 300 dpi, degraded (skew, blur, \
         noise, lower resolution, faded contrast) and read by Tesseract. \
         Every 8th invoice is held out for calibration and the metrics below. {} candidates in all.\n",
        m.documents - m.scans,
        m.scans,
        m.candidates
    );
    if m.real_documents > 0 {
        let _ = writeln!(
            s,
            "Besides them, {} real documents of the `tune` split of {} (third-party invoices, \
             scans and receipts; see its README), read as a person sees them (embedded XML \
             ignored, OCR where there is no text layer) and labelled from its `truth.jsonl`; a \
             field the truth does not name costs nothing. Each counts {REAL_WEIGHT} times. \
             No `check` document is read, nor a scan of one. Their layout groups (generator \
             family, else vendor) are split into two folds; a scorer fitted without one fold \
             decides it, for calibration and the real-document table below ({} documents), and \
             the shipped scorer is then fitted on all of them.\n",
            m.real_documents,
            options
                .corpus
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
            m.real_held_out
        );
    }
    let _ = writeln!(s, "## Training command\n");
    let _ = writeln!(
        s,
        "```\napflow train --documents {} --scans {} --epochs {} --seed {}{}\n```\n",
        options.documents,
        options.scans,
        options.epochs,
        options.seed,
        options
            .corpus
            .iter()
            .map(|p| format!(" --corpus {}", p.display()))
            .collect::<String>()
    );
    let _ = writeln!(
        s,
        "AdamW (lr 2e-3, then 5e-4 for the last third), batch 256, binary cross-entropy; final \
         training loss {:.4}. Weights are initialised from the seed, so the same command on the \
         same machine writes the same weights. Trained on the token table with sha256 `{}` \
         (`apflow distill` writes it on each machine; `apflow eval` warns when its table differs, \
         and a scorer retrained on that machine matches it again).\n",
        m.final_loss, m.token_vectors_sha256
    );
    let _ = writeln!(s, "## Held-out synthetic invoices ({})\n", m.held_out);
    let _ = writeln!(
        s,
        "| field | labelled | model + rules | rules only |\n|---|---|---|---|"
    );
    field_rows(&mut s, m.fields.iter());
    let _ = writeln!(
        s,
        "\nThese are synthetic: real invoices are measured with `apflow eval` (see README → Accuracy).\n"
    );
    if m.real_held_out > 0 {
        let _ = writeln!(
            s,
            "## Real `tune` documents, layouts unseen by the deciding scorer ({})\n\n\
             Each decided by the scorer fitted without its fold of layout groups. Calibration \
             counts these decisions {REAL_WEIGHT} times next to the held-out synthetic ones, so \
             confidence reflects layouts never trained on. `apflow eval --visual-only` on the \
             corpus root reports the `check` split, which no training saw.\n",
            m.real_held_out
        );
        let _ = writeln!(
            s,
            "| field | labelled | model + rules | rules only |\n|---|---|---|---|"
        );
        field_rows(&mut s, m.real_fields.iter().filter(|(_, f)| f.labelled > 0));
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Calibration table (held-out decisions)\n");
    let _ = writeln!(
        s,
        "| probability from | scanned | rules agree | validated | decided | right | confidence |\n|---|---|---|---|---|---|---|"
    );
    for (b, by_scan) in cal.cells.iter().enumerate() {
        let from = if b == 0 {
            0.0
        } else {
            super::calibration::BANDS[b - 1]
        };
        for (scanned, by_agree) in by_scan.iter().enumerate() {
            for (agrees, pair) in by_agree.iter().enumerate() {
                for (validated, cell) in pair.iter().enumerate() {
                    if cell.decided == 0 {
                        continue;
                    }
                    let situation = Situation {
                        probability: from.max(0.0001),
                        scanned: scanned == 1,
                        agrees: agrees == 1,
                        validated: validated == 1,
                    };
                    let _ = writeln!(
                        s,
                        "| {from:.2} | {} | {} | {} | {} | {} | {:.3} |",
                        situation.scanned,
                        situation.agrees,
                        situation.validated,
                        cell.decided,
                        cell.right,
                        cal.confidence(&situation)
                    );
                }
            }
        }
    }
    let _ = writeln!(s, "\n## Limits\n");
    let _ = writeln!(
        s,
        "Vendor name, VAT id, IBAN, currency and line items are still found by the rules (with \
         their own confidences). The synthetic layouts are many but finite; a layout unlike all of \
         them falls back toward the rules, and its confidence with it."
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_stays_finite_when_the_scorer_is_certain() {
        let loss = loss_of([200.0, -200.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]);
        // (0 + 200 + ln 2) / 3
        assert!((loss - (200.0 + 2f32.ln()) / 3.0).abs() < 1e-3, "{loss}");
    }

    #[test]
    fn an_unlabelled_field_costs_nothing() {
        // The badly wrong middle cell is not labelled.
        let loss = loss_of([200.0, -200.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0]);
        assert!((loss - 2f32.ln() / 2.0).abs() < 1e-3, "{loss}");
    }

    /// The masked loss of one row of logits against its targets.
    fn loss_of(logits: [f32; 3], targets: [f32; 3], mask: [f32; 3]) -> f32 {
        let row = |v: [f32; 3]| Tensor::new(&[v], &Device::Cpu).expect("a 1x3 tensor");
        bce_with_logits(&row(logits), &row(targets), &row(mask))
            .expect("the loss computes")
            .to_scalar::<f32>()
            .expect("a scalar loss")
    }

    #[test]
    fn corpus_labels_know_only_what_the_truth_names() {
        let l = Labels::of_corpus(&serde_json::json!({
            "invoice_date": "2018-10-19",
            "total_amount": "60.30",
            "tax_amount": "not an amount",
            "vendor_name": "INDAH GIFT & HOME DECO"
        }));
        assert_eq!(l.known, [false, true, false, false, false, false, true]);
        assert_eq!(l.values[6], Some(Value::Amount(Decimal::new(6030, 2))));
        let c = super::super::tests::amount(6030);
        assert_eq!(targets(&c, &l), [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
