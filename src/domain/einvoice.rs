//! An e-invoice as EN 16931 describes it: the business terms (BT-n) and
//! groups (BG-n) of the semantic model, whatever syntax carried them.
//!
//! `read::einvoice` fills this from CII, ZUGFeRD 1.0 or UBL;
//! `validate::en16931` checks the standard's business rules on it; the
//! invoice page renders an XML-only invoice from it. Every value keeps the
//! XML path it was read at ([`At`]), because a rule violation must say
//! where in the file the problem is, and amounts keep the decimals they
//! were written with (`Decimal` keeps its scale), because the standard
//! limits them (BR-DEC-*).

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A value and the XML path it was read from
/// (`/rsm:CrossIndustryInvoice/.../ram:GrandTotalAmount`).
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub path: String,
}

/// An optional value with its path.
pub type Term<T> = Option<At<T>>;

/// The XML syntax an e-invoice came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// UN/CEFACT Cross Industry Invoice D16B (Factur-X, ZUGFeRD 2.x, XRechnung CII).
    Cii,
    /// ZUGFeRD 1.0 `CrossIndustryDocument`, older than EN 16931.
    Zugferd1,
    UblInvoice,
    UblCreditNote,
}

impl Syntax {
    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::Cii => "UN/CEFACT CII",
            Syntax::Zugferd1 => "ZUGFeRD 1.0",
            Syntax::UblInvoice => "UBL Invoice",
            Syntax::UblCreditNote => "UBL CreditNote",
        }
    }
}

/// What the specification identifier (BT-24) says the invoice follows,
/// which decides the rules that apply: MINIMUM and BASIC WL carry no
/// lines, XRechnung adds the German rules (BR-DE-*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Factur-X / ZUGFeRD MINIMUM: a booking aid, not an EN 16931 invoice.
    Minimum,
    /// Factur-X / ZUGFeRD BASIC WL: header and VAT breakdown, no lines.
    BasicWl,
    Basic,
    /// EN 16931 itself (ZUGFeRD/Factur-X "EN 16931", formerly COMFORT).
    En16931,
    Extended,
    XRechnung,
    PeppolBis,
    /// ZUGFeRD 1.0 (BASIC, COMFORT, EXTENDED): only the arithmetic applies.
    Zugferd1,
    /// An identifier apflow does not know: checked as EN 16931.
    Other,
}

impl Profile {
    /// The profile an identifier names; `syntax` tells ZUGFeRD 1.0 apart.
    pub fn of(specification: Option<&str>, syntax: Syntax) -> Profile {
        if syntax == Syntax::Zugferd1 {
            return Profile::Zugferd1;
        }
        let id = specification.unwrap_or_default().to_ascii_lowercase();
        if id.contains("xrechnung") {
            Profile::XRechnung
        } else if id.contains("peppol") {
            Profile::PeppolBis
        } else if id.contains("minimum") {
            Profile::Minimum
        } else if id.contains("basicwl") || id.contains("basic-wl") {
            Profile::BasicWl
        } else if id.contains("extended") {
            Profile::Extended
        } else if id.contains("basic") {
            Profile::Basic
        } else if id.contains("urn:ferd:") || id.contains("comfort") || id.contains("en16931") {
            Profile::En16931
        } else {
            Profile::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Minimum => "MINIMUM",
            Profile::BasicWl => "BASIC WL",
            Profile::Basic => "BASIC",
            Profile::En16931 => "EN 16931",
            Profile::Extended => "EXTENDED",
            Profile::XRechnung => "XRechnung",
            Profile::PeppolBis => "Peppol BIS Billing 3.0",
            Profile::Zugferd1 => "ZUGFeRD 1.0",
            Profile::Other => "EN 16931 (unknown customisation)",
        }
    }

    /// Whether invoice lines are part of the profile (MINIMUM and BASIC WL
    /// leave them out by design).
    pub fn has_lines(self) -> bool {
        !matches!(self, Profile::Minimum | Profile::BasicWl)
    }
}

/// An e-invoice's business terms.
#[derive(Debug, Clone, PartialEq)]
pub struct EInvoice {
    pub syntax: Syntax,
    pub profile: Profile,
    /// Path of the root element, where a missing header term is reported.
    pub root: String,
    /// BT-24 specification identifier.
    pub specification: Term<String>,
    /// BT-1.
    pub number: Term<String>,
    /// BT-2.
    pub issue_date: Term<NaiveDate>,
    /// BT-3 invoice type code (UNTDID 1001: 380 invoice, 381 credit note, ...).
    pub type_code: Term<String>,
    /// BT-5 invoice currency.
    pub currency: Term<String>,
    /// BT-6 VAT accounting currency.
    pub tax_currency: Term<String>,
    /// BT-7 value added tax point date.
    pub tax_point_date: Term<NaiveDate>,
    /// BT-8 value added tax point date code.
    pub tax_point_code: Term<String>,
    /// BT-9 payment due date.
    pub due_date: Term<NaiveDate>,
    /// BT-10 buyer reference (Leitweg-ID in XRechnung).
    pub buyer_reference: Term<String>,
    /// BT-11 project reference.
    pub project_reference: Term<String>,
    /// BT-12 contract reference.
    pub contract_reference: Term<String>,
    /// BT-13 purchase order reference.
    pub order_reference: Term<String>,
    /// BT-18 invoiced object identifier (a meter, a subscription, a
    /// vehicle: what a recurring invoice is for).
    pub invoiced_object: Term<String>,
    /// BT-20 payment terms, each text as written.
    pub payment_terms: Vec<At<String>>,
    /// Early-payment discounts: CII's structured discount terms, and
    /// XRechnung's `#SKONTO#TAGE=14#PROZENT=2.00#` entries in BT-20.
    pub discount_terms: Vec<DiscountTerm>,
    /// BT-22 notes.
    pub notes: Vec<At<String>>,
    /// BG-3 preceding invoice references.
    pub preceding_invoices: Vec<PrecedingInvoice>,
    /// BG-4.
    pub seller: Party,
    /// BG-7.
    pub buyer: Party,
    /// BG-10, when the payee is not the seller.
    pub payee: Option<Party>,
    /// BG-11.
    pub tax_representative: Option<Party>,
    /// BG-13 delivery information.
    pub delivery: Delivery,
    /// BG-14 invoicing period.
    pub invoicing_period: Option<Period>,
    /// BG-16 payment instructions, one per payment means.
    pub payment_means: Vec<PaymentMeans>,
    /// BT-90 bank assigned creditor identifier (direct debit).
    pub creditor_id: Term<String>,
    /// BT-89 mandate reference (direct debit).
    pub mandate: Term<String>,
    /// BG-20 document level allowances.
    pub allowances: Vec<AllowanceCharge>,
    /// BG-21 document level charges.
    pub charges: Vec<AllowanceCharge>,
    /// BG-22.
    pub totals: Totals,
    /// BG-23, one per VAT category and rate.
    pub vat_breakdown: Vec<VatBreakdown>,
    /// BG-25.
    pub lines: Vec<InvoiceLine>,
    /// Values that are there but cannot be read as their type (an amount
    /// `12,50`, a date `2026-13-01`): the path and the text as written.
    pub unreadable: Vec<At<String>>,
}

/// An early-payment discount: `percent` off when paid within `days`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountTerm {
    pub path: String,
    pub days: rust_decimal::Decimal,
    pub percent: rust_decimal::Decimal,
    /// The amount the discount applies to, when not the whole invoice.
    pub base: Option<rust_decimal::Decimal>,
}

/// XRechnung's discount syntax in payment terms (BT-20):
/// `#SKONTO#TAGE=14#PROZENT=2.00#` with an optional `BASISBETRAG=100.00#`,
/// one entry per line (`#VERZUG#` for late fees has the same shape). The
/// entries as `(days, percent, base)`, or the first one that does not
/// follow the syntax.
pub fn skonto_entries(
    text: &str,
) -> Result<
    Vec<(
        rust_decimal::Decimal,
        rust_decimal::Decimal,
        Option<rust_decimal::Decimal>,
    )>,
    String,
> {
    let mut found = Vec::new();
    for entry in text.split("#SKONTO#").skip(1) {
        let mut fields = entry.split('#');
        let days = fields.next().and_then(|f| number_after(f, "TAGE=", false));
        let percent = fields
            .next()
            .and_then(|f| number_after(f, "PROZENT=", true));
        let base = fields.next().filter(|f| f.starts_with("BASISBETRAG="));
        let base_value = base.map(|f| number_after(f, "BASISBETRAG=", true));
        match (days, percent, base_value) {
            (Some(d), Some(p), None) => found.push((d, p, None)),
            (Some(d), Some(p), Some(Some(b))) => found.push((d, p, Some(b))),
            _ => {
                return Err(format!(
                    "#SKONTO#{}",
                    entry.chars().take(50).collect::<String>()
                ));
            }
        }
    }
    Ok(found)
}

/// The number after `key` in one `#`-separated field: whole days, or an
/// amount/percentage with exactly two decimals as XRechnung asks.
fn number_after(field: &str, key: &str, two_decimals: bool) -> Option<rust_decimal::Decimal> {
    let number = field.strip_prefix(key)?;
    let digits = number.strip_prefix('-').unwrap_or(number);
    let well_formed = if two_decimals {
        digits.split_once('.').is_some_and(|(whole, fraction)| {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.len() == 2
                && fraction.bytes().all(|b| b.is_ascii_digit())
        })
    } else {
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !well_formed {
        return None;
    }
    number.parse().ok()
}

/// BG-3: an invoice this one corrects or follows.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecedingInvoice {
    pub path: String,
    /// BT-25.
    pub number: Term<String>,
    /// BT-26.
    pub issue_date: Term<NaiveDate>,
}

/// A party: seller (BG-4), buyer (BG-7), payee (BG-10) or tax
/// representative (BG-11).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Party {
    /// Where the party is (or would be) in the file.
    pub path: String,
    /// BT-27 / BT-44 / BT-59 / BT-62.
    pub name: Term<String>,
    /// BT-28 / BT-45 trading name.
    pub trading_name: Term<String>,
    /// BT-29 / BT-46 / BT-60 identifiers (scheme aside).
    pub identifiers: Vec<At<String>>,
    /// BT-30 / BT-47 / BT-61 legal registration identifier.
    pub legal_id: Term<String>,
    /// BT-31 / BT-48 / BT-63 VAT identifier.
    pub vat_id: Term<String>,
    /// BT-32 seller tax registration identifier (local tax number).
    pub tax_registration: Term<String>,
    /// BT-34 / BT-49 electronic address.
    pub electronic_address: Term<String>,
    /// Its scheme identifier (EAS code).
    pub electronic_address_scheme: Term<String>,
    /// BG-5 / BG-8 / BG-12 postal address.
    pub address: Option<Address>,
    /// BG-6 / BG-9 contact.
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    pub path: String,
    /// BT-35 / BT-50 / BT-64 / BT-75.
    pub line_one: Term<String>,
    /// BT-37 / BT-52 / BT-66 / BT-77.
    pub city: Term<String>,
    /// BT-38 / BT-53 / BT-67 / BT-78.
    pub post_code: Term<String>,
    /// BT-39 / BT-54 / BT-68 / BT-79.
    pub subdivision: Term<String>,
    /// BT-40 / BT-55 / BT-69 / BT-80, ISO 3166-1 alpha-2.
    pub country: Term<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contact {
    pub path: String,
    /// BT-41 / BT-56.
    pub name: Term<String>,
    /// BT-42 / BT-57.
    pub phone: Term<String>,
    /// BT-43 / BT-58.
    pub email: Term<String>,
}

/// BG-13.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivery {
    /// BT-70 deliver to party name.
    pub party_name: Term<String>,
    /// BT-72 actual delivery date.
    pub date: Term<NaiveDate>,
    /// BG-15 deliver to address.
    pub address: Option<Address>,
}

/// BG-14 / BG-26: a period with start and end.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub path: String,
    pub start: Term<NaiveDate>,
    pub end: Term<NaiveDate>,
}

/// BG-16 payment instructions.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentMeans {
    pub path: String,
    /// BT-81 payment means type code (UNTDID 4461: 30/58 credit transfer,
    /// 48/54/55 card, 49/59 direct debit).
    pub code: Term<String>,
    /// BT-82.
    pub text: Term<String>,
    /// BT-83 remittance information.
    pub remittance: Term<String>,
    /// BT-84 payment account identifiers (IBAN or proprietary) of BG-17.
    pub accounts: Vec<At<String>>,
    /// Whether BG-17 (credit transfer) is there at all, with or without an
    /// account identifier in it.
    pub has_account_group: bool,
    /// BT-86 payment service provider (BIC).
    pub bic: Term<String>,
    /// BT-87 primary account number of a payment card (BG-18).
    pub card_number: Term<String>,
    /// BT-91 debited account (BG-19 direct debit).
    pub debited_account: Term<String>,
}

impl PaymentMeans {
    /// UNTDID 4461 codes for a credit transfer (30, 58 SEPA).
    pub fn is_credit_transfer(&self) -> bool {
        self.code
            .as_ref()
            .is_some_and(|c| matches!(c.value.as_str(), "30" | "58"))
    }
    /// Payment card codes (48, 54, 55).
    pub fn is_card(&self) -> bool {
        self.code
            .as_ref()
            .is_some_and(|c| matches!(c.value.as_str(), "48" | "54" | "55"))
    }
    /// Direct debit codes (49, 59 SEPA).
    pub fn is_direct_debit(&self) -> bool {
        self.code
            .as_ref()
            .is_some_and(|c| matches!(c.value.as_str(), "49" | "59"))
    }
}

/// An allowance (BG-20, BG-27) or charge (BG-21, BG-28), on the document or
/// on a line.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowanceCharge {
    pub path: String,
    /// BT-92 / BT-99 / BT-136 / BT-141.
    pub amount: Term<Decimal>,
    /// BT-93 / BT-100 / BT-137 / BT-142 base amount.
    pub base: Term<Decimal>,
    /// BT-94 / BT-101 / BT-138 / BT-143 percentage.
    pub percent: Term<Decimal>,
    /// BT-95 / BT-102 VAT category (document level only).
    pub vat_category: Term<String>,
    /// BT-96 / BT-103 VAT rate (document level only).
    pub vat_rate: Term<Decimal>,
    /// BT-97 / BT-104 / BT-139 / BT-144.
    pub reason: Term<String>,
    /// BT-98 / BT-105 / BT-140 / BT-145.
    pub reason_code: Term<String>,
}

/// BG-22 document totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    pub path: String,
    /// BT-106 sum of invoice line net amounts.
    pub line_total: Term<Decimal>,
    /// BT-107 sum of allowances on document level.
    pub allowance_total: Term<Decimal>,
    /// BT-108 sum of charges on document level.
    pub charge_total: Term<Decimal>,
    /// BT-109 invoice total without VAT.
    pub tax_exclusive: Term<Decimal>,
    /// BT-110 invoice total VAT amount (in the invoice currency).
    pub tax_total: Term<Decimal>,
    /// BT-111 total VAT amount in the accounting currency.
    pub tax_total_accounting: Term<Decimal>,
    /// BT-112 invoice total with VAT.
    pub grand_total: Term<Decimal>,
    /// BT-113 paid amount.
    pub prepaid: Term<Decimal>,
    /// BT-114 rounding amount.
    pub rounding: Term<Decimal>,
    /// BT-115 amount due for payment.
    pub due_payable: Term<Decimal>,
}

/// BG-23: one VAT category and rate's taxable amount and tax.
#[derive(Debug, Clone, PartialEq)]
pub struct VatBreakdown {
    pub path: String,
    /// BT-116.
    pub taxable: Term<Decimal>,
    /// BT-117.
    pub tax: Term<Decimal>,
    /// BT-118 (UNCL 5305: S, Z, E, AE, K, G, O, L, M).
    pub category: Term<String>,
    /// BT-119.
    pub rate: Term<Decimal>,
    /// BT-120.
    pub exemption_reason: Term<String>,
    /// BT-121.
    pub exemption_code: Term<String>,
}

/// BG-25 an invoice line.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    pub path: String,
    /// BT-126.
    pub id: Term<String>,
    /// BT-129.
    pub quantity: Term<Decimal>,
    /// BT-130.
    pub unit: Term<String>,
    /// BT-131 line net amount.
    pub net_amount: Term<Decimal>,
    /// BT-128 invoice line object identifier.
    pub object_id: Term<String>,
    /// BT-132 referenced purchase order line.
    pub order_line: Term<String>,
    /// BG-26.
    pub period: Option<Period>,
    /// BG-27.
    pub allowances: Vec<AllowanceCharge>,
    /// BG-28.
    pub charges: Vec<AllowanceCharge>,
    /// BT-146 item net price.
    pub net_price: Term<Decimal>,
    /// BT-147 item price discount.
    pub price_discount: Term<Decimal>,
    /// BT-148 item gross price.
    pub gross_price: Term<Decimal>,
    /// BT-149 item price base quantity.
    pub base_quantity: Term<Decimal>,
    /// BT-151.
    pub vat_category: Term<String>,
    /// BT-152.
    pub vat_rate: Term<Decimal>,
    /// BT-153.
    pub name: Term<String>,
    /// BT-154.
    pub description: Term<String>,
    /// BT-155.
    pub seller_item_id: Term<String>,
}

/// A business rule an e-invoice breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    /// The rule's identifier in the standard (`BR-CO-15`, `BR-DE-15`).
    pub rule: String,
    /// Fatal rules make an invoice invalid; warnings are shown only.
    pub severity: Severity,
    /// What the standard says, with the values that break it.
    pub message: String,
    /// Where in the XML.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Fatal,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Warning => "warning",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "fatal" => Some(Severity::Fatal),
            "warning" => Some(Severity::Warning),
            _ => None,
        }
    }
}
