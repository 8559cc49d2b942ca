//! Synthetic invoices for training the candidate-scoring model.
//!
//! Real labelled invoices are scarce and all look like the few vendors they
//! came from, so a model trained on them learns *those* layouts. This module
//! generates born-digital PDFs together with their ground truth, varying
//! everything an extractor must not depend on: language (en, de, fr, nl, es,
//! it, pl) and several wordings per label, date and amount formats,
//! currency placement, seven layout families with random geometry, page
//! breaks in long tables, receipts, credit notes, and distractors (customer
//! and delivery-note numbers, other dates, the customer's VAT id, bank
//! details of the wrong kind, register numbers, payment-term sentences).
//!
//! The PDFs are deliberately plain (PDF 1.4, the standard Helvetica and
//! Courier fonts with WinAnsiEncoding, uncompressed content streams) so
//! that the project's own read path (text layer and OCR) handles them the
//! way it handles ordinary office-suite output.
//!
//! Conventions the truth follows (so that the training labels are exactly
//! what is printed):
//! * Strings are as printed: characters outside cp1252 (Polish ł, ą, ...)
//!   are transliterated to ASCII both on the page and in the truth.
//! * `vendor_vat_id` is compact with its country prefix (`DE123456789`,
//!   `CHE123456789`, `PL1234567890`) even where the page prints it grouped
//!   or, for PL/ES/IT, without the prefix ("NIP 123-456-78-90").
//! * `iban` is compact; the page prints it compact or in groups of four.
//! * Money always closes: each line amount is quantity x unit price rounded
//!   half away from zero to cents; on invoices the lines are net and sum to
//!   the net amount, each tax rate's tax is the rounded product of its net,
//!   and total = net + tax. Shipping and discounts are ordinary table lines
//!   (a discount is a negative line), never adjustments in the totals block,
//!   and the total is gross: a prepayment (one invoice in ten over 100) is
//!   printed under it with what is left to pay, which is not the total.
//! * Receipts (`layout == "receipt"`) price their lines gross: the lines sum
//!   to `total_amount`, the included tax per rate is round(gross x r/(100+r))
//!   and net = total - tax. Their net/tax are `None` unless printed.
//! * A receipt line printed without "qty x price" has quantity 1.
//! * A line's small detail line (serial number, delivery note) is not part
//!   of its description; wrapped description lines are.
//! * Credit notes print negative amounts; all truth amounts are negative and
//!   quantities stay positive (the unit price carries the sign).

use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};
use fastrand::Rng;
use rust_decimal::{Decimal, RoundingStrategy};

/// The labelled truth of one synthetic invoice, in the corpus's field names.
#[derive(Debug, Clone)]
pub struct Truth {
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub po_number: Option<String>,
    pub vendor_name: String,
    pub vendor_vat_id: Option<String>,
    /// Compact, upper case, no spaces.
    pub iban: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// `None` when the document does not print it (receipts).
    pub net_amount: Option<Decimal>,
    /// `None` when not printed.
    pub tax_amount: Option<Decimal>,
    /// Gross (what is payable unless a prepayment is printed under it).
    pub total_amount: Decimal,
    pub line_items: Vec<TruthLine>,
    /// "en","de","fr","nl","es","it","pl".
    pub language: &'static str,
    /// A short name of the layout family used.
    pub layout: &'static str,
}

/// One table line of a synthetic invoice.
#[derive(Debug, Clone)]
pub struct TruthLine {
    /// The whole description (all wrapped lines joined by one space).
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

/// A generated invoice: the PDF bytes and what an extractor should find.
pub struct SynthInvoice {
    pub pdf: Vec<u8>,
    pub truth: Truth,
}

/// Deterministic: the same seed gives byte-identical output.
pub fn generate(seed: u64) -> SynthInvoice {
    let mut rng = Rng::with_seed(seed);
    let layout = Layout::random(&mut rng);
    let doc = Doc::random(&mut rng, layout);
    let pdf = render(&doc, &mut rng).to_pdf();
    SynthInvoice {
        pdf,
        truth: doc.truth(),
    }
}

/// The layout families. Names are what `Truth::layout` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Letterhead top left, meta as "Label: value" pairs in a right column.
    Letterhead,
    /// Meta as a row of boxes: labels on one line, values below.
    Boxes,
    /// Meta as a two-column table at left under the recipient address.
    TableLeft,
    /// "Invoice 123 dated ..." title line, other meta inline in the text.
    Inline,
    /// Narrow till receipt with gross prices.
    Receipt,
    /// Vendor block right, recipient left, meta below in a grid.
    GridRight,
    /// Vendor details and meta in a left sidebar, content to its right.
    Sidebar,
}

impl Layout {
    /// About one in eight documents is a receipt; the A4 families share
    /// the rest evenly.
    fn random(rng: &mut Rng) -> Layout {
        if chance(rng, 0.13) {
            return Layout::Receipt;
        }
        pick(
            rng,
            &[
                Layout::Letterhead,
                Layout::Boxes,
                Layout::TableLeft,
                Layout::Inline,
                Layout::GridRight,
                Layout::Sidebar,
            ],
        )
    }

    fn name(self) -> &'static str {
        match self {
            Layout::Letterhead => "letterhead",
            Layout::Boxes => "meta_boxes",
            Layout::TableLeft => "meta_table",
            Layout::Inline => "inline_title",
            Layout::Receipt => "receipt",
            Layout::GridRight => "vendor_right_grid",
            Layout::Sidebar => "sidebar",
        }
    }
}

// ---------------------------------------------------------------------------
// Randomness helpers

/// Alternatives separated by `|` (one table line per label instead of one
/// per wording).
type L = &'static str;

fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.f64() < p
}

/// One entry of a constant table (which is never empty: an empty one is a
/// bug in this file and panics in every test).
fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// One of the `|`-separated alternatives.
fn one(rng: &mut Rng, alternatives: L) -> &'static str {
    let n = alternatives.split('|').count();
    nth(alternatives, rng.usize(..n))
}

fn nth(alternatives: L, i: usize) -> &'static str {
    alternatives.split('|').nth(i).unwrap_or(alternatives)
}

/// Fills a pattern: `#` a digit, `@` an upper-case letter, `YYYY` the year,
/// `MM` the month; anything else is literal.
fn fill(rng: &mut Rng, pattern: &str, date: NaiveDate) -> String {
    let pattern = pattern
        .replace("YYYY", &date.year().to_string())
        .replace("MM", &format!("{:02}", date.month()));
    pattern
        .chars()
        .map(|c| match c {
            '#' => rng.digit(10),
            '@' => rng.uppercase(),
            c => c,
        })
        .collect()
}

fn digits(rng: &mut Rng, n: usize) -> Vec<u32> {
    (0..n).map(|_| rng.u32(0..10)).collect()
}

fn digit_string(d: &[u32]) -> String {
    d.iter().map(|x| char::from(b'0' + *x as u8)).collect()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("constant decimal in the generator's tables")
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn add_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap_or(d)
}

fn sub_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_sub_days(Days::new(n)).unwrap_or(d)
}

// ---------------------------------------------------------------------------
// Text encoding and font metrics

/// The WinAnsiEncoding (cp1252) byte of a character, if it has one.
fn cp1252(c: char) -> Option<u8> {
    let u = u32::from(c);
    if (0x20..=0x7e).contains(&u) || (0xa0..=0xff).contains(&u) {
        return u8::try_from(u).ok();
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '\u{2018}' => 0x91,
        '\u{2019}' => 0x92,
        '\u{201c}' => 0x93,
        '\u{201d}' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => return None,
    })
}

/// Spells what the standard fonts cannot show (mostly Polish) in ASCII, so
/// that the page and the truth agree on the text.
fn translit(s: &str) -> String {
    s.chars()
        .map(|c| {
            if cp1252(c).is_some() || c == GLUE {
                return c;
            }
            match c {
                'ł' => 'l',
                'Ł' => 'L',
                'ą' => 'a',
                'Ą' => 'A',
                'ę' => 'e',
                'Ę' => 'E',
                'ś' => 's',
                'Ś' => 'S',
                'ć' => 'c',
                'Ć' => 'C',
                'ż' | 'ź' => 'z',
                'Ż' | 'Ź' => 'Z',
                'ń' => 'n',
                'Ń' => 'N',
                'ő' => 'o',
                'ű' => 'u',
                '\u{2009}' | '\u{202f}' => ' ',
                _ => '?',
            }
        })
        .collect()
}

/// The unaccented letter whose width an accented Latin-1 letter shares.
fn base_letter(c: char) -> char {
    match c {
        'À'..='Å' => 'A',
        'Ç' => 'C',
        'È'..='Ë' => 'E',
        'Ì'..='Ï' => 'I',
        'Ñ' => 'N',
        'Ò'..='Ö' | 'Ø' => 'O',
        'Ù'..='Ü' => 'U',
        'Ý' => 'Y',
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' | 'ø' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        c => c,
    }
}

/// Helvetica advance widths (AFM, 1/1000 em) for characters 32..=126.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0..9
    278, 278, 584, 584, 584, 556, 1015, // :..@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A..M
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N..Z
    278, 278, 278, 469, 556, 333, // [..`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a..m
    556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n..z
    334, 260, 334, 584, // {..~
];

/// Helvetica-Bold advance widths for characters 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0..9
    333, 333, 584, 584, 584, 611, 975, // :..@
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, // A..M
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N..Z
    333, 278, 333, 584, 556, 333, // [..`
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, // a..m
    611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, // n..z
    389, 280, 389, 584, // {..~
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
    Mono,
    MonoBold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
            Font::Mono => "F3",
            Font::MonoBold => "F4",
        }
    }

    fn bold(self) -> Font {
        match self {
            Font::Regular | Font::Bold => Font::Bold,
            Font::Mono | Font::MonoBold => Font::MonoBold,
        }
    }

    /// Advance width of one character in 1/1000 em.
    fn advance(self, c: char) -> u16 {
        let table = match self {
            Font::Mono | Font::MonoBold => return 600,
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        let c = if c == GLUE { ' ' } else { c };
        let u = u32::from(base_letter(c));
        match u.checked_sub(32).and_then(|i| table.get(i as usize)) {
            Some(w) => *w,
            None if c == 'ß' => 611,
            None => 556,
        }
    }
}

fn text_width(font: Font, size: f64, s: &str) -> f64 {
    let units: u32 = s.chars().map(|c| u32::from(font.advance(c))).sum();
    f64::from(units) * size / 1000.0
}

/// A space that `wrap` does not break at.
const GLUE: char = '\u{1}';

/// Makes `s` unbreakable for `wrap`: a value (date, IBAN, "Label: value")
/// split over two lines is not what real documents do.
fn glue(s: &str) -> String {
    s.replace(' ', &GLUE.to_string())
}

/// Splits `s` into lines no wider than `max` (a single over-long word gets
/// a line of its own); glued spaces become ordinary spaces again.
fn wrap(font: Font, size: f64, s: &str, max: f64) -> Vec<String> {
    let mut lines = wrap_words(font, size, s, max);
    for l in &mut lines {
        *l = l.replace(GLUE, " ");
    }
    lines
}

fn wrap_words(font: Font, size: f64, s: &str, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && text_width(font, size, &candidate) > max {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = candidate;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

// ---------------------------------------------------------------------------
// Canvas and PDF writer

/// A drawing operation in top-down page coordinates (y grows downwards),
/// converted to PDF's bottom-up space only when written, so that a
/// receipt's page height can be decided after its content.
enum Op {
    Text {
        x: f64,
        y: f64,
        size: f64,
        font: Font,
        text: String,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        width: f64,
    },
    /// `y` is the top edge; `fill` a grey level, else stroked.
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Option<f64>,
    },
}

struct Page {
    w: f64,
    h: f64,
    ops: Vec<Op>,
}

struct Canvas {
    pages: Vec<Page>,
    cur: usize,
}

/// A PDF number: two decimals at most, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn pdf_string(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    for c in s.chars() {
        let b = cp1252(c).unwrap_or(b'?');
        if matches!(b, b'\\' | b'(' | b')') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

impl Canvas {
    fn new(w: f64, h: f64) -> Canvas {
        Canvas {
            pages: vec![Page {
                w,
                h,
                ops: Vec::new(),
            }],
            cur: 0,
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(p) = self.pages.get_mut(self.cur) {
            p.ops.push(op);
        }
    }

    fn add_page(&mut self, w: f64, h: f64) {
        self.pages.push(Page {
            w,
            h,
            ops: Vec::new(),
        });
        self.cur = self.pages.len() - 1;
    }

    fn content(page: &Page) -> Vec<u8> {
        let h = page.h;
        let mut out = Vec::new();
        for op in &page.ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    font,
                    text,
                } => {
                    out.extend_from_slice(
                        format!(
                            "BT /{} {} Tf {} {} Td (",
                            font.resource(),
                            num(*size),
                            num(*x),
                            num(h - y)
                        )
                        .as_bytes(),
                    );
                    out.extend(pdf_string(text));
                    out.extend_from_slice(b") Tj ET\n");
                }
                Op::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => out.extend_from_slice(
                    format!(
                        "{} w {} {} m {} {} l S\n",
                        num(*width),
                        num(*x1),
                        num(h - y1),
                        num(*x2),
                        num(h - y2)
                    )
                    .as_bytes(),
                ),
                Op::Rect {
                    x,
                    y,
                    w,
                    h: rh,
                    fill,
                } => {
                    let r = format!(
                        "{} {} {} {} re",
                        num(*x),
                        num(h - y - rh),
                        num(*w),
                        num(*rh)
                    );
                    let s = match fill {
                        Some(g) => format!("{} g {r} f 0 g\n", num(*g)),
                        None => format!("0.6 w {r} S\n"),
                    };
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        out
    }

    /// Serialises the pages: catalog, page tree, the four fonts, an info
    /// dictionary, then each page and its content stream, and the xref.
    fn to_pdf(&self) -> Vec<u8> {
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let n = self.pages.len();
        let total_objects = 7 + 2 * n;
        let mut offsets = vec![0usize; total_objects + 1];
        let mut obj = |out: &mut Vec<u8>, id: usize, body: &[u8]| {
            offsets[id] = out.len();
            out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        };
        obj(&mut out, 1, b"<< /Type /Catalog /Pages 2 0 R >>");
        let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 8 + 2 * i)).collect();
        obj(
            &mut out,
            2,
            format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).as_bytes(),
        );
        for (i, base) in ["Helvetica", "Helvetica-Bold", "Courier", "Courier-Bold"]
            .iter()
            .enumerate()
        {
            obj(
                &mut out,
                3 + i,
                format!(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
                )
                .as_bytes(),
            );
        }
        obj(&mut out, 7, b"<< /Producer (apflow synth) >>");
        for (i, page) in self.pages.iter().enumerate() {
            let (pid, cid) = (8 + 2 * i, 9 + 2 * i);
            obj(
                &mut out,
                pid,
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << \
                     /F1 3 0 R /F2 4 0 R /F3 5 0 R /F4 6 0 R >> >> /Contents {cid} 0 R >>",
                    num(page.w),
                    num(page.h)
                )
                .as_bytes(),
            );
            let content = Canvas::content(page);
            let mut body = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            body.extend_from_slice(&content);
            body.extend_from_slice(b"\nendstream");
            obj(&mut out, cid, &body);
        }
        let xref = out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", total_objects + 1);
        for off in &offsets[1..] {
            let _ = writeln!(table, "{off:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            total_objects + 1
        );
        out.extend_from_slice(table.as_bytes());
        out
    }
}

// ---------------------------------------------------------------------------
// Number and date formats

/// Thousands grouping and decimal mark of an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NumStyle {
    /// 1.234,56
    DotComma,
    /// 1,234.56
    CommaDot,
    /// 1 234,56
    SpaceComma,
    /// 1'234.56 (Swiss)
    Apos,
    /// 1234.56
    PlainDot,
    /// 1234,56
    PlainComma,
}

impl NumStyle {
    fn separators(self) -> (&'static str, char) {
        match self {
            NumStyle::DotComma => (".", ','),
            NumStyle::CommaDot => (",", '.'),
            NumStyle::SpaceComma => (" ", ','),
            NumStyle::Apos => ("'", '.'),
            NumStyle::PlainDot => ("", '.'),
            NumStyle::PlainComma => ("", ','),
        }
    }
}

/// |d| with `dp` decimals in the given style.
fn fmt_abs(d: Decimal, dp: u32, style: NumStyle, group: bool) -> String {
    let mut r = d
        .abs()
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(dp);
    let digits = r.mantissa().to_string();
    let dpu = dp as usize;
    let digits = if digits.len() <= dpu {
        format!("{}{digits}", "0".repeat(dpu + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - dpu);
    let (thousands, decimal) = style.separators();
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if group && i > 0 && (int.len() - i) % 3 == 0 {
            out.push_str(thousands);
        }
        out.push(ch);
    }
    if dp > 0 {
        out.push(decimal);
        out.push_str(frac);
    }
    out
}

/// How a negative amount is written (credit notes, discount lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Neg {
    Minus,
    Parens,
    Trailing,
}

/// Where the currency goes next to an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CurPos {
    SymBefore,
    SymAfter,
    CodeBefore,
    CodeAfter,
    /// Only in a column header / the total's label.
    HeaderOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateStyle {
    /// 05.03.2026
    DmyDot,
    /// 5.3.2026
    DmyDotShort,
    /// 05/03/2026
    DmySlash,
    /// 03/05/2026 (US only)
    MdySlash,
    /// 2026-03-05
    Iso,
    /// 05-03-2026
    DmyDash,
    /// 5 March 2026, 5. März 2026, 5 de marzo de 2026, 5 marca 2026 ...
    Long,
    /// March 5, 2026
    MonthDayYear,
    /// Mar 5, 2026
    MonDayYear,
    /// 05-Mar-2026
    DdMonYyyy,
}

fn fmt_date(d: NaiveDate, style: DateStyle, lang: &Lang) -> String {
    let (y, m, day) = (d.year(), d.month(), d.day());
    let m0 = d.month0() as usize;
    let en = nth(EN.months, m0);
    let en_short = en.get(..3).unwrap_or(en);
    match style {
        DateStyle::DmyDot => format!("{day:02}.{m:02}.{y}"),
        DateStyle::DmyDotShort => format!("{day}.{m}.{y}"),
        DateStyle::DmySlash => format!("{day:02}/{m:02}/{y}"),
        DateStyle::MdySlash => format!("{m:02}/{day:02}/{y}"),
        DateStyle::Iso => format!("{y}-{m:02}-{day:02}"),
        DateStyle::DmyDash => format!("{day:02}-{m:02}-{y}"),
        DateStyle::Long => {
            let month = nth(lang.months, m0);
            match lang.code {
                "de" => format!("{day}. {month} {y}"),
                "es" => format!("{day} de {month} de {y}"),
                "fr" if day == 1 => format!("1er {month} {y}"),
                _ => format!("{day} {month} {y}"),
            }
        }
        DateStyle::MonthDayYear => format!("{en} {day}, {y}"),
        DateStyle::MonDayYear => format!("{en_short} {day}, {y}"),
        DateStyle::DdMonYyyy => format!("{day:02}-{en_short}-{y}"),
    }
}

// ---------------------------------------------------------------------------
// Language tables

/// Everything printed in one language. Each field holds alternative
/// wordings separated by `|`; a document picks one per label and keeps it.
struct Lang {
    code: &'static str,
    title: L,
    credit_title: L,
    inv_no: L,
    inv_date: L,
    due: L,
    po: L,
    cust_no: L,
    delivery_note: L,
    order_date: L,
    delivery_date: L,
    our_ref: L,
    contact: L,
    page: L,
    bill_to: L,
    ship_to: L,
    seller: L,
    attn: L,
    net: L,
    tax_rate: L,
    tax_plain: L,
    total: L,
    /// The gross total's labels where a prepayment follows it: never the
    /// words of what is left to pay.
    gross: L,
    /// A prepayment already received, deducted below the total.
    prepaid: L,
    /// What is left to pay after the prepayment.
    payable: L,
    incl_tax: L,
    carried: L,
    brought: L,
    col_pos: L,
    col_sku: L,
    col_desc: L,
    col_qty: L,
    col_unit: L,
    col_price: L,
    col_vat: L,
    col_amount: L,
    unit_piece: L,
    unit_hour: L,
    products: L,
    services: L,
    specs: L,
    receipt_items: L,
    shipping: L,
    discount: L,
    terms: L,
    pay_by: L,
    skonto: L,
    reverse: L,
    phone: L,
    email: L,
    vat_id: L,
    cust_vat: L,
    reg: L,
    director: L,
    bank: L,
    thanks: L,
    intro: L,
    inline: L,
    of: L,
    receipt_title: L,
    receipt_no: L,
    cash: L,
    change: L,
    card: L,
    period: L,
    detail: L,
    all_in: L,
    debit: L,
    months: L,
    persons: L,
    trades: L,
    stems: L,
    inv_prefix: L,
    credit_prefix: L,
}

const EN: Lang = Lang {
    code: "en",
    title: "INVOICE|Invoice|TAX INVOICE|Tax Invoice|Sales Invoice|VAT Invoice",
    credit_title: "CREDIT NOTE|Credit Note|Credit Memo",
    inv_no: "Invoice No.|Invoice #|Invoice Number|Bill No.|Invoice no|Inv. No.|Invoice ID|\
        Document No.",
    inv_date: "Invoice Date|Date|Date of issue|Issue date|Invoice date|Tax point|Dated",
    due: "Due date|Payment due|Due|Due Date|Pay by|Payment due date",
    po: "PO Number|Your order|Purchase order|PO #|P.O. No.|Your ref.|Order ref.|Customer PO",
    cust_no: "Customer No.|Account No.|Customer ID|Client ref.|Account number",
    delivery_note: "Delivery note|Packing slip|Despatch note|Delivery No.",
    order_date: "Order date|Date of order|Ordered",
    delivery_date: "Delivery date|Ship date|Date of supply|Shipped",
    our_ref: "Sales order|Our ref.|Order confirmation|Job No.",
    contact: "Contact|Your contact|Sales rep",
    page: "Page {p} of {n}|Page {p}/{n}|p. {p} of {n}",
    bill_to: "Bill to|Invoice to|Billed to|Customer|To",
    ship_to: "Ship to|Deliver to|Delivery address",
    seller: "From|Supplier|Seller",
    attn: "Attn:|FAO|Attention:",
    net: "Subtotal|Net amount|Total excl. VAT|Net total|Sub-total|Total net|Amount excl. VAT",
    tax_rate: "VAT {r}%|VAT @ {r}%|VAT ({r}%)|VAT {r} %|{r}% VAT on {base}|Tax {r}%",
    tax_plain: "VAT|Tax|Total VAT|VAT amount",
    total: "Total|Total due|Amount due|Grand total|Balance due|Invoice total|Total amount|\
        Total payable",
    gross: "Total|Invoice total|Grand total|Total amount|Total incl. VAT",
    prepaid: "Prepaid amount|Already paid|Less deposit|Paid on account|Advance payment",
    payable: "Amount due|Balance due|Amount payable|Total due|Remaining amount",
    incl_tax: "incl. VAT {r}%|VAT included {r}%|of which VAT {r}%",
    carried: "Carried forward|Subtotal carried forward",
    brought: "Brought forward|Carried over",
    col_pos: "#|Pos.|Item|No.",
    col_sku: "Item code|SKU|Part No.|Code|Art. No.",
    col_desc: "Description|Item description|Product|Details|Service",
    col_qty: "Qty|Quantity|Qty.|Units",
    col_unit: "Unit|UoM",
    col_price: "Unit price|Price|Rate|Unit cost|Price each",
    col_vat: "VAT|VAT %|Tax|VAT rate",
    col_amount: "Amount|Total|Line total|Net amount|Value",
    unit_piece: "pcs|ea|pc.|unit|box|pack",
    unit_hour: "h|hrs|hours",
    products: "Copy paper A4 80 g/m2, 500 sheets|Toner cartridge black|\
        Office chair with armrests|USB-C docking station|LED desk lamp|Laser printer|\
        Ballpoint pens, box of 50|Monitor 27 inch|Network switch 24 port|\
        Stainless steel bolts M8 x 40|Hydraulic hose 1/2 inch|Safety gloves size L|\
        Cardboard boxes 400 x 300 x 200|Pallet wrap film|Coffee beans 1 kg|\
        Cleaning concentrate 5 l|Filing cabinet, 4 drawers|\
        Wireless keyboard and mouse set|Label printer tape 12 mm|\
        Shelving unit, galvanised|Extension lead 4-way|Whiteboard markers, assorted",
    services: "Consulting services|Software development|Maintenance contract (monthly)|\
        Installation and setup|Website hosting (annual)|Office cleaning|\
        Training workshop|Technical support hours|Graphic design|Travel expenses|\
        Project management|Annual software licence|Call-out charge",
    specs: "colour: blue|as per quotation|incl. delivery|model 2025|grade A|pack of 10|\
        per framework agreement|replacement part|size M|recycled material|\
        delivered to warehouse 3|see attached timesheet",
    receipt_items: "Coffee|Sandwich|Milk 1 l|Bread|Apples 1 kg|Water 0.5 l|Newspaper|Batteries AA|\
        Notebook A5|Croissant|Orange juice|Chocolate bar",
    shipping: "Shipping|Delivery charge|Freight|Carriage|Postage and packing",
    discount: "Discount {r}%|Less {r}% discount|Trade discount {r}%",
    terms: "Payment terms: {d} days net.|Payment within {d} days of invoice date.|\
        Terms: net {d} days.|Payment within 14 days: 2% discount; 30 days net.",
    pay_by: "Please pay by {date}.|\
        Please remit payment by {date}, quoting the invoice number.|\
        Payment is due on {date}.|Kindly settle this invoice by {date}.",
    skonto: "{p}% early payment discount if paid by {date}.",
    reverse: "Reverse charge: VAT to be accounted for by the recipient.|\
        VAT reverse charge applies (Art. 196 Directive 2006/112/EC).",
    phone: "Tel.|Phone|T|Tel",
    email: "Email|E-mail|E",
    vat_id: "VAT No.|VAT Reg. No.|VAT number|VAT ID",
    cust_vat: "Customer VAT No.|Your VAT No.",
    reg: "Company No. {n}|Registered in England and Wales No. {n}|Company registration {n}",
    director: "Director: {name}|Directors: {name}|CEO: {name}",
    bank: "Bank|Bank details|Payment details",
    thanks: "Thank you for your business.|Thank you for your order!|\
        We appreciate your prompt payment.",
    intro: "We hereby invoice the following:|Thank you for your order. We charge you as follows:",
    inline: "{title} {no} dated {date}|{title} No. {no} of {date}|{title} {no} - {date}",
    of: "of|dated",
    receipt_title: "RECEIPT|Sales receipt|Till receipt",
    receipt_no: "Receipt No.|Receipt #|Trans.|Ticket No.",
    cash: "Cash|Tendered",
    change: "Change",
    card: "Card payment|Paid by card|VISA",
    period: "Service period {a} - {b}|Period: {a} to {b}",
    detail: "Delivery note {n} of {date}|Serial no. {n}|Batch {n}|Your ref. {n}",
    all_in: "All amounts in {c}|Currency: {c}",
    debit: "The amount will be debited from your account {iban}.|\
        We will collect the amount by direct debit from {iban}.",
    months: "January|February|March|April|May|June|July|August|September|October|November|December",
    persons: "James Carter|Emily Watson|Oliver Hughes|Sarah Mitchell|Daniel Brooks|\
        Hannah Price|Michael O'Brien|Laura Bennett",
    trades: "Supplies|Office Solutions|Engineering|Logistics|Consulting|Print|Electrical|\
        Systems|Trading|Facilities",
    stems: "Brightwater|Oakridge|Kestrel|Harbour|Northgate|Silverline|Redfern|Ashby|\
        Meridian|Blackwood|Greenfield|Riverside",
    inv_prefix: "INV-|INV|SI-|IN",
    credit_prefix: "CN-|CR|CM-",
};

const DE: Lang = Lang {
    code: "de",
    title: "RECHNUNG|Rechnung",
    credit_title: "GUTSCHRIFT|Gutschrift|Rechnungskorrektur",
    inv_no: "Rechnungsnummer|Rechnung Nr.|Re.-Nr.|Belegnummer|Rechnungs-Nr.|Beleg-Nr.|Rg.-Nr.",
    inv_date: "Rechnungsdatum|Datum|Belegdatum|Re.-Datum|Ausstellungsdatum",
    due: "Fällig am|Zahlbar bis|Fälligkeit|Fälligkeitsdatum|Zahlungsziel",
    po: "Bestellnummer|Ihre Bestellung|Ihre Bestell-Nr.|Bestellung|Ihr Zeichen|Ihre Referenz",
    cust_no: "Kundennummer|Kunden-Nr.|Kd.-Nr.|Debitor",
    delivery_note: "Lieferschein|Lieferschein-Nr.|Lieferscheinnummer",
    order_date: "Bestelldatum|Auftragsdatum|Bestellt am",
    delivery_date: "Lieferdatum|Leistungsdatum|Liefertermin|Geliefert am",
    our_ref: "Auftragsnummer|Auftrag|Unser Zeichen|Vorgang",
    contact: "Ansprechpartner|Bearbeiter|Ihr Kontakt",
    page: "Seite {p} von {n}|Seite {p}/{n}|Blatt {p}",
    bill_to: "Rechnungsempfänger|Rechnungsadresse|Kunde|An",
    ship_to: "Lieferadresse|Lieferanschrift|Warenempfänger",
    seller: "Rechnungssteller|Lieferant|Verkäufer",
    attn: "z. Hd.|z. H.|Attn.",
    net: "Nettobetrag|Summe netto|Zwischensumme|Netto|Gesamt netto|Warenwert netto|\
        Summe Positionen",
    tax_rate: "USt. {r} %|MwSt. {r}%|zzgl. {r} % USt.|Umsatzsteuer {r} %|\
        {r} % MwSt. auf {base}|zzgl. MwSt. {r}%",
    tax_plain: "Umsatzsteuer|MwSt.|USt.|Mehrwertsteuer",
    total: "Gesamtbetrag|Rechnungsbetrag|Zu zahlen|Gesamtsumme|Bruttobetrag|Endbetrag|\
        Summe brutto|Zahlbetrag",
    gross: "Gesamtbetrag|Rechnungsbetrag|Bruttobetrag|Gesamtsumme|Summe brutto",
    prepaid: "Anzahlung|Bereits gezahlt|Abzüglich Anzahlung|Geleistete Anzahlung|Vorauszahlung",
    payable: "Zahlbetrag|Fälliger Betrag|Noch zu zahlen|Restbetrag|Zu zahlen",
    incl_tax: "inkl. {r}% MwSt.|enth. MwSt. {r} %|darin MwSt. {r}%",
    carried: "Übertrag|Zwischensumme Übertrag",
    brought: "Übertrag|Übertrag von Vorseite",
    col_pos: "Pos.|Pos|Nr.",
    col_sku: "Art.-Nr.|Artikelnummer|Artikel|Material",
    col_desc: "Bezeichnung|Beschreibung|Artikelbezeichnung|Leistung|Text",
    col_qty: "Menge|Anzahl|Anz.|Mg.",
    col_unit: "Einheit|ME|Einh.",
    col_price: "Einzelpreis|E-Preis|Preis/Einheit|EP",
    col_vat: "USt.|MwSt.|USt %|St.",
    col_amount: "Betrag|Gesamtpreis|Gesamt|G-Preis|Summe",
    unit_piece: "Stk.|Stück|St|Pkt.|Karton",
    unit_hour: "Std.|h",
    products: "Kopierpapier A4, 80 g/m², 500 Blatt|Toner schwarz, kompatibel|\
        Bürostuhl mit Armlehnen|Dockingstation USB-C|LED-Schreibtischleuchte|\
        Laserdrucker|Kugelschreiber blau, 50 Stück|Monitor 27 Zoll|\
        Netzwerk-Switch 24 Port|Sechskantschrauben M8 x 40, verzinkt|\
        Hydraulikschlauch 1/2 Zoll|Schutzhandschuhe Gr. 9|\
        Faltkartons 400 x 300 x 200 mm|Stretchfolie 500 mm|Kaffeebohnen 1 kg|\
        Reinigungskonzentrat 5 l|Hängeregistraturschrank, 4 Schübe|Funk-Tastatur-Set|\
        Etikettenband 12 mm|Schwerlastregal verzinkt|Steckdosenleiste 6-fach|\
        Whiteboard-Marker, sortiert",
    services: "Beratungsleistung|Softwareentwicklung|Wartungsvertrag (monatlich)|\
        Installation und Inbetriebnahme|Webhosting (jährlich)|Unterhaltsreinigung|\
        Schulung vor Ort|Technischer Support|Grafikdesign|Reisekosten|\
        Projektmanagement|Softwarelizenz (Jahresgebühr)|Montagearbeiten|\
        Anfahrtspauschale",
    specs: "Farbe: blau|gemäß Angebot|inkl. Lieferung|Modell 2025|Güteklasse A|VE 10 Stück|\
        lt. Rahmenvertrag|Ersatzteil|Größe M|aus Recyclingmaterial|\
        Lieferung an Lager 3|lt. Stundennachweis",
    receipt_items: "Kaffee Crema|Brötchen|Milch 1,5% 1 l|Butter 250 g|Äpfel 1 kg|Mineralwasser|\
        Zeitung|Batterien AA|Schreibblock A5|Croissant|Orangensaft|Schokolade",
    shipping: "Versandkosten|Fracht|Verpackung und Versand|Lieferpauschale",
    discount: "Rabatt {r}%|abzgl. {r} % Rabatt|Sonderrabatt {r} %",
    terms: "Zahlbar innerhalb von {d} Tagen ohne Abzug.|\
        Zahlungsbedingungen: {d} Tage netto.|\
        Zahlbar innerhalb 14 Tagen mit 2 % Skonto, 30 Tage netto.|\
        Zahlungsziel {d} Tage rein netto.",
    pay_by: "Bitte überweisen Sie den Betrag bis zum {date}.|\
        Zahlbar bis zum {date} ohne Abzug.|\
        Bitte begleichen Sie den Rechnungsbetrag bis {date}.",
    skonto: "Bei Zahlung bis {date} gewähren wir {p} % Skonto.",
    reverse: "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge).|\
        Innergemeinschaftliche Lieferung, steuerfrei gem. § 4 Nr. 1b UStG.",
    phone: "Tel.|Telefon|Fon",
    email: "E-Mail|Mail",
    vat_id: "USt-IdNr.|USt-ID|UID-Nr.|USt.-Id.-Nr.",
    cust_vat: "Ihre USt-IdNr.|USt-IdNr. Kunde",
    reg: "Amtsgericht München HRB {n}|Registergericht: Amtsgericht Hamburg, HRB {n}|\
        HRB {n}|Handelsregister: HRB {n}|St.-Nr. 143/{n}",
    director: "Geschäftsführer: {name}|Geschäftsführung: {name}|Vorstand: {name}|Inhaber: {name}",
    bank: "Bankverbindung|Bank|Kreditinstitut",
    thanks: "Vielen Dank für Ihren Auftrag!|Wir danken für Ihr Vertrauen.|\
        Vielen Dank für Ihre Bestellung.",
    intro: "Wir berechnen Ihnen wie folgt:|\
        Für unsere Lieferungen und Leistungen erlauben wir uns zu berechnen:|\
        Sehr geehrte Damen und Herren, wir stellen Ihnen folgende Leistungen in Rechnung:",
    inline: "{title} Nr. {no} vom {date}|{title} {no} vom {date}|{title} {no} / {date}",
    of: "vom",
    receipt_title: "Kassenbon|KASSENBELEG|Quittung|Beleg",
    receipt_no: "Bon-Nr.|Beleg-Nr.|Bonnummer|Transaktion",
    cash: "Bar|Gegeben",
    change: "Rückgeld|Zurück",
    card: "EC-Karte|Kartenzahlung|girocard",
    period: "Leistungszeitraum {a} - {b}|Zeitraum: {a} bis {b}",
    detail: "Lieferschein {n} vom {date}|Seriennummer {n}|Charge {n}|Ihre Pos. {n}",
    all_in: "Alle Beträge in {c}|Währung: {c}",
    debit: "Der Betrag wird von Ihrem Konto {iban} abgebucht.|\
        Wir ziehen den Betrag per SEPA-Lastschrift von {iban} ein.",
    months: "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember",
    persons: "Thomas Berger|Sabine Krüger|Michael Hoffmann|Anna Schäfer|Jürgen Weiß|\
        Katrin Vogel|Stefan Lehmann|Julia Neumann",
    trades: "Bürotechnik|Logistik|Elektrotechnik|Metallbau|Software|Druckerei|\
        Handelsgesellschaft|Gebäudeservice|Maschinenbau|Verpackungen",
    stems: "Nordlicht|Alpenblick|Rheinwerk|Müller|Schneider & Söhne|Becker|Hansa|Lindenhof|\
        Weber|Sonnenberg|Fränkel|Elbtal",
    inv_prefix: "RE-|R|RG|AR-|",
    credit_prefix: "GS-|GU|RK-",
};

const FR: Lang = Lang {
    code: "fr",
    title: "FACTURE|Facture",
    credit_title: "AVOIR|Avoir|Facture d'avoir",
    inv_no: "Facture n°|N° de facture|Numéro de facture|Facture N°|Réf. facture|N° facture",
    inv_date: "Date de facture|Date|Date d'émission|Date de facturation|Émise le",
    due: "Échéance|Date d'échéance|À payer avant le|Date limite de paiement",
    po: "Bon de commande|Votre commande|N° de commande client|Votre référence|Réf. commande",
    cust_no: "N° client|Code client|Compte client|Réf. client",
    delivery_note: "Bon de livraison|BL n°|N° BL",
    order_date: "Date de commande|Commande du",
    delivery_date: "Date de livraison|Livré le|Date de prestation",
    our_ref: "Notre référence|N° de dossier|Affaire",
    contact: "Interlocuteur|Votre contact|Commercial",
    page: "Page {p} sur {n}|Page {p}/{n}",
    bill_to: "Facturé à|Client|Adresse de facturation|Destinataire",
    ship_to: "Adresse de livraison|Livré à",
    seller: "Émetteur|Fournisseur|Vendeur",
    attn: "À l'attention de|Att.|A l'att. de",
    net: "Total HT|Montant HT|Sous-total|Total hors taxes|Base HT|Net HT",
    tax_rate: "TVA {r} %|TVA {r}%|TVA ({r} %)|TVA {r} % sur {base}|Montant TVA {r} %",
    tax_plain: "TVA|Total TVA|Montant TVA",
    total: "Total TTC|Net à payer|Montant TTC|Total à payer|TOTAL TTC|Montant total|Reste à payer",
    gross: "Total TTC|Montant TTC|TOTAL TTC|Montant total TTC|Total",
    prepaid: "Acompte versé|Déjà payé|Montant payé|Acompte|Avance reçue",
    payable: "Net à payer|Reste à payer|Montant à payer|Solde à payer|Total à payer",
    incl_tax: "dont TVA {r} %|TVA incluse {r}%",
    carried: "Report|À reporter",
    brought: "Report|Report page précédente",
    col_pos: "N°|Ligne|#",
    col_sku: "Réf.|Référence|Code article|Code",
    col_desc: "Désignation|Description|Libellé|Article|Prestation",
    col_qty: "Qté|Quantité|Qté.",
    col_unit: "Unité|U.",
    col_price: "Prix unitaire|P.U. HT|PU HT|Prix unit.",
    col_vat: "TVA|Taux TVA|TVA %",
    col_amount: "Montant HT|Total HT|Montant|Total",
    unit_piece: "pce|u.|unité|lot|carton",
    unit_hour: "h|heure",
    products: "Papier copieur A4 80 g/m², 500 feuilles|Cartouche de toner noir|\
        Fauteuil de bureau avec accoudoirs|Station d'accueil USB-C|Lampe de bureau LED|\
        Imprimante laser|Stylos bille bleus, boîte de 50|Écran 27 pouces|\
        Commutateur réseau 24 ports|Vis inox M8 x 40|Flexible hydraulique 1/2 pouce|\
        Gants de protection taille 9|Cartons 400 x 300 x 200 mm|Film étirable 500 mm|\
        Café en grains 1 kg|Nettoyant concentré 5 l|Armoire de classement, 4 tiroirs|\
        Ensemble clavier et souris sans fil|Ruban pour étiqueteuse 12 mm|\
        Rayonnage galvanisé",
    services: "Prestation de conseil|Développement logiciel|Contrat de maintenance (mensuel)|\
        Installation et mise en service|Hébergement web (annuel)|Nettoyage des locaux|\
        Formation sur site|Assistance technique|Conception graphique|\
        Frais de déplacement|Gestion de projet|Licence logicielle annuelle",
    specs: "coloris bleu|selon devis|livraison comprise|modèle 2025|qualité A|lot de 10|\
        selon contrat cadre|pièce de rechange|taille M|matériau recyclé|\
        livré à l'entrepôt 3",
    receipt_items: "Café|Baguette|Lait 1 l|Beurre 250 g|Pommes 1 kg|Eau minérale|Journal|Piles AA|\
        Cahier A5|Croissant|Jus d'orange|Chocolat",
    shipping: "Frais de port|Frais de livraison|Transport",
    discount: "Remise {r} %|Remise commerciale {r}%",
    terms: "Paiement à {d} jours.|Conditions de paiement : {d} jours net.|\
        Paiement à {d} jours fin de mois.|Paiement à réception de facture.|\
        Pas d'escompte pour paiement anticipé.",
    pay_by: "Merci de régler avant le {date}.|Date limite de règlement : {date}.|\
        À régler au plus tard le {date}.",
    skonto: "Escompte de {p} % pour paiement avant le {date}.",
    reverse: "Autoliquidation - TVA due par le preneur (art. 283-2 du CGI).|\
        Exonération de TVA, article 262 ter I du CGI.",
    phone: "Tél.|Téléphone|Tél",
    email: "E-mail|Courriel",
    vat_id: "N° TVA|N° TVA intracom.|TVA intracommunautaire|Numéro de TVA",
    cust_vat: "N° TVA client|Votre n° TVA",
    reg: "SIRET {n}|RCS Lyon B {n}|RCS Paris {n}|Capital social 10 000 € - RCS Paris {n}|\
        APE 4651Z - SIRET {n}",
    director: "Gérant : {name}|Président : {name}|Directeur : {name}",
    bank: "Coordonnées bancaires|Banque|RIB",
    thanks: "Merci pour votre confiance.|Nous vous remercions de votre commande.",
    intro: "Veuillez trouver ci-dessous le détail de notre facturation :|\
        Nous vous prions de bien vouloir régler la somme suivante :",
    inline: "{title} n° {no} du {date}|{title} {no} du {date}|{title} N° {no} - {date}",
    of: "du",
    receipt_title: "TICKET DE CAISSE|Ticket|Reçu",
    receipt_no: "Ticket n°|N° ticket|Transaction",
    cash: "Espèces",
    change: "Rendu|Monnaie rendue",
    card: "CB|Carte bancaire|Paiement CB",
    period: "Période du {a} au {b}|Prestation du {a} au {b}",
    detail: "BL {n} du {date}|N° de série {n}|Lot {n}",
    all_in: "Montants exprimés en {c}|Devise : {c}",
    debit: "Le montant sera prélevé sur votre compte {iban}.|\
        Prélèvement SEPA sur le compte {iban}.",
    months: "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre",
    persons: "Claire Dubois|Julien Moreau|Isabelle Laurent|Nicolas Girard|Sophie Lefèvre|\
        Antoine Mercier",
    trades: "Imprimerie|Transports|Informatique|Conseil|Fournitures|Électricité|Nettoyage|\
        Emballages",
    stems: "Atelier Lumière|Durand|Les Ateliers du Rhône|Bel Air|Provence|Martin & Fils|\
        Val de Loire|Clément",
    inv_prefix: "F|FA-|FAC|F-",
    credit_prefix: "AV-|AV|A",
};

const NL: Lang = Lang {
    code: "nl",
    title: "FACTUUR|Factuur",
    credit_title: "CREDITNOTA|Creditnota|Creditfactuur",
    inv_no: "Factuurnummer|Factuurnr.|Factuur nr.|Nummer|Factuurnr",
    inv_date: "Factuurdatum|Datum|Datum factuur",
    due: "Vervaldatum|Uiterste betaaldatum|Te betalen voor|Vervaldag",
    po: "Uw bestelnummer|Uw referentie|Inkoopordernummer|Uw ordernummer|PO-nummer",
    cust_no: "Klantnummer|Debiteurnummer|Klantnr.",
    delivery_note: "Pakbon|Afleverbon|Leveringsbon",
    order_date: "Orderdatum|Besteldatum",
    delivery_date: "Leverdatum|Afleverdatum",
    our_ref: "Ordernummer|Ons kenmerk|Projectnummer",
    contact: "Contactpersoon|Behandeld door",
    page: "Pagina {p} van {n}|Blad {p}/{n}",
    bill_to: "Factuuradres|Klant|Aan|Gefactureerd aan",
    ship_to: "Afleveradres|Leveradres",
    seller: "Leverancier|Verkoper|Van",
    attn: "t.a.v.|T.a.v.",
    net: "Subtotaal|Totaal excl. btw|Netto bedrag|Totaal exclusief BTW|Bedrag excl. btw",
    tax_rate: "BTW {r}%|Btw {r}%|{r}% btw|BTW {r}% over {base}|Btw-bedrag {r}%",
    tax_plain: "BTW|Btw|Btw-bedrag|Totaal btw",
    total: "Totaal|Te betalen|Totaal incl. btw|Totaalbedrag|TOTAAL|Totaal te betalen",
    gross: "Totaal|Totaal incl. btw|Totaalbedrag|Factuurbedrag",
    prepaid: "Reeds betaald|Aanbetaling|Vooruitbetaling",
    payable: "Te betalen|Openstaand bedrag|Nog te betalen",
    incl_tax: "incl. {r}% btw|waarvan btw {r}%",
    carried: "Transport|Over te brengen",
    brought: "Transport|Van vorige pagina",
    col_pos: "Nr.|Regel|#",
    col_sku: "Artikelnr.|Artikelcode|Code",
    col_desc: "Omschrijving|Beschrijving|Artikel|Product",
    col_qty: "Aantal|Aant.|Hoeveelheid",
    col_unit: "Eenheid|Eenh.",
    col_price: "Prijs|Stukprijs|Prijs per stuk|Eenheidsprijs",
    col_vat: "BTW|Btw %|BTW-tarief",
    col_amount: "Bedrag|Totaal|Regeltotaal",
    unit_piece: "st.|stuks|doos|pak",
    unit_hour: "uur|u",
    products: "Kopieerpapier A4 80 g/m², 500 vel|Tonercartridge zwart|\
        Bureaustoel met armleuningen|USB-C dockingstation|LED-bureaulamp|Laserprinter|\
        Balpennen blauw, doos van 50|Monitor 27 inch|Netwerkswitch 24 poorten|\
        RVS bouten M8 x 40|Hydraulische slang 1/2 inch|Werkhandschoenen maat 9|\
        Dozen 400 x 300 x 200 mm|Stretchfolie 500 mm|Koffiebonen 1 kg|\
        Reinigingsconcentraat 5 l|Archiefkast, 4 laden|\
        Draadloze toetsenbord- en muisset|Labeltape 12 mm|Magazijnstelling verzinkt",
    services: "Advieswerkzaamheden|Softwareontwikkeling|Onderhoudscontract (maandelijks)|\
        Installatie en ingebruikname|Webhosting (jaarlijks)|Schoonmaakwerkzaamheden|\
        Training op locatie|Technische ondersteuning|Grafisch ontwerp|Reiskosten|\
        Projectmanagement|Softwarelicentie (jaar)",
    specs: "kleur blauw|volgens offerte|incl. levering|model 2025|kwaliteit A|\
        verpakt per 10|volgens raamcontract|vervangingsonderdeel|maat M|\
        gerecycled materiaal",
    receipt_items: "Koffie|Broodje kaas|Melk 1 l|Brood|Appels 1 kg|Water 0,5 l|Krant|Batterijen AA|\
        Schrift A5|Croissant|Sinaasappelsap|Chocoladereep",
    shipping: "Verzendkosten|Bezorgkosten|Vracht",
    discount: "Korting {r}%|Kortingsregeling {r}%",
    terms: "Betaling binnen {d} dagen na factuurdatum.|Betalingstermijn: {d} dagen.|\
        Wij verzoeken u het bedrag binnen {d} dagen over te maken.",
    pay_by: "Gelieve te betalen vóór {date}.|\
        Graag ontvangen wij uw betaling uiterlijk op {date}.|\
        Te voldoen vóór {date} onder vermelding van het factuurnummer.",
    skonto: "Bij betaling vóór {date} {p}% korting.",
    reverse: "BTW verlegd.|Btw verlegd naar afnemer (art. 12 Wet OB).",
    phone: "Tel.|Telefoon|T",
    email: "E-mail|E",
    vat_id: "BTW-nummer|Btw-nr.|BTW nr.|Btw-id",
    cust_vat: "Uw btw-nummer|BTW-nr. klant",
    reg: "KvK {n}|KvK-nummer {n}|Handelsregister {n}|Ondernemingsnummer {n}",
    director: "Directeur: {name}|Bestuurder: {name}",
    bank: "Bankgegevens|Bank|Rekening",
    thanks: "Bedankt voor uw bestelling.|Hartelijk dank voor uw opdracht.",
    intro: "Hierbij factureren wij u het volgende:|\
        Voor geleverde goederen en diensten brengen wij in rekening:",
    inline: "{title} {no} van {date}|{title} nr. {no} d.d. {date}|{title} {no} - {date}",
    of: "van|d.d.",
    receipt_title: "KASSABON|Bon|Kassaticket",
    receipt_no: "Bonnr.|Bon nr.|Transactie",
    cash: "Contant",
    change: "Wisselgeld|Terug",
    card: "PIN|Pinbetaling|Betaald met pin",
    period: "Periode {a} t/m {b}|Periode: {a} - {b}",
    detail: "Pakbon {n} van {date}|Serienummer {n}|Partij {n}",
    all_in: "Alle bedragen in {c}|Valuta: {c}",
    debit: "Het bedrag wordt automatisch afgeschreven van uw rekening {iban}.|\
        Wij incasseren het bedrag van {iban}.",
    months: "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|\
        december",
    persons: "Jan de Vries|Sanne Jansen|Pieter Bakker|Lotte Visser|Daan Smit|Eva Mulder",
    trades: "Installatietechniek|Kantoorartikelen|Transport|Drukkerij|Automatisering|\
        Schoonmaak|Verpakkingen",
    stems: "Van Dijk|De Molen|Hollandia|Zeeland|Oranje|Bakker|Noordzee|Vlaanderen",
    inv_prefix: "F|FACT-|VF|",
    credit_prefix: "CN|CRED-",
};

const ES: Lang = Lang {
    code: "es",
    title: "FACTURA|Factura",
    credit_title: "FACTURA RECTIFICATIVA|Abono|Nota de crédito",
    inv_no: "Nº factura|Número de factura|Factura nº|Nº de factura|Factura número|Núm. factura",
    inv_date: "Fecha de factura|Fecha|Fecha de emisión|Fecha factura",
    due: "Vencimiento|Fecha de vencimiento|Fecha de pago|Vence",
    po: "Pedido|Su pedido|Nº de pedido|Pedido cliente|Su referencia",
    cust_no: "Nº cliente|Código cliente|Cliente nº",
    delivery_note: "Albarán|Nº albarán|Albarán nº",
    order_date: "Fecha de pedido|Fecha pedido",
    delivery_date: "Fecha de entrega|Entregado el|Fecha de servicio",
    our_ref: "Nuestra referencia|Nº de obra|Expediente",
    contact: "Contacto|Atendido por|Comercial",
    page: "Página {p} de {n}|Pág. {p}/{n}",
    bill_to: "Facturar a|Cliente|Datos del cliente|Destinatario",
    ship_to: "Dirección de entrega|Enviar a",
    seller: "Emisor|Proveedor|Datos del emisor",
    attn: "A la atención de|Att.",
    net: "Base imponible|Subtotal|Importe neto|Total base imponible|Neto",
    tax_rate: "IVA {r}%|IVA {r} %|Cuota IVA {r}%|IVA ({r}%)|IVA {r}% s/ {base}",
    tax_plain: "IVA|Total IVA|Cuota IVA",
    total: "Total factura|Total|TOTAL|Importe total|Total a pagar|Total (IVA incluido)",
    gross: "Total factura|Importe total|Total (IVA incluido)|Total",
    prepaid: "Anticipo|Ya pagado|Pagos a cuenta",
    payable: "Total a pagar|Importe pendiente|A pagar",
    incl_tax: "IVA incluido {r}%|incl. IVA {r}%",
    carried: "Suma y sigue|A trasladar",
    brought: "Suma anterior|Viene de pág. anterior",
    col_pos: "Línea|Nº|#",
    col_sku: "Ref.|Referencia|Código|Cód.",
    col_desc: "Descripción|Concepto|Artículo|Detalle",
    col_qty: "Cantidad|Cant.|Uds.",
    col_unit: "Unidad|Ud.",
    col_price: "Precio|Precio unitario|Precio/ud.|P. unit.",
    col_vat: "IVA|% IVA|Tipo IVA",
    col_amount: "Importe|Total|Subtotal",
    unit_piece: "ud.|uds.|caja|pza.",
    unit_hour: "h|horas",
    products: "Papel de copia A4 80 g/m², 500 hojas|Cartucho de tóner negro|\
        Silla de oficina con reposabrazos|Base de conexión USB-C|\
        Lámpara de escritorio LED|Impresora láser|Bolígrafos azules, caja de 50|\
        Monitor de 27 pulgadas|Switch de red de 24 puertos|Tornillos inox M8 x 40|\
        Manguera hidráulica de 1/2 pulgada|Guantes de seguridad talla 9|\
        Cajas de cartón 400 x 300 x 200 mm|Film estirable 500 mm|Café en grano 1 kg|\
        Limpiador concentrado 5 l|Archivador de 4 cajones|Teclado y ratón inalámbricos|\
        Cinta para rotuladora 12 mm|Estantería galvanizada",
    services: "Servicios de consultoría|Desarrollo de software|\
        Contrato de mantenimiento (mensual)|Instalación y puesta en marcha|\
        Alojamiento web (anual)|Servicio de limpieza|Formación presencial|\
        Soporte técnico|Diseño gráfico|Gastos de desplazamiento|Gestión de proyecto|\
        Licencia de software anual",
    specs: "color azul|según presupuesto|incluye transporte|modelo 2025|calidad A|\
        pack de 10|según contrato marco|pieza de repuesto|talla M|material reciclado",
    receipt_items: "Café con leche|Bocadillo|Leche 1 l|Pan|Manzanas 1 kg|Agua 0,5 l|Periódico|\
        Pilas AA|Cuaderno A5|Cruasán|Zumo de naranja|Chocolate",
    shipping: "Portes|Gastos de envío|Transporte",
    discount: "Descuento {r}%|Dto. {r}%",
    terms: "Forma de pago: transferencia a {d} días.|Pago a {d} días fecha factura.|\
        Condiciones de pago: {d} días.",
    pay_by: "Por favor, pague antes del {date}.|Fecha límite de pago: {date}.|\
        Rogamos efectúen el pago antes del {date}.",
    skonto: "Descuento por pronto pago del {p}% si abona antes del {date}.",
    reverse: "Inversión del sujeto pasivo (art. 84 LIVA).|Operación exenta de IVA (art. 25 LIVA).",
    phone: "Tel.|Teléfono|Tfno.",
    email: "Email|Correo",
    vat_id: "NIF|CIF|NIF-IVA|Nº IVA",
    cust_vat: "NIF cliente|CIF cliente",
    reg: "Inscrita en el Registro Mercantil de Madrid, Tomo {n}|\
        R.M. Barcelona, Hoja B-{n}|Registro Mercantil de Valencia, Folio {n}",
    director: "Administrador: {name}|Gerente: {name}",
    bank: "Datos bancarios|Banco|Cuenta",
    thanks: "Gracias por su confianza.|Gracias por su pedido.",
    intro: "Detalle de los servicios prestados:|Por los siguientes conceptos:",
    inline: "{title} nº {no} de fecha {date}|{title} {no} de {date}|{title} {no} - {date}",
    of: "de|del",
    receipt_title: "TICKET|Factura simplificada|Ticket de compra",
    receipt_no: "Nº ticket|Ticket nº|Factura simplificada nº",
    cash: "Efectivo|Entregado",
    change: "Cambio|Devolución",
    card: "Tarjeta|Pago con tarjeta",
    period: "Periodo del {a} al {b}",
    detail: "Albarán {n} de {date}|Nº de serie {n}|Lote {n}",
    all_in: "Importes en {c}|Moneda: {c}",
    debit: "El importe se cargará en su cuenta {iban}.|Domiciliación bancaria: {iban}.",
    months: "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|\
        diciembre",
    persons: "María García|José Martínez|Laura Fernández|Carlos Sánchez|Lucía Romero|\
        Javier Navarro",
    trades: "Suministros|Tecnología|Logística|Construcciones|Distribuciones|\
        Servicios Integrales|Papelería",
    stems: "Tecnoparts|Ibérica|Levante|Sierra Nevada|Hermanos García|Mediterránea|Castilla|\
        Atlántico",
    inv_prefix: "FRA-|A|FV|F",
    credit_prefix: "R|AB-|FR-",
};

const IT: Lang = Lang {
    code: "it",
    title: "FATTURA|Fattura|Fattura di vendita",
    credit_title: "NOTA DI CREDITO|Nota di credito",
    inv_no: "Fattura n.|Numero fattura|N. fattura|Fattura nr.|Documento n.|Num. documento",
    inv_date: "Data fattura|Data|Data documento|Data emissione",
    due: "Scadenza|Data scadenza|Scadenza pagamento|Da pagare entro",
    po: "Ordine|Vs. ordine|Rif. ordine|Ordine cliente|Vostro riferimento",
    cust_no: "Codice cliente|Cod. cliente|Cliente n.",
    delivery_note: "DDT|DDT n.|Documento di trasporto",
    order_date: "Data ordine|Ordine del",
    delivery_date: "Data consegna|Data DDT|Consegna",
    our_ref: "Ns. riferimento|Commessa|Pratica",
    contact: "Referente|Agente",
    page: "Pagina {p} di {n}|Pag. {p}/{n}",
    bill_to: "Spett.le|Cliente|Destinatario|Intestatario",
    ship_to: "Destinazione merce|Luogo di consegna",
    seller: "Cedente|Fornitore|Mittente",
    attn: "Alla c.a.|c.a.",
    net: "Imponibile|Totale imponibile|Totale netto|Subtotale|Imponibile IVA",
    tax_rate: "IVA {r}%|IVA {r} %|Imposta {r}%|IVA al {r}%|IVA {r}% su {base}",
    tax_plain: "IVA|Totale IVA|Imposta",
    total: "Totale documento|Totale|TOTALE|Totale fattura|Netto a pagare|Totale da pagare",
    gross: "Totale documento|Totale fattura|Totale",
    prepaid: "Acconto|Già pagato|Anticipo",
    payable: "Netto a pagare|Totale da pagare|Importo dovuto",
    incl_tax: "di cui IVA {r}%|IVA inclusa {r}%",
    carried: "A riportare",
    brought: "Riporto",
    col_pos: "Pos.|Riga|N.",
    col_sku: "Codice|Cod. art.|Articolo",
    col_desc: "Descrizione|Descrizione articolo|Prodotto",
    col_qty: "Quantità|Q.tà|Qtà",
    col_unit: "U.M.|Unità",
    col_price: "Prezzo|Prezzo unitario|Prezzo unit.",
    col_vat: "IVA|Aliquota|% IVA|Cod. IVA",
    col_amount: "Importo|Totale|Valore",
    unit_piece: "pz|nr|conf.|cf",
    unit_hour: "ore|h",
    products: "Carta per fotocopie A4 80 g/m², 500 fogli|Cartuccia toner nero|\
        Sedia da ufficio con braccioli|Docking station USB-C|Lampada da scrivania LED|\
        Stampante laser|Penne a sfera blu, scatola da 50|Monitor 27 pollici|\
        Switch di rete 24 porte|Viti inox M8 x 40|Tubo idraulico 1/2 pollice|\
        Guanti di protezione taglia 9|Scatole di cartone 400 x 300 x 200 mm|\
        Film estensibile 500 mm|Caffè in grani 1 kg|Detergente concentrato 5 l|\
        Cassettiera archivio, 4 cassetti|Set tastiera e mouse wireless|\
        Nastro per etichettatrice 12 mm|Scaffalatura zincata",
    services: "Consulenza|Sviluppo software|Contratto di manutenzione (mensile)|\
        Installazione e messa in servizio|Hosting web (annuale)|Servizio di pulizia|\
        Formazione in sede|Assistenza tecnica|Progettazione grafica|Spese di trasferta|\
        Gestione progetto|Licenza software annuale",
    specs: "colore blu|come da offerta|trasporto incluso|modello 2025|qualità A|\
        confezione da 10|come da contratto quadro|ricambio|taglia M|\
        materiale riciclato",
    receipt_items: "Caffè|Cornetto|Latte 1 l|Pane|Mele 1 kg|Acqua 0,5 l|Giornale|Pile AA|\
        Quaderno A5|Tramezzino|Succo d'arancia|Cioccolato",
    shipping: "Spese di trasporto|Spese di spedizione",
    discount: "Sconto {r}%|Sconto commerciale {r}%",
    terms: "Pagamento: bonifico bancario a {d} giorni data fattura.|\
        Pagamento a {d} gg d.f.f.m.|Condizioni di pagamento: {d} giorni.",
    pay_by: "Si prega di pagare entro il {date}.|\
        Pagamento: bonifico bancario entro il {date}.|Da saldare entro il {date}.",
    skonto: "Sconto {p}% per pagamento entro il {date}.",
    reverse: "Inversione contabile - art. 17 c. 6 DPR 633/72.|\
        Operazione non imponibile art. 41 DL 331/93.",
    phone: "Tel.|Telefono",
    email: "E-mail|Email|PEC",
    vat_id: "P.IVA|Partita IVA|P. IVA|C.F. e P.IVA",
    cust_vat: "P.IVA cliente|Vs. P.IVA",
    reg: "REA MI-{n}|Registro Imprese di Milano n. {n}|Cap. soc. 50.000 euro i.v. - REA {n}",
    director: "Amministratore: {name}|Legale rappresentante: {name}",
    bank: "Coordinate bancarie|Banca d'appoggio|Banca",
    thanks: "Grazie per averci scelto.|Grazie per il vostro ordine.",
    intro: "Vi addebitiamo quanto segue:|Come da vostro ordine, Vi fatturiamo:",
    inline: "{title} n. {no} del {date}|{title} {no} del {date}|{title} nr. {no} - {date}",
    of: "del",
    receipt_title: "SCONTRINO|Documento commerciale|Scontrino fiscale",
    receipt_no: "Scontrino n.|Documento n.|Doc. n.",
    cash: "Contanti",
    change: "Resto",
    card: "Carta|Pagamento elettronico|Bancomat",
    period: "Periodo dal {a} al {b}",
    detail: "DDT {n} del {date}|Matricola {n}|Lotto {n}",
    all_in: "Importi in {c}|Valuta: {c}",
    debit: "L'importo sarà addebitato sul Vs. conto {iban}.|Addebito SDD sul conto {iban}.",
    months: "gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|\
        novembre|dicembre",
    persons: "Marco Rossi|Giulia Bianchi|Luca Romano|Francesca Colombo|Alessandro Ricci|\
        Chiara Greco",
    trades: "Forniture|Informatica|Trasporti|Impianti Elettrici|Tipografia|Meccanica|Servizi",
    stems: "Tecnoservice|Lombarda|Adriatica|Fratelli Conti|Italsystem|Alpi|Ferrari Ricambi|Toscana",
    inv_prefix: "FT|FE-|V|",
    credit_prefix: "NC-|NC",
};

const PL: Lang = Lang {
    code: "pl",
    title: "FAKTURA|Faktura|FAKTURA VAT|Faktura VAT",
    credit_title: "FAKTURA KORYGUJĄCA|Korekta faktury|Faktura korygująca",
    inv_no: "Faktura nr|Numer faktury|Faktura VAT nr|Nr faktury|Numer dokumentu",
    inv_date: "Data wystawienia|Data faktury|Data|Wystawiono dnia",
    due: "Termin płatności|Zapłata do|Płatne do|Termin zapłaty",
    po: "Zamówienie nr|Nr zamówienia|Zamówienie|Państwa zamówienie",
    cust_no: "Nr klienta|Kod klienta|Numer kontrahenta",
    delivery_note: "WZ nr|Dokument WZ|Nr WZ",
    order_date: "Data zamówienia",
    delivery_date: "Data sprzedaży|Data dostawy|Data wykonania usługi",
    our_ref: "Nasz znak|Zlecenie nr",
    contact: "Osoba kontaktowa|Wystawił",
    page: "Strona {p} z {n}|Str. {p}/{n}",
    bill_to: "Nabywca|Odbiorca|Klient",
    ship_to: "Adres dostawy|Miejsce dostawy",
    seller: "Sprzedawca|Wystawca|Dostawca",
    attn: "Do rąk|Attn.",
    net: "Razem netto|Wartość netto|Suma netto|Netto|Kwota netto",
    tax_rate: "VAT {r}%|Podatek VAT {r}%|Kwota VAT {r}%|VAT {r}% od {base}",
    tax_plain: "Podatek VAT|Kwota VAT|VAT|Razem VAT",
    total: "Razem do zapłaty|Do zapłaty|Wartość brutto|Razem brutto|Kwota brutto|DO ZAPŁATY",
    gross: "Razem brutto|Wartość brutto|Kwota brutto",
    prepaid: "Zaliczka|Zapłacono|Wpłacono",
    payable: "Do zapłaty|Pozostało do zapłaty",
    incl_tax: "w tym VAT {r}%|zawiera VAT {r}%",
    carried: "Do przeniesienia",
    brought: "Z przeniesienia",
    col_pos: "Lp.|Lp|Nr",
    col_sku: "Kod|Indeks|Symbol|PKWiU",
    col_desc: "Nazwa towaru lub usługi|Nazwa|Opis|Towar/usługa",
    col_qty: "Ilość|Ilo.|Il.",
    col_unit: "J.m.|jm|Jedn.",
    col_price: "Cena netto|Cena jedn.|Cena jedn. netto|Cena",
    col_vat: "VAT|Stawka VAT|St. VAT",
    col_amount: "Wartość netto|Wartość|Kwota netto",
    unit_piece: "szt.|opak.|kpl.",
    unit_hour: "godz.|h",
    products: "Papier ksero A4 80 g/m², 500 arkuszy|Toner czarny|\
        Krzesło biurowe z podłokietnikami|Stacja dokująca USB-C|Lampka biurkowa LED|\
        Drukarka laserowa|Długopisy niebieskie, 50 szt.|Monitor 27 cali|\
        Przełącznik sieciowy 24 porty|Śruby nierdzewne M8 x 40|\
        Wąż hydrauliczny 1/2 cala|Rękawice ochronne rozmiar 9|\
        Kartony 400 x 300 x 200 mm|Folia stretch 500 mm|Kawa ziarnista 1 kg|\
        Koncentrat czyszczący 5 l|Szafa kartotekowa, 4 szuflady|\
        Zestaw klawiatura i mysz bezprzewodowa|Taśma do drukarki etykiet 12 mm|\
        Regał magazynowy ocynkowany",
    services: "Usługi doradcze|Usługa programistyczna|Umowa serwisowa (miesięczna)|\
        Instalacja i uruchomienie|Hosting strony www (roczny)|Usługa sprzątania|\
        Szkolenie stacjonarne|Wsparcie techniczne|Projekt graficzny|Koszty dojazdu|\
        Zarządzanie projektem|Licencja oprogramowania (roczna)",
    specs: "kolor niebieski|zgodnie z ofertą|z dostawą|model 2025|klasa A|\
        opakowanie 10 szt.|wg umowy ramowej|część zamienna|rozmiar M|\
        materiał z recyklingu",
    receipt_items: "Kawa|Kanapka|Mleko 1 l|Chleb|Jabłka 1 kg|Woda 0,5 l|Gazeta|Baterie AA|\
        Zeszyt A5|Rogalik|Sok pomarańczowy|Czekolada",
    shipping: "Koszty wysyłki|Transport|Dostawa",
    discount: "Rabat {r}%|Upust {r}%",
    terms: "Sposób płatności: przelew {d} dni|Termin płatności: {d} dni|\
        Płatność przelewem w terminie {d} dni.",
    pay_by: "Prosimy o zapłatę do dnia {date}.|Należność prosimy uregulować do {date}.|\
        Zapłata przelewem do dnia {date}.",
    skonto: "Przy zapłacie do {date} rabat {p}%.",
    reverse: "Odwrotne obciążenie.|Dostawa wewnątrzwspólnotowa - stawka 0%.",
    phone: "Tel.|Telefon",
    email: "E-mail|Email",
    vat_id: "NIP|NIP UE|Nr VAT UE",
    cust_vat: "NIP nabywcy|NIP odbiorcy",
    reg: "KRS {n}|REGON {n}|Sąd Rejonowy dla m.st. Warszawy, KRS {n}",
    director: "Prezes Zarządu: {name}|Zarząd: {name}",
    bank: "Bank|Rachunek bankowy|Nr konta",
    thanks: "Dziękujemy za zakupy.|Dziękujemy za współpracę.",
    intro: "Szczegóły zamówienia:|Pozycje faktury:",
    inline: "{title} nr {no} z dnia {date}|{title} {no} z dnia {date}|{title} {no} - {date}",
    of: "z dnia|z",
    receipt_title: "PARAGON FISKALNY|Paragon|PARAGON",
    receipt_no: "Paragon nr|Nr paragonu|Nr wydruku",
    cash: "Gotówka",
    change: "Reszta",
    card: "Karta|Płatność kartą",
    period: "Okres rozliczeniowy {a} - {b}",
    detail: "WZ {n} z dnia {date}|Nr seryjny {n}|Partia {n}",
    all_in: "Kwoty w {c}|Waluta: {c}",
    debit: "Kwota zostanie pobrana z rachunku {iban}.|Polecenie zapłaty z rachunku {iban}.",
    months: "stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|\
        października|listopada|grudnia",
    persons: "Anna Kowalska|Piotr Nowak|Katarzyna Wiśniewska|Tomasz Wójcik|\
        Magdalena Kamińska|Paweł Lewandowski",
    trades: "Handel|Usługi Budowlane|Transport|Systemy IT|Meble Biurowe|Poligrafia|Hurtownia",
    stems: "Polmex|Wisła|Mazowsze|Bałtyk|Tatry|Kowalski i Syn|Baltic|Krakbud",
    inv_prefix: "FV/|FS/|F/|FV-",
    credit_prefix: "KOR/|FK/",
};

const LANGS: [&Lang; 7] = [&EN, &DE, &FR, &NL, &ES, &IT, &PL];

// ---------------------------------------------------------------------------
// Countries

/// A vendor's or buyer's country: currency, tax rates and the shapes of
/// its addresses, VAT ids and bank accounts.
struct Country {
    code: &'static str,
    lang: &'static str,
    /// As written on an address abroad.
    name: &'static str,
    currency: &'static str,
    /// Tax rates in percent, the standard rate first.
    rates: L,
    /// Replaces the language's tax labels (US sales tax) when not empty.
    tax_labels: L,
    legal: L,
    cities: L,
    streets: L,
    /// `#` digit, `@` letter.
    postal: &'static str,
    /// "Springfield, IL 62704" / "London SW1A 2AB" rather than "80331 München".
    postal_after_city: bool,
    /// The BBAN pattern; empty where IBANs are not used.
    iban: &'static str,
    banks: L,
    phone: &'static str,
    dates: &'static [DateStyle],
    nums: &'static [NumStyle],
    tld: &'static str,
}

use DateStyle as D;
use NumStyle as N;

const COUNTRIES: &[Country] = &[
    Country {
        code: "DE",
        lang: "de",
        name: "GERMANY",
        currency: "EUR",
        rates: "19|7",
        tax_labels: "",
        legal: "GmbH|AG|GmbH & Co. KG|KG|e.K.|UG (haftungsbeschränkt)",
        cities: "Berlin|Hamburg|München|Köln|Frankfurt am Main|Stuttgart|Düsseldorf|Leipzig|\
        Nürnberg|Bremen|Hannover|Dresden",
        streets: "Hauptstraße|Bahnhofstraße|Industriestraße|Gartenweg|Am Markt|Lindenallee|\
        Schillerstraße|Gewerbepark|Hafenstraße|Mühlenweg",
        postal: "#####",
        postal_after_city: false,
        iban: "##################",
        banks: "Sparkasse Nürnberg|Commerzbank|Deutsche Bank|Volksbank Mittelhessen|\
        Hamburger Sparkasse|Postbank",
        phone: "+49",
        dates: &[D::DmyDot, D::DmyDot, D::DmyDotShort, D::Long, D::Iso],
        nums: &[N::DotComma, N::DotComma, N::PlainComma],
        tld: "de",
    },
    Country {
        code: "AT",
        lang: "de",
        name: "AUSTRIA",
        currency: "EUR",
        rates: "20|10|13",
        tax_labels: "",
        legal: "GmbH|AG|KG|OG|e.U.",
        cities: "Wien|Graz|Linz|Salzburg|Innsbruck|Klagenfurt",
        streets: "Mariahilfer Straße|Landstraße|Hauptplatz|Wiener Straße|Industriezeile",
        postal: "####",
        postal_after_city: false,
        iban: "################",
        banks: "Erste Bank|Raiffeisenbank|BAWAG P.S.K.|Bank Austria",
        phone: "+43",
        dates: &[D::DmyDot, D::DmyDotShort, D::Long],
        nums: &[N::DotComma, N::SpaceComma],
        tld: "at",
    },
    Country {
        code: "CH",
        lang: "de",
        name: "SWITZERLAND",
        currency: "CHF",
        rates: "8.1|2.6|3.8",
        tax_labels: "",
        legal: "AG|GmbH",
        cities: "Zürich|Basel|Bern|Luzern|St. Gallen|Winterthur",
        streets: "Bahnhofstrasse|Seestrasse|Dorfstrasse|Industriestrasse|Hauptgasse",
        postal: "####",
        postal_after_city: false,
        iban: "#################",
        banks: "UBS Switzerland AG|Zürcher Kantonalbank|PostFinance|Raiffeisen",
        phone: "+41",
        dates: &[D::DmyDot, D::Long, D::DmyDotShort],
        nums: &[N::Apos, N::Apos, N::PlainDot],
        tld: "ch",
    },
    Country {
        code: "GB",
        lang: "en",
        name: "UNITED KINGDOM",
        currency: "GBP",
        rates: "20|5",
        tax_labels: "",
        legal: "Ltd|Limited|PLC|LLP",
        cities: "London|Manchester|Birmingham|Leeds|Bristol|Glasgow|Edinburgh|Sheffield|\
        Nottingham|Cardiff",
        streets: "High Street|Station Road|Church Lane|Victoria Road|Mill Lane|Park Avenue|\
        Queen Street|Kings Road",
        postal: "@@# #@@",
        postal_after_city: true,
        iban: "@@@@##############",
        banks: "Barclays Bank|HSBC UK|Lloyds Bank|NatWest",
        phone: "+44",
        dates: &[D::DmySlash, D::DmySlash, D::Long, D::DdMonYyyy, D::DmyDot],
        nums: &[N::CommaDot, N::CommaDot, N::PlainDot],
        tld: "co.uk",
    },
    Country {
        code: "IE",
        lang: "en",
        name: "IRELAND",
        currency: "EUR",
        rates: "23|13.5",
        tax_labels: "",
        legal: "Ltd|DAC|Teoranta|Limited",
        cities: "Dublin|Cork|Galway|Limerick|Waterford",
        streets: "Main Street|O'Connell Street|Harbour Road|Castle Street",
        postal: "@## @#@#",
        postal_after_city: true,
        iban: "@@@@##############",
        banks: "Bank of Ireland|AIB|Permanent TSB",
        phone: "+353",
        dates: &[D::DmySlash, D::Long, D::DdMonYyyy],
        nums: &[N::CommaDot, N::PlainDot],
        tld: "ie",
    },
    Country {
        code: "US",
        lang: "en",
        name: "UNITED STATES",
        currency: "USD",
        rates: "0|6.25|7|8.875",
        tax_labels: "Sales Tax ({r}%)|Sales tax {r}%|Tax ({r}%)|Tax {r}%",
        legal: "LLC|Inc.|Corp.|Co.",
        cities: "Springfield, IL|Austin, TX|Portland, OR|Columbus, OH|Denver, CO|Raleigh, NC|\
        Madison, WI",
        streets: "Main Street|Oak Avenue|Maple Drive|Commerce Blvd|Industrial Parkway|5th Avenue",
        postal: "#####",
        postal_after_city: true,
        iban: "",
        banks: "First National Bank|Wells Fargo|Chase",
        phone: "+1",
        dates: &[
            D::MdySlash,
            D::MdySlash,
            D::MonthDayYear,
            D::MonDayYear,
            D::Iso,
        ],
        nums: &[N::CommaDot, N::CommaDot, N::PlainDot],
        tld: "com",
    },
    Country {
        code: "FR",
        lang: "fr",
        name: "FRANCE",
        currency: "EUR",
        rates: "20|10|5.5",
        tax_labels: "",
        legal: "SARL|SAS|SA|EURL|SASU",
        cities: "Paris|Lyon|Marseille|Toulouse|Bordeaux|Lille|Nantes|Strasbourg|Montpellier|Rennes",
        streets: "rue de la République|avenue Victor Hugo|boulevard Pasteur|rue des Lilas|\
        place de la Gare|rue du Commerce|chemin des Vignes",
        postal: "#####",
        postal_after_city: false,
        iban: "#######################",
        banks: "BNP Paribas|Crédit Agricole|Société Générale|Banque Populaire|LCL",
        phone: "+33",
        dates: &[D::DmySlash, D::DmySlash, D::Long, D::DmyDash, D::DmyDot],
        nums: &[N::SpaceComma, N::SpaceComma, N::PlainComma, N::DotComma],
        tld: "fr",
    },
    Country {
        code: "BE",
        lang: "fr",
        name: "BELGIUM",
        currency: "EUR",
        rates: "21|6|12",
        tax_labels: "",
        legal: "SA|SRL|SPRL|SC",
        cities: "Bruxelles|Liège|Namur|Charleroi|Mons",
        streets: "rue Neuve|avenue Louise|chaussée de Wavre|rue de Namur",
        postal: "####",
        postal_after_city: false,
        iban: "############",
        banks: "BNP Paribas Fortis|Belfius|ING Belgique|KBC",
        phone: "+32",
        dates: &[D::DmySlash, D::Long, D::DmyDot],
        nums: &[N::DotComma, N::SpaceComma],
        tld: "be",
    },
    Country {
        code: "CH",
        lang: "fr",
        name: "SUISSE",
        currency: "CHF",
        rates: "8.1|2.6",
        tax_labels: "",
        legal: "SA|Sàrl",
        cities: "Genève|Lausanne|Neuchâtel|Fribourg|Sion",
        streets: "rue du Rhône|avenue de la Gare|route de Lausanne|rue du Marché",
        postal: "####",
        postal_after_city: false,
        iban: "#################",
        banks: "UBS Switzerland AG|Banque Cantonale Vaudoise|PostFinance",
        phone: "+41",
        dates: &[D::DmyDot, D::DmySlash, D::Long],
        nums: &[N::Apos, N::PlainDot],
        tld: "ch",
    },
    Country {
        code: "NL",
        lang: "nl",
        name: "NETHERLANDS",
        currency: "EUR",
        rates: "21|9",
        tax_labels: "",
        legal: "B.V.|N.V.|V.O.F.",
        cities: "Amsterdam|Rotterdam|Utrecht|Eindhoven|Den Haag|Groningen|Tilburg|Zwolle",
        streets: "Kerkstraat|Stationsweg|Dorpsstraat|Industrieweg|Havenstraat|Molenweg|\
        Schoolstraat",
        postal: "#### @@",
        postal_after_city: false,
        iban: "@@@@##########",
        banks: "ING Bank|Rabobank|ABN AMRO|Triodos Bank",
        phone: "+31",
        dates: &[D::DmyDash, D::DmyDash, D::Long, D::DmySlash, D::Iso],
        nums: &[N::DotComma, N::DotComma, N::PlainComma],
        tld: "nl",
    },
    Country {
        code: "BE",
        lang: "nl",
        name: "BELGIUM",
        currency: "EUR",
        rates: "21|6|12",
        tax_labels: "",
        legal: "BV|NV|CommV",
        cities: "Antwerpen|Gent|Brugge|Leuven|Hasselt|Mechelen",
        streets: "Meir|Kortrijksesteenweg|Stationsstraat|Veldstraat|Grote Markt",
        postal: "####",
        postal_after_city: false,
        iban: "############",
        banks: "KBC Bank|Belfius|BNP Paribas Fortis|Argenta",
        phone: "+32",
        dates: &[D::DmySlash, D::DmyDash, D::Long],
        nums: &[N::DotComma, N::SpaceComma],
        tld: "be",
    },
    Country {
        code: "ES",
        lang: "es",
        name: "SPAIN",
        currency: "EUR",
        rates: "21|10|4",
        tax_labels: "",
        legal: "S.L.|S.A.|S.L.U.|S.Coop.",
        cities: "Madrid|Barcelona|Valencia|Sevilla|Zaragoza|Málaga|Bilbao|Alicante",
        streets: "Calle Mayor|Avenida de la Constitución|Calle Real|Paseo de Gracia|\
        Calle de Alcalá|Calle del Comercio",
        postal: "#####",
        postal_after_city: false,
        iban: "####################",
        banks: "Banco Santander|BBVA|CaixaBank|Banco Sabadell",
        phone: "+34",
        dates: &[D::DmySlash, D::DmySlash, D::Long, D::DmyDash],
        nums: &[N::DotComma, N::DotComma, N::PlainComma],
        tld: "es",
    },
    Country {
        code: "IT",
        lang: "it",
        name: "ITALY",
        currency: "EUR",
        rates: "22|10|4",
        tax_labels: "",
        legal: "S.p.A.|S.r.l.|S.a.s.|S.n.c.",
        cities: "Milano|Roma|Torino|Bologna|Firenze|Napoli|Verona|Padova|Bergamo",
        streets: "Via Roma|Via Garibaldi|Corso Italia|Via Dante|Viale Europa|Via dell'Industria|\
        Piazza Duomo",
        postal: "#####",
        postal_after_city: false,
        iban: "@######################",
        banks: "Intesa Sanpaolo|UniCredit|Banco BPM|BPER Banca",
        phone: "+39",
        dates: &[D::DmySlash, D::DmySlash, D::Long, D::DmyDot, D::DmyDash],
        nums: &[N::DotComma, N::DotComma, N::PlainComma],
        tld: "it",
    },
    Country {
        code: "PL",
        lang: "pl",
        name: "POLAND",
        currency: "PLN",
        rates: "23|8|5",
        tax_labels: "",
        legal: "Sp. z o.o.|S.A.|Sp.j.|Sp. k.",
        cities: "Warszawa|Kraków|Łódź|Wrocław|Poznań|Gdańsk|Szczecin|Lublin|Katowice",
        streets: "ul. Marszałkowska|ul. Długa|ul. Piękna|ul. Przemysłowa|al. Jerozolimskie|\
        ul. Kwiatowa|ul. Słoneczna",
        postal: "##-###",
        postal_after_city: false,
        iban: "########################",
        banks: "PKO Bank Polski|Bank Pekao|mBank|ING Bank Śląski|Santander Bank Polska",
        phone: "+48",
        dates: &[D::DmyDot, D::DmyDot, D::Long, D::Iso, D::DmyDash],
        nums: &[N::SpaceComma, N::SpaceComma, N::PlainComma, N::DotComma],
        tld: "pl",
    },
];

fn lang_by_code(code: &str) -> &'static Lang {
    LANGS
        .iter()
        .copied()
        .find(|l| l.code == code)
        .unwrap_or(&EN)
}

/// An IBAN with valid ISO 13616 check digits.
fn make_iban(rng: &mut Rng, country: &str, bban_pattern: &str, date: NaiveDate) -> String {
    let bban = fill(rng, bban_pattern, date);
    let check = 98 - mod97(&format!("{bban}{country}00"));
    format!("{country}{check:02}{bban}")
}

/// The remainder mod 97 of an alphanumeric string read as ISO 13616 digits
/// (A = 10 ... Z = 35).
fn mod97(s: &str) -> u32 {
    s.chars().fold(0u32, |rem, c| match c.to_digit(36) {
        Some(v) if v >= 10 => (rem * 100 + v) % 97,
        Some(v) => (rem * 10 + v) % 97,
        None => rem,
    })
}

#[cfg(test)]
fn iban_valid(iban: &str) -> bool {
    iban.len() > 4 && {
        let (head, tail) = iban.split_at(4);
        mod97(&format!("{tail}{head}")) == 1
    }
}

fn group4(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A VAT id as printed and its compact form (with the country prefix),
/// with valid check digits where the country publishes the algorithm.
fn make_vat(rng: &mut Rng, country: &str) -> Option<(String, String)> {
    let nonzero_first = |rng: &mut Rng, n: usize| {
        let mut d = digits(rng, n);
        if let Some(f) = d.first_mut() {
            *f = rng.u32(1..10);
        }
        d
    };
    Some(match country {
        "DE" => {
            let d = nonzero_first(rng, 8);
            let mut product = 10;
            for &x in &d {
                let mut sum = (x + product) % 10;
                if sum == 0 {
                    sum = 10;
                }
                product = (2 * sum) % 11;
            }
            let s = format!("{}{}", digit_string(&d), (11 - product) % 10);
            let compact = format!("DE{s}");
            let printed = if chance(rng, 0.3) {
                format!("DE {} {} {}", &s[..3], &s[3..6], &s[6..])
            } else {
                compact.clone()
            };
            (printed, compact)
        }
        "AT" => {
            let s = digit_string(&digits(rng, 8));
            (format!("ATU{s}"), format!("ATU{s}"))
        }
        "CH" => {
            let s = digit_string(&nonzero_first(rng, 9));
            let suffix = pick(rng, &["MWST", "TVA", "IVA"]);
            (
                format!("CHE-{}.{}.{} {suffix}", &s[..3], &s[3..6], &s[6..]),
                format!("CHE{s}"),
            )
        }
        "GB" => {
            let d = nonzero_first(rng, 7);
            let weighted: u32 = d.iter().zip((2..=8).rev()).map(|(x, w)| x * w).sum();
            let check = (97 - weighted % 97) % 97;
            let s = format!("{}{check:02}", digit_string(&d));
            let printed = if rng.bool() {
                format!("GB {} {} {}", &s[..3], &s[3..7], &s[7..])
            } else {
                format!("GB{s}")
            };
            (printed, format!("GB{s}"))
        }
        "IE" => {
            let s = format!("{}{}", digit_string(&digits(rng, 7)), rng.uppercase());
            (format!("IE{s}"), format!("IE{s}"))
        }
        "FR" => {
            let d = nonzero_first(rng, 9);
            let siren: u64 = d.iter().fold(0, |a, &x| a * 10 + u64::from(x));
            let key = (12 + 3 * (siren % 97)) % 97;
            let compact = format!("FR{key:02}{siren:09}");
            let printed = if rng.bool() {
                format!("FR {key:02} {siren:09}")
            } else {
                compact.clone()
            };
            (printed, compact)
        }
        "BE" => {
            let d = nonzero_first(rng, 7);
            let base: u64 = d.iter().fold(0, |a, &x| a * 10 + u64::from(x));
            let check = 97 - base % 97;
            let s = format!("0{base:07}{check:02}");
            let printed = if rng.bool() {
                format!("BE {}.{}.{}", &s[..4], &s[4..7], &s[7..])
            } else {
                format!("BE{s}")
            };
            (printed, format!("BE{s}"))
        }
        "NL" => loop {
            let d = nonzero_first(rng, 8);
            let s: u32 = d.iter().enumerate().map(|(i, &x)| x * (9 - i as u32)).sum();
            let check = s % 11;
            if check < 10 {
                let v = format!("NL{}{check}B{:02}", digit_string(&d), rng.u32(1..20));
                break (v.clone(), v);
            }
        },
        "ES" => {
            let s = format!(
                "{}{}",
                pick(rng, &['A', 'B', 'B', 'B']),
                digit_string(&digits(rng, 8))
            );
            let compact = format!("ES{s}");
            let printed = if chance(rng, 0.5) { s } else { compact.clone() };
            (printed, compact)
        }
        "IT" => {
            let d = digits(rng, 10);
            let s = format!(
                "{}{}",
                digit_string(&d),
                crate::validate::italian_check_digit(&d)
            );
            let compact = format!("IT{s}");
            let printed = if chance(rng, 0.4) { s } else { compact.clone() };
            (printed, compact)
        }
        "PL" => loop {
            let d = nonzero_first(rng, 9);
            let weights = [6, 5, 7, 2, 3, 4, 5, 6, 7];
            let check = d.iter().zip(weights).map(|(x, w)| x * w).sum::<u32>() % 11;
            if check < 10 {
                let s = format!("{}{check}", digit_string(&d));
                let compact = format!("PL{s}");
                let printed = match rng.u32(0..4) {
                    0 => format!("{}-{}-{}-{}", &s[..3], &s[3..6], &s[6..8], &s[8..]),
                    1 => s.clone(),
                    _ => compact.clone(),
                };
                break (printed, compact);
            }
        },
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// The document model

/// A company on the invoice.
struct Party {
    /// The distinctive part of the name (kept apart for vendor and buyer).
    stem: &'static str,
    name: String,
    street: String,
    city: String,
    city_line: String,
    country: &'static Country,
    phone: String,
    fax: String,
    email: String,
    web: String,
    person: String,
    /// (as printed, compact)
    vat: Option<(String, String)>,
}

fn slug(s: &str) -> String {
    translit(s)
        .chars()
        .map(|c| base_letter(c).to_ascii_lowercase())
        .take_while(|c| *c != ' ')
        .filter(char::is_ascii_alphanumeric)
        .take(14)
        .collect()
}

fn make_party(rng: &mut Rng, country: &'static Country, date: NaiveDate) -> Party {
    let lang = lang_by_code(country.lang);
    let stem = one(rng, lang.stems);
    let trade = one(rng, lang.trades);
    let legal = one(rng, country.legal);
    let name = match rng.u32(0..4) {
        0 => format!("{stem} {legal}"),
        1 if lang.code == "fr" || lang.code == "es" || lang.code == "it" => {
            format!("{trade} {stem} {legal}")
        }
        _ => format!("{stem} {trade} {legal}"),
    };
    let street_name = one(rng, country.streets);
    let no = rng.u32(1..180);
    let street = match country.code {
        "GB" | "IE" | "FR" => format!("{no} {street_name}"),
        "US" => format!("{} {street_name}", rng.u32(100..9900)),
        "ES" => format!("{street_name}, {no}"),
        "PL" if rng.bool() => format!("{street_name} {no}/{}", rng.u32(1..40)),
        _ => format!("{street_name} {no}"),
    };
    let city = one(rng, country.cities);
    let postal = fill(rng, country.postal, date);
    let city_line = if country.postal_after_city {
        format!("{city} {postal}")
    } else {
        format!("{postal} {city}")
    };
    let phone = match country.code {
        "US" => format!("({}) 555-{:04}", rng.u32(201..990), rng.u32(100..10000)),
        _ if chance(rng, 0.3) => format!(
            "0{} / {} {} {}",
            rng.u32(20..999),
            rng.u32(10..99),
            rng.u32(10..99),
            rng.u32(10..99)
        ),
        _ => format!(
            "{} {} {}",
            country.phone,
            rng.u32(10..99),
            rng.u32(100_000..99_999_999)
        ),
    };
    let domain = format!("{}.{}", slug(stem), country.tld);
    let mailbox = pick(
        rng,
        &["info", "billing", "accounts", "office", "invoices", "sales"],
    );
    let vat = make_vat(rng, country.code);
    let fax = if country.code == "US" {
        format!("({}) 555-{:04}", rng.u32(201..990), rng.u32(100..10000))
    } else {
        format!(
            "{} {} {}",
            country.phone,
            rng.u32(10..99),
            rng.u32(100_000..9_999_999)
        )
    };
    Party {
        stem,
        fax,
        name: translit(&name),
        street: translit(&street),
        city: translit(city.split(',').next().unwrap_or(city)),
        city_line: translit(&city_line),
        country,
        phone,
        email: format!("{mailbox}@{domain}"),
        web: format!("www.{domain}"),
        person: translit(one(rng, lang.persons)),
        vat,
    }
}

struct Line {
    description: String,
    sku: String,
    qty: Decimal,
    unit: String,
    price: Decimal,
    amount: Decimal,
    rate: usize,
    detail: Option<String>,
}

/// Where the vendor's VAT id or IBAN is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Header,
    Footer,
    Both,
}

impl Place {
    fn header(self) -> bool {
        matches!(self, Place::Header | Place::Both)
    }
    fn footer(self) -> bool {
        matches!(self, Place::Footer | Place::Both)
    }
}

/// How a receipt shows its tax.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReceiptTax {
    None,
    Included,
    Table,
}

/// The label wordings one document uses (picked once, so that a layout
/// that prints a label twice prints it the same way).
struct Labels {
    inv_no: &'static str,
    inv_date: &'static str,
    due: &'static str,
    po: &'static str,
    cust_no: &'static str,
    delivery_note: &'static str,
    order_date: &'static str,
    delivery_date: &'static str,
    our_ref: &'static str,
    contact: &'static str,
    page: &'static str,
    bill_to: &'static str,
    ship_to: &'static str,
    seller: &'static str,
    attn: &'static str,
    net: &'static str,
    tax: &'static str,
    tax_plain: Option<&'static str>,
    total: &'static str,
    vat_id: &'static str,
    cust_vat: &'static str,
    phone: &'static str,
    email: &'static str,
    bank: &'static str,
    of: &'static str,
    col_pos: &'static str,
    col_sku: &'static str,
    col_desc: &'static str,
    col_qty: &'static str,
    col_unit: &'static str,
    col_price: &'static str,
    col_vat: &'static str,
    col_amount: &'static str,
}

impl Labels {
    fn random(rng: &mut Rng, lang: &'static Lang, country: &'static Country) -> Labels {
        // US sales tax has its own words.
        let us = country.code == "US" && lang.code == "en";
        let (tax_templates, tax_plain, col_vat) = if us {
            (country.tax_labels, "Sales tax|Tax|Sales Tax", "Tax|Tax %")
        } else {
            (lang.tax_rate, lang.tax_plain, lang.col_vat)
        };
        Labels {
            inv_no: one(rng, lang.inv_no),
            inv_date: one(rng, lang.inv_date),
            due: one(rng, lang.due),
            po: one(rng, lang.po),
            cust_no: one(rng, lang.cust_no),
            delivery_note: one(rng, lang.delivery_note),
            order_date: one(rng, lang.order_date),
            delivery_date: one(rng, lang.delivery_date),
            our_ref: one(rng, lang.our_ref),
            contact: one(rng, lang.contact),
            page: one(rng, lang.page),
            bill_to: one(rng, lang.bill_to),
            ship_to: one(rng, lang.ship_to),
            seller: one(rng, lang.seller),
            attn: one(rng, lang.attn),
            net: one(rng, lang.net),
            tax: one(rng, tax_templates),
            tax_plain: chance(rng, 0.25).then(|| one(rng, tax_plain)),
            total: one(rng, lang.total),
            vat_id: one(rng, lang.vat_id),
            cust_vat: one(rng, lang.cust_vat),
            phone: one(rng, lang.phone),
            email: one(rng, lang.email),
            bank: one(rng, lang.bank),
            of: one(rng, lang.of),
            col_pos: one(rng, lang.col_pos),
            col_sku: one(rng, lang.col_sku),
            col_desc: one(rng, lang.col_desc),
            col_qty: one(rng, lang.col_qty),
            col_unit: one(rng, lang.col_unit),
            col_price: one(rng, lang.col_price),
            col_vat: one(rng, col_vat),
            col_amount: one(rng, lang.col_amount),
        }
    }
}

/// One synthetic invoice before rendering: its data, which of it is
/// printed, and the formatting conventions the whole document follows.
struct Doc {
    lang: &'static Lang,
    country: &'static Country,
    layout: Layout,
    lb: Labels,
    num: NumStyle,
    date_style: DateStyle,
    neg: Neg,
    cur_pos: CurPos,
    cur_space: bool,
    cur_on_all_totals: bool,
    cur_in_lines: bool,
    total_label_cur: bool,
    qty_dp2: bool,
    colon: &'static str,
    upper: bool,
    bold_labels: bool,
    title: String,
    number: String,
    date: NaiveDate,
    due: Option<NaiveDate>,
    due_label: bool,
    due_sentence: bool,
    terms_sentence: Option<String>,
    skonto: Option<String>,
    po: Option<String>,
    cust_no: Option<String>,
    delivery_note: Option<String>,
    order_date: Option<NaiveDate>,
    delivery_date: Option<NaiveDate>,
    our_ref: Option<String>,
    contact: Option<String>,
    period: Option<String>,
    vendor: Party,
    buyer: Party,
    ship_to: Option<Party>,
    /// Where the vendor's VAT id is printed; `None` with `vat_in_meta`
    /// false means nowhere.
    vat_place: Option<Place>,
    vat_in_meta: bool,
    buyer_vat_printed: bool,
    buyer_vat_in_meta: bool,
    /// Compact; `Some` only when printed.
    iban: Option<String>,
    iban_grouped: bool,
    /// `Header` = in the payment block (or the sidebar).
    iban_place: Place,
    bic: String,
    bank: String,
    other_bank: Option<String>,
    debit: Option<String>,
    reg: String,
    director: String,
    lines: Vec<Line>,
    rates: Vec<Decimal>,
    net_by_rate: Vec<Decimal>,
    tax_by_rate: Vec<Decimal>,
    net: Decimal,
    tax: Decimal,
    total: Decimal,
    print_net: bool,
    print_tax: bool,
    receipt_tax: ReceiptTax,
    reverse_charge: Option<String>,
    intro: Option<String>,
    thanks: Option<String>,
    all_in: Option<String>,
    /// Received before this invoice and deducted under its total, which
    /// stays the gross (EN 16931's paid amount, BT-113): what is left to
    /// pay is printed too, and is not the total.
    prepaid: Option<Decimal>,
    page_numbers: bool,
}

const NUMBER_PATTERNS: &[&str] = &[
    "{P}YYYY-#####",
    "{P}YYYY####",
    "{P}#####",
    "{P}######",
    "{P}###/MM/YYYY",
    "YYYY-####",
    "######",
    "{P}YYYY/####",
];
const RECEIPT_NUMBERS: &[&str] = &["####", "#####", "####-###-####", "##/####", "######"];
const PO_PATTERNS: &[&str] = &[
    "4500######",
    "PO-YYYY-####",
    "PO#####",
    "######",
    "BST-####",
    "ORD/YYYY/###",
    "B#######",
    "PO-####-@@",
];
const CUSTOMER_PATTERNS: &[&str] = &["#####", "KD-#####", "C######", "D####", "10####"];
const DELIVERY_PATTERNS: &[&str] = &["LS-######", "#######", "DN#####", "###/YYYY"];
const REF_PATTERNS: &[&str] = &["AB-#####", "#####", "SO-######", "J####"];
const SKU_PATTERNS: &[&str] = &["###-####", "@@-#####", "#######", "@####", "@@@-###-@"];

fn fill_pick(rng: &mut Rng, patterns: &[&str], date: NaiveDate) -> String {
    let pattern = pick(rng, patterns);
    fill(rng, pattern, date)
}

fn sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, |a, b| a + b)
}

impl Doc {
    fn random(rng: &mut Rng, layout: Layout) -> Doc {
        let receipt = layout == Layout::Receipt;
        let lang = pick(rng, &LANGS);
        let homes: Vec<&'static Country> =
            COUNTRIES.iter().filter(|c| c.lang == lang.code).collect();
        let mut country = pick(rng, &homes);
        // English is the lingua franca: some vendors abroad invoice in it.
        let foreign_en = lang.code == "en" && !receipt && chance(rng, 0.15);
        if foreign_en {
            let others: Vec<&'static Country> =
                COUNTRIES.iter().filter(|c| c.lang != "en").collect();
            country = pick(rng, &others);
        }
        let us = country.code == "US";
        let num = if foreign_en && rng.bool() {
            NumStyle::CommaDot
        } else {
            pick(rng, country.nums)
        };
        let date_style = if foreign_en {
            pick(
                rng,
                &[D::DmySlash, D::Long, D::Iso, D::DmyDot, D::DdMonYyyy],
            )
        } else {
            pick(rng, country.dates)
        };
        let neg = match num {
            NumStyle::CommaDot | NumStyle::PlainDot => {
                pick(rng, &[Neg::Minus, Neg::Minus, Neg::Parens])
            }
            _ => pick(rng, &[Neg::Minus, Neg::Minus, Neg::Trailing]),
        };
        let cur_pos = match country.currency {
            "USD" | "GBP" => pick(
                rng,
                &[
                    CurPos::SymBefore,
                    CurPos::SymBefore,
                    CurPos::SymBefore,
                    CurPos::CodeBefore,
                    CurPos::CodeAfter,
                    CurPos::HeaderOnly,
                ],
            ),
            "EUR" => pick(
                rng,
                &[
                    CurPos::SymAfter,
                    CurPos::SymAfter,
                    CurPos::SymBefore,
                    CurPos::CodeAfter,
                    CurPos::CodeBefore,
                    CurPos::HeaderOnly,
                ],
            ),
            "PLN" => pick(
                rng,
                &[
                    CurPos::SymAfter,
                    CurPos::SymAfter,
                    CurPos::CodeAfter,
                    CurPos::HeaderOnly,
                ],
            ),
            _ => pick(
                rng,
                &[
                    CurPos::CodeBefore,
                    CurPos::CodeBefore,
                    CurPos::CodeAfter,
                    CurPos::HeaderOnly,
                ],
            ),
        };
        let start = NaiveDate::from_ymd_opt(2023, 1, 1).expect("constant date");
        let date = add_days(start, rng.u64(0..1461));
        let credit = !receipt && chance(rng, 0.06);
        let lb = Labels::random(rng, lang, country);
        let colon = if chance(rng, 0.3) {
            ""
        } else if lang.code == "fr" && rng.bool() {
            " :"
        } else {
            ":"
        };
        let titles = match (us, credit) {
            (true, false) => "INVOICE|Invoice|Bill|Sales Invoice",
            (true, true) => "CREDIT MEMO|Credit Memo",
            (false, false) => lang.title,
            (false, true) => lang.credit_title,
        };
        let title = translit(one(rng, titles));
        let number = if receipt {
            fill_pick(rng, RECEIPT_NUMBERS, date)
        } else {
            let prefix = one(
                rng,
                if credit {
                    lang.credit_prefix
                } else {
                    lang.inv_prefix
                },
            );
            let pattern = pick(rng, NUMBER_PATTERNS).replace("{P}", prefix);
            fill(rng, &pattern, date)
        };

        // Dates and terms.
        let terms_days = pick(rng, &[7u64, 10, 14, 14, 21, 30, 30, 30, 45, 60]);
        let (due, due_label, due_sentence) = if receipt || !chance(rng, 0.75) {
            (None, false, false)
        } else {
            let (l, s) = match rng.u32(0..20) {
                0..=11 => (true, false),
                12..=16 => (false, true),
                _ => (true, true),
            };
            (Some(add_days(date, terms_days)), l, s)
        };
        let terms_sentence = (!receipt && chance(rng, if due.is_some() { 0.4 } else { 0.6 }))
            .then(|| one(rng, lang.terms).replace("{d}", &terms_days.to_string()));
        let po = (!receipt && chance(rng, 0.6)).then(|| fill_pick(rng, PO_PATTERNS, date));
        let cust_no =
            (!receipt && chance(rng, 0.55)).then(|| fill_pick(rng, CUSTOMER_PATTERNS, date));
        let delivery_note =
            (!receipt && chance(rng, 0.3)).then(|| fill_pick(rng, DELIVERY_PATTERNS, date));
        let order_date = (!receipt && chance(rng, if po.is_some() { 0.4 } else { 0.1 }))
            .then(|| sub_days(date, rng.u64(1..30)));
        let delivery_date = (!receipt && chance(rng, 0.3)).then(|| sub_days(date, rng.u64(0..10)));
        let our_ref = (!receipt && chance(rng, 0.2)).then(|| fill_pick(rng, REF_PATTERNS, date));

        // Parties.
        let vendor = make_party(rng, country, date);
        let buyer_country = if !receipt && !us && chance(rng, 0.2) {
            let others: Vec<&'static Country> = COUNTRIES
                .iter()
                .filter(|c| c.code != country.code && c.code != "US")
                .collect();
            pick(rng, &others)
        } else {
            country
        };
        // The buyer must not look like the vendor (same name stem).
        let mut buyer = make_party(rng, buyer_country, date);
        for _ in 0..8 {
            if buyer.stem != vendor.stem {
                break;
            }
            buyer = make_party(rng, buyer_country, date);
        }
        let cross_border = buyer_country.code != country.code;
        let ship_to = (!receipt && chance(rng, 0.12)).then(|| {
            let mut p = make_party(rng, buyer_country, date);
            p.name.clone_from(&buyer.name);
            p
        });
        let contact = (!receipt && chance(rng, 0.25)).then(|| vendor.person.clone());
        let vat_place = if us || vendor.vat.is_none() {
            None
        } else if receipt {
            chance(rng, 0.7).then_some(Place::Header)
        } else {
            chance(rng, 0.85).then(|| {
                pick(
                    rng,
                    &[Place::Header, Place::Footer, Place::Footer, Place::Both],
                )
            })
        };
        let vat_in_meta = !receipt && vendor.vat.is_some() && !us && chance(rng, 0.12);
        let buyer_vat_printed =
            !receipt && buyer.vat.is_some() && chance(rng, if cross_border { 0.85 } else { 0.2 });
        let buyer_vat_in_meta = buyer_vat_printed && chance(rng, 0.3);

        // Bank details.
        let iban_possible = !receipt && !country.iban.is_empty();
        let iban = (iban_possible && chance(rng, if country.code == "GB" { 0.6 } else { 0.9 }))
            .then(|| make_iban(rng, country.code, country.iban, date));
        let other_bank = match country.code {
            _ if receipt => None,
            "GB" if iban.is_none() || chance(rng, 0.2) => Some(format!(
                "Sort code {:02}-{:02}-{:02}  Account no. {}",
                rng.u32(10..99),
                rng.u32(0..99),
                rng.u32(0..99),
                digit_string(&digits(rng, 8))
            )),
            "US" => Some(format!(
                "ABA routing {}  Account {}",
                digit_string(&digits(rng, 9)),
                digit_string(&digits(rng, 10))
            )),
            "DE" if chance(rng, 0.1) => Some(format!(
                "Konto {}  BLZ {}",
                digit_string(&digits(rng, 10)),
                digit_string(&digits(rng, 8))
            )),
            _ => None,
        };
        let bic = format!(
            "{}{}{}{}{}",
            (0..4).map(|_| rng.uppercase()).collect::<String>(),
            country.code,
            rng.uppercase(),
            rng.digit(10),
            if rng.bool() { "XXX" } else { "" }
        );
        let debit = (!receipt && !buyer_country.iban.is_empty() && chance(rng, 0.05)).then(|| {
            let b = make_iban(rng, buyer_country.code, buyer_country.iban, date);
            one(rng, lang.debit).replace("{iban}", &glue(&group4(&b)))
        });

        // Lines and money.
        let all_rates: Vec<Decimal> = country.rates.split('|').map(dec).collect();
        let mut rates = vec![if us {
            pick(rng, &all_rates)
        } else {
            all_rates[0]
        }];
        if !us && all_rates.len() > 1 && chance(rng, if receipt { 0.3 } else { 0.2 }) {
            rates.push(pick(rng, &all_rates[1..]));
        }
        let reverse_charge =
            (!receipt && cross_border && country.code != "CH" && chance(rng, 0.35))
                .then(|| translit(one(rng, lang.reverse)));
        if reverse_charge.is_some() {
            rates = vec![Decimal::ZERO];
        }
        let mut lines = make_lines(rng, lang, receipt, rates.len(), date);
        if !receipt && chance(rng, 0.12) {
            lines.push(Line {
                description: translit(one(rng, lang.shipping)),
                sku: String::new(),
                qty: Decimal::ONE,
                unit: translit(one(rng, lang.unit_piece)),
                price: Decimal::new(rng.i64(49..600) * 10, 2),
                amount: Decimal::ZERO,
                rate: 0,
                detail: None,
            });
        }
        if credit {
            for l in &mut lines {
                l.price = -l.price;
            }
        }
        for l in &mut lines {
            l.amount = round2(l.qty * l.price);
        }
        if !receipt && !credit && rates.len() == 1 && chance(rng, 0.07) {
            let pct = pick(rng, &[2i64, 3, 5, 10]);
            let amount = -round2(sum(lines.iter().map(|l| l.amount)) * Decimal::new(pct, 2));
            lines.push(Line {
                description: translit(&one(rng, lang.discount).replace("{r}", &pct.to_string())),
                sku: String::new(),
                qty: Decimal::ONE,
                unit: String::new(),
                price: amount,
                amount,
                rate: 0,
                detail: None,
            });
        }
        // Keep only the rates some line uses.
        if rates.len() > 1 {
            if !lines.iter().any(|l| l.rate == 1) {
                rates.truncate(1);
            } else if !lines.iter().any(|l| l.rate == 0) {
                rates.remove(0);
                for l in &mut lines {
                    l.rate = 0;
                }
            }
        }
        let hundred = Decimal::ONE_HUNDRED;
        let mut net_by_rate = Vec::new();
        let mut tax_by_rate = Vec::new();
        for (i, r) in rates.iter().enumerate() {
            let base = sum(lines.iter().filter(|l| l.rate == i).map(|l| l.amount));
            if receipt {
                let tax = round2(base * r / (hundred + r));
                net_by_rate.push(base - tax);
                tax_by_rate.push(tax);
            } else {
                net_by_rate.push(base);
                tax_by_rate.push(round2(base * r / hundred));
            }
        }
        let net = sum(net_by_rate.iter().copied());
        let tax = sum(tax_by_rate.iter().copied());
        let total = net + tax;
        let receipt_tax = pick(
            rng,
            &[
                ReceiptTax::None,
                ReceiptTax::Included,
                ReceiptTax::Included,
                ReceiptTax::Table,
                ReceiptTax::Table,
            ],
        );
        let (print_net, print_tax) = if receipt {
            (
                receipt_tax == ReceiptTax::Table,
                receipt_tax != ReceiptTax::None,
            )
        } else if us && rates.iter().all(Decimal::is_zero) {
            (chance(rng, 0.7), false)
        } else {
            (chance(rng, 0.95), true)
        };

        let skonto =
            (!receipt && !credit && chance(rng, 0.08)).then(|| (rng.u32(2..4), add_days(date, 10)));
        let period = (!receipt && chance(rng, 0.1)).then(|| {
            let end = sub_days(date.with_day(1).unwrap_or(date), 1);
            let begin = end.with_day(1).unwrap_or(end);
            (begin, end)
        });
        let details: Vec<bool> = lines.iter().map(|l| l.detail.is_some()).collect();

        let mut doc = Doc {
            lang,
            country,
            layout,
            lb,
            num,
            date_style,
            neg,
            cur_pos,
            cur_space: match country.currency {
                "USD" | "GBP" => chance(rng, 0.15),
                _ => rng.bool(),
            },
            cur_on_all_totals: rng.bool(),
            cur_in_lines: chance(rng, 0.15),
            total_label_cur: chance(
                rng,
                if cur_pos == CurPos::HeaderOnly {
                    0.6
                } else {
                    0.1
                },
            ),
            qty_dp2: chance(rng, 0.2),
            colon,
            upper: chance(rng, 0.12),
            bold_labels: chance(rng, 0.4),
            title,
            number,
            date,
            due,
            due_label,
            due_sentence,
            terms_sentence: terms_sentence.map(|s| translit(&s)),
            skonto: None,
            po,
            cust_no,
            delivery_note,
            order_date,
            delivery_date,
            our_ref,
            contact,
            period: None,
            vendor,
            buyer,
            ship_to,
            vat_place,
            vat_in_meta,
            buyer_vat_printed,
            buyer_vat_in_meta,
            iban,
            iban_grouped: chance(rng, 0.65),
            iban_place: pick(
                rng,
                &[
                    Place::Header,
                    Place::Header,
                    Place::Footer,
                    Place::Footer,
                    Place::Both,
                ],
            ),
            bic,
            bank: translit(one(rng, country.banks)),
            other_bank,
            debit: debit.map(|s| translit(&s)),
            reg: String::new(),
            director: String::new(),
            lines,
            rates,
            net_by_rate,
            tax_by_rate,
            net,
            tax,
            total,
            print_net,
            print_tax,
            receipt_tax,
            reverse_charge,
            intro: (!receipt && chance(rng, 0.3)).then(|| translit(one(rng, lang.intro))),
            thanks: chance(rng, 0.5).then(|| translit(one(rng, lang.thanks))),
            all_in: None,
            page_numbers: !receipt && chance(rng, 0.5),
            prepaid: (!receipt && !credit && total > Decimal::ONE_HUNDRED && chance(rng, 0.1))
                .then(|| prepayment(rng, total)),
        };
        // Text that needs the document's date format.
        if let Some((pct, until)) = skonto {
            doc.skonto = Some(translit(
                &one(rng, lang.skonto)
                    .replace("{p}", &pct.to_string())
                    .replace("{date}", &glue(&doc.fdate(until))),
            ));
        }
        if let Some((a, b)) = period {
            doc.period = Some(translit(
                &one(rng, lang.period)
                    .replace("{a}", &glue(&doc.fdate(a)))
                    .replace("{b}", &glue(&doc.fdate(b))),
            ));
        }
        if cur_pos == CurPos::HeaderOnly && chance(rng, 0.5) || chance(rng, 0.08) {
            doc.all_in = Some(translit(
                &one(rng, lang.all_in).replace("{c}", country.currency),
            ));
        }
        // US vendors print no register number (and no VAT id).
        if !us {
            let n = rng.u32(10_000..999_999).to_string();
            doc.reg = translit(&one(rng, lang.reg).replace("{n}", &n));
        }
        doc.director = translit(&one(rng, lang.director).replace("{name}", &doc.vendor.person));
        for (i, has) in details.iter().enumerate() {
            if *has {
                let when = doc.fdate(doc.delivery_date.unwrap_or(sub_days(date, rng.u64(1..15))));
                let text = one(rng, lang.detail)
                    .replace("{n}", &fill(rng, "######", date))
                    .replace("{date}", &when);
                if let Some(l) = doc.lines.get_mut(i) {
                    l.detail = Some(translit(&text));
                }
            }
        }
        doc
    }

    fn truth(&self) -> Truth {
        let vat_printed = self.vat_place.is_some() || self.vat_in_meta;
        Truth {
            invoice_number: self.number.clone(),
            invoice_date: self.date,
            due_date: self.due,
            po_number: self.po.clone(),
            vendor_name: self.vendor.name.clone(),
            vendor_vat_id: if vat_printed {
                self.vendor.vat.as_ref().map(|v| v.1.clone())
            } else {
                None
            },
            iban: self.iban.clone(),
            currency: self.country.currency.to_string(),
            net_amount: self.print_net.then_some(self.net),
            tax_amount: self.print_tax.then_some(self.tax),
            total_amount: self.total,
            line_items: self
                .lines
                .iter()
                .map(|l| TruthLine {
                    description: l.description.clone(),
                    quantity: l.qty,
                    unit_price: l.price,
                    amount: l.amount,
                })
                .collect(),
            language: self.lang.code,
            layout: self.layout.name(),
        }
    }

    // -- formatting in the document's conventions --

    fn fdate(&self, d: NaiveDate) -> String {
        translit(&fmt_date(d, self.date_style, self.lang))
    }

    fn symbol(&self) -> Option<&'static str> {
        match self.country.currency {
            "EUR" => Some("€"),
            "USD" => Some("$"),
            "GBP" => Some("£"),
            "PLN" => Some("zl"),
            _ => None,
        }
    }

    /// An amount, with the currency when `cur` (and the document puts it
    /// next to amounts at all).
    fn money(&self, d: Decimal, cur: bool) -> String {
        let digits = fmt_abs(d, 2, self.num, true);
        let n = if d.is_sign_negative() && !d.is_zero() {
            match self.neg {
                Neg::Minus => format!("-{digits}"),
                Neg::Parens => format!("({digits})"),
                Neg::Trailing => format!("{digits}-"),
            }
        } else {
            digits
        };
        if !cur {
            return n;
        }
        let code = self.country.currency;
        let sp = if self.cur_space { " " } else { "" };
        match (self.cur_pos, self.symbol()) {
            (CurPos::SymBefore, Some(s)) => format!("{s}{sp}{n}"),
            (CurPos::SymAfter, Some(s)) => format!("{n} {s}"),
            (CurPos::SymBefore | CurPos::CodeBefore, _) => format!("{code} {n}"),
            (CurPos::SymAfter | CurPos::CodeAfter, _) => format!("{n} {code}"),
            (CurPos::HeaderOnly, _) => n,
        }
    }

    fn qty(&self, q: Decimal) -> String {
        let dp = if self.qty_dp2 {
            2
        } else {
            q.normalize().scale()
        };
        fmt_abs(q, dp, self.num, false)
    }

    fn rate(&self, r: Decimal) -> String {
        let s = r.normalize().to_string();
        let (_, mark) = self.num.separators();
        s.replace('.', &mark.to_string())
    }

    /// A label as this document writes labels: case, then its colon style.
    fn label(&self, s: &str) -> String {
        format!("{}{}", self.plain(s), self.colon)
    }

    /// A label without colon (column headers, boxes).
    fn plain(&self, s: &str) -> String {
        let s = translit(s);
        if self.upper { s.to_uppercase() } else { s }
    }

    fn tax_label(&self, i: usize) -> String {
        let r = self.rates.get(i).copied().unwrap_or_default();
        let base = self.net_by_rate.get(i).copied().unwrap_or_default();
        match self.lb.tax_plain {
            Some(p) if self.rates.len() == 1 => self.label(p),
            _ => self.label(
                &self
                    .lb
                    .tax
                    .replace("{r}", &self.rate(r))
                    .replace("{base}", &self.money(base, false)),
            ),
        }
    }

    fn total_label(&self) -> String {
        if self.total_label_cur {
            self.label(&format!("{} {}", self.lb.total, self.country.currency))
        } else {
            self.label(self.lb.total)
        }
    }

    fn iban_text(&self) -> Option<String> {
        self.iban.as_ref().map(|i| {
            if self.iban_grouped {
                group4(i)
            } else {
                i.clone()
            }
        })
    }

    fn vat_text(&self) -> Option<String> {
        self.vendor
            .vat
            .as_ref()
            .map(|(printed, _)| format!("{} {printed}", self.label(self.lb.vat_id)))
    }

    /// Meta data as (label, value) pairs: invoice number and date first,
    /// then the rest (including distractors) in random order.
    fn meta_pairs(&self, rng: &mut Rng) -> Vec<(String, String)> {
        let lb = &self.lb;
        let mut head = vec![
            (self.plain(lb.inv_no), self.number.clone()),
            (self.plain(lb.inv_date), self.fdate(self.date)),
        ];
        if rng.bool() {
            head.swap(0, 1);
        }
        let mut rest = Vec::new();
        let mut push = |l: &str, v: String| rest.push((self.plain(l), v));
        if let Some(v) = &self.cust_no {
            push(lb.cust_no, v.clone());
        }
        if let Some(v) = &self.po {
            push(lb.po, v.clone());
        }
        if let Some(d) = self.order_date {
            push(lb.order_date, self.fdate(d));
        }
        if let Some(v) = &self.delivery_note {
            push(lb.delivery_note, v.clone());
        }
        if let Some(d) = self.delivery_date {
            push(lb.delivery_date, self.fdate(d));
        }
        if let Some(v) = &self.our_ref {
            push(lb.our_ref, v.clone());
        }
        if let Some(v) = &self.contact {
            push(lb.contact, v.clone());
        }
        if self.vat_in_meta
            && let Some((printed, _)) = &self.vendor.vat
        {
            push(lb.vat_id, printed.clone());
        }
        if self.buyer_vat_in_meta
            && let Some((printed, _)) = &self.buyer.vat
        {
            push(lb.cust_vat, printed.clone());
        }
        rng.shuffle(&mut rest);
        if self.due_label
            && let Some(d) = self.due
        {
            let at = if rng.bool() { 0 } else { rest.len() };
            rest.insert(at, (self.plain(lb.due), self.fdate(d)));
        }
        head.extend(rest);
        head
    }

    /// The vendor's address block below its name.
    fn vendor_lines(&self, rng: &mut Rng) -> Vec<String> {
        let v = &self.vendor;
        let mut out = vec![v.street.clone(), v.city_line.clone()];
        if self.buyer.country.code != v.country.code && rng.bool() {
            out.push(v.country.name.to_string());
        }
        if chance(rng, 0.7) {
            out.push(format!("{} {}", self.label(self.lb.phone), v.phone));
        }
        if chance(rng, 0.2) {
            out.push(format!("Fax{} {}", self.colon, v.fax));
        }
        if chance(rng, 0.6) {
            out.push(format!("{} {}", self.label(self.lb.email), v.email));
        }
        if chance(rng, 0.3) {
            out.push(v.web.clone());
        }
        if self.vat_place.is_some_and(Place::header)
            && let Some(t) = self.vat_text()
        {
            out.push(t);
        }
        out
    }

    /// The recipient's address block (name first).
    fn buyer_lines(&self, rng: &mut Rng) -> Vec<String> {
        let b = &self.buyer;
        let mut out = vec![b.name.clone()];
        if chance(rng, 0.35) {
            out.push(format!("{} {}", translit(self.lb.attn), b.person));
        }
        out.push(b.street.clone());
        out.push(b.city_line.clone());
        if b.country.code != self.vendor.country.code {
            out.push(b.country.name.to_string());
        }
        if self.buyer_vat_printed
            && !self.buyer_vat_in_meta
            && let Some((printed, _)) = &b.vat
        {
            out.push(format!("{} {printed}", self.label(self.lb.vat_id)));
        }
        out
    }
}

fn make_lines(
    rng: &mut Rng,
    lang: &Lang,
    receipt: bool,
    n_rates: usize,
    date: NaiveDate,
) -> Vec<Line> {
    let n = if receipt {
        rng.usize(1..=12)
    } else if chance(rng, 0.7) {
        rng.usize(1..=6)
    } else {
        rng.usize(7..=25)
    };
    let services_doc = chance(rng, 0.3);
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let service = !receipt && chance(rng, if services_doc { 0.75 } else { 0.1 });
        let mut description = if receipt {
            one(rng, lang.receipt_items).to_string()
        } else if service {
            one(rng, lang.services).to_string()
        } else {
            one(rng, lang.products).to_string()
        };
        if !receipt && chance(rng, 0.3) {
            let spec = one(rng, lang.specs);
            description = format!("{description}, {spec}");
            if chance(rng, 0.3) {
                let more = one(rng, lang.specs);
                if more != spec {
                    description = format!("{description}, {more}");
                }
            }
        }
        let (qty, unit) = if receipt {
            let q = if chance(rng, 0.7) { 1 } else { rng.i64(2..=6) };
            (Decimal::from(q), String::new())
        } else if service {
            if chance(rng, 0.4) {
                (Decimal::ONE, one(rng, lang.unit_piece).to_string())
            } else {
                (
                    Decimal::new(rng.i64(1..=160) * 25, 2),
                    one(rng, lang.unit_hour).to_string(),
                )
            }
        } else {
            match rng.u32(0..20) {
                0..=12 => (
                    Decimal::from(rng.i64(1..=10)),
                    one(rng, lang.unit_piece).to_string(),
                ),
                13..=17 => (
                    Decimal::from(rng.i64(11..=200)),
                    one(rng, lang.unit_piece).to_string(),
                ),
                _ => (
                    Decimal::new(rng.i64(10..2000), 1),
                    pick(rng, &["kg", "m", "l"]).to_string(),
                ),
            }
        };
        // Bulk quantities get cheap unit prices, so totals stay plausible.
        let tiers = if qty > Decimal::TEN { 6 } else { 10 };
        let mut cents = if receipt {
            rng.i64(29..2500)
        } else {
            match rng.u32(0..tiers) {
                0..=3 => rng.i64(50..3_000),
                4..=6 => rng.i64(3_000..30_000),
                7..=8 => rng.i64(30_000..300_000),
                _ => rng.i64(300_000..1_500_000),
            }
        };
        if chance(rng, 0.3) {
            cents = (cents / 100).max(1) * 100;
        } else if chance(rng, 0.15) {
            cents = (cents / 100) * 100 + 90;
        }
        lines.push(Line {
            description: translit(&description),
            sku: fill_pick(rng, SKU_PATTERNS, date),
            qty: qty.normalize(),
            unit: translit(&unit),
            price: Decimal::new(cents, 2),
            amount: Decimal::ZERO,
            rate: if n_rates > 1 && chance(rng, 0.4) {
                1
            } else {
                0
            },
            detail: (!receipt && chance(rng, 0.1)).then(String::new),
        });
    }
    // With two rates, both must occur.
    if n_rates > 1 && lines.len() > 1 {
        let first = lines[0].rate;
        if lines.iter().all(|l| l.rate == first) {
            let last = lines.len() - 1;
            lines[last].rate = 1 - first;
        }
    }
    lines
}

// ---------------------------------------------------------------------------
// Rendering

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
}

/// A canvas plus the page geometry and a top-down cursor `y` for flowing
/// content; starts continuation pages and reserves the footer.
struct Pen<'a> {
    doc: &'a Doc,
    c: Canvas,
    w: f64,
    h: f64,
    ml: f64,
    mr: f64,
    top: f64,
    bottom: f64,
    fs: f64,
    lh: f64,
    reg: Font,
    y: f64,
    footer: Vec<Vec<String>>,
    footer_fs: f64,
    footer_top: f64,
    footer_centered: bool,
    footer_rule: bool,
    page_no_center: bool,
    bank_done: bool,
}

impl<'a> Pen<'a> {
    fn new(doc: &'a Doc, rng: &mut Rng) -> Pen<'a> {
        let receipt = doc.layout == Layout::Receipt;
        let (w, h) = if receipt {
            (226.0, 842.0)
        } else {
            (595.0, 842.0)
        };
        let ml = if receipt {
            10.0 + f64::from(rng.u32(0..6))
        } else {
            40.0 + f64::from(rng.u32(0..30))
        };
        let mr = w - if receipt {
            ml
        } else {
            36.0 + f64::from(rng.u32(0..26))
        };
        let top = if receipt { 22.0 } else { 34.0 } + f64::from(rng.u32(0..24));
        let reg = if receipt && rng.bool() {
            Font::Mono
        } else {
            Font::Regular
        };
        let fs = if receipt {
            pick(rng, &[7.0, 7.5, 8.0, 8.5])
        } else {
            pick(rng, &[7.5, 8.0, 8.5, 9.0, 9.0, 9.5, 10.0, 10.5])
        };
        let lh = fs * (1.22 + 0.06 * f64::from(rng.u32(0..4)));
        let mut pen = Pen {
            doc,
            c: Canvas::new(w, h),
            w,
            h,
            ml,
            mr,
            top,
            bottom: h - 20.0,
            fs,
            lh,
            reg,
            y: top,
            footer: Vec::new(),
            footer_fs: 7.0,
            footer_top: h,
            footer_centered: rng.bool(),
            footer_rule: chance(rng, 0.6),
            page_no_center: chance(rng, 0.3),
            bank_done: false,
        };
        if !receipt {
            pen.plan_footer(rng);
        }
        pen
    }

    /// Decides the footer's columns and size, and moves `bottom` above it.
    fn plan_footer(&mut self, rng: &mut Rng) {
        let doc = self.doc;
        let v = &doc.vendor;
        let mut cols = vec![vec![v.name.clone(), v.street.clone(), v.city_line.clone()]];
        let mut contact = vec![format!("{} {}", doc.label(doc.lb.phone), v.phone)];
        if chance(rng, 0.25) {
            contact.push(format!("Fax{} {}", doc.colon, v.fax));
        }
        if chance(rng, 0.7) {
            contact.push(format!("{} {}", doc.label(doc.lb.email), v.email));
        }
        if chance(rng, 0.5) {
            contact.push(v.web.clone());
        }
        cols.push(contact);
        if doc.iban_place.footer()
            && let Some(iban) = doc.iban_text()
        {
            cols.push(vec![
                format!("{} {}", doc.label(doc.lb.bank), doc.bank),
                format!("IBAN{} {iban}", doc.colon),
                format!("BIC{} {}", doc.colon, doc.bic),
            ]);
        }
        let mut legal = Vec::new();
        if doc.vat_place.is_some_and(Place::footer)
            && let Some(t) = doc.vat_text()
        {
            legal.push(t);
        }
        if !doc.reg.is_empty() && chance(rng, 0.7) {
            legal.push(doc.reg.clone());
        }
        if chance(rng, 0.6) {
            legal.push(doc.director.clone());
        }
        if !legal.is_empty() {
            cols.push(legal);
        }
        let mut size: f64 = pick(rng, &[6.0, 6.5, 7.0, 7.5]);
        let avail = self.mr - self.ml;
        if self.footer_centered {
            for col in &cols {
                let line = col.join("  ·  ");
                let w1 = text_width(self.reg, 1.0, &line);
                size = size.min((avail - 4.0) / w1);
            }
        } else {
            let colw = avail / cols.len() as f64;
            for line in cols.iter().flatten() {
                let w1 = text_width(self.reg, 1.0, line);
                size = size.min((colw - 8.0) / w1);
            }
        }
        let size = size.max(4.5);
        let rows = if self.footer_centered {
            cols.len()
        } else {
            cols.iter().map(Vec::len).max().unwrap_or(0)
        };
        let fh = rows as f64 * size * 1.3;
        self.footer_top = self.h - 22.0 - f64::from(rng.u32(0..12)) - fh;
        self.bottom = self.footer_top
            - 14.0
            - if self.doc.page_numbers {
                self.lh * 1.6
            } else {
                0.0
            };
        self.footer_fs = size;
        self.footer = cols;
    }

    fn bold(&self) -> Font {
        self.reg.bold()
    }

    fn label_font(&self) -> Font {
        if self.doc.bold_labels {
            self.bold()
        } else {
            self.reg
        }
    }

    fn text(&mut self, x: f64, y: f64, size: f64, font: Font, s: &str) {
        if !s.is_empty() {
            self.c.push(Op::Text {
                x,
                y,
                size,
                font,
                text: translit(s).replace(GLUE, " "),
            });
        }
    }

    fn text_at(&mut self, align: Align, x: f64, y: f64, size: f64, font: Font, s: &str) {
        let w = text_width(font, size, s);
        let x = match align {
            Align::Left => x,
            Align::Right => x - w,
            Align::Center => x - w / 2.0,
        };
        self.text(x, y, size, font, s);
    }

    fn hline(&mut self, x1: f64, x2: f64, y: f64, width: f64) {
        self.c.push(Op::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
        });
    }

    fn vline(&mut self, x: f64, y1: f64, y2: f64) {
        self.c.push(Op::Line {
            x1: x,
            y1,
            x2: x,
            y2,
            width: 0.5,
        });
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: Option<f64>) {
        self.c.push(Op::Rect { x, y, w, h, fill });
    }

    /// Lines top-down from `y` (the top of the first line); returns the
    /// y below the last one.
    fn block(
        &mut self,
        align: Align,
        x: f64,
        y: f64,
        lines: &[String],
        size: f64,
        font: Font,
    ) -> f64 {
        let mut y = y;
        for l in lines {
            y += size * 1.3;
            self.text_at(align, x, y, size, font, l);
        }
        y + size * 0.3
    }

    fn new_page(&mut self) {
        self.c.add_page(self.w, self.h);
        self.y = self.top;
        if self.doc.layout == Layout::Receipt {
            return;
        }
        // Continuation header: who and which invoice.
        let s = self.fs - 1.0;
        let doc = self.doc;
        let left = doc.vendor.name.clone();
        let right = format!("{} {}", doc.label(doc.lb.inv_no), doc.number);
        self.text(self.ml, self.y + s, s, self.reg, &left);
        self.text_at(Align::Right, self.mr, self.y + s, s, self.reg, &right);
        self.y += s * 1.3 + 4.0;
        self.hline(self.ml, self.mr, self.y, 0.4);
        self.y += self.lh;
    }

    fn ensure(&mut self, need: f64) -> bool {
        if self.y + need <= self.bottom {
            false
        } else {
            self.new_page();
            true
        }
    }

    /// A wrapped paragraph at the cursor.
    fn para(&mut self, x: f64, maxw: f64, size: f64, font: Font, s: &str) {
        for l in wrap(font, size, s, maxw) {
            self.ensure(size * 1.3);
            self.y += size * 1.3;
            self.text(x, self.y, size, font, &l);
        }
        self.y += size * 0.4;
    }

    /// Draws footers and page numbers (now that the page count is known).
    fn finish(mut self) -> Canvas {
        let doc = self.doc;
        let n = self.c.pages.len();
        if doc.layout == Layout::Receipt {
            if let Some(last) = self.c.pages.last_mut() {
                last.h = (self.y + 26.0).clamp(600.0, 842.0);
            }
            return self.c;
        }
        let footer = std::mem::take(&mut self.footer);
        for i in 0..n {
            self.c.cur = i;
            let fs = self.footer_fs;
            let mut y = self.footer_top;
            if self.footer_rule {
                self.hline(self.ml, self.mr, y - 5.0, 0.4);
            }
            if self.footer_centered {
                let cx = (self.ml + self.mr) / 2.0;
                for col in &footer {
                    y += fs * 1.3;
                    self.text_at(Align::Center, cx, y, fs, self.reg, &col.join("  ·  "));
                }
            } else {
                let colw = (self.mr - self.ml) / footer.len().max(1) as f64;
                for (j, col) in footer.iter().enumerate() {
                    let x = self.ml + j as f64 * colw;
                    self.block(Align::Left, x, y, col, fs, self.reg);
                }
            }
            if doc.page_numbers {
                let t = translit(doc.lb.page)
                    .replace("{p}", &(i + 1).to_string())
                    .replace("{n}", &n.to_string());
                let y = self.bottom + self.lh * 1.2;
                let size = self.fs - 0.5;
                if self.page_no_center {
                    self.text_at(
                        Align::Center,
                        (self.ml + self.mr) / 2.0,
                        y,
                        size,
                        self.reg,
                        &t,
                    );
                } else {
                    self.text_at(Align::Right, self.mr, y, size, self.reg, &t);
                }
            }
        }
        self.c
    }
}

/// The largest size up to `max` at which `s` fits into `width`.
fn fit(font: Font, s: &str, max: f64, width: f64) -> f64 {
    let w1 = text_width(font, 1.0, s);
    if w1 <= 0.0 { max } else { max.min(width / w1) }
}

fn max_width(font: Font, size: f64, items: &[String]) -> f64 {
    items
        .iter()
        .map(|s| text_width(font, size, s))
        .fold(0.0, f64::max)
}

fn render(doc: &Doc, rng: &mut Rng) -> Canvas {
    let mut pen = Pen::new(doc, rng);
    match doc.layout {
        Layout::Receipt => receipt(&mut pen, rng),
        Layout::Letterhead => letterhead(&mut pen, rng),
        Layout::Boxes => boxes(&mut pen, rng),
        Layout::TableLeft => table_left(&mut pen, rng),
        Layout::Inline => inline(&mut pen, rng),
        Layout::GridRight => grid_right(&mut pen, rng),
        Layout::Sidebar => sidebar(&mut pen, rng),
    }
    pen.finish()
}

/// The small one-line sender address above a window envelope's address.
fn sender_line(pen: &mut Pen, rng: &mut Rng, y: f64) -> f64 {
    let doc = pen.doc;
    let v = &doc.vendor;
    let sep = pick(rng, &[" · ", " - ", ", ", " | "]);
    let s = format!("{}{sep}{}{sep}{}", v.name, v.street, v.city_line);
    let size = fit(pen.reg, &s, (pen.fs - 2.5).max(5.5), 250.0);
    pen.text(pen.ml, y + size, size, pen.reg, &s);
    let w = text_width(pen.reg, size, &s);
    pen.hline(pen.ml, pen.ml + w, y + size + 2.0, 0.3);
    y + size + 8.0
}

/// The recipient block, optionally under a "Bill to" label; returns its
/// bottom.
fn buyer_block(pen: &mut Pen, rng: &mut Rng, x: f64, y: f64) -> f64 {
    let doc = pen.doc;
    let mut y = y;
    if chance(rng, 0.5) {
        let l = doc.label(doc.lb.bill_to);
        let lf = pen.label_font();
        y = pen.block(Align::Left, x, y, &[l], pen.fs - 0.5, lf);
    }
    let lines = doc.buyer_lines(rng);
    let (first, rest) = lines.split_at(1.min(lines.len()));
    let f = if chance(rng, 0.6) {
        pen.bold()
    } else {
        pen.reg
    };
    y = pen.block(Align::Left, x, y, first, pen.fs, f);
    y = pen.block(Align::Left, x, y - pen.fs * 0.3, rest, pen.fs, pen.reg);
    if let Some(s) = &doc.ship_to {
        let l = doc.label(doc.lb.ship_to);
        let lf = pen.label_font();
        y = pen.block(Align::Left, x, y + 4.0, &[l], pen.fs - 0.5, lf);
        let lines = [s.name.clone(), s.street.clone(), s.city_line.clone()];
        y = pen.block(Align::Left, x, y, &lines, pen.fs - 0.5, pen.reg);
    }
    y
}

fn buyer_width(pen: &Pen) -> f64 {
    let b = &pen.doc.buyer;
    let lines = [
        b.name.clone(),
        b.street.clone(),
        b.city_line.clone(),
        format!("{} {}", pen.doc.lb.attn, b.person),
        format!(
            "{} {}",
            pen.doc.lb.vat_id,
            b.vat.as_ref().map(|v| v.0.as_str()).unwrap_or("")
        ),
    ];
    max_width(pen.bold(), pen.fs, &lines)
}

/// "Label: value" pairs in two columns at `x`; values left-aligned after
/// the widest label or right-aligned at `x + width`. Returns the bottom.
fn pairs_block(
    pen: &mut Pen,
    x: f64,
    y: f64,
    pairs: &[(String, String)],
    right_values: bool,
) -> f64 {
    let doc = pen.doc;
    let lf = pen.label_font();
    let labels: Vec<String> = pairs
        .iter()
        .map(|(l, _)| format!("{l}{}", doc.colon))
        .collect();
    let values: Vec<String> = pairs.iter().map(|(_, v)| v.clone()).collect();
    let lw = max_width(lf, pen.fs, &labels);
    let vw = max_width(pen.reg, pen.fs, &values);
    let mut y = y;
    for (l, v) in labels.iter().zip(&values) {
        y += pen.lh;
        pen.text(x, y, pen.fs, lf, l);
        if right_values {
            pen.text_at(Align::Right, x + lw + 12.0 + vw, y, pen.fs, pen.reg, v);
        } else {
            pen.text(x + lw + 10.0, y, pen.fs, pen.reg, v);
        }
    }
    y + pen.lh * 0.4
}

fn pairs_width(pen: &Pen, pairs: &[(String, String)]) -> f64 {
    let labels: Vec<String> = pairs
        .iter()
        .map(|(l, _)| format!("{l}{}", pen.doc.colon))
        .collect();
    let values: Vec<String> = pairs.iter().map(|(_, v)| v.clone()).collect();
    max_width(pen.label_font(), pen.fs, &labels) + 12.0 + max_width(pen.reg, pen.fs, &values)
}

/// The vendor's name (large) and address lines, aligned at `x`.
fn vendor_head(pen: &mut Pen, rng: &mut Rng, align: Align, x: f64, y: f64, maxw: f64) -> f64 {
    let doc = pen.doc;
    let bold = pen.bold();
    let size = fit(
        bold,
        &doc.vendor.name,
        pen.fs + 3.0 + f64::from(rng.u32(0..8)),
        maxw,
    );
    let mut y = pen.block(
        align,
        x,
        y,
        std::slice::from_ref(&doc.vendor.name),
        size,
        bold,
    );
    let lines = doc.vendor_lines(rng);
    let small = pen.fs - 0.5;
    let joined = lines.join(pick(rng, &["  ·  ", " | ", ", "]));
    if chance(rng, 0.35) && text_width(pen.reg, small, &joined) <= maxw {
        y = pen.block(align, x, y, &[joined], small, pen.reg);
    } else {
        y = pen.block(align, x, y, &lines, small, pen.reg);
    }
    y
}

fn title_size(rng: &mut Rng, pen: &Pen) -> f64 {
    pen.fs + 5.0 + f64::from(rng.u32(0..9))
}

/// (a) Letterhead top left, meta pairs in a right column.
fn letterhead(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr) = (pen.ml, pen.mr);
    let bold = pen.bold();
    let ts = title_size(rng, pen);
    let title_w = text_width(bold, ts, &doc.title);
    let name_w = text_width(bold, pen.fs + 10.0, &doc.vendor.name);
    let title_top_right = chance(rng, 0.6) && ml + name_w.min(300.0) + 30.0 < mr - title_w;
    let mut y = vendor_head(pen, rng, Align::Left, ml, pen.top, 300.0);
    if title_top_right {
        pen.text_at(Align::Right, mr, pen.top + ts, ts, bold, &doc.title);
    }
    y = y.max(pen.top + 90.0) + 8.0;
    if chance(rng, 0.5) {
        y = sender_line(pen, rng, y);
    }
    let pairs = doc.meta_pairs(rng);
    let mw = pairs_width(pen, &pairs);
    let bw = buyer_width(pen);
    let mx = (mr - mw - f64::from(rng.u32(0..40))).max(ml + bw + 24.0);
    let right_values = rng.bool();
    let y_end = if mx + mw <= mr {
        let yb = buyer_block(pen, rng, ml, y);
        let ym = pairs_block(pen, mx, y, &pairs, right_values);
        yb.max(ym)
    } else {
        let yb = buyer_block(pen, rng, ml, y);
        pairs_block(pen, ml, yb + 10.0, &pairs, right_values)
    };
    y = y_end + 16.0;
    if !title_top_right {
        let (align, x) = if rng.bool() {
            (Align::Left, ml)
        } else {
            (Align::Center, (ml + mr) / 2.0)
        };
        pen.text_at(align, x, y + ts, ts, bold, &doc.title);
        y += ts * 1.6;
    }
    pen.y = y;
    body(pen, rng, ml, mr);
}

/// (b) Meta as a row of boxes: labels on one line, values below.
fn boxes(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr, fs) = (pen.ml, pen.mr, pen.fs);
    let bold = pen.bold();
    let centered = rng.bool();
    let mut y = if centered {
        vendor_head(pen, rng, Align::Center, (ml + mr) / 2.0, pen.top, mr - ml)
    } else {
        vendor_head(pen, rng, Align::Left, ml, pen.top, (mr - ml) * 0.6)
    };
    if chance(rng, 0.5) {
        pen.hline(ml, mr, y + 4.0, 0.6);
    }
    y += 18.0;
    let ts = title_size(rng, pen);
    let title_w = text_width(bold, ts, &doc.title);
    let bw = buyer_width(pen);
    let title_right = ml + bw + 30.0 < mr - title_w && rng.bool();
    if title_right {
        pen.text_at(Align::Right, mr, y + ts, ts, bold, &doc.title);
    }
    y = buyer_block(pen, rng, ml, y) + 16.0;
    if !title_right {
        pen.text(ml, y + ts, ts, bold, &doc.title);
        y += ts * 1.5;
    }
    let pairs = doc.meta_pairs(rng);
    let lsize = fs - 1.5;
    let lf = pen.label_font();
    let mut k = rng.usize(3..=5).min(pairs.len()).max(1);
    while k > 2 {
        let bw = (mr - ml) / k as f64;
        let fits = pairs.iter().all(|(l, v)| {
            text_width(lf, lsize, l) <= bw - 8.0 && text_width(pen.reg, fs, v) <= bw - 8.0
        });
        if fits {
            break;
        }
        k -= 1;
    }
    let bw = (mr - ml) / k as f64;
    let boxed = chance(rng, 0.6);
    let banded = !boxed && rng.bool();
    let box_h = lsize + fs + 12.0;
    for row in pairs.chunks(k) {
        for (j, (l, v)) in row.iter().enumerate() {
            let x = ml + j as f64 * bw;
            if boxed {
                pen.rect(x, y, bw, box_h, None);
            } else if banded {
                pen.rect(x, y, bw - 2.0, lsize + 5.0, Some(0.9));
            }
            let vs = fit(pen.reg, v, fs, bw - 8.0);
            pen.text(x + 4.0, y + 3.0 + lsize, lsize, lf, l);
            pen.text(x + 4.0, y + 7.0 + lsize + fs, vs, pen.reg, v);
        }
        if !boxed && !banded {
            pen.hline(ml, mr, y, 0.4);
        }
        y += box_h + 4.0;
    }
    pen.y = y + 12.0;
    body(pen, rng, ml, mr);
}

/// (c) Vendor top right, recipient left, meta as a two-column table
/// under the address.
fn table_left(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr, fs) = (pen.ml, pen.mr, pen.fs);
    let bold = pen.bold();
    let mut yv = pen.top;
    if chance(rng, 0.4) {
        let l = doc.label(doc.lb.seller);
        let lf = pen.label_font();
        yv = pen.block(Align::Right, mr, yv, &[l], fs - 1.0, lf);
    }
    let yv = vendor_head(pen, rng, Align::Right, mr, yv, (mr - ml) * 0.45);
    let bw = buyer_width(pen);
    let vendor_w = (mr - ml) * 0.45;
    let yb0 = if ml + bw + 20.0 < mr - vendor_w {
        pen.top + 40.0
    } else {
        yv + 10.0
    };
    let yb = buyer_block(pen, rng, ml, yb0);
    let mut y = yb.max(yv) + 18.0;
    let ts = title_size(rng, pen) - 2.0;
    pen.text(ml, y + ts, ts, bold, &doc.title);
    y += ts * 1.5;
    let pairs = doc.meta_pairs(rng);
    let lf = pen.label_font();
    let labels: Vec<String> = pairs.iter().map(|(l, _)| doc.plain(l)).collect();
    let values: Vec<String> = pairs.iter().map(|(_, v)| v.clone()).collect();
    let c1 = max_width(lf, fs, &labels) + 14.0;
    let c2 = max_width(pen.reg, fs, &values) + 14.0;
    let rh = pen.lh + 5.0;
    let grid = chance(rng, 0.6);
    let zebra = !grid && rng.bool();
    let top = y;
    for (i, (l, v)) in labels.iter().zip(&values).enumerate() {
        if zebra && i.is_multiple_of(2) {
            pen.rect(ml, y, c1 + c2, rh, Some(0.92));
        }
        let base = y + rh / 2.0 + fs * 0.35;
        pen.text(ml + 5.0, base, fs, lf, l);
        pen.text(ml + c1 + 5.0, base, fs, pen.reg, v);
        y += rh;
        if grid {
            pen.hline(ml, ml + c1 + c2, y, 0.4);
        }
    }
    if grid {
        pen.rect(ml, top, c1 + c2, y - top, None);
        pen.vline(ml + c1, top, y);
    }
    pen.y = y + 20.0;
    body(pen, rng, ml, mr);
}

/// (d) "Invoice 123 dated ..." title line with the rest of the meta in
/// running text.
fn inline(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr, fs) = (pen.ml, pen.mr, pen.fs);
    let bold = pen.bold();
    let mut y = if rng.bool() {
        vendor_head(pen, rng, Align::Center, (ml + mr) / 2.0, pen.top, mr - ml)
    } else {
        vendor_head(pen, rng, Align::Left, ml, pen.top, (mr - ml) * 0.7)
    };
    if chance(rng, 0.6) {
        pen.hline(ml, mr, y + 3.0, 0.5);
    }
    y = y.max(pen.top + 80.0) + 14.0;
    if chance(rng, 0.5) {
        y = sender_line(pen, rng, y);
    }
    let y_buyer = y;
    y = buyer_block(pen, rng, ml, y) + 18.0;
    if chance(rng, 0.5) {
        let place = format!("{}, {}", doc.vendor.city, doc.fdate(doc.date));
        pen.text_at(Align::Right, mr, y_buyer + fs, fs, pen.reg, &place);
    }
    let t = translit(one(rng, doc.lang.inline))
        .replace("{title}", &doc.title)
        .replace("{no}", &doc.number)
        .replace("{date}", &doc.fdate(doc.date));
    let ts = fit(bold, &t, fs + 3.0 + f64::from(rng.u32(0..5)), mr - ml);
    pen.text(ml, y + ts, ts, bold, &t);
    y += ts * 1.6;
    // The rest of the meta as running text.
    let pairs = doc.meta_pairs(rng);
    let inv_no = doc.plain(doc.lb.inv_no);
    let inv_date = doc.plain(doc.lb.inv_date);
    let mut parts = Vec::new();
    let order_date_label = doc.plain(doc.lb.order_date);
    let po_with_date = doc.po.is_some() && doc.order_date.is_some() && rng.bool();
    for (l, v) in &pairs {
        if *l == inv_no || *l == inv_date || (po_with_date && *l == order_date_label) {
            continue;
        }
        if po_with_date && *l == doc.plain(doc.lb.po) {
            let od = doc.order_date.map(|d| doc.fdate(d)).unwrap_or_default();
            parts.push(glue(&format!("{l} {v} {} {od}", translit(doc.lb.of))));
        } else {
            parts.push(glue(&format!("{l}{} {v}", doc.colon)));
        }
    }
    if !parts.is_empty() {
        let sep = pick(rng, &["  ·  ", "   ", " | ", "; "]);
        pen.y = y;
        if chance(rng, 0.5) {
            for p in &parts {
                pen.para(ml, mr - ml, fs, pen.reg, p);
            }
        } else {
            pen.para(ml, mr - ml, fs, pen.reg, &parts.join(sep));
        }
        y = pen.y + 10.0;
    }
    pen.y = y;
    body(pen, rng, ml, mr);
}

/// (f) Vendor block on the right, recipient on the left, meta below in a
/// grid of label-above-value cells.
fn grid_right(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr, fs) = (pen.ml, pen.mr, pen.fs);
    let bold = pen.bold();
    let mut yv = pen.top;
    if chance(rng, 0.4) {
        let l = doc.label(doc.lb.seller);
        let lf = pen.label_font();
        yv = pen.block(Align::Right, mr, yv, &[l], fs - 1.0, lf);
    }
    let yv = vendor_head(pen, rng, Align::Right, mr, yv, (mr - ml) * 0.45);
    let ts = title_size(rng, pen);
    let mut y = pen.top;
    let title_first = rng.bool();
    if title_first {
        pen.text(ml, y + ts, ts, bold, &doc.title);
        y += ts * 1.6;
    }
    let bw = buyer_width(pen);
    if ml + bw + 20.0 > mr - (mr - ml) * 0.45 {
        y = y.max(yv + 8.0);
    } else {
        y = y.max(pen.top + 44.0);
    }
    let yb = buyer_block(pen, rng, ml, y);
    y = yb.max(yv) + 18.0;
    if !title_first {
        pen.text(ml, y + ts, ts, bold, &doc.title);
        y += ts * 1.6;
    }
    let pairs = doc.meta_pairs(rng);
    let lsize = fs - 1.0;
    let lf = pen.label_font();
    let mut k = pick(rng, &[3usize, 4]).min(pairs.len()).max(1);
    while k > 2 {
        let cw = (mr - ml) / k as f64;
        if pairs.iter().all(|(l, v)| {
            text_width(lf, lsize, l) <= cw - 6.0 && text_width(pen.reg, fs, v) <= cw - 6.0
        }) {
            break;
        }
        k -= 1;
    }
    let cw = (mr - ml) / k as f64;
    let band = chance(rng, 0.4);
    let ch = lsize + fs + 14.0;
    for row in pairs.chunks(k) {
        if band {
            pen.rect(ml, y, mr - ml, lsize + 5.0, Some(0.9));
        }
        for (j, (l, v)) in row.iter().enumerate() {
            let x = ml + j as f64 * cw;
            pen.text(x + 2.0, y + lsize + 2.0, lsize, lf, l);
            let vs = fit(pen.reg, v, fs, cw - 6.0);
            pen.text(x + 2.0, y + lsize + fs + 7.0, vs, pen.reg, v);
        }
        y += ch;
    }
    pen.y = y + 10.0;
    body(pen, rng, ml, mr);
}

/// (g) Vendor details, meta and bank details in a left sidebar; title,
/// recipient and the table to its right.
fn sidebar(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr, fs) = (pen.ml, pen.mr, pen.fs);
    let bold = pen.bold();
    let sw = 120.0 + f64::from(rng.u32(0..30));
    let mx = ml + sw + 18.0;
    if chance(rng, 0.4) {
        pen.rect(
            ml - 8.0,
            pen.top - 8.0,
            sw + 12.0,
            pen.bottom - pen.top,
            Some(0.94),
        );
    } else if rng.bool() {
        pen.vline(ml + sw + 8.0, pen.top, pen.bottom);
    }
    // Sidebar: vendor, meta, bank.
    let ns = fit(bold, &doc.vendor.name, fs + 2.0, sw).max(fs - 0.5);
    let name_lines = wrap(bold, ns, &doc.vendor.name, sw);
    let mut y = pen.block(Align::Left, ml, pen.top, &name_lines, ns, bold);
    let small = fs - 0.5;
    let mut lines = Vec::new();
    for l in doc.vendor_lines(rng) {
        lines.extend(wrap(pen.reg, small, &l, sw));
    }
    y = pen.block(Align::Left, ml, y, &lines, small, pen.reg) + 12.0;
    let lsize = fs - 1.5;
    let lf = pen.label_font();
    for (l, v) in doc.meta_pairs(rng) {
        y = pen.block(Align::Left, ml, y, &[l], lsize, lf);
        let vs = fit(pen.reg, &v, fs, sw);
        y = pen.block(Align::Left, ml, y - 1.0, &[v], vs, pen.reg) + 3.0;
    }
    if doc.iban_place.header()
        && let Some(iban) = doc.iban_text()
    {
        y += 8.0;
        y = pen.block(Align::Left, ml, y, &[doc.plain(doc.lb.bank)], lsize, lf);
        let bank_lines = wrap(pen.reg, small, &doc.bank, sw);
        y = pen.block(Align::Left, ml, y, &bank_lines, small, pen.reg);
        y = pen.block(Align::Left, ml, y, &["IBAN".to_string()], lsize, lf);
        let is = fit(pen.reg, &iban, small, sw);
        y = pen.block(Align::Left, ml, y, &[iban], is, pen.reg);
        y = pen.block(Align::Left, ml, y, &["BIC".to_string()], lsize, lf);
        pen.block(
            Align::Left,
            ml,
            y,
            std::slice::from_ref(&doc.bic),
            small,
            pen.reg,
        );
        pen.bank_done = true;
    }
    // Main column.
    let ts = title_size(rng, pen);
    let ts = fit(bold, &doc.title, ts, mr - mx);
    pen.text(mx, pen.top + ts, ts, bold, &doc.title);
    let yb = buyer_block(pen, rng, mx, pen.top + ts * 1.6 + 20.0);
    pen.y = yb + 24.0;
    body(pen, rng, mx, mr);
}

/// Everything below the header: intro, line items, totals, payment.
fn body(pen: &mut Pen, rng: &mut Rng, x0: f64, x1: f64) {
    let doc = pen.doc;
    if let Some(t) = &doc.intro {
        pen.para(x0, x1 - x0, pen.fs, pen.reg, t);
        pen.y += pen.lh * 0.4;
    }
    if let Some(p) = &doc.period {
        pen.para(x0, x1 - x0, pen.fs, pen.reg, p);
        pen.y += pen.lh * 0.4;
    }
    items_table(pen, rng, x0, x1);
    if doc.rates.len() > 1 && chance(rng, 0.3) {
        vat_summary(pen, rng, x0, x1);
    }
    totals(pen, rng, x0, x1);
    payment(pen, rng, x0, x1);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Pos,
    Sku,
    Desc,
    Qty,
    Unit,
    Price,
    Vat,
    Amount,
}

impl Col {
    fn numeric(self) -> bool {
        matches!(self, Col::Qty | Col::Price | Col::Vat | Col::Amount)
    }
}

/// The table's columns and how its rows look.
struct TableSpec {
    cols: Vec<Col>,
    x: Vec<f64>,
    w: Vec<f64>,
    headers: Vec<String>,
    hfont: Font,
    header_fill: bool,
    header_rules: bool,
    row_rules: bool,
    zebra: bool,
    grid: bool,
    merge_unit: bool,
    pos_style: u32,
    vat_space: bool,
}

impl TableSpec {
    fn cell(&self, doc: &Doc, col: Col, i: usize) -> String {
        let Some(l) = doc.lines.get(i) else {
            return String::new();
        };
        match col {
            Col::Pos => match self.pos_style {
                0 => (i + 1).to_string(),
                1 => ((i + 1) * 10).to_string(),
                _ => format!("{:03}", i + 1),
            },
            Col::Sku => l.sku.clone(),
            Col::Desc => l.description.clone(),
            Col::Qty if self.merge_unit && !l.unit.is_empty() => {
                format!("{} {}", doc.qty(l.qty), l.unit)
            }
            Col::Qty => doc.qty(l.qty),
            Col::Unit => l.unit.clone(),
            Col::Price => doc.money(l.price, doc.cur_in_lines),
            Col::Vat => {
                let r = doc.rate(doc.rates.get(l.rate).copied().unwrap_or_default());
                if self.vat_space {
                    format!("{r} %")
                } else {
                    format!("{r}%")
                }
            }
            Col::Amount => doc.money(l.amount, doc.cur_in_lines),
        }
    }
}

fn header_text(doc: &Doc, rng: &mut Rng, col: Col) -> String {
    let lb = &doc.lb;
    let h = doc.plain(match col {
        Col::Pos => lb.col_pos,
        Col::Sku => lb.col_sku,
        Col::Desc => lb.col_desc,
        Col::Qty => lb.col_qty,
        Col::Unit => lb.col_unit,
        Col::Price => lb.col_price,
        Col::Vat => lb.col_vat,
        Col::Amount => lb.col_amount,
    });
    let with_cur = doc.cur_pos == CurPos::HeaderOnly
        && (col == Col::Amount || (col == Col::Price && rng.bool()));
    if with_cur {
        let c = match doc.symbol() {
            Some(s) if rng.bool() => s,
            _ => doc.country.currency,
        };
        if rng.bool() {
            format!("{h} ({c})")
        } else {
            format!("{h} {c}")
        }
    } else {
        h
    }
}

fn draw_table_header(pen: &mut Pen, t: &TableSpec, x0: f64, x1: f64) {
    let fs = pen.fs;
    let hh = fs + 9.0;
    pen.ensure(hh + pen.lh * 3.0);
    let y = pen.y;
    if t.header_fill {
        pen.rect(x0, y, x1 - x0, hh, Some(0.86));
    }
    if t.header_rules {
        pen.hline(x0, x1, y, 0.7);
        pen.hline(x0, x1, y + hh, 0.7);
    }
    let base = y + hh / 2.0 + fs * 0.35;
    for (j, col) in t.cols.iter().enumerate() {
        let h = &t.headers[j];
        if col.numeric() {
            pen.text_at(Align::Right, t.x[j] + t.w[j] - 3.0, base, fs, t.hfont, h);
        } else {
            pen.text(t.x[j] + 3.0, base, fs, t.hfont, h);
        }
    }
    pen.y = y + hh + 2.0;
}

/// A "carried forward" / "brought forward" row with the running subtotal.
fn carry_row(pen: &mut Pen, label: &str, amount: Decimal, x0: f64, x1: f64) {
    let doc = pen.doc;
    let fs = pen.fs;
    pen.y += pen.lh;
    let lf = pen.label_font();
    pen.text(x0 + 3.0, pen.y, fs, lf, &doc.label(label));
    pen.text_at(
        Align::Right,
        x1 - 3.0,
        pen.y,
        fs,
        pen.reg,
        &doc.money(amount, false),
    );
    pen.y += pen.lh * 0.5;
}

fn items_table(pen: &mut Pen, rng: &mut Rng, x0: f64, x1: f64) {
    let doc = pen.doc;
    let fs = pen.fs;
    let lh = pen.lh;
    let mut cols = Vec::new();
    if chance(rng, 0.55) {
        cols.push(Col::Pos);
    }
    if chance(rng, 0.3) {
        cols.push(Col::Sku);
    }
    let qty_first = chance(rng, 0.2);
    if qty_first {
        cols.push(Col::Qty);
    }
    cols.push(Col::Desc);
    if !qty_first {
        cols.push(Col::Qty);
    }
    if chance(rng, 0.35) {
        cols.push(Col::Unit);
    }
    cols.push(Col::Price);
    if (doc.rates.len() > 1 && chance(rng, 0.7)) || chance(rng, 0.2) {
        cols.push(Col::Vat);
    }
    cols.push(Col::Amount);
    let mut t = TableSpec {
        cols,
        x: Vec::new(),
        w: Vec::new(),
        headers: Vec::new(),
        hfont: if chance(rng, 0.75) {
            pen.bold()
        } else {
            pen.reg
        },
        header_fill: chance(rng, 0.35),
        header_rules: chance(rng, 0.7),
        row_rules: chance(rng, 0.3),
        zebra: chance(rng, 0.12),
        grid: chance(rng, 0.15),
        merge_unit: false,
        pos_style: rng.u32(0..3),
        vat_space: rng.bool(),
    };
    t.merge_unit = !t.cols.contains(&Col::Unit) && chance(rng, 0.3);
    let pad = 10.0 + f64::from(rng.u32(0..7));
    // Size the columns; drop optional ones while the description is narrow.
    let widths = loop {
        t.headers = t.cols.iter().map(|c| header_text(doc, rng, *c)).collect();
        let mut widths = Vec::new();
        for (j, col) in t.cols.iter().enumerate() {
            if *col == Col::Desc {
                widths.push(0.0);
                continue;
            }
            let cells: Vec<String> = (0..doc.lines.len()).map(|i| t.cell(doc, *col, i)).collect();
            let w = max_width(pen.reg, fs, &cells).max(text_width(t.hfont, fs, &t.headers[j]));
            widths.push(w + pad);
        }
        let used: f64 = widths.iter().sum();
        let desc_w = x1 - x0 - used;
        let optional = [Col::Sku, Col::Unit, Col::Vat, Col::Pos]
            .into_iter()
            .find(|c| t.cols.contains(c));
        match optional {
            Some(c) if desc_w < 140.0 => t.cols.retain(|x| *x != c),
            _ => {
                for (j, col) in t.cols.iter().enumerate() {
                    if *col == Col::Desc {
                        widths[j] = desc_w.max(40.0);
                    }
                }
                break widths;
            }
        }
    };
    let mut x = x0;
    for w in &widths {
        t.x.push(x);
        x += w;
    }
    t.w = widths;
    let desc_j = t.cols.iter().position(|c| *c == Col::Desc).unwrap_or(0);
    let desc_w = t.w.get(desc_j).copied().unwrap_or(100.0);
    let carried = chance(rng, 0.5);
    let carried_label = one(rng, doc.lang.carried);
    let brought_label = one(rng, doc.lang.brought);
    let detail_fs = fs - 1.5;
    let row_pad = 3.0 + f64::from(rng.u32(0..4));

    draw_table_header(pen, &t, x0, x1);
    let mut running = Decimal::ZERO;
    for (i, line) in doc.lines.iter().enumerate() {
        let desc_lines = wrap(pen.reg, fs, &line.description, desc_w - 6.0);
        let detail_h = if line.detail.is_some() {
            detail_fs * 1.3
        } else {
            0.0
        };
        let row_h = desc_lines.len() as f64 * lh + detail_h + row_pad;
        let reserve = if carried { lh * 1.8 } else { 0.0 };
        if pen.y + row_h + reserve > pen.bottom {
            if carried && i > 0 {
                carry_row(pen, carried_label, running, x0, x1);
            }
            pen.new_page();
            draw_table_header(pen, &t, x0, x1);
            if carried && i > 0 {
                carry_row(pen, brought_label, running, x0, x1);
                pen.y += 2.0;
            }
        }
        let top = pen.y;
        if t.zebra && i % 2 == 1 {
            pen.rect(x0, top, x1 - x0, row_h, Some(0.94));
        }
        let base = top + row_pad / 2.0 + fs * 0.9;
        for (j, col) in t.cols.iter().enumerate() {
            if *col == Col::Desc {
                for (k, dl) in desc_lines.iter().enumerate() {
                    pen.text(t.x[j] + 3.0, base + k as f64 * lh, fs, pen.reg, dl);
                }
                if let Some(d) = &line.detail {
                    let y = base + desc_lines.len() as f64 * lh - lh + detail_fs * 1.3;
                    let ds = fit(pen.reg, d, detail_fs, desc_w - 6.0);
                    pen.text(t.x[j] + 3.0, y, ds, pen.reg, d);
                }
            } else {
                let s = t.cell(doc, *col, i);
                if col.numeric() {
                    pen.text_at(Align::Right, t.x[j] + t.w[j] - 3.0, base, fs, pen.reg, &s);
                } else {
                    pen.text(t.x[j] + 3.0, base, fs, pen.reg, &s);
                }
            }
        }
        if t.grid {
            for xj in t.x.iter().skip(1) {
                pen.vline(*xj, top, top + row_h);
            }
        }
        pen.y = top + row_h;
        if t.row_rules || t.grid {
            pen.hline(x0, x1, pen.y, 0.3);
        }
        running += line.amount;
    }
    if !t.row_rules {
        pen.hline(x0, x1, pen.y + 2.0, 0.6);
    }
    pen.y += lh * 0.8;
}

/// Per-rate breakdown (rate, net, tax, gross): more amounts that are not
/// the totals.
fn vat_summary(pen: &mut Pen, rng: &mut Rng, x0: f64, x1: f64) {
    let doc = pen.doc;
    let size = pen.fs - 0.5;
    let heads = [
        doc.plain(doc.lb.col_vat),
        doc.plain(doc.lb.net),
        doc.plain(one(rng, doc.lang.tax_plain)),
        doc.plain(doc.lb.total),
    ];
    let cw = heads
        .iter()
        .map(|h| text_width(pen.bold(), size, h))
        .fold(60.0, f64::max)
        + 14.0;
    let rows = doc.rates.len() as f64 + 1.0;
    pen.ensure(rows * size * 1.4 + 10.0);
    let xs = x0.max(x1 - 4.0 * cw - 10.0);
    let mut y = pen.y + size * 1.3;
    let hf = pen.bold();
    for (j, h) in heads.iter().enumerate() {
        pen.text_at(Align::Right, xs + (j as f64 + 1.0) * cw, y, size, hf, h);
    }
    pen.hline(xs, xs + 4.0 * cw, y + 3.0, 0.4);
    for (i, r) in doc.rates.iter().enumerate() {
        y += size * 1.4;
        let net = doc.net_by_rate[i];
        let tax = doc.tax_by_rate[i];
        let cells = [
            format!("{}%", doc.rate(*r)),
            doc.money(net, false),
            doc.money(tax, false),
            doc.money(net + tax, false),
        ];
        for (j, c) in cells.iter().enumerate() {
            pen.text_at(
                Align::Right,
                xs + (j as f64 + 1.0) * cw,
                y,
                size,
                pen.reg,
                c,
            );
        }
    }
    pen.y = y + size;
}

/// A prepayment of a fifth to three fifths of `total`: a round sum, or an
/// exact share (a deposit invoiced before).
fn prepayment(rng: &mut Rng, total: Decimal) -> Decimal {
    let share = Decimal::new(i64::from(rng.u32(20..=60)), 2);
    let exact = round2(total * share);
    if chance(rng, 0.5) {
        let step = if total > Decimal::from(2000) {
            Decimal::from(500)
        } else {
            Decimal::from(50)
        };
        ((exact / step).floor() * step).max(step).min(exact)
    } else {
        exact
    }
}

/// Net, tax per rate and total: labels left with values at the right
/// margin, labels right-aligned against the values, or label and value
/// side by side.
fn totals(pen: &mut Pen, rng: &mut Rng, x0: f64, x1: f64) {
    let doc = pen.doc;
    let fs = pen.fs;
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    let cur_all = doc.cur_on_all_totals;
    if doc.print_net {
        rows.push((doc.label(doc.lb.net), doc.money(doc.net, cur_all), false));
    }
    if doc.print_tax {
        for (i, tax) in doc.tax_by_rate.iter().enumerate() {
            rows.push((doc.tax_label(i), doc.money(*tax, cur_all), false));
        }
        if doc.rates.len() > 1 && chance(rng, 0.4) {
            let l = doc.label(one(rng, doc.lang.tax_plain));
            rows.push((l, doc.money(doc.tax, cur_all), false));
        }
    }
    match doc.prepaid {
        None => rows.push((doc.total_label(), doc.money(doc.total, true), true)),
        Some(paid) => {
            rows.push((
                doc.label(one(rng, doc.lang.gross)),
                doc.money(doc.total, true),
                false,
            ));
            let deducted = if chance(rng, 0.5) { -paid } else { paid };
            rows.push((
                doc.label(one(rng, doc.lang.prepaid)),
                doc.money(deducted, cur_all),
                false,
            ));
            rows.push((
                doc.label(one(rng, doc.lang.payable)),
                doc.money(doc.total - paid, true),
                true,
            ));
        }
    }
    let bold = pen.bold();
    let reg = pen.reg;
    let total_size = fs + f64::from(rng.u32(0..3)) * 0.5;
    let size_of = |b: bool| if b { total_size } else { fs };
    let font_of = |b: bool| if b { bold } else { reg };
    let lw = rows
        .iter()
        .map(|(l, _, b)| text_width(font_of(*b), size_of(*b), l))
        .fold(0.0, f64::max);
    let vw = rows
        .iter()
        .map(|(_, v, b)| text_width(font_of(*b), size_of(*b), v))
        .fold(0.0, f64::max);
    let step = pen.lh * 1.25;
    pen.ensure(rows.len() as f64 * step + 16.0);
    let style = rng.u32(0..3);
    let block_w = (lw + vw + 30.0).max(170.0 + f64::from(rng.u32(0..70)));
    let lx = (x1 - block_w).max(x0);
    let rule = chance(rng, 0.7);
    let boxed = chance(rng, 0.2);
    let mut y = pen.y + 4.0;
    for (l, v, is_total) in &rows {
        let (s, f) = (size_of(*is_total), font_of(*is_total));
        y += step;
        if *is_total {
            if rule {
                pen.hline(lx, x1, y - s - 2.0, 0.6);
            }
            if boxed {
                pen.rect(lx - 3.0, y - s - 3.0, x1 - lx + 3.0, s + 7.0, Some(0.9));
            }
        }
        match style {
            0 => {
                pen.text(lx, y, s, f, l);
                pen.text_at(Align::Right, x1 - 3.0, y, s, f, v);
            }
            1 => {
                pen.text_at(Align::Right, x1 - vw - 16.0, y, s, f, l);
                pen.text_at(Align::Right, x1 - 3.0, y, s, f, v);
            }
            _ => {
                let x = (x1 - lw - vw - 16.0).max(x0);
                pen.text(x, y, s, f, l);
                pen.text(x + lw + 10.0, y, s, f, v);
            }
        }
    }
    pen.y = y + pen.lh * 1.2;
}

/// Payment terms, bank details and closing sentences.
fn payment(pen: &mut Pen, rng: &mut Rng, x0: f64, x1: f64) {
    let doc = pen.doc;
    let fs = pen.fs;
    let w = x1 - x0;
    let mut paras: Vec<String> = Vec::new();
    if let Some(t) = &doc.terms_sentence {
        paras.push(t.clone());
    }
    if doc.due_sentence
        && let Some(d) = doc.due
    {
        let s = translit(one(rng, doc.lang.pay_by)).replace("{date}", &glue(&doc.fdate(d)));
        if rng.bool() {
            paras.insert(0, s);
        } else {
            paras.push(s);
        }
    }
    if let Some(s) = &doc.skonto {
        paras.push(s.clone());
    }
    if let Some(s) = &doc.reverse_charge {
        paras.push(s.clone());
    }
    for p in &paras {
        pen.para(x0, w, fs, pen.reg, p);
    }
    if !pen.bank_done
        && doc.iban_place.header()
        && let Some(iban) = doc.iban_text()
    {
        pen.y += pen.lh * 0.5;
        let c = doc.colon;
        let one = format!(
            "{} {}  ·  IBAN{c} {iban}  ·  BIC{c} {}",
            doc.label(doc.lb.bank),
            doc.bank,
            doc.bic
        );
        if chance(rng, 0.4) && text_width(pen.reg, fs, &one) <= w {
            pen.ensure(pen.lh);
            pen.y += pen.lh;
            pen.text(x0, pen.y, fs, pen.reg, &one);
        } else {
            let lf = pen.label_font();
            let rows = [
                (doc.label(doc.lb.bank), doc.bank.clone()),
                (format!("IBAN{c}"), iban),
                (format!("BIC{c}"), doc.bic.clone()),
            ];
            let lw = rows
                .iter()
                .map(|(l, _)| text_width(lf, fs, l))
                .fold(0.0, f64::max);
            pen.ensure(pen.lh * 3.0);
            for (l, v) in &rows {
                pen.y += pen.lh;
                pen.text(x0, pen.y, fs, lf, l);
                pen.text(x0 + lw + 8.0, pen.y, fs, pen.reg, v);
            }
        }
        pen.y += pen.lh * 0.4;
        pen.bank_done = true;
    }
    let mut tail = Vec::new();
    if let Some(s) = &doc.other_bank {
        tail.push(s.clone());
    }
    if let Some(s) = &doc.debit {
        tail.push(s.clone());
    }
    if let Some(s) = &doc.all_in {
        tail.push(s.clone());
    }
    if let Some(s) = &doc.thanks {
        tail.push(s.clone());
    }
    for p in &tail {
        pen.para(x0, w, fs, pen.reg, p);
    }
}

/// (e) A till receipt: narrow page, centred shop header, gross prices.
fn receipt(pen: &mut Pen, rng: &mut Rng) {
    let doc = pen.doc;
    let (ml, mr, fs) = (pen.ml, pen.mr, pen.fs);
    let cx = (ml + mr) / 2.0;
    let w = mr - ml;
    let reg = pen.reg;
    let bold = pen.bold();
    let v = &doc.vendor;
    let ns = fit(bold, &v.name, fs + 2.0, w).max(fs - 0.5);
    let name_lines = wrap(bold, ns, &v.name, w);
    let mut y = pen.block(Align::Center, cx, pen.y, &name_lines, ns, bold);
    let mut head = vec![v.street.clone(), v.city_line.clone()];
    if chance(rng, 0.6) {
        head.push(format!("{} {}", doc.label(doc.lb.phone), v.phone));
    }
    if doc.vat_place.is_some()
        && let Some(t) = doc.vat_text()
    {
        head.push(t);
    }
    let head: Vec<String> = head.iter().flat_map(|l| wrap(reg, fs, l, w)).collect();
    y = pen.block(Align::Center, cx, y, &head, fs, reg) + 4.0;
    if chance(rng, 0.6) {
        let title = translit(one(rng, doc.lang.receipt_title));
        y = pen.block(Align::Center, cx, y, &[title], fs + 1.0, bold) + 2.0;
    }
    let no_label = doc.label(one(rng, doc.lang.receipt_no));
    let date = doc.fdate(doc.date);
    let time = format!("{:02}:{:02}", rng.u32(7..21), rng.u32(0..60));
    y += fs * 1.3;
    if rng.bool() {
        pen.text(ml, y, fs, reg, &format!("{no_label} {}", doc.number));
        pen.text_at(Align::Right, mr, y, fs, reg, &format!("{date} {time}"));
    } else {
        pen.text(
            ml,
            y,
            fs,
            reg,
            &format!("{} {date}  {time}", doc.label(doc.lb.inv_date)),
        );
        y += fs * 1.3;
        pen.text(ml, y, fs, reg, &format!("{no_label} {}", doc.number));
    }
    if chance(rng, 0.5) {
        y += fs * 1.3;
        let word = match doc.lang.code {
            "de" => "Kasse",
            "fr" => "Caisse",
            "nl" => "Kassa",
            "es" => "Caja",
            "it" => "Cassa",
            "pl" => "Kasa",
            _ => "Till",
        };
        let till = format!("{word} {}  #{}", rng.u32(1..9), rng.u32(10..99));
        pen.text(ml, y, fs - 0.5, reg, &till);
    }
    let dashes = |pen: &mut Pen, y: f64| {
        if pen.reg == Font::Mono {
            let n = (w / (0.6 * fs)) as usize;
            pen.text(ml, y, fs, Font::Mono, &"-".repeat(n));
        } else {
            pen.hline(ml, mr, y - fs * 0.3, 0.5);
        }
    };
    y += fs * 1.3;
    dashes(pen, y);
    let codes = ["A", "B"];
    let show_codes = doc.rates.len() > 1 || chance(rng, 0.4);
    let code_w = if show_codes {
        text_width(reg, fs, " A")
    } else {
        0.0
    };
    let always_qty = chance(rng, 0.3);
    for line in &doc.lines {
        if y + 3.0 * fs > 842.0 - 40.0 {
            pen.y = y;
            pen.new_page();
            y = pen.y;
        }
        let amount = doc.money(line.amount, false);
        let amount_w = text_width(reg, fs, &amount) + code_w;
        y += fs * 1.3;
        let desc = wrap(reg, fs, &line.description, w - amount_w - 8.0);
        for (k, d) in desc.iter().enumerate() {
            if k > 0 {
                y += fs * 1.3;
            }
            pen.text(ml, y, fs, reg, d);
        }
        let qty_line = line.qty != Decimal::ONE || always_qty;
        let amount_y = if qty_line && rng.bool() {
            y += fs * 1.3;
            let q = format!("{} x {}", doc.qty(line.qty), doc.money(line.price, false));
            pen.text(ml + 12.0, y, fs, reg, &q);
            y
        } else if qty_line {
            let q = format!("{} x {}", doc.qty(line.qty), doc.money(line.price, false));
            y += fs * 1.3;
            pen.text(ml + 12.0, y, fs, reg, &q);
            y - fs * 1.3
        } else {
            y
        };
        pen.text_at(Align::Right, mr - code_w, amount_y, fs, reg, &amount);
        if show_codes {
            pen.text_at(Align::Right, mr, amount_y, fs, reg, codes[line.rate.min(1)]);
        }
    }
    y += fs * 1.3;
    dashes(pen, y);
    // Total.
    let ts = fs + 1.5;
    y += ts * 1.4;
    let mut total_label = doc.plain(doc.lb.total).to_uppercase();
    if doc.cur_pos == CurPos::HeaderOnly || doc.total_label_cur {
        // Without it the receipt would name no currency at all.
        total_label = format!("{total_label} {}", doc.country.currency);
    }
    pen.text(ml, y, ts, bold, &total_label);
    pen.text_at(Align::Right, mr, y, ts, bold, &doc.money(doc.total, true));
    // Payment: cash with change, or card.
    y += fs * 0.5;
    if rng.bool() && doc.total > Decimal::ZERO {
        let step = Decimal::from(pick(rng, &[5i64, 10, 20, 50]));
        let given = ((doc.total / step).ceil() * step).max(doc.total);
        let change = given - doc.total;
        y += fs * 1.3;
        pen.text(ml, y, fs, reg, &translit(one(rng, doc.lang.cash)));
        pen.text_at(Align::Right, mr, y, fs, reg, &doc.money(given, false));
        y += fs * 1.3;
        pen.text(ml, y, fs, reg, &translit(one(rng, doc.lang.change)));
        pen.text_at(Align::Right, mr, y, fs, reg, &doc.money(change, false));
    } else {
        y += fs * 1.3;
        pen.text(ml, y, fs, reg, &translit(one(rng, doc.lang.card)));
        pen.text_at(Align::Right, mr, y, fs, reg, &doc.money(doc.total, false));
    }
    // Tax.
    y += fs * 0.6;
    match doc.receipt_tax {
        ReceiptTax::None => {}
        ReceiptTax::Included => {
            let tpl = one(rng, doc.lang.incl_tax);
            for (i, r) in doc.rates.iter().enumerate() {
                y += fs * 1.3;
                let l = translit(&tpl.replace("{r}", &doc.rate(*r)));
                let l = if show_codes {
                    format!("{} {l}", codes[i.min(1)])
                } else {
                    l
                };
                pen.text(ml, y, fs, reg, &l);
                pen.text_at(
                    Align::Right,
                    mr,
                    y,
                    fs,
                    reg,
                    &doc.money(doc.tax_by_rate[i], false),
                );
            }
            if doc.rates.len() > 1 {
                y += fs * 1.3;
                pen.text(ml, y, fs, reg, &doc.label(one(rng, doc.lang.tax_plain)));
                pen.text_at(Align::Right, mr, y, fs, reg, &doc.money(doc.tax, false));
            }
        }
        ReceiptTax::Table => {
            for (i, r) in doc.rates.iter().enumerate() {
                let rate = format!("{}%", doc.rate(*r));
                y += fs * 1.3;
                pen.text(ml, y, fs, reg, &format!("{} {rate}", doc.plain(doc.lb.net)));
                pen.text_at(
                    Align::Right,
                    mr,
                    y,
                    fs,
                    reg,
                    &doc.money(doc.net_by_rate[i], false),
                );
                y += fs * 1.3;
                pen.text(ml, y, fs, reg, &doc.tax_label(i));
                pen.text_at(
                    Align::Right,
                    mr,
                    y,
                    fs,
                    reg,
                    &doc.money(doc.tax_by_rate[i], false),
                );
            }
            if doc.rates.len() > 1 {
                y += fs * 1.3;
                pen.text(ml, y, fs, bold, &doc.label(doc.lb.net));
                pen.text_at(Align::Right, mr, y, fs, bold, &doc.money(doc.net, false));
                y += fs * 1.3;
                pen.text(ml, y, fs, bold, &doc.label(one(rng, doc.lang.tax_plain)));
                pen.text_at(Align::Right, mr, y, fs, bold, &doc.money(doc.tax, false));
            }
        }
    }
    if let Some(t) = &doc.thanks {
        y += fs * 1.2;
        let lines = wrap(reg, fs, t, w);
        y = pen.block(Align::Center, cx, y, &lines, fs, reg);
    }
    pen.y = y;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    }

    fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).rposition(|w| w == needle)
    }

    fn parse_num(bytes: &[u8], at: usize) -> usize {
        bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0, |a, b| a * 10 + usize::from(b - b'0'))
    }

    /// Every xref entry points at "N 0 obj", and startxref at the table.
    fn check_xref(pdf: &[u8]) {
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let sx = rfind(pdf, b"startxref\n").expect("startxref");
        let xref = parse_num(pdf, sx + 10);
        assert!(
            pdf[xref..].starts_with(b"xref\n0 "),
            "startxref points at the table"
        );
        let count = parse_num(pdf, xref + 7);
        let first = find(pdf, b"\n", xref + 7).expect("xref header") + 1;
        assert_eq!(&pdf[first..first + 20], b"0000000000 65535 f \n");
        for i in 1..count {
            let e = first + 20 * i;
            let entry = &pdf[e..e + 20];
            assert_eq!(&entry[10..], b" 00000 n \n", "entry {i} is 20 bytes");
            let off = parse_num(entry, 0);
            let want = format!("{i} 0 obj\n");
            assert!(
                pdf[off..].starts_with(want.as_bytes()),
                "object {i} at {off}"
            );
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        for seed in [0, 1, 7, 42, 9_999, u64::MAX] {
            let a = generate(seed);
            let b = generate(seed);
            assert_eq!(a.pdf, b.pdf, "seed {seed}");
            assert_eq!(a.truth.invoice_number, b.truth.invoice_number);
        }
        assert_ne!(generate(1).pdf, generate(2).pdf);
    }

    #[test]
    fn pdfs_are_well_formed() {
        for seed in 0..120 {
            check_xref(&generate(seed).pdf);
        }
    }

    #[test]
    fn money_closes() {
        for seed in 0..400 {
            let t = generate(seed).truth;
            for l in &t.line_items {
                assert_eq!(
                    l.amount,
                    round2(l.quantity * l.unit_price),
                    "seed {seed}: {l:?}"
                );
                assert!(l.quantity > Decimal::ZERO, "seed {seed}");
                assert!(!l.description.is_empty());
            }
            assert!(!t.line_items.is_empty(), "seed {seed}");
            let lines = sum(t.line_items.iter().map(|l| l.amount));
            if t.layout == "receipt" {
                assert_eq!(
                    lines, t.total_amount,
                    "seed {seed}: receipt lines are gross"
                );
            } else if let Some(net) = t.net_amount {
                assert_eq!(lines, net, "seed {seed}: lines sum to net");
            }
            if let (Some(net), Some(tax)) = (t.net_amount, t.tax_amount) {
                assert_eq!(net + tax, t.total_amount, "seed {seed}");
            }
            for d in [t.net_amount, t.tax_amount, Some(t.total_amount)]
                .into_iter()
                .flatten()
            {
                assert!(d.scale() <= 2, "seed {seed}: {d}");
            }
        }
    }

    #[test]
    fn ibans_and_vat_ids_are_valid() {
        let mut seen = 0;
        for seed in 0..300 {
            let t = generate(seed).truth;
            if let Some(iban) = &t.iban {
                seen += 1;
                assert!(iban_valid(iban), "seed {seed}: {iban}");
                assert!(
                    iban.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                );
            }
            if let Some(v) = &t.vendor_vat_id {
                assert!(
                    v.chars().all(|c| c.is_ascii_alphanumeric()),
                    "seed {seed}: {v}"
                );
                assert!(
                    v.chars().take(2).all(|c| c.is_ascii_uppercase()),
                    "seed {seed}: {v}"
                );
            }
        }
        assert!(seen > 100);
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(iban_valid("GB82WEST12345698765432"));
    }

    #[test]
    fn covers_languages_and_layouts() {
        let mut langs = std::collections::BTreeSet::new();
        let mut layouts = std::collections::BTreeSet::new();
        let (mut credit, mut multi_page, mut no_po, mut no_due) = (0, 0, 0, 0);
        for seed in 0..200 {
            let inv = generate(seed);
            let t = &inv.truth;
            langs.insert(t.language);
            layouts.insert(t.layout);
            credit += usize::from(t.total_amount < Decimal::ZERO);
            multi_page += usize::from(find(&inv.pdf, b"/Count 1 ", 0).is_none());
            no_po += usize::from(t.po_number.is_none());
            no_due += usize::from(t.due_date.is_none());
        }
        assert_eq!(langs.len(), 7, "{langs:?}");
        assert_eq!(layouts.len(), 7, "{layouts:?}");
        assert!(credit > 0 && multi_page > 0 && no_po > 0 && no_due > 0);
    }

    #[test]
    fn printed_text_is_cp1252() {
        for seed in 0..300 {
            let t = generate(seed).truth;
            let texts =
                std::iter::once(&t.vendor_name).chain(t.line_items.iter().map(|l| &l.description));
            for s in texts {
                assert!(s.chars().all(|c| cp1252(c).is_some()), "seed {seed}: {s}");
                assert!(!s.contains('?'), "seed {seed}: untransliterated {s}");
            }
        }
    }

    /// Text stays on the page: every string's box lies inside the media box.
    #[test]
    fn text_inside_pages() {
        for seed in 0..300 {
            // The same sequence as `generate`.
            let mut rng = Rng::with_seed(seed);
            let layout = Layout::random(&mut rng);
            let doc = Doc::random(&mut rng, layout);
            let canvas = render(&doc, &mut rng);
            for (p, page) in canvas.pages.iter().enumerate() {
                for op in &page.ops {
                    if let Op::Text {
                        x,
                        y,
                        size,
                        font,
                        text,
                    } = op
                    {
                        let w = text_width(*font, *size, text);
                        assert!(
                            *x >= 0.0 && x + w <= page.w + 1.0 && *y > *size * 0.7 && *y < page.h,
                            "seed {seed} ({}) page {p}: {text:?} at ({x:.1}, {y:.1}) w {w:.1}",
                            layout.name()
                        );
                    }
                }
            }
        }
    }

    /// No two strings on a page overlap (the layouts measure what they
    /// place).
    #[test]
    fn text_does_not_overlap() {
        let mut bad = Vec::new();
        for seed in 0..400 {
            let mut rng = Rng::with_seed(seed);
            let layout = Layout::random(&mut rng);
            let doc = Doc::random(&mut rng, layout);
            let canvas = render(&doc, &mut rng);
            for (p, page) in canvas.pages.iter().enumerate() {
                let boxes: Vec<(f64, f64, f64, f64, &str)> = page
                    .ops
                    .iter()
                    .filter_map(|op| match op {
                        Op::Text {
                            x,
                            y,
                            size,
                            font,
                            text,
                        } => Some((
                            *x,
                            y - size * 0.7,
                            x + text_width(*font, *size, text),
                            y + size * 0.15,
                            text.as_str(),
                        )),
                        _ => None,
                    })
                    .collect();
                for (i, a) in boxes.iter().enumerate() {
                    for b in &boxes[i + 1..] {
                        let w = a.2.min(b.2) - a.0.max(b.0);
                        let h = a.3.min(b.3) - a.1.max(b.1);
                        if w > 1.0 && h > 1.0 {
                            bad.push(format!(
                                "seed {seed} ({}) p{p}: {:?} / {:?}",
                                layout.name(),
                                a.4,
                                b.4
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            bad.is_empty(),
            "{} overlaps:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// Each truth value that claims to be printed is on the page in the
    /// document's own format.
    #[test]
    fn truth_is_printed() {
        for seed in 0..400 {
            let mut rng = Rng::with_seed(seed);
            let layout = Layout::random(&mut rng);
            let doc = Doc::random(&mut rng, layout);
            let canvas = render(&doc, &mut rng);
            let mut texts = Vec::new();
            for page in &canvas.pages {
                for op in &page.ops {
                    if let Op::Text { text, .. } = op {
                        texts.push(text.clone());
                    }
                }
            }
            let all = texts.join("\n");
            // Names may wrap on narrow pages.
            let all_spaced = texts.join(" ");
            let t = doc.truth();
            assert!(
                all_spaced.contains(&t.vendor_name),
                "seed {seed}: vendor name"
            );
            let mut want = vec![t.invoice_number.clone(), doc.money(t.total_amount, false)];
            // The date is always printed, though not always in one string.
            if layout != Layout::Receipt {
                want.push(doc.fdate(t.invoice_date));
            }
            want.extend(t.due_date.map(|d| doc.fdate(d)));
            want.extend(t.po_number.clone());
            want.extend(doc.iban_text().filter(|_| t.iban.is_some()));
            if t.vendor_vat_id.is_some() {
                want.extend(doc.vendor.vat.as_ref().map(|v| v.0.clone()));
            }
            want.extend(t.net_amount.map(|n| doc.money(n, false)));
            if doc.rates.len() == 1 {
                want.extend(t.tax_amount.map(|n| doc.money(n, false)));
            }
            for l in &t.line_items {
                want.push(doc.money(l.amount, false));
            }
            for w in want {
                assert!(
                    all.contains(&w),
                    "seed {seed} ({}): {w:?} not printed",
                    layout.name()
                );
            }
            let cur = &t.currency;
            assert!(
                all.contains(cur.as_str()) || doc.symbol().is_some_and(|s| all.contains(s)),
                "seed {seed}: no currency"
            );
        }
    }

    #[test]
    fn a_prepayment_is_printed_under_a_gross_total() {
        let mut prepaid = 0;
        for seed in 0..400 {
            let mut rng = Rng::with_seed(seed);
            let layout = Layout::random(&mut rng);
            let doc = Doc::random(&mut rng, layout);
            let Some(paid) = doc.prepaid else { continue };
            prepaid += 1;
            assert!(paid > Decimal::ZERO && paid < doc.total, "seed {seed}");
            let canvas = render(&doc, &mut rng);
            let texts: Vec<String> = canvas
                .pages
                .iter()
                .flat_map(|p| &p.ops)
                .filter_map(|op| match op {
                    Op::Text { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect();
            let all = texts.join("\n");
            for amount in [doc.total, doc.total - paid] {
                let printed = doc.money(amount, false);
                assert!(all.contains(&printed), "seed {seed}: {printed} not printed");
            }
            assert_eq!(doc.truth().total_amount, doc.total, "seed {seed}");
        }
        assert!(prepaid >= 10, "{prepaid} prepaid invoices in 400");
    }

    #[test]
    fn text_layer_reads_back() {
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        for seed in 0..100 {
            let inv = generate(seed);
            pdf_extract::Document::load_mem(&inv.pdf).expect("lopdf parses it");
            let text = pdf_extract::extract_text_from_mem(&inv.pdf).expect("pdf-extract reads it");
            let flat = squash(&text);
            let t = &inv.truth;
            assert!(
                flat.contains(&squash(&t.invoice_number)),
                "seed {seed}: {} not in\n{text}",
                t.invoice_number
            );
            assert!(
                flat.contains(&squash(&t.vendor_name)),
                "seed {seed}: {} not in\n{text}",
                t.vendor_name
            );
            if let Some(po) = &t.po_number {
                assert!(flat.contains(po.as_str()), "seed {seed}: PO {po}");
            }
            if let Some(iban) = &t.iban {
                let found = flat.contains(iban.as_str());
                assert!(found, "seed {seed}: IBAN {iban} not in\n{text}");
            }
        }
    }

    /// Writes a few PDFs per layout family (and their truth) for looking at.
    #[test]
    #[ignore = "writes files: SYNTH_PREVIEW=/dir [SYNTH_PREVIEW_N=3] cargo test --lib synth -- --ignored"]
    fn write_previews() {
        let Some(dir) = std::env::var_os("SYNTH_PREVIEW") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("preview dir");
        let mut per_layout = std::collections::BTreeMap::new();
        let quota = std::env::var("SYNTH_PREVIEW_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        for seed in 0..400 {
            let inv = generate(seed);
            let kind = if find(&inv.pdf, b"/Count 1 ", 0).is_none() {
                "multipage"
            } else if inv.truth.total_amount < Decimal::ZERO {
                "credit"
            } else {
                inv.truth.layout
            };
            let n: &mut usize = per_layout.entry(kind).or_default();
            if *n < quota {
                *n += 1;
                let name = if kind == inv.truth.layout {
                    format!("{kind}_{seed}")
                } else {
                    format!("{kind}_{}_{seed}", inv.truth.layout)
                };
                let stem = dir.join(name);
                std::fs::write(stem.with_extension("pdf"), &inv.pdf).expect("write pdf");
                std::fs::write(stem.with_extension("txt"), format!("{:#?}", inv.truth))
                    .expect("write truth");
            }
        }
    }

    #[test]
    fn formats() {
        let d = dec("1234567.891");
        assert_eq!(fmt_abs(d, 2, NumStyle::DotComma, true), "1.234.567,89");
        assert_eq!(fmt_abs(d, 2, NumStyle::CommaDot, true), "1,234,567.89");
        assert_eq!(fmt_abs(d, 2, NumStyle::SpaceComma, true), "1 234 567,89");
        assert_eq!(fmt_abs(d, 2, NumStyle::Apos, true), "1'234'567.89");
        assert_eq!(fmt_abs(d, 2, NumStyle::PlainDot, true), "1234567.89");
        assert_eq!(fmt_abs(dec("0.05"), 2, NumStyle::DotComma, true), "0,05");
        assert_eq!(
            fmt_abs(dec("-999.995"), 2, NumStyle::CommaDot, true),
            "1,000.00"
        );
        let day = NaiveDate::from_ymd_opt(2026, 3, 5).expect("date");
        assert_eq!(fmt_date(day, DateStyle::Long, &DE), "5. März 2026");
        assert_eq!(fmt_date(day, DateStyle::Long, &ES), "5 de marzo de 2026");
        assert_eq!(fmt_date(day, DateStyle::Long, &PL), "5 marca 2026");
        assert_eq!(fmt_date(day, DateStyle::MdySlash, &EN), "03/05/2026");
        assert_eq!(fmt_date(day, DateStyle::DdMonYyyy, &EN), "05-Mar-2026");
        assert_eq!(fmt_date(day, DateStyle::MonthDayYear, &EN), "March 5, 2026");
        assert_eq!(translit("Zamówienie, Łódź, zł"), "Zamówienie, Lódz, zl");
        assert_eq!(pdf_string("a(b)\\€"), b"a\\(b\\)\\\\\x80".to_vec());
    }
}
