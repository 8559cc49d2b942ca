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

use super::normalize::{DecimalStyle, has_two_decimals, is_thousands_group, parse_amount};
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
    /// A line amount with tax ("Brutto", "Montant TTC") beside the net
    /// one: the item's amount is the net, so this column is read only
    /// when the table has no other amount.
    GrossAmount,
}

static HEADERS: LazyLock<Vec<(Column, Regex)>> = LazyLock::new(|| {
    let h = |c, p: &str| {
        (
            c,
            // A name ending in a word character ends at a word boundary;
            // "#" and "N°" end at a space or the cell's end.
            Regex::new(&format!(r"(?i)^\s*(?:{p})(?:\b|\s|$)")).expect("constant regex"),
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
        // "Prix total" is the line's amount, though "prix" alone is its
        // unit price.
        h(
            Column::Amount,
            r"prix\s+total|total\s+price|gesamtpreis|montant\s+total",
        ),
        h(
            Column::UnitPrice,
            r"net\s+(?:unit\s+)?price|nettopreis|bruttopreis|einzelpreis|e-?preis|stückpreis|st(?:ck)?\.?\s*-\s*pr(?:eis)?\.?|preis\s*/\s*einheit|unit\s*price|price|rate|prix\s+unit(?:aire)?|p\.\s?u\.|pu\s+ht|prix|precio|prezzo|preis",
        ),
        h(
            Column::GrossAmount,
            r"brutto(?:betrag)?|gross(?:\s+amount)?|(?:montant|total)\s+ttc|ttc",
        ),
        h(
            Column::Amount,
            r"(?:total|line)\s+(?:price|amount)|gesamtpreis|prix\s+total|net(?:\s+(?:amount|total|value))?|entgelt|nettobetrag|bruttobetrag|positionsbetrag|gesamtbetrag|gesamtpreis|gesamt|betrag|summe|amount|line\s+total|total|montant|importe|importo|netto",
        ),
        h(
            Column::Quantity,
            r"menge|anzahl|qty|quantity|quantit[ée]|qt[ée]|cantidad|quantit[àa]|stück",
        ),
        h(Column::Unit, r"einheit|unit|unit[ée]|me\b"),
        h(
            Column::TaxRate,
            r"steuersatz|ust\.?-?satz|mwst\.?-?satz|ust\.?|mwst\.?|vat|tva|taxe?|steuer",
        ),
        h(
            Column::Description,
            r"[a-zäöü]*(?:beschreibung|bezeichnung)|artikel|leistung|produ(?:kt|ct|it|cto)|article|description|d[ée]signation|item|libell[ée]|descripci[óo]n|descrizione|omschrijving",
        ),
    ]
});

static TOTALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:umsatzsteuer|steueraufschl|zahlungsbedingungen|payment\s+terms|rabatt|discount|remise|surcharge|zuschlag|allowance|(?:net|gross|line)\s+total|value\s+added\s+tax|summe|zwischensumme|nettobetrag|gesamtbetrag|netto|subtotal|sub-total|total|montant|net\s+amount|übertrag|carried)").expect("constant regex")
});

/// "Übertrag" / "Carried forward": a running subtotal at a page break,
/// inside the table, not after it.
static CARRIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:übertrag|carried|report|a\s+reporter|transport)")
        .expect("constant regex")
});

struct HeaderColumn {
    column: Column,
    x0: f32,
    x1: f32,
    height: f32,
}

pub(super) fn line_items(
    pages: &[Page],
    grid: &[Vec<Vec<Cell>>],
    style: Option<DecimalStyle>,
) -> Vec<LineItem> {
    let under_headers = items_under_headers(pages, grid, style);
    let multiplying: Vec<LineItem> = grid
        .iter()
        .zip(pages)
        .flat_map(|(lines, page)| rows_that_multiply(page.number, lines, style))
        .collect();
    // Two readings of the same table; the one whose rows add up more
    // often wins, unless it has fewer rows: the header's reading also
    // keeps rows whose arithmetic is off (discounts, rounding, a misread
    // digit), and a lost row breaks the sum of the lines.
    let adds_up = |items: &[LineItem]| items.iter().filter(|i| consistency(i) >= 0.9).count();
    let mut items = if adds_up(&multiplying) > adds_up(&under_headers)
        && multiplying.len() >= under_headers.len()
    {
        multiplying
    } else {
        under_headers
    };
    for item in &mut items {
        drop_leading_barcode(item);
        split_item_code(item);
    }
    items
}

/// "4123456000038 Mischpalette Joghurt", and the same with OCR's space
/// lost ("4123456000038Mischpalette"): a barcode (EAN/GTIN, eight digits
/// and more) printed at the start of the name is the article's number,
/// not its name, and is dropped from the description.
fn drop_leading_barcode(item: &mut LineItem) {
    let Some(description) = item.description.as_deref() else {
        return;
    };
    let digits = description.bytes().take_while(u8::is_ascii_digit).count();
    let rest = description[digits..].trim_start();
    if digits >= 8 && rest.chars().next().is_some_and(char::is_alphabetic) {
        item.description = Some(rest.to_string());
    }
}

/// "GG-SCRW-A4-01 - High-Grade Screws": an article code in capitals and
/// digits, a dash set apart by spaces, then the name.
static CODE_THEN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([A-Z0-9][A-Z0-9./_-]{3,})\s+[-–—]\s+(\S.*)$").expect("constant regex")
});

/// Moves an article code printed before the item's name into its SKU: the
/// name is what the vendor calls the item (EN 16931 BT-153), and the code
/// its own field (BT-155). Only a code that mixes digits with letters or
/// dashes, so that "2024 - Annual fee" keeps its year.
fn split_item_code(item: &mut LineItem) {
    let Some(description) = item.description.as_deref() else {
        return;
    };
    let Some(c) = CODE_THEN_NAME.captures(description) else {
        return;
    };
    let (code, name) = (&c[1], &c[2]);
    let has_digit = code.chars().any(|ch| ch.is_ascii_digit());
    let not_only_digits = code.chars().any(|ch| !ch.is_ascii_digit());
    if !(has_digit && not_only_digits) || item.sku.as_deref().is_some_and(|s| s != code) {
        return;
    }
    let name = name.trim().to_string();
    item.sku = Some(code.to_string());
    item.description = Some(name);
}

/// Line items of tables found by their header row.
fn items_under_headers(
    pages: &[Page],
    grid: &[Vec<Vec<Cell>>],
    style: Option<DecimalStyle>,
) -> Vec<LineItem> {
    let mut items = Vec::new();
    // A table that runs past the bottom of a page continues on the next
    // one, often without repeating its header.
    let mut carried: Option<Vec<HeaderColumn>> = None;
    for (page, lines) in pages.iter().zip(grid) {
        let mut li = 0;
        if let Some(header) = carried.take() {
            // The continuation ends at the next header or at the first
            // summary line ("Zahlungsbedingungen", "Summe"): rows of a tax
            // breakdown below it are not items.
            let first_header = (0..lines.len())
                .find(|&i| {
                    header_columns(lines, i).is_some()
                        || lines[i]
                            .first()
                            .is_some_and(|c| TOTALS.is_match(&c.text) && !CARRIED.is_match(&c.text))
                })
                .unwrap_or(lines.len());
            let start = (0..first_header)
                .find(|&i| parse_row(&header, &lines[i], style).item.quantity.is_some())
                .unwrap_or(first_header);
            if start < first_header {
                let (end, open) =
                    read_rows(page.number, lines, start, &header, style, true, &mut items);
                li = end;
                if open {
                    carried = Some(header);
                    continue;
                }
            }
        }
        while li < lines.len() {
            if let Some(header) = header_columns(lines, li) {
                let (end, open) = read_rows(
                    page.number,
                    lines,
                    li + 1,
                    &header,
                    style,
                    false,
                    &mut items,
                );
                li = end;
                if open {
                    carried = Some(header);
                }
            } else {
                li += 1;
            }
        }
    }
    items
}

/// Confidence of an item read without a table header: its arithmetic
/// holds, but which number is which was inferred.
const HEADERLESS: f32 = 0.7;

/// Items of a table whose header no rule recognises (a header in another
/// wording or language, or none): a line with a description followed by
/// numbers of which one times another gives the last, to the cent
/// (quantity × unit price = amount), is an item. Summary lines and tax
/// breakdowns (a rate with "%") are not. Text-only lines right below an
/// item, starting at its description, continue the description.
fn rows_that_multiply(
    page: u32,
    lines: &[Vec<Cell>],
    style: Option<DecimalStyle>,
) -> Vec<LineItem> {
    let mut items: Vec<(LineItem, f32, f32)> = Vec::new(); // item, description x0, bottom
    let pitch = line_pitch(lines).max(1.0);
    // The last text-only line: the description of numbers set on the line
    // below it, in rows whose numbers sit mid-row. When it was read as the
    // previous item's continuation, how long that item's description was
    // before it.
    let mut above: Option<(String, f32, f32, Option<usize>)> = None; // text, bottom, x0, cut at
    for line in lines {
        let Some(first) = line.first() else {
            continue;
        };
        if TOTALS.is_match(&first.text) {
            above = None;
            continue;
        }
        if let Some(mut item) = multiplying_row(page, line, style) {
            let mut x0 = line
                .iter()
                .find(|c| c.text.chars().filter(|ch| ch.is_alphabetic()).count() >= 3)
                .map_or(first.bbox.x0, |c| c.bbox.x0);
            if item.description.is_none() {
                let Some((text, bottom, text_x0, cut)) = above.take() else {
                    continue;
                };
                if first.bbox.y0 - bottom > 1.5 * pitch {
                    continue;
                }
                // Taken back from the item before, which keeps its own.
                if let (Some(cut), Some((prev, _, _))) = (cut, items.last_mut())
                    && let Some(d) = prev.description.as_mut()
                {
                    d.truncate(cut);
                }
                item.description = Some(text);
                x0 = text_x0;
            }
            above = None;
            let bottom = line.iter().map(|c| c.bbox.y1).fold(f32::MIN, f32::max);
            items.push((item, x0, bottom));
            continue;
        }
        let text = line_text(line);
        // Not a description: numbers, specks, or a table's header row.
        let names_columns = line.iter().filter(|c| classify(&c.text).is_some()).count() >= 3;
        if text.split_whitespace().any(has_two_decimals)
            || text.chars().filter(|c| c.is_alphabetic()).count() < 3
            || names_columns
        {
            above = None;
            continue;
        }
        let bottom_of_line = line.iter().map(|c| c.bbox.y1).fold(f32::MIN, f32::max);
        let mut cut = None;
        // A text-only line just below the last item, under its description.
        if let Some((item, x0, bottom)) = items.last_mut()
            && first.bbox.y0 - *bottom < 0.6 * pitch
            && (first.bbox.x0 - *x0).abs() <= 4.0
        {
            if let Some(d) = item.description.as_mut() {
                cut = Some(d.len());
                d.push(' ');
                d.push_str(text.trim());
            }
            *bottom = bottom_of_line.max(*bottom);
        }
        above = Some((text.trim().to_string(), bottom_of_line, first.bbox.x0, cut));
    }
    items.into_iter().map(|(item, _, _)| item).collect()
}

/// One line read as an item by its arithmetic alone, see
/// [`rows_that_multiply`].
fn multiplying_row(page: u32, line: &[Cell], style: Option<DecimalStyle>) -> Option<LineItem> {
    // Every number token, in reading order, with the cell it is in; a
    // number followed by "%" (or ending in it) is a rate, not an operand.
    let mut numbers: Vec<Operand> = Vec::new();
    for (ci, cell) in line.iter().enumerate() {
        let tokens: Vec<&str> = cell.text.split_whitespace().collect();
        let mut ti = 0;
        while ti < tokens.len() {
            let t = tokens[ti];
            let percent = t.ends_with('%')
                || tokens.get(ti + 1).is_some_and(|n| n.starts_with('%'))
                || (ti + 1 == tokens.len()
                    && line.get(ci + 1).is_some_and(|c| c.text.starts_with('%')));
            // "1 134,00": the thousands group printed apart.
            let grouped = tokens
                .get(ti + 1)
                .filter(|n| is_thousands_group(t) && n.len() >= 6 && has_two_decimals(n))
                .map(|n| format!("{t}{n}"));
            let word = grouped.as_deref().unwrap_or(t);
            ti += if grouped.is_some() { 2 } else { 1 };
            if percent {
                continue;
            }
            if let Some(v) = parse_amount(word.trim_end_matches(['€', '$', '£']), style) {
                numbers.push(Operand {
                    value: v,
                    cell: ci,
                    priced: priced(word),
                    money: has_two_decimals(word),
                });
            }
        }
    }
    // The amount is the rightmost number that two numbers before it
    // multiply to: usually the last, but a gross amount or a tax column
    // may follow the net one ("25,00 Stk 2,06 19,00 51,50 61,29").
    let (amount, quantity, price, base, first_cell) = (0..numbers.len()).rev().find_map(|k| {
        let amount = &numbers[k];
        product_of(&numbers[..k], amount).map(|(q, p, base, cell)| (amount.value, q, p, base, cell))
    })?;
    // The description: the words before the first operand (none when the
    // row's numbers sit below its description, see [`rows_that_multiply`]).
    let description: Vec<&str> = line[..=first_cell]
        .iter()
        .map(|c| c.text.as_str())
        .filter(|t| t.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .collect();
    let bbox = line
        .iter()
        .map(|c| c.bbox)
        .reduce(crate::domain::BBox::union)?;
    Some(LineItem {
        description: (!description.is_empty()).then(|| description.join(" ")),
        quantity: Some(quantity.normalize()),
        unit_price: Some(price),
        price_base_quantity: base,
        amount: Some(amount),
        confidence: HEADERLESS,
        location: Some((page, bbox)),
        ..LineItem::default()
    })
}

/// A number on a line read by its arithmetic.
struct Operand {
    value: Decimal,
    /// Index of the cell it is printed in.
    cell: usize,
    /// Printed as a price, see [`priced`].
    priced: bool,
    /// Printed with two decimals, as line amounts are.
    money: bool,
}

/// Tax rates in use across Europe and beyond: a number that is one of
/// these times a net gives its tax per 100, which is a tax breakdown
/// ("S VAT 19,00 516,75 98,18"), not a price per 100.
fn common_tax_rate(d: Decimal) -> bool {
    const RATES: [i64; 16] = [5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 19, 20, 21, 22, 23, 25];
    d.fract().is_zero() && RATES.iter().any(|r| d == Decimal::from(*r))
}

/// Two of `operands` whose product is `amount`: the quantity, the unit
/// price, the price base quantity when the price is per 100, 1000 or 10,
/// and the cell of the first operand. The product cannot tell quantity
/// from price; the print can: "43,20" and "3" are a price and a quantity
/// in either order. Otherwise the quantity comes first.
fn product_of(
    operands: &[Operand],
    amount: &Operand,
) -> Option<(Decimal, Decimal, Option<Decimal>, usize)> {
    if !amount.money || amount.value <= Decimal::ZERO {
        return None;
    }
    let bases = std::iter::once(None).chain(PRICE_BASES.into_iter().map(Some));
    bases.into_iter().find_map(|base| {
        operands.iter().enumerate().find_map(|(i, a)| {
            operands[i + 1..].iter().find_map(|b| {
                if a.value <= Decimal::ZERO || b.value <= Decimal::ZERO {
                    return None;
                }
                if base.is_some() && (common_tax_rate(a.value) || common_tax_rate(b.value)) {
                    return None;
                }
                let product = (a.value * b.value).checked_div(base.unwrap_or(Decimal::ONE))?;
                if product.round_dp(2) != amount.value.round_dp(2) {
                    return None;
                }
                Some(if a.priced && !b.priced {
                    (b.value, a.value, base, a.cell)
                } else {
                    (a.value, b.value, base, a.cell)
                })
            })
        })
    })
}

/// A number printed as a price: two decimals, or four and more ("0,0520");
/// quantities are whole or keep one or three ("6,5", "1,000").
fn priced(word: &str) -> bool {
    let digits = word.trim_end_matches(|c: char| !c.is_ascii_digit());
    let decimals = digits.rfind(['.', ',']).map_or(0, |i| digits.len() - i - 1);
    decimals == 2 || decimals >= 4
}

fn classify(text: &str) -> Option<Column> {
    classify_with_length(text).map(|(c, _)| c)
}

/// The column `text` names, and how many bytes of it the name takes
/// ("Total Price" all of it, "Menge Einheit" the first word).
fn classify_with_length(text: &str) -> Option<(Column, usize)> {
    HEADERS
        .iter()
        .find_map(|(c, re)| re.find(text).map(|m| (*c, m.end())))
}

/// The header row at `index`, if it is one: at least three known column
/// words, one of them an amount column. Header words stacked on the lines
/// just above or below ("Positions-/betrag") count as part of it.
fn header_columns(lines: &[Vec<Cell>], index: usize) -> Option<Vec<HeaderColumn>> {
    let line = lines.get(index)?;
    let col = |c: &Cell| {
        classify(&c.text).map(|column| HeaderColumn {
            column,
            x0: c.bbox.x0,
            x1: c.bbox.x1,
            height: c.bbox.y1 - c.bbox.y0,
        })
    };
    let mut cols: Vec<HeaderColumn> = line
        .iter()
        .flat_map(split_header_cell)
        .filter_map(|c| col(&c))
        .collect();
    let has = |cols: &[HeaderColumn], k: Column| cols.iter().any(|c| c.column == k);
    if cols.len() < 2 || !(has(&cols, Column::Description) || has(&cols, Column::Quantity)) {
        return None;
    }
    if !has(&cols, Column::Amount) {
        for c in cols.iter_mut().filter(|c| c.column == Column::GrossAmount) {
            c.column = Column::Amount;
        }
    }
    if !has(&cols, Column::Amount) {
        let y = line.first()?.bbox.y0;
        let h = line.first().map_or(10.0, |c| c.bbox.y1 - c.bbox.y0);
        let right = cols.iter().map(|c| c.x1).fold(f32::NEG_INFINITY, f32::max);
        let stacked = lines
            .iter()
            .skip(index.saturating_sub(2))
            .take(5)
            .flatten()
            .filter(|c| (c.bbox.y0 - y).abs() <= 2.0 * h && c.bbox.x0 > right)
            .filter_map(col)
            .find(|c| c.column == Column::Amount);
        cols.extend(stacked);
    }
    (cols.len() >= 3 && has(&cols, Column::Amount)).then_some(cols)
}

/// A header cell that holds the names of several columns ("Art-Nr-Kunde
/// Beschreibung", "Menge Einheit", when a producer sets them close):
/// cut where the rest of the cell names another column than its start.
/// "Unit Price" stays whole (the rest names the same column), and so does
/// "Price per unit" (a column name does not start after "per").
fn split_header_cell(cell: &Cell) -> Vec<Cell> {
    let words: Vec<&str> = cell.text.split_whitespace().collect();
    let mut out = Vec::new();
    let (mut start, mut offset) = (0usize, 0usize);
    let mut at = words.first().map_or(0, |w| w.chars().count() + 1);
    for k in 1..words.len() {
        let connector = matches!(
            words[k - 1].to_lowercase().as_str(),
            "per" | "pro" | "je" | "par" | "por" | "of" | "de" | "du" | "à" | "in" | "en"
        );
        let whole_text = words[start..].join(" ");
        let (whole, whole_len) = classify_with_length(&whole_text).unzip();
        let rest = classify(&words[k..].join(" "));
        // Word k's place in `whole_text`: a name that runs past it
        // ("Total Price") is one column, however its words classify.
        let k_at = words[start..k].iter().map(|w| w.len() + 1).sum::<usize>();
        let inside_name = whole_len.is_some_and(|len| len > k_at);
        if !connector && !inside_name && rest.is_some() && rest != whole {
            out.push(part_of_cell(
                cell,
                words[start..k].join(" "),
                offset,
                at - 1,
            ));
            start = k;
            offset = at;
        }
        at += words[k].chars().count() + 1;
    }
    out.push(part_of_cell(
        cell,
        words[start..].join(" "),
        offset,
        usize::MAX,
    ));
    out
}

/// The part of `cell` from character `from` to character `to` of its
/// text, holding `text`. A cell's box is all the reader knows of where its
/// words are, so the part's box is estimated from character counts; a
/// part that runs to the end keeps the cell's right edge.
fn part_of_cell(cell: &Cell, text: String, from: usize, to: usize) -> Cell {
    let chars = cell.text.chars().count().max(1);
    let width = cell.bbox.x1 - cell.bbox.x0;
    let at = |n: usize| cell.bbox.x0 + width * n as f32 / chars as f32;
    Cell {
        page: cell.page,
        text,
        bbox: crate::domain::BBox {
            x0: at(from),
            x1: if to >= chars { cell.bbox.x1 } else { at(to) },
            ..cell.bbox
        },
    }
}

/// The header column a cell belongs to: the one it overlaps most. A number
/// that overlaps none belongs to the column whose right edge is nearest
/// (numbers are right-aligned under their header); text that overlaps none
/// is description only if it starts within the description column, else it
/// belongs to a column the header row does not name (article numbers
/// printed on a second header line) and is ignored.
fn column_of(header: &[HeaderColumn], cell: &Cell) -> Option<Column> {
    let overlap = |h: &HeaderColumn| (cell.bbox.x1.min(h.x1) - cell.bbox.x0.max(h.x0)).max(0.0);
    if let Some(best) = header
        .iter()
        .filter(|h| overlap(h) > 0.0)
        .max_by(|a, b| overlap(a).total_cmp(&overlap(b)))
    {
        return Some(best.column);
    }
    let numeric = cell.text.chars().any(|c| c.is_ascii_digit())
        && !cell.text.chars().any(char::is_alphabetic);
    // A number left of the description (under a position or article
    // column the header names in words no rule knows, "Art.") is never
    // the quantity, price or amount, which follow the description.
    let left_of_description = header
        .iter()
        .any(|h| h.column == Column::Description && cell.bbox.x1 <= h.x0);
    if numeric && left_of_description {
        return Some(Column::Position);
    }
    if numeric {
        return header
            .iter()
            .filter(|h| h.column != Column::Description)
            .min_by(|a, b| {
                (a.x1 - cell.bbox.x1)
                    .abs()
                    .total_cmp(&(b.x1 - cell.bbox.x1).abs())
            })
            .map(|h| h.column);
    }
    let desc = header.iter().find(|h| h.column == Column::Description)?;
    let next_x0 = header
        .iter()
        .filter(|h| h.x0 > desc.x0)
        .map(|h| h.x0)
        .fold(f32::INFINITY, f32::min);
    (cell.bbox.x0 >= desc.x0 - 4.0 && cell.bbox.x0 < next_x0).then_some(Column::Description)
}

/// What one line of the table contributes to an item.
#[derive(Default)]
struct RowParts {
    item: LineItem,
    description: Vec<String>,
    bbox: Option<crate::domain::BBox>,
    /// Every number printed on the item's first line, whatever its column:
    /// where the columns were misread, the arithmetic can still find the
    /// quantity among them.
    numbers: Vec<Decimal>,
    /// Numbers of the lines right below the price that adjust it ("- 2,00",
    /// "= 18,00"), see [`net_price_on_row`].
    price_adjustments: Vec<Decimal>,
    /// How many description parts the last line that continued the item
    /// added: the line the next item may claim as its own (see
    /// [`read_rows`]).
    last_continuation: usize,
}

/// "20 Stk 19 % VAT (S)": a quantity, its unit and the tax rate set so
/// close that they read as one cell.
static QUANTITY_THEN_RATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(-?\d[\d.,']*(?:\s+[^\s\d%]+)?)\s+(-?\d[\d.,]*\s*%.*)$")
        .expect("constant regex")
});

/// A cell holding a quantity and a tax rate, cut in two.
///
/// Producers that shift a row sideways (a longer description pushes the
/// numbers right) leave too little space between "2 Stk" and "19 % VAT"
/// for them to read as two cells; assigned whole, the quantity would be
/// lost in the tax column. Only a cell under the quantity or tax column
/// is cut, and only when it reads "number [unit] number %"; the parts'
/// boxes are estimated from character counts, as in [`split_header_cell`].
fn split_quantity_and_rate(header: &[HeaderColumn], cell: &Cell) -> Vec<Cell> {
    // The pattern first: it rules out nearly every cell, and the column
    // is looked up again when the row is parsed.
    let Some(parts) = QUANTITY_THEN_RATE.captures(&cell.text) else {
        return vec![cell.clone()];
    };
    if !matches!(
        column_of(header, cell),
        Some(Column::Quantity | Column::TaxRate)
    ) || !header.iter().any(|h| h.column == Column::Quantity)
    {
        return vec![cell.clone()];
    }
    let chars_before = |byte: usize| cell.text[..byte].chars().count();
    [parts.get(1), parts.get(2)]
        .into_iter()
        .flatten()
        .map(|m| {
            part_of_cell(
                cell,
                m.as_str().to_string(),
                chars_before(m.start()),
                chars_before(m.end()),
            )
        })
        .collect()
}

fn parse_row(header: &[HeaderColumn], line: &[Cell], style: Option<DecimalStyle>) -> RowParts {
    let mut parts = RowParts::default();
    let cells: Vec<Cell> = line
        .iter()
        .flat_map(|c| split_quantity_and_rate(header, c))
        .collect();
    parts.numbers = cells
        .iter()
        .flat_map(|c| c.text.split_whitespace())
        .filter(|t| !t.ends_with('%') && !is_code(t))
        .filter_map(|t| parse_amount(t.trim_end_matches(['€', '$', '£']), style))
        .collect();
    for (k, cell) in cells.iter().enumerate() {
        // "19" then "%" in a cell of its own (OCR boxes are tight, so
        // words of one cell come apart): a rate, wherever it is printed.
        let rate = cells
            .get(k + 1)
            .is_some_and(|next| next.text.starts_with('%'))
            && parse_amount(&cell.text, style).is_some();
        parts.bbox = Some(parts.bbox.map_or(cell.bbox, |b| b.union(cell.bbox)));
        let number = || {
            parse_amount(
                cell.text.trim_end_matches(['%', '€', '$', '£']).trim(),
                style,
            )
        };
        let item = &mut parts.item;
        let column = if rate {
            Some(Column::TaxRate)
        } else {
            column_of(header, cell)
        };
        match column {
            Some(Column::Amount) => item.amount = number().or(item.amount),
            Some(Column::UnitPrice) => item.unit_price = number().or(item.unit_price),
            Some(Column::Quantity) => {
                // "3 Stück": quantity and unit in one cell; OCR may give
                // "3" and "Stück" cells of their own. The first number
                // under the column is the quantity; a word is its unit.
                let mut words = cell.text.split_whitespace();
                let first = words.next().unwrap_or_default();
                match parse_amount(first, style).filter(|_| !is_code(first)) {
                    Some(q) => {
                        item.quantity = item.quantity.or(Some(q));
                        item.unit = words.next().map(str::to_string).or(item.unit.take());
                    }
                    None => item.unit = item.unit.take().or_else(|| Some(cell.text.clone())),
                }
            }
            Some(Column::TaxRate) => item.tax_rate = number().or(item.tax_rate),
            Some(Column::Unit) => item.unit = Some(cell.text.clone()),
            Some(Column::Sku) => item.sku = Some(cell.text.clone()),
            Some(Column::Position | Column::GrossAmount) | None => {}
            Some(Column::Description) => parts.description.push(cell.text.clone()),
        }
    }
    parts
}

/// Reads item rows below a header until the totals block, a large gap or
/// the end of the page. An item may span several lines: it starts on a
/// line with a quantity or unit price, and its amount may come on the next
/// line (producers that print article numbers below the description).
fn read_rows(
    page: u32,
    lines: &[Vec<Cell>],
    start: usize,
    header: &[HeaderColumn],
    style: Option<DecimalStyle>,
    continued: bool,
    items: &mut Vec<LineItem>,
) -> (usize, bool) {
    let found_before = items.len();
    let mut current: Option<RowParts> = None;
    // Bottom of the current item's last line: only lines right below it
    // continue the item; remarks printed further down do not.
    let mut item_bottom = f32::NEG_INFINITY;
    // The header's height is the font's on a text layer, but OCR boxes
    // hug the glyphs and are half that; the page's line pitch keeps the
    // gaps below measured in rows either way.
    let row_height = header
        .iter()
        .map(|h| h.height)
        .fold(f32::INFINITY, f32::min)
        .max(0.9 * line_pitch(lines))
        .min(20.0);
    let mut li = start;
    let mut closed = false;
    // Measured from the header; a table continued from the previous page
    // starts right at its first item.
    let above = if continued {
        start
    } else {
        start.saturating_sub(1)
    };
    let mut last_y = lines
        .get(above)
        .and_then(|l| l.first())
        .map_or(0.0, |c| if continued { c.bbox.y0 } else { c.bbox.y1 });
    // The description line right above the first item's numbers.
    let mut lead_in: Option<Vec<String>> = None;
    let has_quantity_column = header.iter().any(|h| h.column == Column::Quantity);
    let has_price_column = header.iter().any(|h| h.column == Column::UnitPrice);
    let finish = |parts: Option<RowParts>, items: &mut Vec<LineItem>| {
        if let Some(mut p) = parts.filter(|p| p.item.amount.is_some()) {
            // A position number under a column headed like a description
            // ("Item"): not part of the name.
            if p.description.len() > 1
                && p.description[0].len() <= 4
                && p.description[0].bytes().all(|b| b.is_ascii_digit())
            {
                p.description.remove(0);
            }
            p.item.description = (!p.description.is_empty()).then(|| p.description.join(" "));
            // A row that adds up per 100 keeps the quantity it printed;
            // another number on the row that happens to fit (a position
            // number) must not replace it.
            p.item.price_base_quantity = implied_price_base(&p.item);
            if consistency(&p.item) < 0.9
                && let Some(q) = quantity_on_row(&p.item, &p.numbers)
            {
                p.item.quantity = Some(q);
            }
            if let Some(price) = net_price_on_row(&p.item, &p.price_adjustments) {
                p.item.unit_price = Some(price);
            }
            p.item.confidence = consistency(&p.item);
            if p.item.quantity.is_none() && has_quantity_column {
                p.item.quantity = implied_quantity(&p.item);
            }
            if p.item.unit_price.is_none() && !has_price_column {
                p.item.unit_price = implied_unit_price(&p.item);
            }
            p.item.location = p.bbox.map(|b| (page, b));
            items.push(p.item);
        }
    };
    while let Some(line) = lines.get(li) {
        let Some(first) = line.first() else {
            li += 1;
            continue;
        };
        if (TOTALS.is_match(&first.text) && line.len() <= 4)
            || first.bbox.y0 - last_y > 5.0 * row_height
            || is_section_heading(header, line)
            || header_columns(lines, li).is_some()
        {
            closed = true;
            break;
        }
        let gap = first.bbox.y0 - item_bottom;
        let row = parse_row(header, line, style);
        // "- €2.00" then "= €18.00" under an item's price: its discount
        // and net price, lines of the item, not items of their own.
        let price_adjustment = current.is_some()
            && gap < 0.5 * row_height
            && row.item.quantity.is_none()
            && row.item.amount.is_none()
            && row.description.is_empty()
            && line_text(line)
                .trim_start()
                .starts_with(['-', '=', '+', '−']);
        if price_adjustment && let Some(cur) = current.as_mut() {
            cur.price_adjustments.extend(row.numbers.iter().copied());
            if let Some(b) = row.bbox {
                cur.bbox = Some(cur.bbox.map_or(b, |c| c.union(b)));
            }
            last_y = line.last().map_or(last_y, |c| c.bbox.y1);
            item_bottom = item_bottom.max(last_y);
            li += 1;
            continue;
        }
        let starts_item = row.item.quantity.is_some() || row.item.unit_price.is_some();
        let completes_item = row.item.amount.is_some();
        match current.as_mut() {
            Some(cur) if !(starts_item || (completes_item && cur.item.amount.is_some())) => {
                // Right below the item continues it; an item whose numbers
                // came first may find its description a little further down.
                let near = gap < 0.5 * row_height
                    || (cur.description.is_empty() && gap < 2.5 * row_height);
                if !near {
                    last_y = line.last().map_or(last_y, |c| c.bbox.y1);
                    li += 1;
                    continue;
                }
                // A continuation: more description, or the amount of an
                // item that started on the line above.
                let it = &row.item;
                cur.item.amount = cur.item.amount.or(it.amount);
                cur.item.sku = cur.item.sku.take().or(it.sku.clone());
                if !is_attribute(line) {
                    cur.last_continuation = row.description.len();
                    cur.description.extend(row.description);
                }
                if let Some(b) = row.bbox {
                    cur.bbox = Some(cur.bbox.map_or(b, |c| c.union(b)));
                }
            }
            _ if starts_item || completes_item => {
                let mut row = row;
                // Numbers set at the middle of a multi-line row: the
                // description starts on the line above them. That line
                // was read as the last continuation of the item before,
                // which keeps its own description.
                if row.description.is_empty() && gap < row_height {
                    match current.as_mut() {
                        Some(cur)
                            if cur.last_continuation > 0
                                && cur.description.len() > cur.last_continuation =>
                        {
                            let at = cur.description.len() - cur.last_continuation;
                            row.description = cur.description.split_off(at);
                        }
                        // A line with text and a stray number (an
                        // article number under the quantity) that never
                        // got an amount: this row's first line.
                        Some(cur) if cur.item.amount.is_none() => {
                            row.description = std::mem::take(&mut cur.description);
                        }
                        None => row.description = lead_in.take().unwrap_or_default(),
                        Some(_) => {}
                    }
                }
                finish(current.take(), items);
                current = Some(row);
            }
            // Text before the first item (a sub-heading, or the first
            // line of an item whose numbers come below it), or a remark
            // line: not an item.
            _ => {
                if current.is_none() {
                    lead_in = (!row.description.is_empty()).then_some(row.description);
                }
            }
        }
        last_y = line.last().map_or(last_y, |c| c.bbox.y1);
        item_bottom = line
            .iter()
            .map(|c| c.bbox.y1)
            .fold(item_bottom, f32::max)
            .max(last_y);
        li += 1;
    }
    finish(current, items);
    // Still open when the page ended inside the table: after some items,
    // or right after the header (a header at the foot of a page, its rows
    // on the next).
    let header_at_foot = li.saturating_sub(start) <= 3;
    (
        li,
        !closed && (items.len() > found_before || header_at_foot),
    )
}

/// "Zu- und Abschläge:", "Allowances:": a heading at the table's left
/// edge (under its first column, left of the descriptions), ending in a
/// colon, starts the next section of the page. A colon line in the
/// description column ("Weitere Eigenschaften:", "Verpackung:") is part
/// of an item instead.
fn is_section_heading(header: &[HeaderColumn], line: &[Cell]) -> bool {
    let text = line_text(line);
    let Some(first) = line.first() else {
        return false;
    };
    let description_x0 = header
        .iter()
        .find(|h| h.column == Column::Description)
        .map_or(f32::INFINITY, |h| h.x0);
    let first_column_x1 = header
        .iter()
        .min_by(|a, b| a.x0.total_cmp(&b.x0))
        .map_or(f32::NEG_INFINITY, |h| h.x1);
    text.trim_end().ends_with(':')
        && !text.chars().any(|c| c.is_ascii_digit())
        && first.bbox.x0 < description_x0 - 4.0
        && first.bbox.x0 < first_column_x1
}

/// The usual distance from one line's top to the next one's on the page:
/// the median of those distances, which single-spaced text dominates.
fn line_pitch(lines: &[Vec<Cell>]) -> f32 {
    let mut tops: Vec<f32> = lines
        .iter()
        .filter_map(|l| l.first().map(|c| c.bbox.y0))
        .collect();
    tops.sort_by(f32::total_cmp);
    let mut steps: Vec<f32> = tops
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 2.0)
        .collect();
    steps.sort_by(f32::total_cmp);
    steps.get(steps.len() / 2).copied().unwrap_or(0.0)
}

/// "Bruttopreis : 9,90", "Basismenge: 1 Stk", "Bruttopreis :1,50
/// Abschlag :0,03": a line under an item that states its properties, not
/// more of its description. Judged on the whole line, since the numbers
/// may stand under a number column, away from the words.
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s*\p{L}[\p{L}\s.-]*:\s*-?\d[\d.,']*\s*\p{L}{0,4}\.?)+\s*$")
        .expect("constant regex")
});

fn is_attribute(line: &[Cell]) -> bool {
    ATTRIBUTE.is_match(&line_text(line))
}

/// A line's cells' texts, space-separated.
fn line_text(line: &[Cell]) -> String {
    line.iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The quantity a row's unit price and amount imply, when the table has a
/// quantity column but nothing was read in it: OCR drops a lone "1" in a
/// wide empty column as if it were a speck. Only a whole number that
/// gives the amount back to the cent counts (with decimals allowed, some
/// quantity fits nearly any pair), and the row keeps the confidence of a
/// row with a number missing.
fn implied_quantity(item: &LineItem) -> Option<Decimal> {
    let (price, amount) = (item.unit_price?, item.amount?);
    if price.is_zero() {
        return None;
    }
    let quantity = amount.checked_div(price)?.round();
    let gives_amount = (quantity * price).round_dp(2) == amount.round_dp(2);
    (!quantity.is_zero() && gives_amount).then(|| quantity.normalize())
}

/// The number on the row that, times the unit price, gives the amount to
/// the cent: the quantity, when the one read under the quantity column is
/// missing or does not fit (a "6,5 km" cell split apart, a quantity
/// printed left of its column).
fn quantity_on_row(item: &LineItem, numbers: &[Decimal]) -> Option<Decimal> {
    let (price, amount) = (item.unit_price?, item.amount?);
    if price.is_zero() || amount.is_zero() {
        return None;
    }
    other_factor(price, amount, numbers).map(|n| n.normalize())
}

/// The first of `numbers` that times `factor` gives `amount` to the cent.
fn other_factor(factor: Decimal, amount: Decimal, numbers: &[Decimal]) -> Option<Decimal> {
    numbers
        .iter()
        .copied()
        .find(|n| *n > Decimal::ZERO && (*n * factor).round_dp(2) == amount.round_dp(2))
}

/// The unit price of a row in a table without a price column (a
/// quantity and a line amount only): amount / quantity to four decimals,
/// when that gives the amount back to the cent. Matching against a purchase order compares
/// unit prices, and this one is what the vendor charged per unit.
fn implied_unit_price(item: &LineItem) -> Option<Decimal> {
    let (quantity, amount) = (item.quantity?, item.amount?);
    if quantity <= Decimal::ZERO {
        return None;
    }
    let price = amount.checked_div(quantity)?.round_dp(4);
    ((price * quantity).round_dp(2) == amount.round_dp(2)).then(|| price.normalize())
}

/// "7711231873598", "0595810": eight or more digits in a row with no
/// separator, or four and more with a leading zero, are an article
/// number or a barcode (EAN/GTIN) printed in the table, never a quantity
/// or a price.
fn is_code(word: &str) -> bool {
    let digits = word.bytes().all(|b| b.is_ascii_digit());
    digits && (word.len() >= 8 || (word.len() >= 4 && word.starts_with('0')))
}

/// Confidence of a row: high when quantity × unit price gives the amount.
fn consistency(item: &LineItem) -> f32 {
    match item.arithmetic_holds() {
        Some(true) => 0.9,
        Some(false) => 0.5,
        None => 0.6,
    }
}

/// Price units a unit price is commonly quoted per ("Preis je 100 Stk",
/// "per 1000"), most common first.
const PRICE_BASES: [Decimal; 3] = [
    Decimal::from_parts(100, 0, 0, false, 0),
    Decimal::from_parts(1000, 0, 0, false, 0),
    Decimal::from_parts(10, 0, 0, false, 0),
];

/// The price base quantity that makes a row add up, when quantity × unit
/// price does not but quantity × unit price / base gives the amount to
/// the cent (a price per 100 pieces, common for screws and bags).
fn implied_price_base(item: &LineItem) -> Option<Decimal> {
    if item.arithmetic_holds() != Some(false) {
        return None;
    }
    PRICE_BASES.into_iter().find(|b| {
        LineItem {
            price_base_quantity: Some(*b),
            ..item.clone()
        }
        .arithmetic_holds()
            == Some(true)
    })
}

/// The net unit price printed below the item's price when the first price
/// does not add up: "€20.00 / - €2.00 / = €18.00", a gross price, its
/// discount and the price charged. The one number that times the quantity
/// gives the amount is the price the vendor charged per unit.
fn net_price_on_row(item: &LineItem, numbers: &[Decimal]) -> Option<Decimal> {
    let (quantity, amount) = (item.quantity?, item.amount?);
    // The printed price is not among the answers: it does not add up.
    if quantity <= Decimal::ZERO || item.arithmetic_holds() != Some(false) {
        return None;
    }
    other_factor(quantity, amount, numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BBox;
    use crate::extract::rules::tests::page;

    /// One line of cells at `y`, each `(x0, x1, text)`.
    fn row(y: f32, cells: &[(f32, f32, &str)]) -> Vec<Cell> {
        cells
            .iter()
            .map(|&(x0, x1, t)| cell(x0, x1, y, t))
            .collect()
    }

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
    fn a_header_cell_naming_two_columns_is_cut_in_two() {
        let split = |t: &str| -> Vec<String> {
            split_header_cell(&cell(100.0, 100.0 + 5.0 * t.len() as f32, 10.0, t))
                .into_iter()
                .map(|c| c.text)
                .collect()
        };
        assert_eq!(
            split("Art-Nr-Kunde Beschreibung"),
            ["Art-Nr-Kunde", "Beschreibung"]
        );
        assert_eq!(split("Menge Einheit"), ["Menge", "Einheit"]);
        assert_eq!(split("Unit Price"), ["Unit Price"]);
        assert_eq!(split("Price per unit"), ["Price per unit"]);
        assert_eq!(split("Total Price"), ["Total Price"]);
        let parts = split_header_cell(&cell(100.0, 225.0, 10.0, "Art-Nr-Kunde Beschreibung"));
        assert!(parts[1].bbox.x0 > 160.0 && parts[0].bbox.x1 < parts[1].bbox.x0);
    }

    #[test]
    fn a_quantity_and_tax_rate_in_one_cell_are_cut_apart() {
        let header = vec![
            HeaderColumn {
                column: Column::Quantity,
                x0: 358.0,
                x1: 387.0,
                height: 10.0,
            },
            HeaderColumn {
                column: Column::TaxRate,
                x0: 431.0,
                x1: 466.0,
                height: 10.0,
            },
        ];
        let parts =
            split_quantity_and_rate(&header, &cell(366.0, 470.0, 10.0, "2 Stk 19 % VAT (S)"));
        let texts: Vec<&str> = parts.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["2 Stk", "19 % VAT (S)"]);
        assert_eq!(column_of(&header, &parts[0]), Some(Column::Quantity));
        assert_eq!(column_of(&header, &parts[1]), Some(Column::TaxRate));
        // Not a quantity and a rate: left whole.
        assert_eq!(
            split_quantity_and_rate(&header, &cell(366.0, 470.0, 10.0, "Stk VAT (S)")).len(),
            1
        );
    }

    #[test]
    fn ocr_cells_of_one_word_keep_quantity_unit_and_rate_apart() {
        let header = [
            cell(358.0, 387.0, 100.0, "Menge"),
            cell(431.0, 466.0, 100.0, "Steuer"),
            cell(505.0, 545.0, 100.0, "Entgelt"),
        ];
        let header: Vec<HeaderColumn> = header
            .iter()
            .map(|c| HeaderColumn {
                column: classify(&c.text).expect("a column word"),
                x0: c.bbox.x0,
                x1: c.bbox.x1,
                height: 10.0,
            })
            .collect();
        // As Tesseract boxes them: every word a cell, "19" under no column.
        let row = [
            cell(354.0, 364.0, 112.0, "20"),
            cell(372.0, 388.0, 112.0, "Stk"),
            cell(398.0, 407.0, 112.0, "19"),
            cell(415.0, 419.0, 112.0, "%"),
            cell(426.0, 443.0, 112.0, "VAT"),
            cell(511.0, 544.0, 112.0, "198,00"),
        ];
        let item = parse_row(&header, &row, Some(DecimalStyle::Comma)).item;
        assert_eq!(item.quantity, Some(Decimal::new(20, 0)));
        assert_eq!(item.unit.as_deref(), Some("Stk"));
        assert_eq!(item.tax_rate, Some(Decimal::new(19, 0)));
        assert_eq!(item.amount, Some(Decimal::new(19800, 2)));
    }

    #[test]
    fn a_quantity_ocr_dropped_is_implied_by_price_and_amount() {
        let item = |price: i64, amount: i64| LineItem {
            unit_price: Some(Decimal::new(price, 4)),
            amount: Some(Decimal::new(amount, 2)),
            ..LineItem::default()
        };
        assert_eq!(implied_quantity(&item(1588800, 15888)), Some(Decimal::ONE));
        assert_eq!(
            implied_quantity(&item(33333, 1000)),
            Some(Decimal::new(3, 0))
        );
        // 10,00 for 3,10 each is no whole number of anything.
        assert_eq!(implied_quantity(&item(31000, 1000)), None);
        assert_eq!(implied_quantity(&item(30000, 1000)), None);
        assert_eq!(implied_quantity(&item(0, 1000)), None);
    }

    #[test]
    fn attribute_lines_are_not_description() {
        let attr = |t: &str| is_attribute(&[cell(100.0, 200.0, 10.0, t)]);
        assert!(attr("Bruttopreis : 9,90"));
        assert!(attr(
            "Bruttopreis :1,5000 Abschlag :0,0300 Abschlag :0,0200"
        ));
        assert!(is_attribute(&[
            cell(162.0, 227.0, 10.0, "Bruttopreis"),
            cell(236.0, 276.0, 10.0, ":9,9000"),
        ]));
        assert!(attr("Bruttopreis :170,0000"));
        assert!(attr("Basismenge: 1 Stk"));
        assert!(!attr("80 g/m², weiß"));
        assert!(!attr("Taxi Berlin"));
        assert!(!attr("Lieferung: siehe Anlage"));
    }

    /// A cell as OCR boxes it: hugging the glyphs, 6 points tall in 10
    /// point type.
    fn tight(x0: f32, x1: f32, y: f32, text: &str) -> Cell {
        Cell {
            page: 1,
            text: text.to_string(),
            bbox: BBox {
                x0,
                y0: y - 6.0,
                x1,
                y1: y,
            },
        }
    }

    #[test]
    fn rows_under_a_scanned_header_are_measured_in_lines_not_glyph_heights() {
        let header = vec![
            tight(40.0, 60.0, 100.0, "Pos"),
            tight(80.0, 140.0, 100.0, "Beschreibung"),
            tight(300.0, 330.0, 100.0, "Menge"),
            tight(380.0, 440.0, 100.0, "Einzelpreis"),
            tight(480.0, 520.0, 100.0, "Betrag"),
        ];
        let row = |y: f32, n: &str, text: &str| {
            vec![
                tight(40.0, 45.0, y, n),
                tight(80.0, 200.0, y, text),
                tight(320.0, 330.0, y, "2"),
                tight(410.0, 440.0, y, "4,50"),
                tight(490.0, 520.0, y, "9,00"),
            ]
        };
        let lines = vec![
            header,
            row(112.0, "1", "Kopierpapier"),
            vec![tight(80.0, 150.0, 122.0, "A4 weiß")],
            // A remark further down, then a gap three lines high: wider
            // than five glyph heights, narrower than five lines.
            vec![tight(80.0, 200.0, 144.0, "Weitere Eigenschaften:")],
            vec![tight(80.0, 200.0, 155.0, "Format = DIN")],
            row(195.0, "2", "Toner"),
            vec![tight(40.0, 120.0, 217.0, "Zu- und Abschläge:")],
            row(228.0, "3", "Rabatt"),
        ];
        let items = line_items(&[page(&[])], &[lines], Some(DecimalStyle::Comma));
        let described: Vec<Option<&str>> = items.iter().map(|i| i.description.as_deref()).collect();
        // The heading at the table's left edge ends it: "Rabatt" is not an
        // item.
        assert_eq!(described, [Some("Kopierpapier A4 weiß"), Some("Toner")]);
    }

    /// A table as an ERP prints it: the article code and name on the line
    /// above the numbers, a barcode on the line below, a net and a gross
    /// column, and prices per 100 pieces.
    #[test]
    fn numbers_set_between_their_description_lines_per_100_with_a_gross_column() {
        let header = row(
            100.0,
            &[
                (40.0, 50.0, "#"),
                (60.0, 160.0, "Positionsbeschreibung"),
                (300.0, 330.0, "Menge"),
                (350.0, 380.0, "St.-Pr."),
                (420.0, 450.0, "Netto"),
                (480.0, 520.0, "Brutto"),
            ],
        );
        let item = |y: f32, n: &str, name: &str, q: &str, p: &str, net: &str, gross: &str| {
            vec![
                row(y, &[(60.0, 200.0, name), (210.0, 250.0, "0595810")]),
                row(
                    y + 10.0,
                    &[
                        (40.0, 45.0, n),
                        (300.0, 330.0, q),
                        (350.0, 380.0, p),
                        (420.0, 450.0, net),
                        (480.0, 520.0, gross),
                    ],
                ),
                row(
                    y + 20.0,
                    &[
                        (60.0, 120.0, "Sechskantmutter"),
                        (210.0, 280.0, "7711231333337"),
                    ],
                ),
            ]
        };
        let mut lines = vec![header];
        lines.extend(item(
            112.0,
            "1",
            "GWDSTG-M10X1000",
            "25,00",
            "2,06",
            "51,50",
            "61,29",
        ));
        // 500 × 13,32 per 100 = 66,60; the position number 5 times the
        // price would also give 66,60, and must not become the quantity.
        lines.extend(item(
            142.0,
            "5",
            "MU-6KT-SW19-M12",
            "500,00",
            "13,32",
            "66,60",
            "79,25",
        ));
        lines.push(row(
            182.0,
            &[(300.0, 360.0, "Rabatt:"), (480.0, 520.0, "0,00")],
        ));
        let items = line_items(&[page(&[])], &[lines], Some(DecimalStyle::Comma));
        assert_eq!(items.len(), 2, "{items:?}");
        let description = |i: usize| items[i].description.as_deref().unwrap_or_default();
        assert!(description(0).starts_with("GWDSTG-M10X1000"), "{items:?}");
        assert!(description(1).starts_with("MU-6KT-SW19-M12"), "{items:?}");
        assert_eq!(items[0].amount, Some(Decimal::new(5150, 2)));
        assert_eq!(items[0].quantity, Some(Decimal::new(2500, 2)));
        assert_eq!(items[0].price_base_quantity, None);
        assert_eq!(items[1].quantity, Some(Decimal::new(50000, 2)));
        assert_eq!(items[1].amount, Some(Decimal::new(6660, 2)));
        assert_eq!(items[1].price_base_quantity, Some(Decimal::new(100, 0)));
        assert_eq!(items[1].arithmetic_holds(), Some(true));
    }

    #[test]
    fn a_discounted_price_and_an_article_code_before_the_name() {
        let lines = vec![
            row(
                100.0,
                &[
                    (40.0, 60.0, "Art."),
                    (80.0, 140.0, "Product"),
                    (300.0, 340.0, "Quantity"),
                    (380.0, 440.0, "Unit Price"),
                    (480.0, 540.0, "Total Price"),
                ],
            ),
            row(
                112.0,
                &[
                    (40.0, 45.0, "1"),
                    (80.0, 260.0, "GG-SCRW-A4-01 - High-Grade Screws"),
                    (310.0, 330.0, "5 kg"),
                    (400.0, 440.0, "€20.00"),
                    (500.0, 540.0, "€90.00"),
                ],
            ),
            row(122.0, &[(400.0, 440.0, "- €2.00")]),
            row(132.0, &[(398.0, 440.0, "= €18.00")]),
            row(
                150.0,
                &[
                    (40.0, 45.0, "2"),
                    (80.0, 260.0, "2024 - Annual maintenance"),
                    (310.0, 330.0, "1"),
                    (400.0, 440.0, "€45.00"),
                    (500.0, 540.0, "€45.00"),
                ],
            ),
        ];
        let items = line_items(&[page(&[])], &[lines], Some(DecimalStyle::Point));
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].description.as_deref(), Some("High-Grade Screws"));
        assert_eq!(items[0].sku.as_deref(), Some("GG-SCRW-A4-01"));
        assert_eq!(items[0].unit_price, Some(Decimal::new(1800, 2)));
        assert!(items[0].confidence > 0.8);
        let mut scanned = LineItem {
            description: Some("4123456000038Mischpalette Joghurt".into()),
            ..LineItem::default()
        };
        drop_leading_barcode(&mut scanned);
        assert_eq!(scanned.description.as_deref(), Some("Mischpalette Joghurt"));
        // A year is not an article code.
        assert_eq!(
            items[1].description.as_deref(),
            Some("2024 - Annual maintenance")
        );
    }

    #[test]
    fn the_amount_is_the_rightmost_product_and_a_tax_breakdown_is_not_priced_per_100() {
        let row = |cells: &[(f32, &str)]| -> Vec<Cell> {
            let cells: Vec<(f32, f32, &str)> = cells
                .iter()
                .map(|&(x, t)| (x, x + 5.0 * t.len() as f32, t))
                .collect();
            row(100.0, &cells)
        };
        let item = multiplying_row(
            1,
            &row(&[
                (60.0, "Gewindestange"),
                (300.0, "25,00"),
                (350.0, "2,06"),
                (400.0, "19,00"),
                (450.0, "51,50"),
                (500.0, "61,29"),
            ]),
            Some(DecimalStyle::Comma),
        )
        .expect("an item");
        assert_eq!(item.amount, Some(Decimal::new(5150, 2)));
        assert_eq!(item.unit_price, Some(Decimal::new(206, 2)));
        // 19 × 516,75 / 100 = 98,18: a tax rate times its base, not 19
        // pieces at a price per 100.
        assert_eq!(
            multiplying_row(
                1,
                &row(&[
                    (60.0, "VAT"),
                    (400.0, "19,00"),
                    (450.0, "516,75"),
                    (500.0, "98,18")
                ]),
                Some(DecimalStyle::Comma),
            ),
            None
        );
    }

    /// Rows without a header the reader knows, each description on the
    /// line above its numbers, the second item's name read first as the
    /// first item's continuation.
    #[test]
    fn rows_that_multiply_below_their_description() {
        let lines = vec![
            row(
                100.0,
                &[
                    (40.0, 200.0, "Leistungen im März"),
                    (300.0, 340.0, "Menge"),
                    (380.0, 420.0, "PU"),
                    (480.0, 520.0, "Summe"),
                ],
            ),
            row(112.0, &[(40.0, 200.0, "Abonnement annuel")]),
            row(
                124.0,
                &[
                    (300.0, 310.0, "2"),
                    (380.0, 420.0, "30,00"),
                    (480.0, 520.0, "60,00"),
                ],
            ),
            row(136.0, &[(40.0, 200.0, "Maintenance")]),
            row(
                148.0,
                &[
                    (300.0, 310.0, "1"),
                    (380.0, 420.0, "45,50"),
                    (480.0, 520.0, "45,50"),
                ],
            ),
        ];
        let items = rows_that_multiply(1, &lines, Some(DecimalStyle::Comma));
        let described: Vec<Option<&str>> = items.iter().map(|i| i.description.as_deref()).collect();
        assert_eq!(described, [Some("Abonnement annuel"), Some("Maintenance")]);
        assert_eq!(items[1].amount, Some(Decimal::new(4550, 2)));
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
        let items = line_items(&[page(&[])], &[lines], Some(DecimalStyle::Comma));
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
    fn item(quantity: Option<i64>, price: Option<i64>, amount: i64) -> LineItem {
        LineItem {
            quantity: quantity.map(|q| Decimal::new(q, 1)),
            unit_price: price.map(|p| Decimal::new(p, 2)),
            amount: Some(Decimal::new(amount, 2)),
            ..LineItem::default()
        }
    }

    #[test]
    fn the_quantity_that_gives_the_amount_is_found_among_the_rows_numbers() {
        // "Stadtfahrt 6,5 km 2,00 13,00": the quantity column read "6".
        let row = item(Some(60), Some(200), 1300);
        let numbers = [
            Decimal::new(6, 0),
            Decimal::new(65, 1),
            Decimal::new(200, 2),
        ];
        assert_eq!(quantity_on_row(&row, &numbers), Some(Decimal::new(65, 1)));
        // Nothing on the row fits: nothing is made up.
        assert_eq!(quantity_on_row(&row, &[Decimal::new(7, 0)]), None);
        // Without a unit price there is nothing to check against.
        assert_eq!(quantity_on_row(&item(None, None, 1300), &numbers), None);
    }

    #[test]
    fn a_table_without_a_price_column_implies_the_unit_price() {
        assert_eq!(
            implied_unit_price(&item(Some(30), None, 13_500)),
            Some(Decimal::new(45, 0))
        );
        // 100.00 for 3: 33.3333 a unit, as the vendor's system would store it.
        assert_eq!(
            implied_unit_price(&item(Some(30), None, 10_000)),
            Some(Decimal::new(333_333, 4))
        );
        assert_eq!(implied_unit_price(&item(Some(0), None, 10_000)), None);
        assert_eq!(implied_unit_price(&item(None, None, 10_000)), None);
    }
    #[test]
    fn rows_whose_numbers_multiply_are_items_without_a_header() {
        // A header in words no rule knows; a tax breakdown and a total.
        let p = page(&[
            &[
                (40.0, "Libellé article"),
                (300.0, "Nb"),
                (360.0, "PU"),
                (450.0, "Valeur"),
            ],
            &[
                (40.0, "Câble réseau 5 m"),
                (300.0, "3"),
                (360.0, "12,50"),
                (450.0, "37,50"),
            ],
            &[(40.0, "catégorie 6, gris")],
            &[
                (40.0, "Switch 8 ports"),
                (300.0, "1"),
                (360.0, "89,00"),
                (450.0, "89,00"),
            ],
            &[(40.0, "Remise fidélité"), (450.0, "-5,00")],
            &[(40.0, "TVA 20 %"), (360.0, "121,50"), (450.0, "24,30")],
            &[(40.0, "Total TTC"), (450.0, "145,80")],
        ]);
        let grid = vec![crate::extract::rules::cells_of(&p)];
        let items = line_items(std::slice::from_ref(&p), &grid, Some(DecimalStyle::Comma));
        let got: Vec<(String, String, String, String)> = items
            .iter()
            .map(|i| {
                (
                    i.description.clone().unwrap_or_default(),
                    i.quantity.map(|d| d.to_string()).unwrap_or_default(),
                    i.unit_price.map(|d| d.to_string()).unwrap_or_default(),
                    i.amount.map(|d| d.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        let row = |d: &str, q: &str, p: &str, a: &str| {
            (d.to_string(), q.to_string(), p.to_string(), a.to_string())
        };
        assert_eq!(
            got,
            [
                row("Câble réseau 5 m catégorie 6, gris", "3", "12.50", "37.50"),
                row("Switch 8 ports", "1", "89.00", "89.00"),
            ]
        );
        assert!(items.iter().all(|i| i.confidence < 0.9));
    }
    #[test]
    fn the_print_tells_the_price_from_the_quantity() {
        let row = |cells: &[(f32, &str)]| {
            let line: Vec<Cell> = cells
                .iter()
                .map(|(x, t)| cell(*x, *x + 5.0 * t.len() as f32, 10.0, t))
                .collect();
            multiplying_row(1, &line, Some(DecimalStyle::Comma)).map(|i| {
                (
                    i.quantity.map(|d| d.to_string()),
                    i.unit_price.map(|d| d.to_string()),
                )
            })
        };
        let q_p = |q: &str, p: &str| Some((Some(q.to_string()), Some(p.to_string())));
        // Price before quantity (German layouts), and after.
        assert_eq!(
            row(&[
                (40.0, "Obermonteur"),
                (280.0, "43,20"),
                (350.0, "3 Std"),
                (500.0, "129,60")
            ]),
            q_p("3", "43.20")
        );
        assert_eq!(
            row(&[
                (40.0, "Obermonteur"),
                (280.0, "3"),
                (350.0, "43,20"),
                (500.0, "129,60")
            ]),
            q_p("3", "43.20")
        );
        // A quantity with one decimal, a price with four.
        assert_eq!(
            row(&[
                (40.0, "Stadtfahrt"),
                (280.0, "6,5"),
                (350.0, "2,0000"),
                (500.0, "13,00")
            ]),
            q_p("6.5", "2.0000")
        );
        // The amount's thousands group printed apart, a rate between.
        assert_eq!(
            row(&[
                (40.0, "Suspension"),
                (280.0, "6"),
                (350.0, "189,00"),
                (420.0, "20 %"),
                (500.0, "1 134,00")
            ]),
            q_p("6", "189.00")
        );
        // Nothing multiplies to the last amount: no item.
        assert_eq!(
            row(&[
                (40.0, "Rabatt"),
                (280.0, "3"),
                (350.0, "4,00"),
                (500.0, "11,00")
            ]),
            None
        );
    }
}
