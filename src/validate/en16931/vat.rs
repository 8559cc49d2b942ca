//! The VAT category rules: for each category (UNCL 5305 S, Z, E, AE, K, G,
//! O) the breakdown it needs, whose VAT identifiers must be on the invoice,
//! its rate, how its taxable amount adds up and its tax (BR-S-01 to
//! BR-S-10 and their siblings BR-Z-*, BR-E-*, BR-AE-*, BR-IC-*, BR-G-*,
//! BR-O-*). The Canary Islands and Ceuta/Melilla categories (L, M) are not
//! checked.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Rules, cents, has, one_unit, or_zero, path_or, value};
use crate::domain::einvoice::{AllowanceCharge, EInvoice, Syntax};

/// One VAT category and what the standard asks of it.
struct Category {
    code: &'static str,
    /// Rule prefix: `BR-S`, `BR-IC`, ...
    prefix: &'static str,
    name: &'static str,
    /// Who must be identified by VAT id.
    ids: Ids,
    rate: Rate,
    /// BR-x-01 wants exactly one breakdown (all but S, which has one per rate).
    one_breakdown: bool,
    /// BR-x-10: exemption reason required (true), forbidden (false).
    exemption_reason: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Ids {
    /// BT-31, BT-32 or BT-63.
    Seller,
    /// BT-31 or BT-63 (no local tax number).
    SellerVat,
    /// Seller as `Seller`, and buyer BT-48 or BT-47.
    SellerAndBuyerOrLegal,
    /// BT-31 or BT-63, and buyer BT-48.
    SellerVatAndBuyerVat,
    /// None of BT-31, BT-63, BT-48 may be there.
    NoneAllowed,
}

#[derive(Clone, Copy, PartialEq)]
enum Rate {
    Positive,
    Zero,
    Absent,
}

const CATEGORIES: [Category; 7] = [
    Category {
        code: "S",
        prefix: "BR-S",
        name: "Standard rated",
        ids: Ids::Seller,
        rate: Rate::Positive,
        one_breakdown: false,
        exemption_reason: false,
    },
    Category {
        code: "Z",
        prefix: "BR-Z",
        name: "Zero rated",
        ids: Ids::Seller,
        rate: Rate::Zero,
        one_breakdown: true,
        exemption_reason: false,
    },
    Category {
        code: "E",
        prefix: "BR-E",
        name: "Exempt from VAT",
        ids: Ids::Seller,
        rate: Rate::Zero,
        one_breakdown: true,
        exemption_reason: true,
    },
    Category {
        code: "AE",
        prefix: "BR-AE",
        name: "Reverse charge",
        ids: Ids::SellerAndBuyerOrLegal,
        rate: Rate::Zero,
        one_breakdown: true,
        exemption_reason: true,
    },
    Category {
        code: "K",
        prefix: "BR-IC",
        name: "Intra-community supply",
        ids: Ids::SellerVatAndBuyerVat,
        rate: Rate::Zero,
        one_breakdown: true,
        exemption_reason: true,
    },
    Category {
        code: "G",
        prefix: "BR-G",
        name: "Export outside the EU",
        ids: Ids::SellerVat,
        rate: Rate::Zero,
        one_breakdown: true,
        exemption_reason: true,
    },
    Category {
        code: "O",
        prefix: "BR-O",
        name: "Not subject to VAT",
        ids: Ids::NoneAllowed,
        rate: Rate::Absent,
        one_breakdown: true,
        exemption_reason: true,
    },
];

pub(super) fn check(r: &mut Rules<'_>) {
    for category in &CATEGORIES {
        check_category(r, category);
    }
    not_subject_alone(r);
}

fn is(code: &Option<crate::domain::einvoice::At<String>>, category: &str) -> bool {
    code.as_ref().is_some_and(|c| c.value.trim() == category)
}

fn check_category(r: &mut Rules<'_>, c: &Category) {
    let e = r.e;
    let lines: Vec<_> = e
        .lines
        .iter()
        .filter(|l| is(&l.vat_category, c.code))
        .collect();
    let allowances: Vec<&AllowanceCharge> = e
        .allowances
        .iter()
        .filter(|a| is(&a.vat_category, c.code))
        .collect();
    let charges: Vec<&AllowanceCharge> = e
        .charges
        .iter()
        .filter(|a| is(&a.vat_category, c.code))
        .collect();
    let breakdowns: Vec<_> = e
        .vat_breakdown
        .iter()
        .filter(|b| is(&b.category, c.code))
        .collect();
    let (p, name) = (c.prefix, c.name);

    // 01: the breakdown the category needs.
    if r.has_lines() && (!lines.is_empty() || !allowances.is_empty() || !charges.is_empty()) {
        let ok = if c.one_breakdown {
            breakdowns.len() == 1
        } else {
            !breakdowns.is_empty()
        };
        if !ok {
            let how_many = if c.one_breakdown {
                "exactly one"
            } else {
                "at least one"
            };
            r.fatal(
                &format!("{p}-01"),
                &e.root,
                format!("[{p}-01]-An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is \"{name}\" shall contain in the VAT breakdown (BG-23) {how_many} VAT category code (BT-118) equal with \"{name}\". (found {})", breakdowns.len()),
            );
        }
    }

    // 02-04: identifiers.
    let ids_ok = identifiers_ok(e, c.ids);
    let what = [
        (
            "02",
            "an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151)",
            lines.first().map(|l| l.path.clone()),
        ),
        (
            "03",
            "a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95)",
            allowances.first().map(|a| a.path.clone()),
        ),
        (
            "04",
            "a Document level charge (BG-21) where the Document level charge VAT category code (BT-102)",
            charges.first().map(|a| a.path.clone()),
        ),
    ];
    for (n, subject, path) in what {
        if let Some(path) = path
            && !ids_ok
        {
            r.fatal(
                &format!("{p}-{n}"),
                &path,
                format!(
                    "[{p}-{n}]-An Invoice that contains {subject} is \"{name}\" {}.",
                    ids_text(c.ids)
                ),
            );
        }
    }

    // 05-07: rates.
    let rate_wrong = |rate: Option<Decimal>| match c.rate {
        Rate::Positive => rate.is_none_or(|r| r <= Decimal::ZERO),
        Rate::Zero => rate.is_none_or(|r| !r.is_zero()),
        Rate::Absent => rate.is_some(),
    };
    let rate_text = match c.rate {
        Rate::Positive => "shall be greater than zero",
        Rate::Zero => "shall be 0 (zero)",
        Rate::Absent => "shall not be there",
    };
    for l in &lines {
        if rate_wrong(value(&l.vat_rate)) {
            r.fatal(&format!("{p}-05"), &path_or(&l.vat_rate, &l.path), format!("[{p}-05]-In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is \"{name}\" the Invoiced item VAT rate (BT-152) {rate_text}."));
        }
    }
    for (n, items, term) in [
        (
            "06",
            &allowances,
            "Document level allowance VAT rate (BT-96)",
        ),
        ("07", &charges, "Document level charge VAT rate (BT-103)"),
    ] {
        for a in items.iter() {
            if rate_wrong(value(&a.vat_rate)) {
                r.fatal(&format!("{p}-{n}"), &path_or(&a.vat_rate, &a.path), format!("[{p}-{n}]-Where the VAT category code is \"{name}\" the {term} {rate_text}."));
            }
        }
    }

    // 08: taxable amounts add up (per rate for S); lines only where the
    // profile has lines.
    if r.has_lines() {
        taxable_amounts(r, c, &breakdowns, &lines, &allowances, &charges);
    }

    // 09: the tax.
    for b in &breakdowns {
        let Some(tax) = &b.tax else { continue };
        let (broken, expected) = match c.rate {
            Rate::Positive => match (value(&b.taxable), value(&b.rate)) {
                (Some(taxable), Some(rate)) => {
                    let expected = cents(taxable.abs() * rate / Decimal::ONE_HUNDRED);
                    ((expected - tax.value.abs()).abs() >= one_unit(), expected)
                }
                _ => continue,
            },
            _ => (!tax.value.is_zero(), Decimal::ZERO),
        };
        if broken {
            let how = if c.rate == Rate::Positive {
                "shall equal the VAT category taxable amount (BT-116) multiplied by the VAT category rate (BT-119)"
            } else {
                "shall equal 0 (zero)"
            };
            r.fatal(&format!("{p}-09"), &tax.path, format!("[{p}-09]-The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is \"{name}\" {how}. (expected {expected}, found {})", tax.value));
        }
    }

    // 10: exemption reason.
    for b in &breakdowns {
        let given = has(&b.exemption_reason) || has(&b.exemption_code);
        if c.exemption_reason && !given {
            r.fatal(&format!("{p}-10"), &b.path, format!("[{p}-10]-A VAT breakdown (BG-23) with VAT Category code (BT-118) \"{name}\" shall have a VAT exemption reason code (BT-121) or a VAT exemption reason text (BT-120)."));
        } else if !c.exemption_reason && given {
            r.fatal(&format!("{p}-10"), &b.path, format!("[{p}-10]-A VAT breakdown (BG-23) with VAT Category code (BT-118) \"{name}\" shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120)."));
        }
    }

    // Intra-community supply: when and where it was delivered.
    if c.code == "K" && !breakdowns.is_empty() {
        if e.delivery.date.is_none() && e.invoicing_period.is_none() {
            r.fatal("BR-IC-11", &e.root, "[BR-IC-11]-In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is \"Intra-community supply\" the Actual delivery date (BT-72) or the Invoicing period (BG-14) shall not be blank.");
        }
        let country = e.delivery.address.as_ref().is_some_and(|a| has(&a.country));
        if !country {
            r.fatal("BR-IC-12", &e.root, "[BR-IC-12]-In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is \"Intra-community supply\" the Deliver to country code (BT-80) shall not be blank.");
        }
    }
}

fn identifiers_ok(e: &EInvoice, ids: Ids) -> bool {
    let rep_vat = e
        .tax_representative
        .as_ref()
        .is_some_and(|t| has(&t.vat_id));
    let seller_vat = has(&e.seller.vat_id) || rep_vat;
    let seller = seller_vat || has(&e.seller.tax_registration);
    match ids {
        Ids::Seller => seller,
        Ids::SellerVat => seller_vat,
        Ids::SellerAndBuyerOrLegal => seller && (has(&e.buyer.vat_id) || has(&e.buyer.legal_id)),
        Ids::SellerVatAndBuyerVat => seller_vat && has(&e.buyer.vat_id),
        Ids::NoneAllowed => !has(&e.seller.vat_id) && !rep_vat && !has(&e.buyer.vat_id),
    }
}

fn ids_text(ids: Ids) -> &'static str {
    match ids {
        Ids::Seller => {
            "shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63)"
        }
        Ids::SellerVat => {
            "shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63)"
        }
        Ids::SellerAndBuyerOrLegal => {
            "shall contain the Seller VAT Identifier (BT-31), the Seller Tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48) and/or the Buyer legal registration identifier (BT-47)"
        }
        Ids::SellerVatAndBuyerVat => {
            "shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48)"
        }
        Ids::NoneAllowed => {
            "shall not contain the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) or the Buyer VAT identifier (BT-48)"
        }
    }
}

/// BR-x-08: the category's taxable amount is its lines' net amounts plus
/// its document level charges minus its allowances (for S, per rate).
fn taxable_amounts(
    r: &mut Rules<'_>,
    c: &Category,
    breakdowns: &[&crate::domain::einvoice::VatBreakdown],
    lines: &[&crate::domain::einvoice::InvoiceLine],
    allowances: &[&AllowanceCharge],
    charges: &[&AllowanceCharge],
) {
    // The key is the rate for S, one bucket otherwise; rates compare by
    // value (19 and 19.00 are the same rate).
    let key = |rate: Option<Decimal>| -> String {
        if c.rate == Rate::Positive {
            rate.map(|r| r.normalize().to_string()).unwrap_or_default()
        } else {
            String::new()
        }
    };
    // Lines, charges and allowances summed apart: CII rounds each sum to
    // the cent before adding them up, UBL does not round.
    let mut sums: BTreeMap<String, [Decimal; 3]> = BTreeMap::new();
    for l in lines {
        sums.entry(key(value(&l.vat_rate))).or_default()[0] += or_zero(&l.net_amount);
    }
    for a in charges {
        sums.entry(key(value(&a.vat_rate))).or_default()[1] += or_zero(&a.amount);
    }
    for a in allowances {
        sums.entry(key(value(&a.vat_rate))).or_default()[2] += or_zero(&a.amount);
    }
    let cii = r.e.syntax == Syntax::Cii;
    // The artefacts' tolerance: CII compares S and O exactly and the other
    // categories within one unit; UBL compares S within one unit and the
    // others exactly.
    let within_a_unit = match (cii, c.code) {
        (true, "S" | "O") => false,
        (true, _) => true,
        (false, "S") => true,
        (false, _) => false,
    };
    let (p, name) = (c.prefix, c.name);
    for b in breakdowns {
        let Some(taxable) = &b.taxable else { continue };
        let [on_lines, charged, allowed] =
            sums.get(&key(value(&b.rate))).copied().unwrap_or_default();
        let sum = if cii {
            cents(on_lines) + cents(charged) - cents(allowed)
        } else {
            on_lines + charged - allowed
        };
        let broken = if within_a_unit {
            (sum - taxable.value).abs() >= one_unit()
        } else {
            sum != taxable.value
        };
        if broken {
            let per_rate = if c.rate == Rate::Positive {
                " for each different value of VAT category rate (BT-119)"
            } else {
                ""
            };
            r.fatal(
                &format!("{p}-08"),
                &taxable.path,
                format!("[{p}-08]-The VAT category taxable amount (BT-116) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is \"{name}\" shall equal the sum of Invoice line net amounts (BT-131) plus the sum of document level charge amounts (BT-99) minus the sum of document level allowance amounts (BT-92) where the VAT category codes (BT-151, BT-102, BT-95) are \"{name}\"{per_rate}. (they add up to {sum}, BT-116 says {})", taxable.value),
            );
        }
    }
}

/// BR-O-11 to BR-O-14: an invoice not subject to VAT has no other category.
fn not_subject_alone(r: &mut Rules<'_>) {
    let e = r.e;
    if !e.vat_breakdown.iter().any(|b| is(&b.category, "O")) {
        return;
    }
    let other = |code: &Option<crate::domain::einvoice::At<String>>| {
        code.as_ref().is_some_and(|c| c.value.trim() != "O")
    };
    if let Some(b) = e.vat_breakdown.iter().find(|b| other(&b.category)) {
        r.fatal("BR-O-11", &b.path, "[BR-O-11]-An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) \"Not subject to VAT\" shall not contain other VAT breakdown groups (BG-23).");
    }
    if let Some(l) = e.lines.iter().find(|l| other(&l.vat_category)) {
        r.fatal("BR-O-12", &l.path, "[BR-O-12]-An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) \"Not subject to VAT\" shall not contain an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is not \"Not subject to VAT\".");
    }
    if let Some(a) = e.allowances.iter().find(|a| other(&a.vat_category)) {
        r.fatal("BR-O-13", &a.path, "[BR-O-13]-An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) \"Not subject to VAT\" shall not contain Document level allowances (BG-20) where Document level allowance VAT category code (BT-95) is not \"Not subject to VAT\".");
    }
    if let Some(a) = e.charges.iter().find(|a| other(&a.vat_category)) {
        r.fatal("BR-O-14", &a.path, "[BR-O-14]-An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) \"Not subject to VAT\" shall not contain Document level charges (BG-21) where Document level charge VAT category code (BT-102) is not \"Not subject to VAT\".");
    }
}
