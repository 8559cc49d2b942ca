//! Matching: does the invoice agree with its purchase order (2-way) and
//! with what was received (3-way), counting what earlier invoices already
//! billed?
//!
//! Pure: takes the invoice and the PO state (lines, received and billed
//! quantities per line), returns a `MatchResult` whose findings say which
//! line disagrees, by how much, and against which tolerance. Lines are paired
//! optimally (`assign`): article number first, then description similarity;
//! several invoice lines may bill one PO line. Freight and surcharge lines
//! are not PO lines: they pass up to a tolerance. An invoice that quotes no
//! PO is matched against the vendor's open POs and takes the one its lines
//! fit, if exactly one does.

mod assign;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use rust_decimal::Decimal;

use crate::domain::{
    ExtractedInvoice, Finding, LineItem, LineMatch, MatchOutcome, MatchResult, PoLine, PoStatus,
    PurchaseOrder, ReasonCode, ToleranceOverride,
};

pub use assign::{MIN_AFFINITY, assign};

/// How far an invoice may deviate from its PO and still pass untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerances {
    /// Allowed unit price increase over the PO price, in percent...
    pub price_pct: Decimal,
    /// ...and absolute per unit: a variance must exceed both to count, so
    /// that rounding of cheap items and small drifts of dear ones both pass.
    pub price_abs: Decimal,
    /// Allowed quantity over received (3-way) or ordered (2-way), percent.
    pub quantity_pct: Decimal,
    /// Allowed difference of totals when there are no line items, absolute.
    pub amount_abs: Decimal,
    /// Freight and surcharge lines pass up to this sum.
    pub charges_abs: Decimal,
    /// A price variance above this percentage rejects the invoice instead
    /// of sending it to review.
    pub reject_price_pct: Option<Decimal>,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            price_pct: Decimal::new(2, 0),
            price_abs: Decimal::new(1, 2),
            quantity_pct: Decimal::ZERO,
            amount_abs: Decimal::new(50, 2),
            charges_abs: Decimal::new(50, 0),
            reject_price_pct: None,
        }
    }
}

impl Tolerances {
    /// These tolerances with a vendor's or PO's own values on top.
    pub fn with_override(&self, o: &ToleranceOverride) -> Tolerances {
        Tolerances {
            price_pct: o.price_pct.unwrap_or(self.price_pct),
            price_abs: o.price_abs.unwrap_or(self.price_abs),
            quantity_pct: o.quantity_pct.unwrap_or(self.quantity_pct),
            amount_abs: o.amount_abs.unwrap_or(self.amount_abs),
            charges_abs: o.charges_abs.unwrap_or(self.charges_abs),
            reject_price_pct: o.reject_price_pct.or(self.reject_price_pct),
        }
    }
}

/// A purchase order with, per line number, the quantity received so far and
/// the quantity earlier invoices already billed.
#[derive(Debug, Clone, PartialEq)]
pub struct PoState {
    pub po: PurchaseOrder,
    pub received: BTreeMap<i64, Decimal>,
    pub billed: BTreeMap<i64, Decimal>,
}

/// What the invoice's PO reference led to.
#[derive(Debug, Clone, PartialEq)]
pub enum PoLookup {
    /// The invoice quotes a PO number; `None` if no such PO exists.
    Quoted {
        number: String,
        po: Option<Box<PoState>>,
    },
    /// The invoice quotes none: the vendor's open POs to try.
    NotQuoted { candidates: Vec<PoState> },
}

static CHARGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:freight|shipping|delivery\s+charge|carriage|postage|handling|surcharge|porto|fracht|versand\w*|lieferkosten|verpackung\w*|zuschlag|frais\s+de\s+port|frais\s+de\s+livraison|transport|emballage)\b")
        .expect("constant regex")
});

/// Is this a freight/surcharge line rather than goods from the PO?
pub fn is_charge_line(line: &LineItem) -> bool {
    line.sku.is_none()
        && line
            .description
            .as_deref()
            .is_some_and(|d| CHARGE.is_match(d))
}

pub fn match_invoice(
    inv: &ExtractedInvoice,
    vendor_id: Option<&str>,
    lookup: &PoLookup,
    tol: &Tolerances,
) -> MatchResult {
    match lookup {
        PoLookup::Quoted { number, po: None } => MatchResult {
            po_number: Some(number.clone()),
            po_inferred: false,
            outcome: MatchOutcome::NoPurchaseOrder,
            lines: Vec::new(),
            findings: vec![
                Finding::new(
                    ReasonCode::PoNotFound,
                    Some("po_number"),
                    format!("purchase order {number} does not exist"),
                )
                .with("po_number", number),
            ],
        },
        PoLookup::Quoted {
            po: Some(state), ..
        } => match_against(inv, vendor_id, state, tol, false),
        PoLookup::NotQuoted { candidates } => {
            let fitting: Vec<&PoState> = candidates
                .iter()
                .filter(|c| c.po.status == PoStatus::Open && lines_fit(inv, c))
                .collect();
            match fitting.as_slice() {
                [one] => match_against(inv, vendor_id, one, tol, true),
                many => {
                    let names: Vec<&str> = many.iter().map(|c| c.po.po_number.as_str()).collect();
                    let message = match names.as_slice() {
                        [] => "the invoice quotes no purchase order number and fits none of the vendor's open purchase orders".to_string(),
                        _ => format!("the invoice quotes no purchase order number and fits several open purchase orders: {}", names.join(", ")),
                    };
                    MatchResult {
                        po_number: None,
                        po_inferred: false,
                        outcome: MatchOutcome::NoPurchaseOrder,
                        lines: Vec::new(),
                        findings: vec![
                            Finding::new(ReasonCode::MissingPoNumber, Some("po_number"), message)
                                .with("candidates", names.join(", ")),
                        ],
                    }
                }
            }
        }
    }
}

/// Affinity each line needs for a PO to be inferred from the lines alone:
/// stricter than for pairing lines on a PO the invoice names.
const INFER_AFFINITY: f64 = 0.85;

/// Every goods line of the invoice finds a close partner on the PO, and the
/// PO still has that quantity open (ordered minus billed).
fn lines_fit(inv: &ExtractedInvoice, state: &PoState) -> bool {
    let po = &state.po;
    let goods: Vec<&LineItem> = inv
        .line_items
        .iter()
        .filter(|l| !is_charge_line(l))
        .collect();
    if goods.is_empty() {
        return false;
    }
    let affinity_m: Vec<Vec<Option<f64>>> = affinity_matrix(&goods, &po.lines)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|a| a.filter(|a| *a >= INFER_AFFINITY))
                .collect()
        })
        .collect();
    let mut wanted: BTreeMap<usize, Decimal> = BTreeMap::new();
    for (k, j) in assign(&affinity_m).into_iter().enumerate() {
        let Some(j) = j.or_else(|| affinity_m[k].iter().position(Option::is_some)) else {
            return false;
        };
        *wanted.entry(j).or_default() += goods[k].quantity.unwrap_or(Decimal::ZERO);
    }
    wanted.iter().all(|(&j, &qty)| {
        let pl = &po.lines[j];
        let billed = state
            .billed
            .get(&pl.line_no)
            .copied()
            .unwrap_or(Decimal::ZERO);
        qty <= pl.quantity - billed
    })
}

fn match_against(
    inv: &ExtractedInvoice,
    vendor_id: Option<&str>,
    state: &PoState,
    tol: &Tolerances,
    inferred: bool,
) -> MatchResult {
    let po = &state.po;
    let tol = tol.with_override(&po.tolerances);
    let number = &po.po_number;
    let mut findings = Vec::new();
    if po.status == PoStatus::Closed {
        findings.push(Finding::new(
            ReasonCode::PoClosed,
            Some("po_number"),
            format!("purchase order {number} is closed"),
        ));
    }
    if let Some(v) = vendor_id.filter(|v| *v != po.vendor_id) {
        findings.push(
            Finding::new(
                ReasonCode::VendorMismatch,
                Some("vendor_name"),
                format!(
                    "purchase order {number} is with vendor {} but the invoice is from {v}",
                    po.vendor_id
                ),
            )
            .with("po_vendor", &po.vendor_id)
            .with("invoice_vendor", v),
        );
    }
    if let Some(c) = inv.currency.as_ref().filter(|c| c.value != po.currency) {
        findings.push(
            Finding::new(
                ReasonCode::CurrencyMismatch,
                Some("currency"),
                format!(
                    "invoice is in {} but purchase order {number} is in {}",
                    c.value, po.currency
                ),
            )
            .with("invoice_currency", &c.value)
            .with("po_currency", &po.currency),
        );
    }
    let lines = if inv.line_items.is_empty() {
        compare_totals(inv, po, &tol, &mut findings);
        Vec::new()
    } else {
        compare_lines(inv, state, &tol, &mut findings)
    };
    let outcome = if findings.is_empty() {
        MatchOutcome::Matched
    } else {
        MatchOutcome::Mismatch
    };
    MatchResult {
        po_number: Some(number.clone()),
        po_inferred: inferred,
        outcome,
        lines,
        findings,
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line's article number and description, folded once.
struct Keys {
    sku: Option<String>,
    description: Option<String>,
    unit_price: Option<Decimal>,
}

impl Keys {
    fn of(sku: Option<&str>, description: Option<&str>, unit_price: Option<Decimal>) -> Keys {
        let f = |s: &str| Some(fold(s)).filter(|s| !s.is_empty());
        Keys {
            sku: sku.and_then(f),
            description: description.and_then(f),
            unit_price,
        }
    }
}

/// Affinity of every invoice line to every PO line, 0..=1 or `None` for
/// "not this one". A line whose article number matches a PO line is pinned
/// to it, which also spares the string comparisons for the rest of its row.
fn affinity_matrix(inv: &[&LineItem], po: &[PoLine]) -> Vec<Vec<Option<f64>>> {
    let po_keys: Vec<Keys> = po
        .iter()
        .map(|p| Keys::of(p.sku.as_deref(), Some(&p.description), Some(p.unit_price)))
        .collect();
    inv.iter()
        .map(|l| {
            let k = Keys::of(l.sku.as_deref(), l.description.as_deref(), l.unit_price);
            if let Some(j) = k
                .sku
                .as_ref()
                .and_then(|s| po_keys.iter().position(|p| p.sku.as_ref() == Some(s)))
            {
                return (0..po.len()).map(|c| (c == j).then_some(1.0)).collect();
            }
            po_keys.iter().map(|p| affinity(&k, p)).collect()
        })
        .collect()
}

/// How well an invoice line fits a PO line by description, 0..=1; `None`
/// if not at all.
fn affinity(inv: &Keys, po: &Keys) -> Option<f64> {
    let d = inv.description.as_deref()?;
    let p = po.description.as_deref()?;
    // The article number printed inside the description also identifies it.
    if po
        .sku
        .as_deref()
        .is_some_and(|s| d.split(' ').any(|w| w == s))
    {
        return Some(0.98);
    }
    let sim = if d.contains(p) || p.contains(d) {
        0.95
    } else {
        strsim::jaro_winkler(d, p)
    };
    // Same unit price is weak evidence that nudges a close call.
    let price_bonus = if inv.unit_price.is_some() && inv.unit_price == po.unit_price {
        0.02
    } else {
        0.0
    };
    let score = (sim + price_bonus).min(1.0);
    (score >= MIN_AFFINITY).then_some(score)
}

fn compare_lines(
    inv: &ExtractedInvoice,
    state: &PoState,
    tol: &Tolerances,
    findings: &mut Vec<Finding>,
) -> Vec<LineMatch> {
    let po = &state.po;
    let goods: Vec<usize> = (0..inv.line_items.len())
        .filter(|&i| !is_charge_line(&inv.line_items[i]))
        .collect();
    let goods_lines: Vec<&LineItem> = goods.iter().map(|&i| &inv.line_items[i]).collect();
    let affinity_m = affinity_matrix(&goods_lines, &po.lines);
    let assigned = assign(&affinity_m);
    let mut po_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (k, &i) in goods.iter().enumerate() {
        // Many-to-one: a line left over by the one-to-one assignment joins
        // its best PO line (a PO line split over two invoice lines).
        let j = assigned[k].or_else(|| {
            affinity_m[k]
                .iter()
                .enumerate()
                .filter_map(|(j, a)| a.map(|a| (j, a)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(j, _)| j)
        });
        match j {
            Some(j) => {
                po_of.insert(i, j);
            }
            None => {
                let d = inv.line_items[i]
                    .description
                    .as_deref()
                    .unwrap_or("(no description)");
                findings.push(
                    Finding::new(
                        ReasonCode::UnmatchedLine,
                        Some("line_items"),
                        format!(
                            "line {} ({d}) matches no line of purchase order {}",
                            i + 1,
                            po.po_number
                        ),
                    )
                    .on_lines([i + 1]),
                );
            }
        }
    }
    // Prices and tax per invoice line.
    for (&i, &j) in &po_of {
        check_price_and_tax(
            i,
            &inv.line_items[i],
            &po.lines[j],
            &po.po_number,
            tol,
            findings,
        );
    }
    // Quantities per PO line, all invoice lines on it together.
    let mut by_po_line: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&i, &j) in &po_of {
        by_po_line.entry(j).or_default().push(i);
    }
    let mut matches = Vec::new();
    for (j, inv_lines) in &by_po_line {
        let pl = &po.lines[*j];
        let received = state
            .received
            .get(&pl.line_no)
            .copied()
            .unwrap_or(Decimal::ZERO);
        let billed = state
            .billed
            .get(&pl.line_no)
            .copied()
            .unwrap_or(Decimal::ZERO);
        let qty: Decimal = inv_lines
            .iter()
            .filter_map(|&i| inv.line_items[i].quantity)
            .sum();
        check_quantity(
            inv_lines,
            qty,
            pl,
            received,
            billed,
            &po.po_number,
            tol,
            findings,
        );
        for &i in inv_lines {
            let l = &inv.line_items[i];
            matches.push(LineMatch {
                invoice_line: i,
                po_line_no: pl.line_no,
                ordered_quantity: pl.quantity,
                received_quantity: received,
                billed_before: billed,
                po_unit_price: pl.unit_price,
                quantity: l.quantity.unwrap_or(Decimal::ZERO),
                amount: l.amount.unwrap_or(Decimal::ZERO),
            });
        }
    }
    matches.sort_by_key(|m| m.invoice_line);
    check_charges(inv, tol, findings);
    matches
}

fn check_price_and_tax(
    i: usize,
    il: &LineItem,
    pl: &PoLine,
    po_number: &str,
    tol: &Tolerances,
    findings: &mut Vec<Finding>,
) {
    let n = i + 1;
    if let Some(price) = il.unit_price.filter(|_| pl.unit_price > Decimal::ZERO) {
        let diff = price - pl.unit_price;
        let pct = (diff / pl.unit_price * Decimal::ONE_HUNDRED).round_dp(2);
        if pct > tol.price_pct && diff > tol.price_abs {
            let f = Finding::new(
                ReasonCode::PriceVariance,
                Some("line_items"),
                format!("line {n}: unit price {price} is {pct}% above the price {} on {po_number} line {} (tolerance {}%)", pl.unit_price, pl.line_no, tol.price_pct),
            )
            .on_lines([n])
            .with("invoiced_unit_price", price)
            .with("po_unit_price", pl.unit_price)
            .with("variance_pct", pct)
            .with("tolerance_pct", tol.price_pct);
            findings.push(if tol.reject_price_pct.is_some_and(|r| pct > r) {
                f.rejecting()
            } else {
                f
            });
        }
    }
    if let (Some(a), Some(b)) = (il.tax_rate, pl.tax_rate)
        && a.normalize() != b.normalize()
    {
        findings.push(
            Finding::new(
                ReasonCode::TaxMismatch,
                Some("line_items"),
                format!(
                    "line {n}: tax rate {a}% differs from {b}% on {po_number} line {}",
                    pl.line_no
                ),
            )
            .on_lines([n])
            .with("invoiced_tax_rate", a)
            .with("po_tax_rate", b),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn check_quantity(
    inv_lines: &[usize],
    qty: Decimal,
    pl: &PoLine,
    received: Decimal,
    billed: Decimal,
    po_number: &str,
    tol: &Tolerances,
    findings: &mut Vec<Finding>,
) {
    // Credit notes reduce what was billed; nothing to over-bill.
    if qty <= Decimal::ZERO {
        return;
    }
    let lines: Vec<usize> = inv_lines.iter().map(|i| i + 1).collect();
    let shown = lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let slack = |base: Decimal| base + base * tol.quantity_pct / Decimal::ONE_HUNDRED;
    let ordered = pl.quantity;
    let evidence = |f: Finding| {
        f.on_lines(lines.clone())
            .with("invoiced_quantity", qty)
            .with("ordered_quantity", ordered)
            .with("received_quantity", received)
            .with("billed_before", billed)
            .with("po_line", pl.line_no)
    };
    if qty > slack(ordered) {
        findings.push(evidence(Finding::new(
            ReasonCode::QuantityExceedsOrdered,
            Some("line_items"),
            format!("line {shown}: invoiced quantity {qty} exceeds the {ordered} ordered on {po_number} line {}", pl.line_no),
        )));
    }
    if received.is_zero() {
        findings.push(evidence(Finding::new(
            ReasonCode::NotReceived,
            Some("line_items"),
            format!("line {shown}: nothing has been received yet against {po_number} line {}; waiting for the goods receipt", pl.line_no),
        )));
    } else if qty > slack(received) {
        findings.push(evidence(Finding::new(
            ReasonCode::QuantityExceedsReceived,
            Some("line_items"),
            format!("line {shown}: invoiced quantity {qty} exceeds the {received} received against {po_number} line {}", pl.line_no),
        )));
    } else if billed + qty > slack(received) {
        findings.push(evidence(Finding::new(
            ReasonCode::OverBilledCumulative,
            Some("line_items"),
            format!("line {shown}: {billed} already billed plus {qty} now exceeds the {received} received against {po_number} line {}", pl.line_no),
        )));
    }
}

fn check_charges(inv: &ExtractedInvoice, tol: &Tolerances, findings: &mut Vec<Finding>) {
    let charges: Vec<usize> = (0..inv.line_items.len())
        .filter(|&i| is_charge_line(&inv.line_items[i]))
        .collect();
    let sum: Decimal = charges
        .iter()
        .filter_map(|&i| inv.line_items[i].amount)
        .sum();
    if sum > tol.charges_abs {
        findings.push(
            Finding::new(
                ReasonCode::UnexpectedCharges,
                Some("line_items"),
                format!(
                    "freight and surcharges of {sum} exceed the {} allowed without a PO line",
                    tol.charges_abs
                ),
            )
            .on_lines(charges.iter().map(|i| i + 1))
            .with("charges", sum)
            .with("tolerance", tol.charges_abs),
        );
    }
}

/// Without line items, compare the invoice's net amount with the PO value.
fn compare_totals(
    inv: &ExtractedInvoice,
    po: &PurchaseOrder,
    tol: &Tolerances,
    findings: &mut Vec<Finding>,
) {
    let po_value: Decimal = po
        .lines
        .iter()
        .map(|l| (l.quantity * l.unit_price).round_dp(2))
        .sum();
    match &inv.net_amount {
        Some(net) if net.value - po_value > tol.amount_abs => findings.push(
            Finding::new(
                ReasonCode::PriceVariance,
                Some("net_amount"),
                format!(
                    "net amount {} exceeds the value {po_value} of purchase order {}",
                    net.value, po.po_number
                ),
            )
            .with("net_amount", net.value)
            .with("po_value", po_value),
        ),
        Some(_) => {}
        None => findings.push(Finding::new(
            ReasonCode::UnmatchedLine,
            Some("line_items"),
            "no line items or net amount to compare with the purchase order",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ExtractionSource, Field};

    fn d(s: &str) -> Decimal {
        s.parse().expect("test decimals are valid")
    }

    fn po(number: &str, skus: [Option<&str>; 2]) -> PurchaseOrder {
        PurchaseOrder {
            po_number: number.into(),
            vendor_id: "V1".into(),
            currency: "EUR".into(),
            status: PoStatus::Open,
            lines: vec![
                PoLine {
                    line_no: 1,
                    sku: skus[0].map(Into::into),
                    description: "Copy paper A4".into(),
                    quantity: d("10"),
                    unit: None,
                    unit_price: d("4.50"),
                    tax_rate: Some(d("19")),
                },
                PoLine {
                    line_no: 2,
                    sku: skus[1].map(Into::into),
                    description: "Toner cartridge black".into(),
                    quantity: d("2"),
                    unit: None,
                    unit_price: d("89.90"),
                    tax_rate: Some(d("19")),
                },
            ],
            tolerances: ToleranceOverride::default(),
        }
    }

    fn state(received: [&str; 2], billed: [&str; 2]) -> PoState {
        PoState {
            po: po("PO-1", [Some("A-100"), None]),
            received: [(1, d(received[0])), (2, d(received[1]))].into(),
            billed: [(1, d(billed[0])), (2, d(billed[1]))].into(),
        }
    }

    fn line(sku: Option<&str>, desc: &str, q: &str, p: &str) -> LineItem {
        LineItem {
            sku: sku.map(Into::into),
            description: Some(desc.into()),
            quantity: Some(d(q)),
            unit_price: Some(d(p)),
            amount: Some((d(q) * d(p)).round_dp(2)),
            ..LineItem::default()
        }
    }

    fn inv(po: Option<&str>, lines: Vec<LineItem>) -> ExtractedInvoice {
        let mut inv = ExtractedInvoice::empty(ExtractionSource::Visual);
        inv.po_number = po.map(|p| Field::exact(p.into()));
        inv.currency = Some(Field::exact("EUR".into()));
        inv.line_items = lines;
        inv
    }

    fn codes(r: &MatchResult) -> Vec<&'static str> {
        r.findings.iter().map(|f| f.code.as_str()).collect()
    }

    fn quoted(s: PoState) -> PoLookup {
        PoLookup::Quoted {
            number: s.po.po_number.clone(),
            po: Some(Box::new(s)),
        }
    }

    #[test]
    fn two_and_three_way_with_billed_so_far() {
        let tol = Tolerances::default();
        let full = || state(["10", "2"], ["0", "0"]);
        let cases: Vec<(Vec<LineItem>, PoState, Vec<&str>)> = vec![
            (
                vec![
                    line(Some("A-100"), "Paper", "10", "4.50"),
                    line(None, "Toner cartridge, black", "2", "89.90"),
                ],
                full(),
                vec![],
            ),
            (
                vec![line(None, "Toner cartridge black", "2", "91.00")],
                full(),
                vec![],
            ),
            (
                vec![line(None, "Toner cartridge black", "2", "97.09")],
                full(),
                vec!["price_variance"],
            ),
            // On the tolerance's edge: exactly 2% above is within it, the
            // next cent is not.
            (
                vec![line(Some("A-100"), "Paper", "10", "4.59")],
                full(),
                vec![],
            ),
            (
                vec![line(Some("A-100"), "Paper", "10", "4.60")],
                full(),
                vec!["price_variance"],
            ),
            (
                vec![line(Some("A-100"), "Paper", "10", "4.50")],
                state(["4", "2"], ["0", "0"]),
                vec!["quantity_exceeds_received"],
            ),
            (
                vec![line(Some("A-100"), "Paper", "4", "4.50")],
                state(["0", "2"], ["0", "0"]),
                vec!["not_received"],
            ),
            (
                vec![line(Some("A-100"), "Paper", "6", "4.50")],
                state(["10", "2"], ["6", "0"]),
                vec!["over_billed_cumulative"],
            ),
            (
                vec![line(Some("A-100"), "Paper", "12", "4.50")],
                full(),
                vec!["quantity_exceeds_ordered", "quantity_exceeds_received"],
            ),
            (
                vec![line(None, "Espresso machine", "1", "900")],
                full(),
                vec!["unmatched_line"],
            ),
            // Split over two invoice lines, together within what was received.
            (
                vec![
                    line(Some("A-100"), "Paper", "5", "4.50"),
                    line(Some("A-100"), "Paper", "5", "4.50"),
                ],
                full(),
                vec![],
            ),
            (
                vec![
                    line(Some("A-100"), "Paper", "6", "4.50"),
                    line(Some("A-100"), "Paper", "6", "4.50"),
                ],
                full(),
                vec!["quantity_exceeds_ordered", "quantity_exceeds_received"],
            ),
            // A credit note reduces billing; nothing to over-bill.
            (
                vec![line(Some("A-100"), "Paper", "-3", "4.50")],
                state(["10", "2"], ["10", "0"]),
                vec![],
            ),
            // Freight within tolerance passes; a big surcharge does not.
            (
                vec![
                    line(Some("A-100"), "Paper", "10", "4.50"),
                    line(None, "Freight", "1", "25.00"),
                ],
                full(),
                vec![],
            ),
            (
                vec![
                    line(Some("A-100"), "Paper", "10", "4.50"),
                    line(None, "Fracht und Verpackung", "1", "250.00"),
                ],
                full(),
                vec!["unexpected_charges"],
            ),
        ];
        for (lines, st, want) in cases {
            let r = match_invoice(
                &inv(Some("PO-1"), lines.clone()),
                Some("V1"),
                &quoted(st),
                &tol,
            );
            assert_eq!(codes(&r), want, "{lines:?}");
            assert_eq!(r.outcome == MatchOutcome::Matched, want.is_empty());
        }
    }

    #[test]
    fn tax_vendor_and_unknown_po() {
        let tol = Tolerances::default();
        let mut taxed = line(Some("A-100"), "Paper", "1", "4.50");
        taxed.tax_rate = Some(d("7"));
        let r = match_invoice(
            &inv(Some("PO-1"), vec![taxed]),
            Some("V1"),
            &quoted(state(["10", "2"], ["0", "0"])),
            &tol,
        );
        assert_eq!(codes(&r), ["tax_mismatch"]);
        let r = match_invoice(
            &inv(Some("PO-9"), vec![]),
            Some("V1"),
            &PoLookup::Quoted {
                number: "PO-9".into(),
                po: None,
            },
            &tol,
        );
        assert_eq!(codes(&r), ["po_not_found"]);
        let r = match_invoice(
            &inv(
                Some("PO-1"),
                vec![line(Some("A-100"), "Paper", "1", "4.50")],
            ),
            Some("V2"),
            &quoted(state(["10", "2"], ["0", "0"])),
            &tol,
        );
        assert_eq!(codes(&r), ["vendor_mismatch"]);
    }

    #[test]
    fn tolerances_layer_and_hard_limits_reject() {
        let base = Tolerances {
            reject_price_pct: Some(d("20")),
            ..Tolerances::default()
        };
        let mut st = state(["10", "2"], ["0", "0"]);
        st.po.tolerances.price_pct = Some(d("10"));
        // 8% over: beyond the global 2%, within this PO's 10%.
        let r = match_invoice(
            &inv(
                Some("PO-1"),
                vec![line(None, "Toner cartridge black", "2", "97.09")],
            ),
            Some("V1"),
            &quoted(st.clone()),
            &base,
        );
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let r = match_invoice(
            &inv(
                Some("PO-1"),
                vec![line(None, "Toner cartridge black", "2", "120.00")],
            ),
            Some("V1"),
            &quoted(st),
            &base,
        );
        assert_eq!(codes(&r), ["price_variance"]);
        assert_eq!(r.findings[0].severity, crate::domain::Severity::Reject);
        assert!(
            r.findings[0]
                .evidence
                .iter()
                .any(|(k, v)| *k == "po_unit_price" && v == "89.90")
        );
    }

    #[test]
    fn finds_the_po_an_invoice_without_number_fits() {
        let tol = Tolerances::default();
        let paper = |n: &str, skus| PoState {
            po: po(n, skus),
            received: [(1, d("10")), (2, d("2"))].into(),
            billed: BTreeMap::new(),
        };
        let mut other = paper("PO-2", [Some("X-1"), Some("X-2")]);
        other.po.lines[0].description = "Office chair".into();
        other.po.lines[1].description = "Desk lamp".into();
        let lines = vec![line(Some("A-100"), "Paper", "10", "4.50")];
        let one = PoLookup::NotQuoted {
            candidates: vec![paper("PO-1", [Some("A-100"), None]), other.clone()],
        };
        let r = match_invoice(&inv(None, lines.clone()), Some("V1"), &one, &tol);
        assert_eq!(
            (r.po_number.as_deref(), r.po_inferred, codes(&r)),
            (Some("PO-1"), true, vec![])
        );
        let two = PoLookup::NotQuoted {
            candidates: vec![
                paper("PO-1", [Some("A-100"), None]),
                paper("PO-3", [Some("A-100"), None]),
            ],
        };
        let r = match_invoice(&inv(None, lines.clone()), Some("V1"), &two, &tol);
        assert_eq!(codes(&r), ["missing_po_number"]);
        assert!(r.findings[0].message.contains("PO-1, PO-3"));
        let none = PoLookup::NotQuoted {
            candidates: vec![other],
        };
        assert_eq!(
            codes(&match_invoice(&inv(None, lines), Some("V1"), &none, &tol)),
            ["missing_po_number"]
        );
    }
}
