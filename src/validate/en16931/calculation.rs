//! The calculation rules (BR-CO-10 to BR-CO-17): how lines, allowances,
//! charges, VAT and prepayments add up to the amount due, as EN 16931's
//! calculation model says, and the two-decimals rules (BR-DEC-*).

use rust_decimal::Decimal;

use super::{Rules, cents, one_unit, or_zero, path_or, value};
use crate::domain::einvoice::{At, Term};

pub(super) fn check(r: &mut Rules<'_>) {
    let e = r.e;
    let t = &e.totals;
    if r.has_lines()
        && let Some(line_total) = &t.line_total
    {
        let sum: Decimal = e.lines.iter().map(|l| or_zero(&l.net_amount)).sum();
        equation(
            r,
            "[BR-CO-10]-Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).",
            "BT-106",
            line_total,
            sum,
            format!("the {} line amounts", e.lines.len()),
        );
    }
    let sum_of = |items: &[crate::domain::einvoice::AllowanceCharge]| -> Decimal {
        items.iter().map(|a| or_zero(&a.amount)).sum()
    };
    sum_rule(
        r,
        "BR-CO-11",
        "[BR-CO-11]-Sum of allowances on document level (BT-107) = Σ Document level allowance amount (BT-92).",
        &t.allowance_total,
        !e.allowances.is_empty(),
        sum_of(&e.allowances),
    );
    sum_rule(
        r,
        "BR-CO-12",
        "[BR-CO-12]-Sum of charges on document level (BT-108) = Σ Document level charge amount (BT-99).",
        &t.charge_total,
        !e.charges.is_empty(),
        sum_of(&e.charges),
    );
    if let (Some(line_total), Some(net)) = (&t.line_total, &t.tax_exclusive) {
        let (allowed, charged) = (or_zero(&t.allowance_total), or_zero(&t.charge_total));
        equation(
            r,
            "[BR-CO-13]-Invoice total amount without VAT (BT-109) = Σ Invoice line net amount (BT-131) - Sum of allowances on document level (BT-107) + Sum of charges on document level (BT-108).",
            "BT-109",
            net,
            line_total.value - allowed + charged,
            format!("{} - {allowed} + {charged}", line_total.value),
        );
    }
    if let Some(tax) = &t.tax_total
        && !e.vat_breakdown.is_empty()
    {
        equation(
            r,
            "[BR-CO-14]-Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117).",
            "BT-110",
            tax,
            e.vat_breakdown.iter().map(|b| or_zero(&b.tax)).sum(),
            "the VAT breakdown's tax amounts".to_string(),
        );
    }
    if let (Some(net), Some(gross)) = (&t.tax_exclusive, &t.grand_total) {
        let tax = or_zero(&t.tax_total);
        equation(
            r,
            "[BR-CO-15]-Invoice total amount with VAT (BT-112) = Invoice total amount without VAT (BT-109) + Invoice total VAT amount (BT-110).",
            "BT-112",
            gross,
            net.value + tax,
            format!("{} + {tax}", net.value),
        );
    }
    if let (Some(gross), Some(due)) = (&t.grand_total, &t.due_payable) {
        let (paid, rounding) = (or_zero(&t.prepaid), or_zero(&t.rounding));
        equation(
            r,
            "[BR-CO-16]-Amount due for payment (BT-115) = Invoice total amount with VAT (BT-112) -Paid amount (BT-113) +Rounding amount (BT-114).",
            "BT-115",
            due,
            gross.value - paid + rounding,
            format!("{} - {paid} + {rounding}", gross.value),
        );
    }
    if e.profile != crate::domain::einvoice::Profile::Zugferd1 {
        for b in &e.vat_breakdown {
            let (Some(taxable), Some(rate), Some(tax)) =
                (value(&b.taxable), value(&b.rate), &b.tax)
            else {
                continue;
            };
            if let Some(expected) = tax_out_of_tolerance(e.syntax, taxable, rate, tax.value) {
                r.fatal(
                    "BR-CO-17",
                    &tax.path,
                    format!(
                        "[BR-CO-17]-VAT category tax amount (BT-117) = VAT category taxable amount (BT-116) x (VAT category rate (BT-119) / 100), rounded to two decimals. ({taxable} x {rate}% = {expected}, BT-117 says {})",
                        tax.value
                    ),
                );
            }
        }
    }
}

/// A total the standard computes from others: broken when the stated one
/// is not the computed one to the cent. `working` shows the computation in
/// the message (`140.48 + 24.23 = 164.71, BT-112 says 174.71`); the rule
/// id is the text's `[BR-CO-n]`.
fn equation(
    r: &mut Rules<'_>,
    text: &str,
    term: &str,
    stated: &At<Decimal>,
    expected: Decimal,
    working: String,
) {
    if cents(expected) == cents(stated.value) {
        return;
    }
    let rule = text
        .strip_prefix('[')
        .and_then(|t| t.split(']').next())
        .unwrap_or("BR-CO");
    r.fatal(
        rule,
        &stated.path,
        format!(
            "{text} ({working} = {}, {term} says {})",
            cents(expected),
            stated.value
        ),
    );
}

/// BR-CO-17's test as the artefacts write it: signs aside, the tax is
/// within one currency unit of taxable x rate (inclusive in CII, strict in
/// UBL); a rate under 0.5% wants a tax that rounds to zero. Returns the
/// expected tax when the stated one is out of bounds.
pub(super) fn tax_out_of_tolerance(
    syntax: crate::domain::einvoice::Syntax,
    taxable: Decimal,
    rate: Decimal,
    tax: Decimal,
) -> Option<Decimal> {
    let expected = cents(taxable.abs() * rate / Decimal::ONE_HUNDRED);
    let stated = tax.abs();
    let half = Decimal::new(5, 1);
    let ok = if rate.abs() < half {
        stated < half
    } else if syntax == crate::domain::einvoice::Syntax::Cii {
        (expected - stated).abs() <= one_unit()
    } else {
        (expected - stated).abs() < one_unit()
    };
    (!ok).then_some(expected)
}

/// BR-CO-11 / BR-CO-12: a document level total equals the sum of its
/// items; a total with no items must be zero, items with no total break
/// the rule too.
fn sum_rule(
    r: &mut Rules<'_>,
    rule: &str,
    text: &str,
    total: &Term<Decimal>,
    any_items: bool,
    sum: Decimal,
) {
    let stated = value(total);
    if stated.is_none() && !any_items {
        return;
    }
    if stated.map(cents) != Some(cents(sum)) {
        let path = path_or(total, &r.e.totals.path);
        let says = stated.map_or_else(|| "nothing".to_string(), |s| s.to_string());
        r.fatal(
            rule,
            &path,
            format!(
                "{text} (the items add up to {}, the total says {says})",
                cents(sum)
            ),
        );
    }
}

/// BR-DEC-*: amounts carry at most two decimals.
pub(super) fn decimals(r: &mut Rules<'_>) {
    let e = r.e;
    let t = &e.totals;
    let mut checks: Vec<(&str, &str, &Term<Decimal>)> = vec![
        (
            "BR-DEC-09",
            "Sum of Invoice line net amount (BT-106)",
            &t.line_total,
        ),
        (
            "BR-DEC-10",
            "Sum of allowanced on document level (BT-107)",
            &t.allowance_total,
        ),
        (
            "BR-DEC-11",
            "Sum of charges on document level (BT-108)",
            &t.charge_total,
        ),
        (
            "BR-DEC-12",
            "Invoice total amount without VAT (BT-109)",
            &t.tax_exclusive,
        ),
        (
            "BR-DEC-13",
            "Invoice total VAT amount (BT-110)",
            &t.tax_total,
        ),
        (
            "BR-DEC-14",
            "Invoice total amount with VAT (BT-112)",
            &t.grand_total,
        ),
        (
            "BR-DEC-15",
            "Invoice total VAT amount in accounting currency (BT-111)",
            &t.tax_total_accounting,
        ),
        ("BR-DEC-16", "Paid amount (BT-113)", &t.prepaid),
        ("BR-DEC-17", "Rounding amount (BT-114)", &t.rounding),
        (
            "BR-DEC-18",
            "Amount due for payment (BT-115)",
            &t.due_payable,
        ),
    ];
    for a in &e.allowances {
        checks.push((
            "BR-DEC-01",
            "Document level allowance amount (BT-92)",
            &a.amount,
        ));
        checks.push((
            "BR-DEC-02",
            "Document level allowance base amount (BT-93)",
            &a.base,
        ));
    }
    for c in &e.charges {
        checks.push((
            "BR-DEC-05",
            "Document level charge amount (BT-99)",
            &c.amount,
        ));
        checks.push((
            "BR-DEC-06",
            "Document level charge base amount (BT-100)",
            &c.base,
        ));
    }
    for b in &e.vat_breakdown {
        checks.push((
            "BR-DEC-19",
            "VAT category taxable amount (BT-116)",
            &b.taxable,
        ));
        checks.push(("BR-DEC-20", "VAT category tax amount (BT-117)", &b.tax));
    }
    for l in &e.lines {
        checks.push((
            "BR-DEC-23",
            "Invoice line net amount (BT-131)",
            &l.net_amount,
        ));
        for a in &l.allowances {
            checks.push((
                "BR-DEC-24",
                "Invoice line allowance amount (BT-136)",
                &a.amount,
            ));
            checks.push((
                "BR-DEC-25",
                "Invoice line allowance base amount (BT-137)",
                &a.base,
            ));
        }
        for c in &l.charges {
            checks.push((
                "BR-DEC-27",
                "Invoice line charge amount (BT-141)",
                &c.amount,
            ));
            checks.push((
                "BR-DEC-28",
                "Invoice line charge base amount (BT-142)",
                &c.base,
            ));
        }
    }
    for (rule, term, amount) in checks {
        if let Some(At { value, path }) = amount
            && value.scale() > 2
        {
            r.fatal(
                rule,
                path,
                format!("[{rule}]-The allowed maximum number of decimals for the {term} is 2. (here {value})"),
            );
        }
    }
}
