//! Learning from corrections. When a clerk corrects a field on a vendor's
//! invoice, apflow finds the corrected value on the page and remembers
//! where it sits for that vendor ([`locate`]); the vendor's next invoice
//! with the same layout reads that field from the same place
//! ([`apply`]), ahead of the generic rules. Vendors reuse their layout, so
//! one correction fixes the rest of their invoices.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::normalize::{DecimalStyle, guess_decimal_style, parse_amount, parse_date};
use crate::domain::{BBox, ExtractedInvoice, Field, Page, Word};

/// Where a vendor prints one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPlace {
    pub field: String,
    pub page: u32,
    pub bbox: BBox,
    /// Who taught it: a clerk's correction, or the XML of one of the
    /// vendor's e-invoices.
    pub taught_by: TaughtBy,
}

/// Where a remembered place came from; a correction outranks an e-invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaughtBy {
    /// A clerk corrected the field and the value was found at this place.
    Correction,
    /// A hybrid PDF's XML value was printed at this place.
    EInvoice,
}

impl TaughtBy {
    pub fn as_str(self) -> &'static str {
        match self {
            TaughtBy::Correction => "correction",
            TaughtBy::EInvoice => "e-invoice",
        }
    }

    /// The stored name; anything unknown counts as a correction, the
    /// kind that is never overwritten.
    pub fn parse(s: &str) -> TaughtBy {
        if s == "e-invoice" {
            TaughtBy::EInvoice
        } else {
            TaughtBy::Correction
        }
    }
}

/// Fields a place can be remembered for (typed values the page prints);
/// the IBAN last (see [`TAUGHT_BY_EINVOICE`]).
pub const LEARNABLE: [&str; 8] = [
    "invoice_number",
    "invoice_date",
    "due_date",
    "net_amount",
    "tax_amount",
    "total_amount",
    "po_number",
    "iban",
];

/// A value as a field holds it, parsed from page text.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Date(NaiveDate),
    Amount(Decimal),
    Text(String),
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Reads `text` as a value of `field`.
fn parse(field: &str, text: &str, style: Option<DecimalStyle>) -> Option<Value> {
    match field {
        "invoice_date" | "due_date" => parse_date(text, true).map(Value::Date),
        "net_amount" | "tax_amount" | "total_amount" => {
            parse_amount(text, style).map(Value::Amount)
        }
        _ => {
            let c = compact(text);
            (c.len() >= 3 && c.chars().any(|ch| ch.is_ascii_digit())).then_some(Value::Text(c))
        }
    }
}

/// Runs of one to three consecutive words on a line: dates and amounts are
/// often split (`15. April 2026`, `1 234,00`).
fn runs(page: &Page) -> impl Iterator<Item = (String, BBox)> + '_ {
    page.lines.iter().flat_map(|line| {
        (0..line.words.len()).flat_map(move |i| {
            (1..=3).filter_map(move |n| {
                let ws: &[Word] = line.words.get(i..i + n)?;
                let text = ws
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let bbox = ws.iter().skip(1).fold(ws[0].bbox, |b, w| b.union(w.bbox));
                Some((text, bbox))
            })
        })
    })
}

fn style_of(pages: &[Page]) -> Option<DecimalStyle> {
    guess_decimal_style(pages.iter().flat_map(|p| {
        p.lines
            .iter()
            .flat_map(|l| l.words.iter().map(|w| w.text.as_str()))
    }))
}

/// Where the corrected `value` of `field` is printed (the shortest run of
/// words that reads as it wins; the first such run when it is printed
/// more than once).
pub fn locate(field: &str, value: &str, pages: &[Page]) -> Option<FieldPlace> {
    printed_at(field, value, pages).into_iter().next()
}

/// Every place `value` is printed as `field`, the shortest runs only, in
/// reading order.
fn printed_at(field: &str, value: &str, pages: &[Page]) -> Vec<FieldPlace> {
    if !LEARNABLE.contains(&field) {
        return Vec::new();
    }
    let style = style_of(pages);
    let want = match field {
        "invoice_date" | "due_date" => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) => Value::Date(d),
            Err(_) => return Vec::new(),
        },
        "net_amount" | "tax_amount" | "total_amount" => match value.parse() {
            Ok(a) => Value::Amount(a),
            Err(_) => return Vec::new(),
        },
        _ => Value::Text(compact(value)),
    };
    let mut found: Vec<(usize, u32, BBox)> = Vec::new();
    for page in pages {
        for (text, bbox) in runs(page) {
            if parse(field, &text, style).as_ref() == Some(&want) {
                found.push((text.len(), page.number, bbox));
            }
        }
    }
    let Some(shortest) = found.iter().map(|f| f.0).min() else {
        return Vec::new();
    };
    let mut out: Vec<FieldPlace> = Vec::new();
    for (_, page, bbox) in found.into_iter().filter(|f| f.0 == shortest) {
        if !out.iter().any(|p| p.page == page && overlap(p.bbox, bbox)) {
            out.push(FieldPlace {
                field: field.to_string(),
                page,
                bbox,
                taught_by: TaughtBy::Correction,
            });
        }
    }
    out
}

fn overlap(a: BBox, b: BBox) -> bool {
    a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

/// Fields an e-invoice teaches the places of. Not the IBAN: where a
/// vendor prints its bank account is learned only from a person's
/// correction, so that no document, however well formed, can change how
/// payment details are read for a vendor.
pub const TAUGHT_BY_EINVOICE: &[&str] = match LEARNABLE.split_last() {
    // "iban" is the last learnable field.
    Some((_, rest)) => rest,
    None => &[],
};

/// Where the visible page of a hybrid PDF prints the values its embedded
/// XML states: the XML labels that vendor's layout for free, so the
/// vendor's later paper or scanned invoices are read from the same places.
/// Nothing is learned from a document whose page contradicts its XML, nor
/// a field whose value the page prints in more than one place (a total
/// that equals the only line's amount): a person's correction points at
/// one place, an XML value does not.
pub fn learn_from_einvoice(einvoice: &ExtractedInvoice, pages: &[Page]) -> Vec<FieldPlace> {
    if !einvoice.visible_disagreements.is_empty() {
        return Vec::new();
    }
    let text = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
    let date =
        |f: &Option<Field<NaiveDate>>| f.as_ref().map(|f| f.value.format("%Y-%m-%d").to_string());
    let amount = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value.to_string());
    let values = [
        text(&einvoice.invoice_number),
        date(&einvoice.invoice_date),
        date(&einvoice.due_date),
        amount(&einvoice.net_amount),
        amount(&einvoice.tax_amount),
        amount(&einvoice.total_amount),
        text(&einvoice.po_number),
    ];
    TAUGHT_BY_EINVOICE
        .iter()
        .zip(values)
        .filter_map(|(field, value)| {
            let mut places = printed_at(field, &value?, pages);
            (places.len() == 1).then(|| FieldPlace {
                taught_by: TaughtBy::EInvoice,
                ..places.remove(0)
            })
        })
        .collect()
}

/// From this confidence on, a field extracted from the page stands against
/// a place an e-invoice taught: the XML showed where a value sat on one
/// invoice, which says nothing against what the label rules read on this
/// one (a correction does: it says they were wrong).
pub const EINVOICE_SURE: f32 = 0.7;

/// The confidence of a value read from a place a person pointed out.
const LEARNED: f32 = 0.92;

/// The confidence of a value read from a place an e-invoice taught:
/// above review's threshold, below the band routing takes on trust. A
/// well-formed hybrid PDF in a vendor's name is all it takes to teach a
/// place, so what is read there never counts as sure on its own; the
/// arithmetic and the purchase order still have to agree.
const TAUGHT_BY_DOCUMENT: f32 = 0.75;

/// Where and how surely a remembered place was read.
struct Taught {
    confidence: f32,
    location: Option<(u32, BBox)>,
}

impl Taught {
    fn field<T>(self, value: T) -> Option<Field<T>> {
        Some(Field {
            value,
            confidence: self.confidence,
            location: self.location,
        })
    }
}

/// How far (points) the value on a new invoice may sit from where it was:
/// the same template, printed with a different length of text.
const SLACK: f32 = 12.0;

fn near(a: BBox, b: BBox) -> bool {
    // Same line (vertical centres close) and overlapping or touching
    // horizontally, allowing for longer or shorter values.
    let (ca, cb) = ((a.y0 + a.y1) / 2.0, (b.y0 + b.y1) / 2.0);
    (ca - cb).abs() <= SLACK && b.x0 <= a.x1 + SLACK * 4.0 && b.x1 >= a.x0 - SLACK * 4.0
}

/// Reads the remembered fields of this vendor from the same places on a
/// new invoice, with the confidence of a learned layout. A place a clerk
/// taught replaces what extraction read; one an e-invoice taught fills
/// only a field extraction did not find or was unsure of
/// ([`EINVOICE_SURE`]). Returns the fields read from a place.
pub fn apply(invoice: &mut ExtractedInvoice, pages: &[Page], places: &[FieldPlace]) -> Vec<String> {
    let style = style_of(pages);
    let mut read = Vec::new();
    // Amounts that already add up were read right together, whatever
    // their confidence.
    let amount = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value);
    let amounts_close = matches!(
        (amount(&invoice.net_amount), amount(&invoice.tax_amount), amount(&invoice.total_amount)),
        (Some(n), Some(t), Some(g)) if n + t == g
    );
    for place in places {
        let is_amount = place.field.ends_with("_amount");
        let open = match place.taught_by {
            TaughtBy::Correction => true,
            TaughtBy::EInvoice => {
                confidence_of(invoice, &place.field).is_none_or(|c| c < EINVOICE_SURE)
                    && !(is_amount && amounts_close)
            }
        };
        if open && read_place(invoice, pages, place, style) {
            read.push(place.field.clone());
        }
    }
    read
}

/// The confidence of a learnable field as extracted; `None` when absent.
fn confidence_of(inv: &ExtractedInvoice, field: &str) -> Option<f32> {
    fn c<T>(f: &Option<Field<T>>) -> Option<f32> {
        f.as_ref().map(|f| f.confidence)
    }
    match field {
        "invoice_number" => c(&inv.invoice_number),
        "invoice_date" => c(&inv.invoice_date),
        "due_date" => c(&inv.due_date),
        "net_amount" => c(&inv.net_amount),
        "tax_amount" => c(&inv.tax_amount),
        "total_amount" => c(&inv.total_amount),
        "po_number" => c(&inv.po_number),
        "iban" => c(&inv.iban),
        _ => None,
    }
}

/// Reads one remembered field from its place on the page, when a value
/// of the field's kind is printed there.
fn read_place(
    invoice: &mut ExtractedInvoice,
    pages: &[Page],
    place: &FieldPlace,
    style: Option<DecimalStyle>,
) -> bool {
    let Some(page) = pages.iter().find(|p| p.number == place.page) else {
        return false;
    };
    // The run closest to the remembered box that reads as the field. An
    // id is one word and never a label's ("Kunde:"): runs of several
    // words would read "Kunde: 2018-471331" as a number.
    let is_text = !matches!(
        place.field.as_str(),
        "invoice_date" | "due_date" | "net_amount" | "tax_amount" | "total_amount"
    );
    let found = runs(page)
        .filter(|(_, b)| near(place.bbox, *b))
        .filter(|(text, _)| !is_text || !(text.contains(':') || text.contains(' ')))
        .filter_map(|(text, b)| parse(&place.field, &text, style).map(|v| (v, text, b)))
        .min_by(|a, b| {
            let d = |x: &BBox| (x.x0 - place.bbox.x0).abs() + (x.y0 - place.bbox.y0).abs();
            d(&a.2).total_cmp(&d(&b.2)).then(a.1.len().cmp(&b.1.len()))
        });
    let Some((value, text, bbox)) = found else {
        return false;
    };
    let location = Some((place.page, bbox));
    let confidence = match place.taught_by {
        TaughtBy::Correction => LEARNED,
        TaughtBy::EInvoice => TAUGHT_BY_DOCUMENT,
    };
    let learned = |location| Taught {
        confidence,
        location,
    };
    match (place.field.as_str(), value) {
        ("invoice_date", Value::Date(d)) => invoice.invoice_date = learned(location).field(d),
        ("due_date", Value::Date(d)) => invoice.due_date = learned(location).field(d),
        ("net_amount", Value::Amount(a)) => invoice.net_amount = learned(location).field(a),
        ("tax_amount", Value::Amount(a)) => invoice.tax_amount = learned(location).field(a),
        ("total_amount", Value::Amount(a)) => invoice.total_amount = learned(location).field(a),
        ("invoice_number", Value::Text(_)) => {
            invoice.invoice_number = learned(location).field(text.trim().to_string())
        }
        ("po_number", Value::Text(_)) => {
            invoice.po_number = learned(location).field(text.trim().to_string())
        }
        ("iban", Value::Text(c)) => invoice.iban = learned(location).field(c),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_document_teaches_where_the_iban_is() {
        assert!(!TAUGHT_BY_EINVOICE.contains(&"iban"));
        assert_eq!(TAUGHT_BY_EINVOICE.len(), LEARNABLE.len() - 1);
    }
}
