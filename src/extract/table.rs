//! Line items from the item table, found by geometry.
//!
//! The table is anchored on its header row (at least two known column
//! words, one of them an amount column). Each following line's cells are
//! assigned to the header column they overlap most; a line with an amount is
//! an item, a text-only line right under an item continues its description,
//! and the totals block ends the table.

use regex::Regex;
use rust_decimal::Decimal;
use std::sync::LazyLock;

use super::normalize::{DecimalStyle, parse_amount};
use super::rules::Cell;
use crate::domain::{LineItem, Page};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Position,
    Sku,
    Description,
    Quantity,
    Unit,
    UnitPrice,
    TaxRate,
    Amount,
}

static HEADERS: LazyLock<Vec<(Column, Regex)>> = LazyLock::new(|| {
    let h = |c, p: &str| {
        (
            c,
            Regex::new(&format!(r"(?i)^\s*(?:{p})\b")).expect("constant regex"),
        )
    };
    vec![
        h(
            Column::Position,
            r"pos(?:ition)?\.?|nr\.?|#|no\.?|n°|ligne|line",
        ),
        h(
            Column::Sku,
            r"art(?:ikel)?\.?\s*-?\s*nr\.?|artikelnummer|sku|item\s+(?:no|code)|r[ée]f(?:[ée]rence)?\.?|code|product\s+code",
        ),
        h(
            Column::UnitPrice,
            r"einzelpreis|e-?preis|stückpreis|preis\s*/\s*einheit|unit\s*price|price|rate|prix\s+unit(?:aire)?|p\.\s?u\.|pu\s+ht|prix|precio|prezzo|preis",
        ),
        h(
            Column::Amount,
            r"gesamtpreis|gesamt|betrag|summe|amount|line\s+total|total|montant|importe|importo|netto",
        ),
        h(
            Column::Quantity,
            r"menge|anzahl|qty|quantity|quantit[ée]|qt[ée]|cantidad|quantit[àa]|stück",
        ),
        h(Column::Unit, r"einheit|unit|unit[ée]|me\b"),
        h(Column::TaxRate, r"ust\.?|mwst\.?|vat|tva|tax|steuer"),
        h(
            Column::Description,
            r"beschreibung|bezeichnung|artikel|leistung|produkt|description|d[ée]signation|item|libell[ée]|descripci[óo]n|descrizione|omschrijving",
        ),
    ]
});

static TOTALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:summe|zwischensumme|nettobetrag|gesamtbetrag|netto|subtotal|sub-total|total|montant|net\s+amount|übertrag|carried)").expect("constant regex")
});

struct HeaderColumn {
    column: Column,
    x0: f32,
    x1: f32,
}

pub(super) fn line_items(
    pages: &[Page],
    grid: &[Vec<Vec<Cell>>],
    style: Option<DecimalStyle>,
) -> Vec<LineItem> {
    let mut items = Vec::new();
    for (page, lines) in pages.iter().zip(grid) {
        let mut li = 0;
        while li < lines.len() {
            if let Some(header) = header_columns(&lines[li]) {
                li = read_rows(page.number, lines, li + 1, &header, style, &mut items);
            } else {
                li += 1;
            }
        }
    }
    items
}

fn classify(text: &str) -> Option<Column> {
    HEADERS
        .iter()
        .find(|(_, re)| re.is_match(text))
        .map(|(c, _)| *c)
}

fn header_columns(line: &[Cell]) -> Option<Vec<HeaderColumn>> {
    let cols: Vec<HeaderColumn> = line
        .iter()
        .filter_map(|c| {
            classify(&c.text).map(|column| HeaderColumn {
                column,
                x0: c.bbox.x0,
                x1: c.bbox.x1,
            })
        })
        .collect();
    let has = |k: Column| cols.iter().any(|c| c.column == k);
    let ok = cols.len() >= 3
        && has(Column::Amount)
        && (has(Column::Description) || has(Column::Quantity));
    ok.then_some(cols)
}

/// The header column a cell belongs to: the one it overlaps most, else the
/// nearest by right edge (numbers are right-aligned under their header).
fn column_of(header: &[HeaderColumn], cell: &Cell) -> Option<Column> {
    let overlap = |h: &HeaderColumn| (cell.bbox.x1.min(h.x1) - cell.bbox.x0.max(h.x0)).max(0.0);
    if let Some(best) = header
        .iter()
        .filter(|h| overlap(h) > 0.0)
        .max_by(|a, b| overlap(a).total_cmp(&overlap(b)))
    {
        return Some(best.column);
    }
    header
        .iter()
        .min_by(|a, b| {
            (a.x1 - cell.bbox.x1)
                .abs()
                .total_cmp(&(b.x1 - cell.bbox.x1).abs())
        })
        .map(|h| h.column)
}

fn read_rows(
    page: u32,
    lines: &[Vec<Cell>],
    start: usize,
    header: &[HeaderColumn],
    style: Option<DecimalStyle>,
    items: &mut Vec<LineItem>,
) -> usize {
    let first_new = items.len();
    let mut li = start;
    let mut last_y = lines
        .get(start.saturating_sub(1))
        .and_then(|l| l.first())
        .map_or(0.0, |c| c.bbox.y1);
    while let Some(line) = lines.get(li) {
        let Some(first) = line.first() else {
            li += 1;
            continue;
        };
        let height = (first.bbox.y1 - first.bbox.y0).max(1.0);
        if TOTALS.is_match(&first.text) && line.len() <= 4 || first.bbox.y0 - last_y > 6.0 * height
        {
            break;
        }
        let mut item = LineItem {
            confidence: 0.6,
            ..LineItem::default()
        };
        let mut description = Vec::new();
        let mut bbox = first.bbox;
        for cell in line {
            bbox = bbox.union(cell.bbox);
            let number = || {
                parse_amount(
                    cell.text.trim_end_matches(['%', '€', '$', '£']).trim(),
                    style,
                )
            };
            match column_of(header, cell) {
                Some(Column::Amount) => item.amount = number().or(item.amount),
                Some(Column::UnitPrice) => item.unit_price = number().or(item.unit_price),
                Some(Column::Quantity) => {
                    // "3 Stück": quantity and unit in one cell.
                    let mut parts = cell.text.split_whitespace();
                    item.quantity = parts.next().and_then(|q| parse_amount(q, style));
                    item.unit = parts.next().map(str::to_string).or(item.unit.take());
                }
                Some(Column::TaxRate) => item.tax_rate = number(),
                Some(Column::Unit) => item.unit = Some(cell.text.clone()),
                Some(Column::Sku) => item.sku = Some(cell.text.clone()),
                Some(Column::Position) => {}
                Some(Column::Description) | None => description.push(cell.text.clone()),
            }
        }
        if item.amount.is_some() {
            item.description = (!description.is_empty()).then(|| description.join(" "));
            item.confidence = consistency(&item);
            item.location = Some((page, bbox));
            items.push(item);
        } else if !description.is_empty() && items.len() > first_new && item.quantity.is_none() {
            if let Some(prev) = items.last_mut() {
                let d = prev.description.get_or_insert_with(String::new);
                if !d.is_empty() {
                    d.push(' ');
                }
                d.push_str(&description.join(" "));
            }
        } else if items.len() > first_new {
            break;
        }
        last_y = bbox.y1;
        li += 1;
    }
    li
}

/// Confidence of a row: high when quantity × unit price gives the amount.
fn consistency(item: &LineItem) -> f32 {
    match (item.quantity, item.unit_price, item.amount) {
        (Some(q), Some(p), Some(a)) if ((q * p).round_dp(2) - a).abs() <= Decimal::new(1, 2) => 0.9,
        (Some(_), Some(_), Some(_)) => 0.5,
        _ => 0.6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BBox;

    fn cell(x0: f32, x1: f32, y: f32, text: &str) -> Cell {
        Cell {
            page: 1,
            text: text.to_string(),
            bbox: BBox {
                x0,
                y0: y - 8.0,
                x1,
                y1: y + 2.0,
            },
        }
    }

    #[test]
    fn reads_rows_and_continuations() {
        let lines = vec![
            vec![
                cell(40.0, 60.0, 100.0, "Pos"),
                cell(80.0, 140.0, 100.0, "Beschreibung"),
                cell(300.0, 330.0, 100.0, "Menge"),
                cell(380.0, 440.0, 100.0, "Einzelpreis"),
                cell(480.0, 520.0, 100.0, "Betrag"),
            ],
            vec![
                cell(40.0, 45.0, 112.0, "1"),
                cell(80.0, 200.0, 112.0, "Kopierpapier A4"),
                cell(310.0, 330.0, 112.0, "10"),
                cell(410.0, 440.0, 112.0, "4,50"),
                cell(490.0, 520.0, 112.0, "45,00"),
            ],
            vec![cell(80.0, 200.0, 124.0, "80 g/m², weiß")],
            vec![
                cell(40.0, 45.0, 136.0, "2"),
                cell(80.0, 200.0, 136.0, "Toner schwarz"),
                cell(320.0, 330.0, 136.0, "2"),
                cell(400.0, 440.0, 136.0, "89,90"),
                cell(480.0, 520.0, 136.0, "179,80"),
            ],
            vec![
                cell(300.0, 360.0, 160.0, "Nettobetrag"),
                cell(480.0, 520.0, 160.0, "224,80"),
            ],
        ];
        let page = Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            lines: Vec::new(),
        };
        let items = line_items(&[page], &[lines], Some(DecimalStyle::Comma));
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].description.as_deref(),
            Some("Kopierpapier A4 80 g/m², weiß")
        );
        assert_eq!(items[0].quantity, Some(Decimal::new(10, 0)));
        assert_eq!(items[0].unit_price, Some(Decimal::new(450, 2)));
        assert_eq!(items[1].amount, Some(Decimal::new(17980, 2)));
        assert!(items[1].confidence > 0.8);
    }
}
