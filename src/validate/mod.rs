//! Validate: is the extracted invoice internally consistent, complete, and
//! from a vendor we know, paid to an account we know?
//!
//! Pure: takes the invoice and the vendor master, returns the resolved
//! vendor and findings. Never fails; a problem is a finding with a reason
//! code, and the invoice goes to review with it.

pub mod en16931;
mod vat;
mod vendor;

pub use crate::domain::{compact_iban, mask_iban};

pub use vat::{VatCheck, check_vat_id, italian_check_digit, plausible_rates};
pub use vendor::{VendorMatch, resolve_vendor};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::{ExtractedInvoice, ExtractionSource, Finding, ReasonCode, Vendor};
pub(crate) use crate::extract::normalize::iban_is_valid;

/// Default for `min_confidence`: fields the decision uses below this
/// confidence are shown to a clerk rather than trusted.
pub const MIN_CONFIDENCE: f32 = 0.5;

/// Rounding slack when comparing sums printed to the cent.
fn cent() -> Decimal {
    Decimal::new(1, 2)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub vendor: Option<Vendor>,
    pub findings: Vec<Finding>,
}

/// A fatal EN 16931 / XRechnung rule the XML breaks is a reason to review;
/// warnings are shown on the invoice page but hold nothing up.
fn einvoice_rules(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    for v in &inv.einvoice_violations {
        if v.severity != crate::domain::einvoice::Severity::Fatal {
            continue;
        }
        findings.push(
            Finding::new(
                ReasonCode::EInvoiceInvalid,
                field_of_rule(&v.rule),
                format!("the e-invoice breaks rule {}: {}", v.rule, v.message),
            )
            .with("rule", &v.rule)
            .with("xml_path", &v.path),
        );
    }
}

/// The invoice field a rule is about, where there is one, so the review
/// screen can point at it.
fn field_of_rule(rule: &str) -> Option<&'static str> {
    match rule {
        "BR-02" => Some("invoice_number"),
        "BR-03" => Some("invoice_date"),
        "BR-05" => Some("currency"),
        "BR-06" => Some("vendor_name"),
        "BR-13" | "BR-CO-13" => Some("net_amount"),
        "BR-CO-14" => Some("tax_amount"),
        "BR-14" | "BR-CO-15" | "BR-CO-16" => Some("total_amount"),
        "BR-CO-10" => Some("line_items"),
        "BR-CO-09" => Some("vendor_vat_id"),
        _ => None,
    }
}

/// Where a hybrid PDF's embedded XML and its page disagree: the field,
/// what the XML says and what the page shows (IBANs masked).
pub fn xml_against_page_values(inv: &ExtractedInvoice) -> Vec<(&'static str, String, String)> {
    inv.visible_disagreements
        .iter()
        .map(|d| {
            let stated = match d.field {
                "invoice_number" => inv.invoice_number.as_ref().map(|f| f.value.clone()),
                "total_amount" => inv.total_amount.as_ref().map(|f| f.value.to_string()),
                "iban" => inv.iban.as_ref().map(|f| mask_iban(&f.value)),
                "due_date" => inv.due_date.as_ref().map(|f| f.value.to_string()),
                _ => None,
            }
            .unwrap_or_default();
            let shown = if d.field == "iban" {
                mask_iban(&d.visible)
            } else {
                d.visible.clone()
            };
            (d.field, stated, shown)
        })
        .collect()
}

/// A hybrid PDF whose embedded XML says something else than its page.
fn xml_against_page(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    for (field, stated, shown) in xml_against_page_values(inv) {
        let mut f = Finding::new(
            ReasonCode::XmlVisualMismatch,
            Some(field),
            format!(
                "the embedded e-invoice XML says {} is {stated}, but the page shows {shown}; check which one the vendor sent",
                field.replace('_', " ")
            ),
        );
        f.evidence = vec![("xml", stated), ("page", shown)];
        findings.push(f);
    }
}

pub fn validate(
    inv: &ExtractedInvoice,
    vendors: &[Vendor],
    today: NaiveDate,
    min_confidence: f32,
) -> Validation {
    let mut findings = Vec::new();
    required_fields(inv, &mut findings);
    // Net + tax = total holds on every valid invoice (BR-CO-15 for an
    // e-invoice) and is what the payment rests on, so it is checked
    // whatever the rules below found.
    totals(inv, &mut findings);
    if inv.source == ExtractionSource::EInvoice {
        // The XML is judged by the standard's calculation model
        // (allowances, charges, rounding per line), not by the heuristics
        // for read pages, which raise false alarms on valid e-invoices.
        einvoice_rules(inv, &mut findings);
    } else {
        line_arithmetic(inv, &mut findings);
    }
    dates(inv, today, &mut findings);
    confidence(inv, min_confidence, &mut findings);
    tax_ids_and_rates(inv, &mut findings);
    xml_against_page(inv, &mut findings);
    how_it_is_to_be_paid(inv, &mut findings);
    if let Some(iban) = &inv.iban
        && !iban_is_valid(&iban.value)
    {
        findings.push(Finding::new(
            ReasonCode::InvalidIban,
            Some("iban"),
            format!("IBAN {} fails its checksum", mask_iban(&iban.value)),
        ));
    }
    let vendor = match resolve_vendor(inv, vendors) {
        VendorMatch::One(v) => Some(v.clone()),
        VendorMatch::Ambiguous(ids) => {
            findings.push(Finding::new(
                ReasonCode::VendorAmbiguous,
                Some("vendor_name"),
                format!(
                    "the invoice fits several vendors ({}); pick one",
                    ids.join(", ")
                ),
            ));
            None
        }
        VendorMatch::None => {
            let name = inv
                .vendor_name
                .as_ref()
                .map_or("(no name found)", |f| f.value.as_str());
            findings.push(Finding::new(
                ReasonCode::VendorUnknown,
                Some("vendor_name"),
                format!("no vendor in the master data matches {name:?} (by VAT id, IBAN or name)"),
            ));
            None
        }
    };
    if let (Some(v), Some(iban)) = (&vendor, &inv.iban)
        && !is_verified_iban(v, &iban.value)
    {
        findings.push(Finding::new(
                ReasonCode::BankDetailsChanged,
                Some("iban"),
                format!("IBAN {} is not a verified account of {}; a second person must verify it before payment", mask_iban(&iban.value), v.name),
            ));
    }
    Validation { vendor, findings }
}

/// What the invoice itself says about being paid: a credit note, an
/// amount due above the total or nothing due after a prepayment, a direct
/// debit. Each holds it for a person (`payment::not_to_be_paid` keeps the
/// money where it is whatever they decide).
fn how_it_is_to_be_paid(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    if let Some(credit) = &inv.credit_note {
        findings.push(Finding::new(
            ReasonCode::CreditNote,
            Some("total_amount"),
            format!(
                "a {}: the vendor owes this amount; offset it against open invoices of the vendor or ask for a refund",
                credit.value
            ),
        ));
    }
    // A rounding amount (BT-114) or a negative prepayment can make the
    // amount due exceed the total while BR-CO-16 still holds: more than a
    // currency unit of that is not rounding.
    if let (Some(due), Some(total)) = (&inv.amount_due, &inv.total_amount)
        && due.value - total.value > Decimal::ONE
    {
        findings.push(
            Finding::new(
                ReasonCode::TotalsMismatch,
                Some("amount_due"),
                format!(
                    "the invoice asks for {}, more than its total {}: a rounding or prepayment of {} is not plausible",
                    due.value,
                    total.value,
                    due.value - total.value
                ),
            )
            .with("amount_due", due.value)
            .with("total", total.value),
        );
    }
    if let (Some(due), Some(total)) = (&inv.amount_due, &inv.total_amount)
        && due.value <= Decimal::ZERO
        && total.value > Decimal::ZERO
    {
        findings.push(Finding::new(
            ReasonCode::NothingDue,
            Some("amount_due"),
            format!(
                "the invoice says nothing is due of its total {} (paid in advance): nothing is transferred; check the prepayment",
                total.value
            ),
        ));
    }
    if let Some(debit) = &inv.direct_debit {
        findings.push(Finding::new(
            ReasonCode::DirectDebit,
            Some("direct_debit"),
            format!(
                "the vendor collects this invoice itself ({}): apflow transfers nothing; check that the debit is expected and matches the invoice",
                debit.value
            ),
        ));
    }
}

/// Whether `iban` (spaces and case aside) is one of the vendor's verified
/// accounts: the one test the decision, the approval and the payment run
/// all apply before money goes to it.
pub fn is_verified_iban(vendor: &Vendor, iban: &str) -> bool {
    crate::domain::iban_among(&vendor.ibans, iban)
}

fn required_fields(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    let missing = [
        ("invoice_number", inv.invoice_number.is_none()),
        ("invoice_date", inv.invoice_date.is_none()),
        ("total_amount", inv.total_amount.is_none()),
        ("currency", inv.currency.is_none()),
    ];
    for (name, absent) in missing {
        if absent {
            findings.push(Finding::new(
                ReasonCode::MissingField,
                Some(name),
                format!("{name} was not found on the invoice"),
            ));
        }
    }
}

fn value(f: &Option<crate::domain::Field<Decimal>>) -> Option<Decimal> {
    f.as_ref().map(|f| f.value)
}

fn totals(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    let v = value;
    if let (Some(net), Some(tax), Some(total)) =
        (v(&inv.net_amount), v(&inv.tax_amount), v(&inv.total_amount))
        && (net + tax - total).abs() > cent()
    {
        findings.push(Finding::new(
            ReasonCode::TotalsMismatch,
            Some("total_amount"),
            format!(
                "net {net} + tax {tax} = {} but the total says {total}",
                net + tax
            ),
        ));
    }
}

/// Lines against the net amount and quantity x price per line: for
/// invoices read from a page, where no allowances or charges are read.
fn line_arithmetic(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    let v = value;
    let amounts: Option<Vec<Decimal>> = inv.line_items.iter().map(|l| l.amount).collect();
    if let (Some(net), Some(amounts)) = (v(&inv.net_amount), amounts.filter(|a| !a.is_empty())) {
        let sum: Decimal = amounts.iter().sum();
        // Allowances and charges on document level are not read yet, so
        // only flag a clear difference.
        if (sum - net).abs() > cent() * Decimal::from(amounts.len()) {
            findings.push(Finding::new(
                ReasonCode::LineSumMismatch,
                Some("net_amount"),
                format!("the lines add up to {sum} but the net amount is {net}"),
            ));
        }
    }
    for (i, l) in inv.line_items.iter().enumerate() {
        if let (Some(q), Some(p), Some(a)) = (l.quantity, l.unit_price, l.amount)
            && l.arithmetic_holds() == Some(false)
        {
            findings.push(Finding::new(
                ReasonCode::LineSumMismatch,
                Some("line_items"),
                format!(
                    "line {}: {q} × {p} = {} but the line says {a}",
                    i + 1,
                    (q * p).round_dp(2)
                ),
            ));
        }
    }
}

fn dates(inv: &ExtractedInvoice, today: NaiveDate, findings: &mut Vec<Finding>) {
    if let (Some(issued), Some(due)) = (&inv.invoice_date, &inv.due_date)
        && due.value < issued.value
    {
        findings.push(Finding::new(
            ReasonCode::DueBeforeIssue,
            Some("due_date"),
            format!(
                "due {} is before the invoice date {}",
                due.value, issued.value
            ),
        ));
    }
    if let Some(issued) = &inv.invoice_date
        && issued.value > today + chrono::Days::new(31)
    {
        findings.push(Finding::new(
            ReasonCode::DueBeforeIssue,
            Some("invoice_date"),
            format!("invoice date {} is in the future", issued.value),
        ));
    }
}

/// Every field the routing decision relies on must be read with at least
/// `min` confidence; otherwise a person confirms it.
fn confidence(inv: &ExtractedInvoice, min: f32, findings: &mut Vec<Finding>) {
    let key_fields = [
        (
            "invoice_number",
            inv.invoice_number.as_ref().map(|f| f.confidence),
        ),
        (
            "invoice_date",
            inv.invoice_date.as_ref().map(|f| f.confidence),
        ),
        ("due_date", inv.due_date.as_ref().map(|f| f.confidence)),
        (
            "total_amount",
            inv.total_amount.as_ref().map(|f| f.confidence),
        ),
        ("amount_due", inv.amount_due.as_ref().map(|f| f.confidence)),
        ("currency", inv.currency.as_ref().map(|f| f.confidence)),
        ("po_number", inv.po_number.as_ref().map(|f| f.confidence)),
        ("iban", inv.iban.as_ref().map(|f| f.confidence)),
        (
            "vendor_vat_id",
            inv.vendor_vat_id.as_ref().map(|f| f.confidence),
        ),
    ];
    for (name, c) in key_fields {
        if let Some(c) = c.filter(|c| *c < min) {
            findings.push(
                Finding::new(
                    ReasonCode::LowConfidence,
                    Some(name),
                    format!("{name} was read with low confidence ({c:.2}); please check it"),
                )
                .with("confidence", format!("{c:.2}"))
                .with("threshold", format!("{min:.2}")),
            );
        }
    }
    let lines: Vec<usize> = inv
        .line_items
        .iter()
        .enumerate()
        .filter(|(_, l)| l.confidence < min)
        .map(|(i, _)| i + 1)
        .collect();
    if !lines.is_empty() {
        findings.push(
            Finding::new(
                ReasonCode::LowConfidence,
                Some("line_items"),
                "some line items were read with low confidence; please check them",
            )
            .on_lines(lines),
        );
    }
}

/// VAT id check digits, and line tax rates that exist in the vendor's
/// country.
fn tax_ids_and_rates(inv: &ExtractedInvoice, findings: &mut Vec<Finding>) {
    let Some(vat) = &inv.vendor_vat_id else {
        return;
    };
    if check_vat_id(&vat.value) == VatCheck::Invalid {
        findings.push(
            Finding::new(
                ReasonCode::InvalidVatId,
                Some("vendor_vat_id"),
                format!("VAT id {} fails its format or check digits", vat.value),
            )
            .with("vat_id", &vat.value),
        );
        return;
    }
    let country: String = vat.value.chars().take(2).collect::<String>().to_uppercase();
    let Some(rates) = plausible_rates(&country) else {
        return;
    };
    for (i, l) in inv.line_items.iter().enumerate() {
        if let Some(rate) = l.tax_rate
            && !rates
                .iter()
                .any(|r| r.parse::<Decimal>().is_ok_and(|r| r == rate))
        {
            findings.push(
                Finding::new(
                    ReasonCode::ImplausibleTaxRate,
                    Some("line_items"),
                    format!(
                        "line {}: VAT rate {rate}% does not exist in {country}",
                        i + 1
                    ),
                )
                .on_lines([i + 1])
                .with("tax_rate", rate)
                .with("country", &country),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ExtractionSource, Field};

    fn d(s: &str) -> Decimal {
        s.parse().expect("test decimals are valid")
    }

    fn vendor() -> Vendor {
        Vendor {
            vendor_id: "V1".into(),
            name: "Nordlicht Bürobedarf GmbH".into(),
            aliases: vec![],
            vat_id: Some("DE136695976".into()),
            ibans: vec!["DE89370400440532013000".into()],
            payment_terms: Some("net 30".into()),
            currency: Some("EUR".into()),
            email_domains: vec![],
            tolerances: Default::default(),
        }
    }

    fn invoice(net: &str, tax: &str, total: &str, iban: &str) -> ExtractedInvoice {
        let mut inv = ExtractedInvoice::empty(ExtractionSource::EInvoice);
        inv.invoice_number = Some(Field::exact("RE-1".into()));
        inv.invoice_date = NaiveDate::from_ymd_opt(2026, 3, 5).map(Field::exact);
        inv.currency = Some(Field::exact("EUR".into()));
        inv.vendor_vat_id = Some(Field::exact("DE136695976".into()));
        inv.net_amount = Some(Field::exact(d(net)));
        inv.tax_amount = Some(Field::exact(d(tax)));
        inv.total_amount = Some(Field::exact(d(total)));
        inv.iban = Some(Field::exact(iban.into()));
        inv
    }

    fn codes(v: &Validation) -> Vec<&'static str> {
        v.findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn checks() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).expect("valid date");
        let ok_iban = "DE89370400440532013000";
        let cases: &[(ExtractedInvoice, &[&str])] = &[
            (invoice("100.00", "19.00", "119.00", ok_iban), &[]),
            (
                invoice("100.00", "19.00", "120.00", ok_iban),
                &["totals_mismatch"],
            ),
            (
                invoice("100.00", "19.00", "119.00", "DE89370400440532013001"),
                &["invalid_iban", "bank_details_changed"],
            ),
            (
                invoice("100.00", "19.00", "119.00", "GB82WEST12345698765432"),
                &["bank_details_changed"],
            ),
        ];
        for (inv, want) in cases {
            let v = validate(inv, &[vendor()], today, MIN_CONFIDENCE);
            assert_eq!(codes(&v), *want);
        }
        let mut unknown = invoice("100.00", "19.00", "119.00", ok_iban);
        unknown.vendor_vat_id = None;
        unknown.iban = None;
        assert_eq!(
            codes(&validate(&unknown, &[vendor()], today, MIN_CONFIDENCE)),
            ["vendor_unknown"]
        );
        assert_eq!(mask_iban(ok_iban), "DE89…3000");
    }

    #[test]
    fn an_einvoice_is_judged_by_its_rules_not_by_page_heuristics() {
        use crate::domain::LineItem;
        use crate::domain::einvoice::{RuleViolation, Severity as RuleSeverity};
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).expect("valid date");
        // Lines of 110.00 with a document level allowance of 10.00: valid.
        let mut inv = invoice("100.00", "19.00", "119.00", "DE89370400440532013000");
        inv.line_items = vec![LineItem {
            description: Some("Paper".into()),
            sku: None,
            quantity: Some(d("5.000")),
            unit: None,
            unit_price: Some(d("4.10")),
            price_base_quantity: None,
            tax_rate: Some(d("19")),
            amount: Some(d("110.00")),
            confidence: 1.0,
            location: None,
        }];
        assert_eq!(
            codes(&validate(&inv, &[vendor()], today, MIN_CONFIDENCE)),
            Vec::<&str>::new()
        );
        let violation = |severity| {
            RuleViolation {
            rule: "BR-CO-10".into(),
            severity,
            message: "[BR-CO-10]-Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).".into(),
            path: "/rsm:CrossIndustryInvoice".into(),
        }
        };
        inv.einvoice_violations = vec![violation(RuleSeverity::Warning)];
        assert_eq!(
            codes(&validate(&inv, &[vendor()], today, MIN_CONFIDENCE)),
            Vec::<&str>::new()
        );
        inv.einvoice_violations = vec![violation(RuleSeverity::Fatal)];
        let v = validate(&inv, &[vendor()], today, MIN_CONFIDENCE);
        assert_eq!(codes(&v), ["einvoice_invalid"]);
        assert!(v.findings[0].message.contains("BR-CO-10"));
        // The same lines read from a page are a line-sum finding.
        inv.source = ExtractionSource::Visual;
        inv.einvoice_violations.clear();
        assert!(
            codes(&validate(&inv, &[vendor()], today, MIN_CONFIDENCE))
                .contains(&"line_sum_mismatch")
        );
    }
}
