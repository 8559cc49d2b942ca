//! Candidates: every value on the page that could be one of the model's
//! fields, with what the model needs to judge it.
//!
//! Rules find a value by its label; a candidate is found by its *shape*
//! alone (every date, every amount, every id-like token), so a field whose
//! label no rule knows still has its value among the candidates. The model
//! then decides which candidate is which field from the words around it
//! (embedded, see `embed`), its place on the page and hand-made features
//! listed in [`FEATURES`]. Pure: no model, no I/O.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::super::normalize::{
    currency_code, has_two_decimals, is_thousands_group, parse_amount, parse_date,
};
use super::super::rules::{Cell, Style, cells_of, document_style, label_kinds};
use super::FIELDS;
use crate::domain::{BBox, ExtractedInvoice, Field, Page};

/// What a candidate's value is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Id(String),
    Date(NaiveDate),
    Amount(Decimal),
}

impl Value {
    /// The value as [`same_value`] compares it (an id without its
    /// decoration), usable as a map key.
    fn key(&self) -> Value {
        match self {
            Value::Id(s) => Value::Id(compact(s)),
            other => other.clone(),
        }
    }

    fn kind(&self) -> usize {
        match self {
            Value::Id(_) => 0,
            Value::Date(_) => 1,
            Value::Amount(_) => 2,
        }
    }

    /// Whether this value can be `field` at all (a date is never a total).
    pub fn fits(&self, field: usize) -> bool {
        matches!(
            (self, FIELDS[field]),
            (Value::Id(_), "invoice_number" | "po_number")
                | (Value::Date(_), "invoice_date" | "due_date")
                | (
                    Value::Amount(_),
                    "net_amount" | "tax_amount" | "total_amount"
                )
        )
    }
}

/// One value found on a page, and its surroundings.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub value: Value,
    pub page: u32,
    pub bbox: BBox,
    /// The words before it in its cell, else the nearest cell to its left.
    pub left: String,
    /// The cell just above it.
    pub above: String,
    /// Hand-made features, in [`FEATURES`] order.
    pub features: Vec<f32>,
}

/// Names of the hand-made features, for the model card and debugging.
pub const FEATURES: &[&str] = &[
    "kind_id",
    "kind_date",
    "kind_amount",
    "x_center",
    "y_center",
    "x_right",
    "first_page",
    "last_page",
    "rules_invoice_number",
    "rules_invoice_date",
    "rules_due_date",
    "rules_po_number",
    "rules_net_amount",
    "rules_tax_amount",
    "rules_total_amount",
    "left_label_invoice_number",
    "left_label_invoice_date",
    "left_label_due_date",
    "left_label_po_number",
    "left_label_net_amount",
    "left_label_tax_amount",
    "left_label_total_amount",
    "above_label_invoice_number",
    "above_label_invoice_date",
    "above_label_due_date",
    "above_label_po_number",
    "above_label_net_amount",
    "above_label_tax_amount",
    "above_label_total_amount",
    "amount_is_largest",
    "amount_rank",
    "amount_is_a_sum",
    "amount_is_an_addend",
    "amount_negative",
    "amount_magnitude",
    "amount_has_currency",
    "date_is_earliest",
    "date_is_latest",
    "date_days_after_earliest",
    "id_length",
    "id_all_digits",
    "id_has_letters",
    "id_has_separator",
    "id_digit_share",
    "same_value_count",
    "left_empty",
    "above_empty",
    "cell_words",
    "line_cells",
    "last_in_cell",
    "first_in_cell",
    "amounts_on_line",
    "word_confidence",
    "left_has_percent",
];

/// Every candidate on the pages, with features; `rules` is what the
/// label rules found (their choice is one feature among many).
pub fn candidates(pages: &[Page], rules: &ExtractedInvoice) -> Vec<Candidate> {
    let style = document_style(pages);
    let mut out: Vec<Raw> = Vec::new();
    let last_page = pages.len();
    for (pi, page) in pages.iter().enumerate() {
        let grid = cells_of(page);
        for (li, line) in grid.iter().enumerate() {
            for (ci, cell) in line.iter().enumerate() {
                for found in values_in(cell, &style) {
                    let left = if found.prefix.trim().is_empty() {
                        left_cell(line, ci)
                    } else {
                        found.prefix.clone()
                    };
                    out.push(Raw {
                        value: found.value,
                        page: page.number,
                        bbox: found.bbox,
                        left,
                        above: cell_above(&grid, li, &found.bbox).unwrap_or_default(),
                        page_index: pi,
                        last_page: pi + 1 == last_page,
                        page_size: (page.width.max(1.0), page.height.max(1.0)),
                        cell_words: cell.text.split_whitespace().count(),
                        line_cells: line.len(),
                        first_in_cell: found.first,
                        last_in_cell: found.last,
                        confidence: found.confidence,
                        has_currency: found.has_currency,
                        amounts_on_line: 0,
                        line_key: (pi, li),
                    });
                }
            }
        }
    }
    let amounts: Vec<Decimal> = {
        let mut a: Vec<Decimal> = out
            .iter()
            .filter_map(|r| match r.value {
                Value::Amount(v) => Some(v),
                _ => None,
            })
            .collect();
        a.sort();
        a.dedup();
        a
    };
    let dates: Vec<NaiveDate> = out
        .iter()
        .filter_map(|r| match r.value {
            Value::Date(d) => Some(d),
            _ => None,
        })
        .collect();
    let (earliest, latest) = (dates.iter().min().copied(), dates.iter().max().copied());
    let per_line: std::collections::HashMap<(usize, usize), usize> =
        out.iter().fold(Default::default(), |mut m, r| {
            if matches!(r.value, Value::Amount(_)) {
                *m.entry(r.line_key).or_default() += 1;
            }
            m
        });
    for r in &mut out {
        r.amounts_on_line = per_line.get(&r.line_key).copied().unwrap_or(0);
    }
    let rules_fields = rules_choices(rules);
    let doc = DocumentFacts::of(&out, amounts, earliest, latest);
    out.iter()
        .map(|r| {
            let features = features(r, &doc, &rules_fields);
            Candidate {
                value: r.value.clone(),
                page: r.page,
                bbox: r.bbox,
                left: r.left.clone(),
                above: r.above.clone(),
                features,
            }
        })
        .collect()
}

/// A candidate before its document-wide features are known.
struct Raw {
    value: Value,
    page: u32,
    bbox: BBox,
    left: String,
    above: String,
    page_index: usize,
    last_page: bool,
    page_size: (f32, f32),
    cell_words: usize,
    line_cells: usize,
    first_in_cell: bool,
    last_in_cell: bool,
    confidence: f32,
    has_currency: bool,
    amounts_on_line: usize,
    line_key: (usize, usize),
}

/// What the rules chose per model field: the value and where it was.
type RulesChoice = Option<(Value, Option<(u32, BBox)>)>;

fn rules_choices(inv: &ExtractedInvoice) -> [RulesChoice; 7] {
    let id = |f: &Option<Field<String>>| {
        f.as_ref()
            .map(|f| (Value::Id(compact(&f.value)), f.location))
    };
    let date =
        |f: &Option<Field<NaiveDate>>| f.as_ref().map(|f| (Value::Date(f.value), f.location));
    let amount =
        |f: &Option<Field<Decimal>>| f.as_ref().map(|f| (Value::Amount(f.value), f.location));
    [
        id(&inv.invoice_number),
        date(&inv.invoice_date),
        date(&inv.due_date),
        id(&inv.po_number),
        amount(&inv.net_amount),
        amount(&inv.tax_amount),
        amount(&inv.total_amount),
    ]
}

/// Ids compare without spaces and case.
pub fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Id(x), Value::Id(y)) => compact(x) == compact(y),
        _ => a == b,
    }
}

fn overlaps(a: BBox, b: BBox) -> bool {
    a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

/// What a candidate's features compare it with, computed once per
/// document: counting equal values or testing sums candidate by candidate
/// made extraction quadratic in the pages (a 400-page PDF took 9 s).
struct DocumentFacts {
    /// Distinct amounts, ascending.
    amounts: Vec<Decimal>,
    earliest: Option<NaiveDate>,
    latest: Option<NaiveDate>,
    /// How many candidates carry each value.
    counts: std::collections::HashMap<Value, usize>,
    /// Per distinct amount: (the sum of two others, an addend of a sum).
    sums: std::collections::HashMap<Decimal, (bool, bool)>,
}

impl DocumentFacts {
    fn of(
        all: &[Raw],
        amounts: Vec<Decimal>,
        earliest: Option<NaiveDate>,
        latest: Option<NaiveDate>,
    ) -> DocumentFacts {
        let mut counts = std::collections::HashMap::new();
        for r in all {
            *counts.entry(r.value.key()).or_insert(0) += 1;
        }
        let set: std::collections::HashSet<Decimal> = amounts.iter().copied().collect();
        let sums = amounts
            .iter()
            .map(|&v| {
                // Two different other non-zero amounts that add up to v.
                let is_sum = amounts.iter().any(|&x| {
                    let y = v - x;
                    x != v && y != v && x != y && !x.is_zero() && !y.is_zero() && set.contains(&y)
                });
                let is_addend = !v.is_zero()
                    && amounts
                        .iter()
                        .any(|&x| x != v && !x.is_zero() && set.contains(&(x + v)));
                (v, (is_sum, is_addend))
            })
            .collect();
        DocumentFacts {
            amounts,
            earliest,
            latest,
            counts,
            sums,
        }
    }
}

fn features(r: &Raw, doc: &DocumentFacts, rules: &[RulesChoice; 7]) -> Vec<f32> {
    let (amounts, earliest, latest) = (&doc.amounts, doc.earliest, doc.latest);
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    let mut f = Vec::with_capacity(FEATURES.len());
    let kind = r.value.kind();
    f.extend([b(kind == 0), b(kind == 1), b(kind == 2)]);
    let (w, h) = r.page_size;
    f.push(((r.bbox.x0 + r.bbox.x1) / 2.0 / w).clamp(0.0, 1.0));
    f.push(((r.bbox.y0 + r.bbox.y1) / 2.0 / h).clamp(0.0, 1.0));
    f.push((r.bbox.x1 / w).clamp(0.0, 1.0));
    f.push(b(r.page_index == 0));
    f.push(b(r.last_page));
    for choice in rules {
        f.push(b(choice.as_ref().is_some_and(|(v, loc)| {
            same_value(v, &r.value) && loc.is_none_or(|(p, bb)| p == r.page && overlaps(bb, r.bbox))
        })));
    }
    let left = label_kinds(&r.left);
    let above = label_kinds(&r.above);
    f.extend(left.iter().map(|&x| b(x)));
    f.extend(above.iter().map(|&x| b(x)));
    match &r.value {
        Value::Amount(v) => {
            let n = amounts.len().max(1);
            let rank = amounts.binary_search(v).unwrap_or(0);
            let (is_sum, is_addend) = doc.sums.get(v).copied().unwrap_or((false, false));
            f.extend([
                b(rank + 1 == n),
                (rank as f32 + 1.0) / n as f32,
                b(is_sum),
                b(is_addend),
                b(v.is_sign_negative()),
                (v.abs().to_f32().unwrap_or(0.0) + 1.0).log10() / 6.0,
                b(r.has_currency),
            ]);
        }
        _ => f.extend([0.0; 7]),
    }
    match &r.value {
        Value::Date(d) => {
            let after = earliest.map_or(0, |e| (*d - e).num_days());
            f.extend([
                b(Some(*d) == earliest),
                b(Some(*d) == latest),
                (after as f32 / 60.0).clamp(0.0, 2.0),
            ]);
        }
        _ => f.extend([0.0; 3]),
    }
    match &r.value {
        Value::Id(s) => {
            let n = s.chars().count().max(1) as f32;
            let digits = s.chars().filter(char::is_ascii_digit).count() as f32;
            f.extend([
                (n / 20.0).min(2.0),
                b(digits == n),
                b(s.chars().any(char::is_alphabetic)),
                b(s.contains(['-', '/', '.', '_'])),
                digits / n,
            ]);
        }
        _ => f.extend([0.0; 5]),
    }
    let same = doc.counts.get(&r.value.key()).copied().unwrap_or(0);
    f.push((same as f32 / 4.0).min(1.5));
    f.push(b(r.left.trim().is_empty()));
    f.push(b(r.above.trim().is_empty()));
    f.push((r.cell_words as f32 / 10.0).min(2.0));
    f.push((r.line_cells as f32 / 10.0).min(2.0));
    f.push(b(r.last_in_cell));
    f.push(b(r.first_in_cell));
    f.push((r.amounts_on_line as f32 / 5.0).min(2.0));
    f.push(r.confidence);
    f.push(b(r.left.contains('%')));
    debug_assert_eq!(f.len(), FEATURES.len());
    f
}

/// A value found inside one cell.
struct Found {
    value: Value,
    /// The cell's words before the value.
    prefix: String,
    bbox: BBox,
    first: bool,
    last: bool,
    confidence: f32,
    has_currency: bool,
}

/// Every date, amount and id-like token in a cell. A token may be more
/// than one kind (`471102` is an id; `1.190,00` only an amount).
fn values_in(cell: &Cell, style: &Style) -> Vec<Found> {
    let words: Vec<&str> = cell.text.split_whitespace().collect();
    let n = words.len();
    let mut out = Vec::new();
    // Word boxes are not kept per cell; spread the cell's box over its
    // characters so each value gets its own part of it.
    let chars: usize = cell.text.chars().count().max(1);
    let starts: Vec<usize> = {
        let mut s = Vec::with_capacity(n);
        let mut at = 0;
        for w in &words {
            s.push(at);
            at += w.chars().count() + 1;
        }
        s
    };
    let span = |from: usize, to: usize| {
        let width = cell.bbox.x1 - cell.bbox.x0;
        let end = starts[to] + words[to].chars().count();
        BBox {
            x0: cell.bbox.x0 + width * starts[from] as f32 / chars as f32,
            x1: cell.bbox.x0 + width * end as f32 / chars as f32,
            ..cell.bbox
        }
    };
    let mut push = |value: Value, from: usize, to: usize, has_currency: bool| {
        out.push(Found {
            value,
            prefix: words[..from].join(" "),
            bbox: span(from, to),
            first: from == 0,
            last: to + 1 == n,
            confidence: 1.0,
            has_currency,
        });
    };
    let mut taken = vec![false; n];
    // Dates written in words first: "5 de marzo de 2026", "5. März 2026",
    // "Mar 5, 2026".
    for len in [5, 3] {
        for i in 0..(n + 1).saturating_sub(len) {
            let span = &words[i..i + len];
            if taken[i..i + len].iter().any(|t| *t)
                || !span.iter().any(|w| w.chars().any(char::is_alphabetic))
            {
                continue;
            }
            if let Some(d) = parse_date(&span.join(" "), style.day_first) {
                push(Value::Date(d), i, i + len - 1, false);
                taken[i..i + len].fill(true);
            }
        }
    }
    for i in 0..n {
        if taken[i] {
            continue;
        }
        let w = words[i].trim_matches(|c: char| matches!(c, ':' | ',' | ';' | '(' | ')'));
        if w.is_empty() {
            continue;
        }
        if let Some(d) = parse_date(w, style.day_first) {
            push(Value::Date(d), i, i, false);
            continue;
        }
        let next_is_percent = words.get(i + 1).is_some_and(|n| *n == "%");
        let currency_beside = |j: Option<usize>| {
            j.and_then(|j| words.get(j))
                .is_some_and(|w| currency_code(w).is_some())
        };
        let has_currency = w.contains(['€', '$', '£'])
            || currency_beside(i.checked_sub(1))
            || currency_beside(Some(i + 1));
        if !w.ends_with('%')
            && !next_is_percent
            && looks_like_amount(words[i], has_currency)
            && let Some(v) = amount_of(&words, i, style)
        {
            // "1 234,56": the thousands group printed as its own word.
            let from = if i > 0 && is_thousands_group(words[i - 1]) && words[i].len() >= 6 {
                i - 1
            } else {
                i
            };
            push(Value::Amount(v), from, i, has_currency);
            continue;
        }
        if is_id_like(w) {
            push(Value::Id(w.to_string()), i, i, false);
        }
    }
    out
}

/// `12,50`, `1.234,56`, `-12.00`, `(12.00)`, `12,00-`, `€12.50`, or a
/// bare number next to a currency: two decimals or a currency, so that
/// quantities, postcodes and years are not amounts.
fn looks_like_amount(word: &str, has_currency: bool) -> bool {
    let core = word.trim_matches(|c: char| !c.is_ascii_digit());
    if core.is_empty() {
        return false;
    }
    has_two_decimals(core)
        || (has_currency
            && core
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ','))
}

fn amount_of(words: &[&str], i: usize, style: &Style) -> Option<Decimal> {
    if i > 0 && is_thousands_group(words[i - 1]) && words[i].len() >= 6 {
        let joined = format!("{}{}", words[i - 1], words[i]);
        if let Some(v) = parse_amount(&joined, style.decimals) {
            return Some(v);
        }
    }
    parse_amount(words[i], style.decimals)
}

/// A token an invoice or order number could be: holds a digit, 3 to 40
/// characters, mostly letters, digits and separators.
fn is_id_like(w: &str) -> bool {
    // "100ml", "250g", "12kg": a quantity with its unit.
    let letters = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == ',' || c == '.');
    if letters.len() < w.len()
        && (1..=3).contains(&letters.len())
        && letters.chars().all(|c| c.is_lowercase())
    {
        return false;
    }
    let n = w.chars().count();
    (3..=40).contains(&n)
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '.' | '_' | '#'))
        && !w.ends_with('.')
        && !w.contains("..")
}

/// The nearest cell to the left on the same line, skipping a lone
/// currency code between a label and its amount.
fn left_cell(line: &[Cell], ci: usize) -> String {
    line[..ci]
        .iter()
        .rev()
        .find(|c| currency_code(c.text.trim()).is_none())
        .map(|c| c.text.clone())
        .unwrap_or_default()
}

/// The text of the cell on one of the two lines above that overlaps `bbox`
/// horizontally.
fn cell_above(grid: &[Vec<Cell>], line: usize, bbox: &BBox) -> Option<String> {
    grid[..line].iter().rev().take(2).find_map(|l| {
        l.iter()
            .find(|c| c.bbox.x0 < bbox.x1 && c.bbox.x1 > bbox.x0 && bbox.y0 - c.bbox.y1 < 30.0)
            .map(|c| c.text.clone())
    })
}

/// The candidate's value as its field's text in eval/JSON form.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Id(s) => s.clone(),
        Value::Date(d) => d.to_string(),
        Value::Amount(a) => a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::rules::tests::page;

    /// The per-document facts answer exactly what the all-pairs
    /// definitions they replace answered (the features, and so the
    /// trained scorer's inputs, are unchanged), on amounts with sums,
    /// zeros, negatives and equal values written differently.
    #[test]
    fn document_facts_equal_the_all_pairs_definitions() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut amounts: Vec<Decimal> = [
            "0", "0.00", "1.10", "2.20", "3.30", "3.3", "5.50", "-1.10", "10", "19.00", "100",
            "119", "119.00", "238", "7.70", "4.40",
        ]
        .iter()
        .map(|s| d(s))
        .collect();
        amounts.sort();
        amounts.dedup();
        let facts = DocumentFacts::of(&[], amounts.clone(), None, None);
        for v in &amounts {
            let is_sum = amounts.iter().enumerate().any(|(i, x)| {
                amounts[i + 1..]
                    .iter()
                    .any(|y| x != v && y != v && *x + *y == *v && !x.is_zero() && !y.is_zero())
            });
            let is_addend = amounts
                .iter()
                .any(|x| x != v && !x.is_zero() && amounts.contains(&(*x + *v)) && !v.is_zero());
            assert_eq!(facts.sums.get(v), Some(&(is_sum, is_addend)), "{v}");
            assert_eq!(
                amounts.binary_search(v).ok(),
                amounts.iter().position(|a| a == v),
                "{v}"
            );
        }
        // Equal values count together as `same_value` compares them.
        let ids = [" re-4711", "RE-4711", "RE 4711 "];
        let raws: Vec<Raw> = ids
            .iter()
            .map(|s| Raw {
                value: Value::Id((*s).to_string()),
                page: 1,
                bbox: BBox {
                    x0: 0.0,
                    y0: 0.0,
                    x1: 1.0,
                    y1: 1.0,
                },
                left: String::new(),
                above: String::new(),
                page_index: 0,
                last_page: true,
                page_size: (1.0, 1.0),
                cell_words: 1,
                line_cells: 1,
                first_in_cell: true,
                last_in_cell: true,
                confidence: 1.0,
                has_currency: false,
                amounts_on_line: 0,
                line_key: (0, 0),
            })
            .collect();
        let facts = DocumentFacts::of(&raws, Vec::new(), None, None);
        for r in &raws {
            let naive = raws
                .iter()
                .filter(|o| same_value(&o.value, &r.value))
                .count();
            assert_eq!(facts.counts.get(&r.value.key()), Some(&naive));
        }
    }

    #[test]
    fn every_value_is_a_candidate_with_its_label() {
        let p = page(&[
            &[
                (40.0, "Rechnung Nr. RE-4711"),
                (300.0, "Datum:"),
                (400.0, "5. März 2026"),
            ],
            &[(300.0, "Kunden-Nr."), (400.0, "10023")],
            &[(300.0, "USt. 19 %"), (480.0, "190,00 €")],
            &[(300.0, "Zu zahlen"), (400.0, "EUR"), (480.0, "1 190,00")],
        ]);
        let inv = ExtractedInvoice::empty(crate::domain::ExtractionSource::Visual);
        let c = candidates(&[p], &inv);
        let find = |v: Value| c.iter().find(|c| c.value == v).map(|c| c.left.clone());
        assert_eq!(
            find(Value::Id("RE-4711".into())).as_deref(),
            Some("Rechnung Nr.")
        );
        assert_eq!(
            find(Value::Date(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap())).as_deref(),
            Some("Datum:")
        );
        assert_eq!(
            find(Value::Id("10023".into())).as_deref(),
            Some("Kunden-Nr.")
        );
        assert_eq!(
            find(Value::Amount(Decimal::new(19000, 2))).as_deref(),
            Some("USt. 19 %")
        );
        // The currency code between label and amount is skipped.
        assert_eq!(
            find(Value::Amount(Decimal::new(119000, 2))).as_deref(),
            Some("Zu zahlen")
        );
        // A tax rate and a customer number are not amounts.
        assert!(
            !c.iter()
                .any(|c| c.value == Value::Amount(Decimal::from(19)))
        );
        assert!(
            !c.iter()
                .any(|c| c.value == Value::Amount(Decimal::from(10023)))
        );
        assert!(c.iter().all(|c| c.features.len() == FEATURES.len()));
    }
}
