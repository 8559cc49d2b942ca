//! The core rules (BR-01 to BR-66) and the conditional ones (BR-CO-03 to
//! BR-CO-09, BR-CO-18 to BR-CO-26): what an invoice must carry, and what
//! must come together.

use rust_decimal::Decimal;

use super::{Rules, has, path_or, value};
use crate::domain::einvoice::{AllowanceCharge, Party, Period, Syntax};

pub(super) fn check(r: &mut Rules<'_>) {
    header(r);
    parties(r);
    if r.has_lines() {
        lines(r);
    }
    allowances_and_charges(r);
    vat_breakdown(r);
    payment(r);
    conditional(r);
}

fn header(r: &mut Rules<'_>) {
    let e = r.e;
    let root = e.root.clone();
    let totals = e.totals.path.clone();
    r.require(
        "BR-01",
        has(&e.specification),
        &root,
        "[BR-01]-An Invoice shall have a Specification identifier (BT-24).",
    );
    r.require(
        "BR-02",
        has(&e.number),
        &root,
        "[BR-02]-An Invoice shall have an Invoice number (BT-1).",
    );
    r.require(
        "BR-03",
        e.issue_date.is_some(),
        &root,
        "[BR-03]-An Invoice shall have an Invoice issue date (BT-2).",
    );
    r.require(
        "BR-04",
        has(&e.type_code),
        &root,
        "[BR-04]-An Invoice shall have an Invoice type code (BT-3).",
    );
    r.require(
        "BR-05",
        has(&e.currency),
        &root,
        "[BR-05]-An Invoice shall have an Invoice currency code (BT-5).",
    );
    if r.has_lines() {
        r.require(
            "BR-12",
            e.totals.line_total.is_some(),
            &totals,
            "[BR-12]-An Invoice shall have the Sum of Invoice line net amount (BT-106).",
        );
    }
    r.require(
        "BR-13",
        e.totals.tax_exclusive.is_some(),
        &totals,
        "[BR-13]-An Invoice shall have the Invoice total amount without VAT (BT-109).",
    );
    r.require(
        "BR-14",
        e.totals.grand_total.is_some(),
        &totals,
        "[BR-14]-An Invoice shall have the Invoice total amount with VAT (BT-112).",
    );
    r.require(
        "BR-15",
        e.totals.due_payable.is_some(),
        &totals,
        "[BR-15]-An Invoice shall have the Amount due for payment (BT-115).",
    );
    if r.has_lines() {
        r.require(
            "BR-16",
            !e.lines.is_empty(),
            &root,
            "[BR-16]-An Invoice shall have at least one Invoice line (BG-25).",
        );
    }
    if let Some(p) = &e.invoicing_period {
        period_rules(r, p, "BR-29", "BR-CO-19", "Invoicing period");
    }
    for p in &e.preceding_invoices {
        r.require("BR-55", has(&p.number), &p.path, "[BR-55]-Each Preceding Invoice reference (BG-3) shall contain a Preceding Invoice reference (BT-25).");
    }
    if let Some(tax_currency) = &e.tax_currency {
        // The artefacts differ: CII wants the amount in a currency other
        // than the invoice's, UBL accepts the invoice currency's own.
        let same = e
            .currency
            .as_ref()
            .is_some_and(|c| c.value == tax_currency.value);
        let given = match e.syntax {
            Syntax::UblInvoice | Syntax::UblCreditNote if same => e.totals.tax_total.is_some(),
            Syntax::UblInvoice | Syntax::UblCreditNote => e.totals.tax_total_accounting.is_some(),
            _ => !same && e.totals.tax_total_accounting.is_some(),
        };
        r.require("BR-53", given, &totals, "[BR-53]-If the VAT accounting currency code (BT-6) is present, then the Invoice total VAT amount in accounting currency (BT-111) shall be provided.");
    }
}

fn period_rules(r: &mut Rules<'_>, p: &Period, order_rule: &str, present_rule: &str, what: &str) {
    if let (Some(start), Some(end)) = (&p.start, &p.end)
        && end.value < start.value
    {
        let group = if what == "Invoicing period" {
            "BG-14: BT-73, BT-74"
        } else {
            "BG-26: BT-134, BT-135"
        };
        r.fatal(
            order_rule,
            &end.path,
            format!(
                "[{order_rule}]-If both {what} start date and end date are given ({group}) then the end date shall be later or equal to the start date (here {} is before {}).",
                end.value, start.value
            ),
        );
    }
    if p.start.is_none() && p.end.is_none() {
        r.fatal(
            present_rule,
            &p.path,
            format!("[{present_rule}]-If {what} is used, the {what} start date or the {what} end date shall be filled, or both."),
        );
    }
}

fn parties(r: &mut Rules<'_>) {
    let e = r.e;
    let seller = &e.seller;
    let buyer = &e.buyer;
    r.require(
        "BR-06",
        has(&seller.name),
        &seller.path,
        "[BR-06]-An Invoice shall contain the Seller name (BT-27).",
    );
    r.require(
        "BR-07",
        has(&buyer.name),
        &buyer.path,
        "[BR-07]-An Invoice shall contain the Buyer name (BT-44).",
    );
    r.require(
        "BR-08",
        seller.address.is_some(),
        &seller.path,
        "[BR-08]-An Invoice shall contain the Seller postal address (BG-5).",
    );
    if let Some(a) = &seller.address {
        r.require(
            "BR-09",
            has(&a.country),
            &a.path,
            "[BR-09]-The Seller postal address (BG-5) shall contain a Seller country code (BT-40).",
        );
    }
    if !r.is_minimum() {
        r.require(
            "BR-10",
            buyer.address.is_some(),
            &buyer.path,
            "[BR-10]-An Invoice shall contain the Buyer postal address (BG-8).",
        );
        if let Some(a) = &buyer.address {
            r.require(
                "BR-11",
                has(&a.country),
                &a.path,
                "[BR-11]-The Buyer postal address shall contain a Buyer country code (BT-55).",
            );
        }
    }
    if let Some(payee) = &e.payee {
        r.require("BR-17", has(&payee.name), &payee.path, "[BR-17]-The Payee name (BT-59) shall be provided in the Invoice, if the Payee (BG-10) is different from the Seller (BG-4).");
    }
    if let Some(rep) = &e.tax_representative {
        r.require("BR-18", has(&rep.name), &rep.path, "[BR-18]-The Seller tax representative name (BT-62) shall be provided in the Invoice, if the Seller (BG-4) has a Seller tax representative party (BG-11).");
        r.require("BR-19", rep.address.is_some(), &rep.path, "[BR-19]-The Seller tax representative postal address (BG-12) shall be provided in the Invoice, if the Seller (BG-4) has a Seller tax representative party (BG-11).");
        if let Some(a) = &rep.address {
            r.require("BR-20", has(&a.country), &a.path, "[BR-20]-The Seller tax representative postal address (BG-12) shall contain a Tax representative country code (BT-69), if the Seller (BG-4) has a Seller tax representative party (BG-11).");
        }
        r.require("BR-56", has(&rep.vat_id), &rep.path, "[BR-56]-Each Seller tax representative party (BG-11) shall have a Seller tax representative VAT identifier (BT-63).");
    }
    if let Some(a) = &e.delivery.address {
        r.require("BR-57", has(&a.country), &a.path, "[BR-57]-Each Deliver to address (BG-15) shall contain a Deliver to country code (BT-80).");
    }
    for (rule, party, term) in [
        ("BR-62", seller, "Seller electronic address (BT-34)"),
        ("BR-63", buyer, "Buyer electronic address (BT-49)"),
    ] {
        if has(&party.electronic_address) && !has(&party.electronic_address_scheme) {
            let path = path_or(&party.electronic_address, &party.path);
            r.fatal(
                rule,
                &path,
                format!("[{rule}]-The {term} shall have a Scheme identifier."),
            );
        }
    }
    vat_id_prefixes(r);
}

/// BR-CO-09: a VAT identifier starts with its country's ISO 3166-1 code
/// (Greece: EL).
fn vat_id_prefixes(r: &mut Rules<'_>) {
    let e = r.e;
    let parties: [(&str, Option<&Party>); 3] = [
        ("Seller VAT identifier (BT-31)", Some(&e.seller)),
        ("Buyer VAT identifier (BT-48)", Some(&e.buyer)),
        (
            "Seller tax representative VAT identifier (BT-63)",
            e.tax_representative.as_ref(),
        ),
    ];
    for (term, party) in parties {
        let Some(vat) = party.and_then(|p| p.vat_id.as_ref()) else {
            continue;
        };
        let prefix: Vec<char> = vat.value.chars().take(2).collect();
        if prefix.len() < 2 || !prefix.iter().all(|c| c.is_ascii_uppercase()) {
            r.fatal(
                "BR-CO-09",
                &vat.path,
                format!(
                    "[BR-CO-09]-The {term} shall have a prefix in accordance with ISO code ISO 3166-1 alpha-2 by which the country of issue may be identified. Nevertheless, Greece may use the prefix 'EL'. (here {:?})",
                    vat.value
                ),
            );
        }
    }
}

fn lines(r: &mut Rules<'_>) {
    let e = r.e;
    for line in &e.lines {
        let p = line.path.as_str();
        r.require(
            "BR-21",
            has(&line.id),
            p,
            "[BR-21]-Each Invoice line (BG-25) shall have an Invoice line identifier (BT-126).",
        );
        r.require(
            "BR-22",
            line.quantity.is_some(),
            p,
            "[BR-22]-Each Invoice line (BG-25) shall have an Invoiced quantity (BT-129).",
        );
        r.require("BR-23", has(&line.unit), p, "[BR-23]-An Invoice line (BG-25) shall have an Invoiced quantity unit of measure code (BT-130).");
        r.require(
            "BR-24",
            line.net_amount.is_some(),
            p,
            "[BR-24]-Each Invoice line (BG-25) shall have an Invoice line net amount (BT-131).",
        );
        r.require(
            "BR-25",
            has(&line.name),
            p,
            "[BR-25]-Each Invoice line (BG-25) shall contain the Item name (BT-153).",
        );
        r.require(
            "BR-26",
            line.net_price.is_some(),
            p,
            "[BR-26]-Each Invoice line (BG-25) shall contain the Item net price (BT-146).",
        );
        if let Some(price) = &line.net_price
            && price.value < Decimal::ZERO
        {
            r.fatal(
                "BR-27",
                &price.path,
                format!(
                    "[BR-27]-The Item net price (BT-146) shall NOT be negative. (here {})",
                    price.value
                ),
            );
        }
        if let Some(price) = &line.gross_price
            && price.value < Decimal::ZERO
        {
            r.fatal(
                "BR-28",
                &price.path,
                format!(
                    "[BR-28]-The Item gross price (BT-148) shall NOT be negative. (here {})",
                    price.value
                ),
            );
        }
        r.require("BR-CO-04", has(&line.vat_category), p, "[BR-CO-04]-Each Invoice line (BG-25) shall be categorized with an Invoiced item VAT category code (BT-151).");
        if let Some(period) = &line.period {
            period_rules(r, period, "BR-30", "BR-CO-20", "Invoice line period");
        }
        for a in &line.allowances {
            r.require("BR-41", a.amount.is_some(), &a.path, "[BR-41]-Each Invoice line allowance (BG-27) shall have an Invoice line allowance amount (BT-136).");
            r.require("BR-42", has(&a.reason) || has(&a.reason_code), &a.path, "[BR-42]-Each Invoice line allowance (BG-27) shall have an Invoice line allowance reason (BT-139) or an Invoice line allowance reason code (BT-140).");
        }
        for c in &line.charges {
            r.require("BR-43", c.amount.is_some(), &c.path, "[BR-43]-Each Invoice line charge (BG-28) shall have an Invoice line charge amount (BT-141).");
            r.require("BR-44", has(&c.reason) || has(&c.reason_code), &c.path, "[BR-44]-Each Invoice line charge shall have an Invoice line charge reason or an invoice line allowance reason code.");
        }
    }
}

fn allowances_and_charges(r: &mut Rules<'_>) {
    let e = r.e;
    let check = |r: &mut Rules<'_>,
                 items: &[AllowanceCharge],
                 rules: [&str; 3],
                 what: &str,
                 terms: [&str; 4]| {
        for a in items {
            r.require(rules[0], a.amount.is_some(), &a.path, &format!("[{}]-Each Document level {what} (BG-{}) shall have a Document level {what} amount ({}).", rules[0], terms[0], terms[1]));
            r.require(rules[1], has(&a.vat_category), &a.path, &format!("[{}]-Each Document level {what} (BG-{}) shall have a Document level {what} VAT category code ({}).", rules[1], terms[0], terms[2]));
            r.require(rules[2], has(&a.reason) || has(&a.reason_code), &a.path, &format!("[{}]-Each Document level {what} (BG-{}) shall have a Document level {what} reason or a Document level {what} reason code ({}).", rules[2], terms[0], terms[3]));
        }
    };
    check(
        r,
        &e.allowances,
        ["BR-31", "BR-32", "BR-33"],
        "allowance",
        ["20", "BT-92", "BT-95", "BT-97, BT-98"],
    );
    check(
        r,
        &e.charges,
        ["BR-36", "BR-37", "BR-38"],
        "charge",
        ["21", "BT-99", "BT-102", "BT-104, BT-105"],
    );
}

fn vat_breakdown(r: &mut Rules<'_>) {
    let e = r.e;
    for b in &e.vat_breakdown {
        r.require(
            "BR-45",
            b.taxable.is_some(),
            &b.path,
            "[BR-45]-Each VAT breakdown (BG-23) shall have a VAT category taxable amount (BT-116).",
        );
        r.require(
            "BR-46",
            b.tax.is_some(),
            &b.path,
            "[BR-46]-Each VAT breakdown (BG-23) shall have a VAT category tax amount (BT-117).",
        );
        r.require("BR-47", has(&b.category), &b.path, "[BR-47]-Each VAT breakdown (BG-23) shall be defined through a VAT category code (BT-118).");
        let not_subject = value(&b.category).is_some_and(|c| c == "O");
        if !not_subject {
            r.require("BR-48", b.rate.is_some(), &b.path, "[BR-48]-Each VAT breakdown (BG-23) shall have a VAT category rate (BT-119), except if the Invoice is not subject to VAT.");
        }
    }
}

fn payment(r: &mut Rules<'_>) {
    let e = r.e;
    for m in &e.payment_means {
        r.require("BR-49", has(&m.code), &m.path, "[BR-49]-A Payment instruction (BG-16) shall specify the Payment means type code (BT-81).");
        if m.is_credit_transfer() {
            r.require("BR-50", !m.accounts.is_empty() || !m.has_account_group, &m.path, "[BR-50]-A Payment account identifier (BT-84) shall be present if Credit transfer (BG-17) information is provided in the Invoice.");
            r.require("BR-61", !m.accounts.is_empty(), &m.path, "[BR-61]-If the Payment means type code (BT-81) means SEPA credit transfer, Local credit transfer or Non-SEPA international credit transfer, the Payment account identifier (BT-84) shall be present.");
        }
    }
}

fn conditional(r: &mut Rules<'_>) {
    let e = r.e;
    if e.tax_point_date.is_some() && has(&e.tax_point_code) {
        let path = path_or(&e.tax_point_code, &e.root);
        r.fatal("BR-CO-03", &path, "[BR-CO-03]-Value added tax point date (BT-7) and Value added tax point date code (BT-8) are mutually exclusive.");
    }
    if !r.is_minimum() {
        r.require(
            "BR-CO-18",
            !e.vat_breakdown.is_empty(),
            &e.root,
            "[BR-CO-18]-An Invoice shall at least have one VAT breakdown group (BG-23).",
        );
    }
    for a in &e.allowances {
        r.require("BR-CO-21", has(&a.reason) || has(&a.reason_code), &a.path, "[BR-CO-21]-Each Document level allowance (BG-20) shall contain a Document level allowance reason (BT-97) or a Document level allowance reason code (BT-98), or both.");
    }
    for c in &e.charges {
        r.require("BR-CO-22", has(&c.reason) || has(&c.reason_code), &c.path, "[BR-CO-22]-Each Document level charge (BG-21) shall contain a Document level charge reason (BT-104) or a Document level charge reason code (BT-105), or both.");
    }
    for line in &e.lines {
        for a in &line.allowances {
            r.require("BR-CO-23", has(&a.reason) || has(&a.reason_code), &a.path, "[BR-CO-23]-Each Invoice line allowance (BG-27) shall contain an Invoice line allowance reason (BT-139) or an Invoice line allowance reason code (BT-140), or both.");
        }
        for c in &line.charges {
            r.require("BR-CO-24", has(&c.reason) || has(&c.reason_code), &c.path, "[BR-CO-24]-Each Invoice line charge (BG-28) shall contain an Invoice line charge reason (BT-144) or an Invoice line charge reason code (BT-145), or both.");
        }
    }
    // In UBL the artefacts test BR-CO-25 on invoices only, not on credit
    // notes.
    if !r.is_minimum()
        && e.syntax != Syntax::UblCreditNote
        && e.totals
            .due_payable
            .as_ref()
            .is_some_and(|d| d.value > Decimal::ZERO)
        && e.due_date.is_none()
        && e.payment_terms.is_empty()
    {
        let path = path_or(&e.totals.due_payable, &e.root);
        r.fatal("BR-CO-25", &path, "[BR-CO-25]-In case the Amount due for payment (BT-115) is positive, either the Payment due date (BT-9) or the Payment terms (BT-20) shall be present.");
    }
    let seller = &e.seller;
    if !seller.identifiers.iter().any(|i| !i.value.is_empty())
        && !has(&seller.legal_id)
        && !has(&seller.vat_id)
    {
        r.fatal("BR-CO-26", &seller.path, "[BR-CO-26]-In order for the buyer to automatically identify a supplier, the Seller identifier (BT-29), the Seller legal registration identifier (BT-30) and/or the Seller VAT identifier (BT-31) shall be present.");
    }
}
