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
}

/// One read invoice, ready for training.
struct Example {
    seed: u64,
    /// Rendered, degraded and OCR'd rather than read from the text layer.
    scanned: bool,
    /// What extraction sees of that: the words came from OCR.
    read_by_ocr: bool,
    truth: Truth,
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
    let examples = read_examples(options)?;
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

    let held_out = |e: &Example| e.seed % 8 == 7;
    let rows: Vec<(&Candidate, [f32; 7])> = examples
        .iter()
        .filter(|e| !held_out(e))
        .flat_map(|e| e.candidates.iter().map(move |c| (c, targets(c, &e.truth))))
        .collect();
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
            for &i in chunk {
                x.extend(row_of(rows[i].0));
                y.extend_from_slice(&rows[i].1);
            }
            let x = Tensor::from_vec(x, (chunk.len(), INPUT), &Device::Cpu)?;
            let y = Tensor::from_vec(y, (chunk.len(), FIELDS.len()), &Device::Cpu)?;
            let loss = bce_with_logits(&model.logits(&x)?, &y)?;
            optimizer.backward_step(&loss)?;
            sum += loss.to_dtype(DType::F32)?.to_scalar::<f32>()?;
            n += 1;
        }
        final_loss = sum / n.max(1) as f32;
        progress(&format!(
            "epoch {}/{}: loss {final_loss:.4}, {:.0}s",
            epoch + 1,
            options.epochs,
            started.elapsed().as_secs_f64()
        ));
    }

    // Decide the held-out invoices exactly as production does.
    let mut calibration = Calibration::default();
    let mut fields: std::collections::BTreeMap<String, FieldScore> = FIELDS
        .iter()
        .map(|f| ((*f).to_string(), FieldScore::default()))
        .collect();
    let mut n_held = 0;
    for e in examples.iter().filter(|e| held_out(e)) {
        n_held += 1;
        let mut inv = e.rules.clone();
        if !e.candidates.is_empty() {
            let x: Vec<f32> = e.candidates.iter().flat_map(row_of).collect();
            let x = Tensor::from_vec(x, (e.candidates.len(), INPUT), &Device::Cpu)?;
            let p = model.probabilities(&x)?;
            let decision = super::decide(&e.candidates, &p, super::labelled_by_rules(&e.rules));
            let situations = super::merge(&mut inv, &e.candidates, &decision, e.read_by_ocr);
            record(&mut calibration, &inv, &situations, &e.truth);
        }
        for (fi, name) in FIELDS.iter().enumerate() {
            let Some(want) = truth_value(&e.truth, fi) else {
                continue;
            };
            let score = fields.entry((*name).to_string()).or_default();
            score.labelled += 1;
            if field_value(&inv, fi).is_some_and(|g| same(&g, &want)) {
                score.model_right += 1;
            }
            if field_value(&e.rules, fi).is_some_and(|g| same(&g, &want)) {
                score.rules_right += 1;
            }
        }
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
        documents: examples.len(),
        scans: examples.iter().filter(|e| e.scanned).count(),
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

/// Mean binary cross-entropy on logits, in the stable form
/// `max(x, 0) - x·y + ln(1 + e^-|x|)`: candle's own takes the log of a
/// sigmoid, which saturates to exactly 0 or 1 once the scorer is sure, and
/// its NaN gradient then wipes out every weight.
fn bce_with_logits(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let softplus = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((x.relu()? - (x * y)?)?.add(&softplus)?.mean_all()?)
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
    let workers = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8);
    // Every k-th invoice is also scanned, spread over all layouts.
    let scan_every = options
        .documents
        .checked_div(options.scans)
        .map_or(usize::MAX, |k| k.max(1));
    // Work is handed out one invoice at a time: scanned ones take a
    // hundred times longer, so a fixed split would leave a core idle.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Vec<Example>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let next = &next;
                scope.spawn(move || -> Result<Vec<Example>> {
                    let read_options = ReadOptions {
                        visual_only: true,
                        ..Default::default()
                    };
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= options.documents {
                            break;
                        }
                        let seed = options.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
                        let invoice = synth::generate(seed);
                        let doc = read::read(&invoice.pdf, &read_options)
                            .with_context(|| format!("synthetic invoice {seed} does not read"))?;
                        out.push(example(seed, false, invoice.truth.clone(), &doc.pages));
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
                            out.push(example(seed, true, invoice.truth, &pages));
                        }
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
    all.sort_by_key(|e| (e.seed, e.scanned));
    Ok(all)
}

fn example(seed: u64, scanned: bool, truth: Truth, pages: &[crate::domain::Page]) -> Example {
    let rules = super::super::rules::extract_visual(pages);
    let candidates = candidates::candidates(pages, &rules);
    Example {
        seed,
        scanned,
        read_by_ocr: super::read_by_ocr(pages),
        truth,
        rules,
        candidates,
    }
}

fn truth_value(t: &Truth, field: usize) -> Option<Value> {
    match field {
        0 => Some(Value::Id(t.invoice_number.clone())),
        1 => Some(Value::Date(t.invoice_date)),
        2 => t.due_date.map(Value::Date),
        3 => t.po_number.clone().map(Value::Id),
        4 => t.net_amount.map(Value::Amount),
        5 => t.tax_amount.map(Value::Amount),
        _ => Some(Value::Amount(t.total_amount)),
    }
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
fn targets(c: &Candidate, truth: &Truth) -> [f32; 7] {
    let mut t = [0.0; 7];
    for (field, slot) in t.iter_mut().enumerate() {
        if c.value.fits(field) && truth_value(truth, field).is_some_and(|v| same(&v, &c.value)) {
            *slot = 1.0;
        }
    }
    t
}

/// Counts every reported field of a held-out invoice; a field reported
/// where the truth has none counts as wrong.
fn record(
    cal: &mut Calibration,
    inv: &ExtractedInvoice,
    situations: &[Situation; 7],
    truth: &Truth,
) {
    for (field, s) in situations.iter().enumerate() {
        let Some(got) = field_value(inv, field) else {
            continue;
        };
        if s.rules_confidence_stands() {
            continue;
        }
        let right = truth_value(truth, field).is_some_and(|want| same(&got, &want));
        cal.record(s, right);
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
         noise, lower resolution, faded contrast) and read by Tesseract. No third-party invoice is used. \
         Every 8th invoice is held out for calibration and the metrics below. {} candidates in all.\n",
        m.documents - m.scans,
        m.scans,
        m.candidates
    );
    let _ = writeln!(s, "## Training command\n");
    let _ = writeln!(
        s,
        "```\napflow train --documents {} --scans {} --epochs {} --seed {}\n```\n",
        options.documents, options.scans, options.epochs, options.seed
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
    for (name, f) in &m.fields {
        let pct = |n: usize| 100.0 * n as f64 / f.labelled.max(1) as f64;
        let _ = writeln!(
            s,
            "| {name} | {} | {:.1}% | {:.1}% |",
            f.labelled,
            pct(f.model_right),
            pct(f.rules_right)
        );
    }
    let _ = writeln!(
        s,
        "\nThese are synthetic: real invoices are measured with `apflow eval` (see README → Accuracy).\n"
    );
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
        let x = Tensor::new(&[[200.0f32, -200.0, 0.0]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[[1.0f32, 1.0, 0.0]], &Device::Cpu).unwrap();
        let loss = bce_with_logits(&x, &y).unwrap().to_scalar::<f32>().unwrap();
        // (0 + 200 + ln 2) / 3
        assert!((loss - (200.0 + 2f32.ln()) / 3.0).abs() < 1e-3, "{loss}");
    }
}
