//! `apflow eval DIR`: per-field accuracy of extraction against the folder's
//! `truth.jsonl`, scored by the corpus convention: amounts equal to the
//! cent, dates exact, ids after removing spaces and case, names and line
//! descriptions fuzzy (folded, containment or similarity >= 0.85), a line
//! item correct when all its labelled fields are. Only labelled fields
//! count: an absent key means "not labelled".

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

pub async fn run(
    dir: &Path,
    visual_only: bool,
    json: bool,
    verbose: bool,
    settings: &Settings,
) -> Result<i32> {
    let truth_path = dir.join("truth.jsonl");
    let text = std::fs::read_to_string(&truth_path)
        .with_context(|| format!("cannot read {}", truth_path.display()))?;
    let mut tallies: BTreeMap<&str, Tally> =
        FIELDS.iter().map(|f| (*f, Tally::default())).collect();
    let mut lines = Tally::default();
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
            Ok(bytes) => match read::read_document(
                Arc::new(bytes),
                settings.read_options(visual_only),
                settings.read_timeout,
            )
            .await
            {
                Ok(doc) => invoice_json(&extract::extract(&doc)),
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
            if g.is_some_and(|g| field_eq(f, want, g)) {
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
            let mut used = vec![false; got_lines.len()];
            for w in want_lines {
                if let Some(j) =
                    (0..got_lines.len()).find(|&j| !used[j] && line_eq(w, &got_lines[j]))
                {
                    used[j] = true;
                    lines.correct += 1;
                }
            }
        }
    }
    let elapsed = started.elapsed();
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
            serde_json::json!({"documents": docs, "errors": errors, "visual_only": visual_only, "fields": fields,
            "line_items": {"labelled": lines.labelled, "correct": lines.correct, "accuracy": pct(&lines)}, "seconds": elapsed.as_secs_f64()})
        );
        return Ok(0);
    }
    println!(
        "{} documents from {} ({}), {errors} unreadable, {:.1}s",
        docs,
        dir.display(),
        if visual_only {
            "visual only"
        } else {
            "e-invoice XML first"
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
    Ok(0)
}
