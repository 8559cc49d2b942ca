//! Matching: does the invoice agree with its purchase order (2-way) and
//! with what was received (3-way)?
//!
//! Pure: takes the invoice, the PO and the received quantities, returns a
//! `MatchResult` whose findings say exactly which line disagrees and by how
//! much. Invoice lines are assigned to PO lines by article number, then by
//! description similarity, each PO line used once.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::domain::{
    ExtractedInvoice, Finding, LineItem, LineMatch, MatchOutcome, MatchResult, PoLine, PoStatus,
    PurchaseOrder, ReasonCode,
};

/// How far an invoice may deviate from its PO and still pass untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerances {
    /// Allowed unit price increase over the PO price, in percent.
    pub price_pct: Decimal,
    /// Allowed difference of totals without line items, absolute.
    pub amount_abs: Decimal,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            price_pct: Decimal::new(2, 0),
            amount_abs: Decimal::new(50, 2),
        }
    }
}

/// Description similarity needed to pair lines without an article number.
const DESCRIPTION_THRESHOLD: f64 = 0.6;

pub fn match_invoice(
    inv: &ExtractedInvoice,
    vendor_id: Option<&str>,
    po: Option<&PurchaseOrder>,
    received: &BTreeMap<i64, Decimal>,
    tol: &Tolerances,
) -> MatchResult {
    let po_number = inv.po_number.as_ref().map(|f| f.value.clone());
    let mut findings = Vec::new();
    let Some(number) = &po_number else {
        findings.push(Finding::new(
            ReasonCode::MissingPoNumber,
            Some("po_number"),
            "the invoice quotes no purchase order number",
        ));
        return MatchResult {
            po_number,
            outcome: MatchOutcome::NoPurchaseOrder,
            lines: Vec::new(),
            findings,
        };
    };
    let Some(po) = po else {
        findings.push(Finding::new(
            ReasonCode::PoNotFound,
            Some("po_number"),
            format!("purchase order {number} does not exist"),
        ));
        return MatchResult {
            po_number,
            outcome: MatchOutcome::NoPurchaseOrder,
            lines: Vec::new(),
            findings,
        };
    };
    if po.status == PoStatus::Closed {
        findings.push(Finding::new(
            ReasonCode::PoClosed,
            Some("po_number"),
            format!("purchase order {number} is closed"),
        ));
    }
    if let Some(v) = vendor_id.filter(|v| *v != po.vendor_id) {
        findings.push(Finding::new(
            ReasonCode::VendorMismatch,
            Some("vendor_name"),
            format!(
                "purchase order {number} is with vendor {} but the invoice is from {v}",
                po.vendor_id
            ),
        ));
    }
    if let Some(c) = inv.currency.as_ref().filter(|c| c.value != po.currency) {
        findings.push(Finding::new(
            ReasonCode::CurrencyMismatch,
            Some("currency"),
            format!(
                "invoice is in {} but purchase order {number} is in {}",
                c.value, po.currency
            ),
        ));
    }
    let lines = if inv.line_items.is_empty() {
        compare_totals(inv, po, tol, &mut findings);
        Vec::new()
    } else {
        compare_lines(inv, po, received, tol, &mut findings)
    };
    let outcome = if findings.is_empty() {
        MatchOutcome::Matched
    } else {
        MatchOutcome::Mismatch
    };
    MatchResult {
        po_number,
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

/// How well an invoice line fits a PO line, 0..=1; `None` if not at all.
fn affinity(inv: &LineItem, po: &PoLine) -> Option<f64> {
    if let (Some(a), Some(b)) = (&inv.sku, &po.sku)
        && fold(a) == fold(b)
    {
        return Some(1.0);
    }
    let d = inv.description.as_deref().map(fold)?;
    let p = fold(&po.description);
    let sim = if d.contains(&p) || p.contains(&d) {
        0.95
    } else {
        strsim::jaro_winkler(&d, &p)
    };
    (sim >= DESCRIPTION_THRESHOLD).then_some(sim)
}

fn compare_lines(
    inv: &ExtractedInvoice,
    po: &PurchaseOrder,
    received: &BTreeMap<i64, Decimal>,
    tol: &Tolerances,
    findings: &mut Vec<Finding>,
) -> Vec<LineMatch> {
    // Best pairs first, each side used once.
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, il) in inv.line_items.iter().enumerate() {
        for (j, pl) in po.lines.iter().enumerate() {
            if let Some(score) = affinity(il, pl) {
                pairs.push((score, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut inv_used = vec![false; inv.line_items.len()];
    let mut po_used = vec![false; po.lines.len()];
    let mut matches = Vec::new();
    for (_, i, j) in pairs {
        if inv_used[i] || po_used[j] {
            continue;
        }
        inv_used[i] = true;
        po_used[j] = true;
        let (il, pl) = (&inv.line_items[i], &po.lines[j]);
        let got = received.get(&pl.line_no).copied().unwrap_or(Decimal::ZERO);
        check_line(i, il, pl, got, &po.po_number, tol, findings);
        matches.push(LineMatch {
            invoice_line: i,
            po_line_no: pl.line_no,
            ordered_quantity: pl.quantity,
            received_quantity: got,
            po_unit_price: pl.unit_price,
        });
    }
    for (i, used) in inv_used.iter().enumerate() {
        if !used {
            let d = inv.line_items[i]
                .description
                .as_deref()
                .unwrap_or("(no description)");
            findings.push(Finding::new(
                ReasonCode::UnmatchedLine,
                Some("line_items"),
                format!(
                    "line {} ({d}) matches no line of purchase order {}",
                    i + 1,
                    po.po_number
                ),
            ));
        }
    }
    matches.sort_by_key(|m| m.invoice_line);
    matches
}

fn check_line(
    i: usize,
    il: &LineItem,
    pl: &PoLine,
    received: Decimal,
    po_number: &str,
    tol: &Tolerances,
    findings: &mut Vec<Finding>,
) {
    let n = i + 1;
    if let Some(price) = il.unit_price
        && pl.unit_price > Decimal::ZERO
    {
        let pct = ((price - pl.unit_price) / pl.unit_price * Decimal::ONE_HUNDRED).round_dp(2);
        if pct > tol.price_pct {
            findings.push(Finding::new(
                ReasonCode::PriceVariance,
                Some("line_items"),
                format!(
                    "line {n}: unit price {price} is {pct}% above the PO price {} (tolerance {}%)",
                    pl.unit_price, tol.price_pct
                ),
            ));
        }
    }
    if let Some(q) = il.quantity {
        if q > pl.quantity {
            findings.push(Finding::new(
                ReasonCode::QuantityExceedsOrdered,
                Some("line_items"),
                format!(
                    "line {n}: invoiced quantity {q} exceeds the {} ordered on {po_number} line {}",
                    pl.quantity, pl.line_no
                ),
            ));
        }
        if q > received {
            findings.push(Finding::new(ReasonCode::QuantityExceedsReceived, Some("line_items"), format!("line {n}: invoiced quantity {q} exceeds the {received} received against {po_number} line {}", pl.line_no)));
        }
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
        Some(net) if net.value - po_value > tol.amount_abs => findings.push(Finding::new(
            ReasonCode::PriceVariance,
            Some("net_amount"),
            format!(
                "net amount {} exceeds the value {po_value} of purchase order {}",
                net.value, po.po_number
            ),
        )),
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

    fn po() -> PurchaseOrder {
        PurchaseOrder {
            po_number: "PO-1".into(),
            vendor_id: "V1".into(),
            currency: "EUR".into(),
            status: PoStatus::Open,
            lines: vec![
                PoLine {
                    line_no: 1,
                    sku: Some("A-100".into()),
                    description: "Copy paper A4".into(),
                    quantity: d("10"),
                    unit: None,
                    unit_price: d("4.50"),
                    tax_rate: None,
                },
                PoLine {
                    line_no: 2,
                    sku: None,
                    description: "Toner cartridge black".into(),
                    quantity: d("2"),
                    unit: None,
                    unit_price: d("89.90"),
                    tax_rate: None,
                },
            ],
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

    fn inv(lines: Vec<LineItem>) -> ExtractedInvoice {
        let mut inv = ExtractedInvoice::empty(ExtractionSource::Visual);
        inv.po_number = Some(Field::exact("PO-1".into()));
        inv.currency = Some(Field::exact("EUR".into()));
        inv.line_items = lines;
        inv
    }

    fn codes(r: &MatchResult) -> Vec<&'static str> {
        r.findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn two_and_three_way() {
        let full: BTreeMap<i64, Decimal> = [(1, d("10")), (2, d("2"))].into();
        let partial: BTreeMap<i64, Decimal> = [(1, d("4")), (2, d("2"))].into();
        let po = po();
        let tol = Tolerances::default();
        type Case<'a> = (Vec<LineItem>, &'a BTreeMap<i64, Decimal>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                vec![
                    line(Some("A-100"), "Paper", "10", "4.50"),
                    line(None, "Toner cartridge, black", "2", "89.90"),
                ],
                &full,
                vec![],
            ),
            (
                vec![line(None, "Toner cartridge black", "2", "91.00")],
                &full,
                vec![],
            ),
            (
                vec![line(None, "Toner cartridge black", "2", "97.09")],
                &full,
                vec!["price_variance"],
            ),
            (
                vec![line(Some("A-100"), "Paper", "10", "4.50")],
                &partial,
                vec!["quantity_exceeds_received"],
            ),
            (
                vec![line(Some("A-100"), "Paper", "12", "4.50")],
                &full,
                vec!["quantity_exceeds_ordered", "quantity_exceeds_received"],
            ),
            (
                vec![line(None, "Espresso machine", "1", "900")],
                &full,
                vec!["unmatched_line"],
            ),
        ];
        for (lines, received, want) in cases {
            let r = match_invoice(&inv(lines.clone()), Some("V1"), Some(&po), received, &tol);
            assert_eq!(codes(&r), want, "{lines:?}");
            assert_eq!(r.outcome == MatchOutcome::Matched, want.is_empty());
        }
        let r = match_invoice(&inv(vec![]), Some("V2"), None, &full, &tol);
        assert_eq!(codes(&r), ["po_not_found"]);
        let r = match_invoice(
            &inv(vec![line(Some("A-100"), "Paper", "1", "4.50")]),
            Some("V2"),
            Some(&po),
            &full,
            &tol,
        );
        assert_eq!(codes(&r), ["vendor_mismatch"]);
    }
}
