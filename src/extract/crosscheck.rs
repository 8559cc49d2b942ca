//! XML against what a person sees. A hybrid PDF (Factur-X, ZUGFeRD) carries
//! the invoice twice: as XML, which apflow pays from, and as the page the
//! approver reads. Published samples exist whose XML belongs to another
//! invoice, and a fraudster can attach XML with his own IBAN to a genuine
//! page; so for the fields that move money (number, total, IBAN, due date)
//! the page must agree.
//!
//! The rule is conservative, because reading the page can fail where the
//! XML cannot: a field disagrees only when the XML's value appears nowhere
//! on the page *and* reading the page found a different value for it.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::normalize::{DecimalStyle, parse_amount, parse_date};
use super::rules::extract_visual;
use crate::domain::{ExtractedInvoice, Field, Page, VisibleDisagreement};

/// Fewer words than this on the pages: nothing to compare against.
const MIN_WORDS: usize = 20;

/// The fields of `xml` (an e-invoice) that the visible `pages` contradict.
pub fn visible_disagreements(xml: &ExtractedInvoice, pages: &[Page]) -> Vec<VisibleDisagreement> {
    let lines: Vec<String> = pages
        .iter()
        .flat_map(|p| &p.lines)
        .map(|l| l.text())
        .collect();
    let words = lines
        .iter()
        .map(|l| l.split_whitespace().count())
        .sum::<usize>();
    if words < MIN_WORDS {
        return Vec::new();
    }
    let seen = Visible::new(&lines);
    let visual = extract_visual(pages);
    let mut out = Vec::new();
    let mut check =
        |field: &'static str,
         shown: bool,
         differs: Option<(String, Option<(u32, crate::domain::BBox)>)>| {
            if !shown && let Some((visible, location)) = differs {
                out.push(VisibleDisagreement {
                    field,
                    visible,
                    location,
                });
            }
        };
    if let Some(n) = &xml.invoice_number {
        check(
            "invoice_number",
            seen.has_text(&n.value),
            differing(
                &visual.invoice_number,
                |v| compact(v) != compact(&n.value),
                String::clone,
            ),
        );
    }
    if let Some(t) = &xml.total_amount {
        check(
            "total_amount",
            seen.has_amount(t.value),
            differing(
                &visual.total_amount,
                |v| v.abs() != t.value.abs(),
                Decimal::to_string,
            ),
        );
    }
    if let Some(iban) = &xml.iban {
        check(
            "iban",
            seen.has_text(&iban.value),
            differing(
                &visual.iban,
                |v| compact(v) != compact(&iban.value),
                String::clone,
            ),
        );
    }
    if let Some(due) = &xml.due_date {
        check(
            "due_date",
            seen.has_date(due.value),
            differing(&visual.due_date, |v| *v != due.value, |d| d.to_string()),
        );
    }
    out
}

/// The page's value and where it is, when reading the page found one that
/// `differs` from the XML's.
fn differing<T>(
    visual: &Option<Field<T>>,
    differs: impl Fn(&T) -> bool,
    show: impl Fn(&T) -> String,
) -> Option<(String, Option<(u32, crate::domain::BBox)>)> {
    visual
        .as_ref()
        .filter(|f| differs(&f.value))
        .map(|f| (show(&f.value), f.location))
}

/// Letters and digits only, upper-case: `RE 2026-0041` and `re20260041`
/// are the same number to a person.
fn compact(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Everything printed on the pages, in the forms the checks ask about.
struct Visible {
    /// Each line, compacted.
    lines: Vec<String>,
    amounts: Vec<Decimal>,
    dates: Vec<NaiveDate>,
}

impl Visible {
    fn new(lines: &[String]) -> Visible {
        let mut amounts = Vec::new();
        let mut dates = Vec::new();
        for line in lines {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            // Amounts may be split over two words (`1 033,10`); dates over
            // three (`5. März 2026`).
            for n in 1..=3 {
                for window in tokens.windows(n) {
                    let joined = window.join(" ");
                    if n <= 2 {
                        for style in [DecimalStyle::Comma, DecimalStyle::Point] {
                            amounts.extend(parse_amount(&joined, Some(style)));
                        }
                    }
                    for day_first in [true, false] {
                        dates.extend(parse_date(&joined, day_first));
                    }
                }
            }
        }
        Visible {
            lines: lines.iter().map(|l| compact(l)).collect(),
            amounts,
            dates,
        }
    }

    fn has_text(&self, value: &str) -> bool {
        let v = compact(value);
        !v.is_empty() && self.lines.iter().any(|l| l.contains(&v))
    }

    fn has_amount(&self, value: Decimal) -> bool {
        self.amounts.iter().any(|a| a.abs() == value.abs())
    }

    fn has_date(&self, value: NaiveDate) -> bool {
        self.dates.contains(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BBox, ExtractionSource, Line, Word};

    fn page(lines: &[&str]) -> Page {
        Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, text)| Line {
                    words: text
                        .split_whitespace()
                        .enumerate()
                        .map(|(j, w)| Word {
                            text: w.to_string(),
                            bbox: BBox {
                                x0: 50.0 + 60.0 * j as f32,
                                y0: 50.0 + 20.0 * i as f32,
                                x1: 100.0 + 60.0 * j as f32,
                                y1: 60.0 + 20.0 * i as f32,
                            },
                            confidence: 1.0,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn xml(number: &str, total: &str, iban: &str) -> ExtractedInvoice {
        let mut inv = ExtractedInvoice::empty(ExtractionSource::EInvoice);
        inv.invoice_number = Some(Field::exact(number.into()));
        inv.total_amount = Some(Field::exact(total.parse().expect("decimal")));
        inv.iban = Some(Field::exact(iban.into()));
        inv
    }

    const PAGE: &[&str] = &[
        "Nordlicht Bürobedarf GmbH Hafenstraße 12 20457 Hamburg",
        "Rechnung",
        "Rechnungsnummer: RE-2026-00412",
        "Rechnungsdatum: 05.03.2026",
        "Pos. Beschreibung Menge Einzelpreis Betrag",
        "1 Kopierpapier A4 10 25,00 250,00",
        "Nettobetrag 868,15",
        "USt. 19 % 164,95",
        "Gesamtbetrag 1.033,10 EUR",
        "IBAN: DE89370400440532013000",
    ];

    #[test]
    fn agreeing_xml_and_page_pass() {
        let got = visible_disagreements(
            &xml("RE-2026-00412", "1033.10", "DE89370400440532013000"),
            &[page(PAGE)],
        );
        assert_eq!(got, vec![]);
    }

    #[test]
    fn xml_of_another_invoice_is_caught() {
        let got = visible_disagreements(
            &xml("RE-2026-00999", "4711.00", "DE02120300000000202051"),
            &[page(PAGE)],
        );
        let fields: Vec<&str> = got.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["invoice_number", "total_amount", "iban"]);
        assert_eq!(got[0].visible, "RE-2026-00412");
        assert_eq!(got[1].visible, "1033.10");
        assert!(
            got[0].location.is_some(),
            "the page box is kept for the reviewer"
        );
    }

    #[test]
    fn a_page_without_text_is_not_a_disagreement() {
        let got = visible_disagreements(
            &xml("X-1", "1.00", "DE89370400440532013000"),
            &[page(&["Seite 1"])],
        );
        assert_eq!(got, vec![]);
    }
}
