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
}

/// Fields a place can be remembered for (typed values the page prints).
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
/// words that reads as it wins).
pub fn locate(field: &str, value: &str, pages: &[Page]) -> Option<FieldPlace> {
    if !LEARNABLE.contains(&field) {
        return None;
    }
    let style = style_of(pages);
    let want = match field {
        "invoice_date" | "due_date" => {
            Value::Date(NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?)
        }
        "net_amount" | "tax_amount" | "total_amount" => Value::Amount(value.parse().ok()?),
        _ => Value::Text(compact(value)),
    };
    let mut best: Option<(usize, u32, BBox)> = None;
    for page in pages {
        for (text, bbox) in runs(page) {
            if parse(field, &text, style).as_ref() == Some(&want)
                && best.is_none_or(|(len, _, _)| text.len() < len)
            {
                best = Some((text.len(), page.number, bbox));
            }
        }
    }
    best.map(|(_, page, bbox)| FieldPlace {
        field: field.to_string(),
        page,
        bbox,
    })
}

/// The confidence of a value read from a place a person pointed out.
const LEARNED: f32 = 0.92;

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
/// new invoice. A value found there replaces what the rules read, with the
/// confidence of a learned layout.
pub fn apply(invoice: &mut ExtractedInvoice, pages: &[Page], places: &[FieldPlace]) {
    let style = style_of(pages);
    for place in places {
        let Some(page) = pages.iter().find(|p| p.number == place.page) else {
            continue;
        };
        // The run closest to the remembered box that reads as the field.
        let found = runs(page)
            .filter(|(_, b)| near(place.bbox, *b))
            .filter_map(|(text, b)| parse(&place.field, &text, style).map(|v| (v, text, b)))
            .min_by(|a, b| {
                let d = |x: &BBox| (x.x0 - place.bbox.x0).abs() + (x.y0 - place.bbox.y0).abs();
                d(&a.2).total_cmp(&d(&b.2)).then(a.1.len().cmp(&b.1.len()))
            });
        let Some((value, text, bbox)) = found else {
            continue;
        };
        let location = Some((place.page, bbox));
        fn learned<T>(value: T, location: Option<(u32, BBox)>) -> Option<Field<T>> {
            Some(Field {
                value,
                confidence: LEARNED,
                location,
            })
        }
        match (place.field.as_str(), value) {
            ("invoice_date", Value::Date(d)) => invoice.invoice_date = learned(d, location),
            ("due_date", Value::Date(d)) => invoice.due_date = learned(d, location),
            ("net_amount", Value::Amount(a)) => invoice.net_amount = learned(a, location),
            ("tax_amount", Value::Amount(a)) => invoice.tax_amount = learned(a, location),
            ("total_amount", Value::Amount(a)) => invoice.total_amount = learned(a, location),
            ("invoice_number", Value::Text(_)) => {
                invoice.invoice_number = learned(text.trim().to_string(), location)
            }
            ("po_number", Value::Text(_)) => {
                invoice.po_number = learned(text.trim().to_string(), location)
            }
            ("iban", Value::Text(c)) => invoice.iban = learned(c, location),
            _ => {}
        }
    }
}
