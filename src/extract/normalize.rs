//! Turning the strings printed on invoices into typed values: amounts in
//! every common notation, dates in every common order and language, IBANs.
//! Pure functions, table-tested below.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// How the document writes decimals, guessed from its own numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalStyle {
    /// `1.234,56`
    Comma,
    /// `1,234.56`
    Point,
}

/// "12,50", "1.234,00 €", "(12.00)": a word printed as money, with two
/// decimals (whatever stands around its digits).
pub fn has_two_decimals(word: &str) -> bool {
    let b = word.trim_matches(|c: char| !c.is_ascii_digit()).as_bytes();
    b.len() >= 4
        && matches!(b[b.len() - 3], b'.' | b',')
        && b[b.len() - 2..].iter().all(u8::is_ascii_digit)
}

/// "1" of "1 234,56": a thousands group printed as a word of its own.
pub fn is_thousands_group(word: &str) -> bool {
    !word.is_empty() && word.len() <= 3 && word.chars().all(|c| c.is_ascii_digit())
}

/// Parses an amount such as `1.234,56`, `1,234.56`, `1 234,56 €`,
/// `1'234.56`, `-12,00`, `12,00-` or `(12.00)`. `style` settles the
/// ambiguous `1.234` / `1,234`; without it a single separator followed by
/// exactly three digits is read as a thousands separator.
pub fn parse_amount(s: &str, style: Option<DecimalStyle>) -> Option<Decimal> {
    let mut t: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’'))
        .collect();
    for sym in ["EUR", "USD", "GBP", "CHF", "€", "$", "£"] {
        t = t.replace(sym, "");
    }
    let mut negative = false;
    if t.starts_with('(') && t.ends_with(')') {
        negative = true;
        t = t[1..t.len() - 1].to_string();
    }
    if let Some(rest) = t.strip_suffix('-') {
        negative = true;
        t = rest.to_string();
    }
    if let Some(rest) = t.strip_prefix('-').or_else(|| t.strip_prefix('−')) {
        negative = !negative;
        t = rest.to_string();
    }
    if let Some(rest) = t.strip_prefix('+') {
        t = rest.to_string();
    }
    // A currency written before the digits without a space: "RM24.00"
    // (ringgit), "Rs.500", "Rp15.000".
    for sym in ["MYR", "RM", "Rs.", "Rs", "Rp", "Fr."] {
        if let Some(rest) = t.strip_prefix(sym) {
            t = rest.to_string();
            break;
        }
    }
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    if !t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let last_dot = t.rfind('.');
    let last_comma = t.rfind(',');
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            let sep = if last_dot.is_some() { '.' } else { ',' };
            let count = t.matches(sep).count();
            let digits_after = t.rsplit(sep).next().map_or(0, str::len);
            if count > 1 {
                None
            } else if digits_after == 3 {
                match (style, sep) {
                    (Some(DecimalStyle::Comma), ',') | (Some(DecimalStyle::Point), '.') => {
                        Some(sep)
                    }
                    _ => None,
                }
            } else {
                Some(sep)
            }
        }
    };
    let normalized: String = match decimal_sep {
        Some(sep) => {
            let (int, frac) = t.rsplit_once(sep)?;
            let int: String = int.chars().filter(char::is_ascii_digit).collect();
            if frac.is_empty() || !frac.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            format!("{}.{frac}", if int.is_empty() { "0" } else { &int })
        }
        None => t.chars().filter(char::is_ascii_digit).collect(),
    };
    let value: Decimal = normalized.parse().ok()?;
    Some(if negative { -value } else { value })
}

/// Guesses the document's decimal style from its numbers: `12,50` votes for
/// comma, `12.50` for point.
pub fn guess_decimal_style<'a>(tokens: impl Iterator<Item = &'a str>) -> Option<DecimalStyle> {
    let (mut comma, mut point) = (0, 0);
    for t in tokens {
        let b = t.as_bytes();
        if b.len() >= 4 && b[b.len() - 3] == b',' && b[b.len() - 2..].iter().all(u8::is_ascii_digit)
        {
            comma += 1;
        }
        if b.len() >= 4 && b[b.len() - 3] == b'.' && b[b.len() - 2..].iter().all(u8::is_ascii_digit)
        {
            point += 1;
        }
    }
    match comma.cmp(&point) {
        std::cmp::Ordering::Greater => Some(DecimalStyle::Comma),
        std::cmp::Ordering::Less => Some(DecimalStyle::Point),
        std::cmp::Ordering::Equal => None,
    }
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("janvier", 1),
    ("janv", 1),
    ("januari", 1),
    ("enero", 1),
    ("gennaio", 1),
    ("jänner", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("februari", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mars", 3),
    ("maart", 3),
    ("marzo", 3),
    ("mrz", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("abril", 4),
    ("aprile", 4),
    ("may", 5),
    ("mai", 5),
    ("mei", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("augustus", 8),
    ("agosto", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("settembre", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("ottobre", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("diciembre", 12),
    ("dicembre", 12),
    ("mrt", 3),
    // Polish: the genitive of a date ("5 marca 2026") and the nominative.
    ("stycznia", 1),
    ("styczeń", 1),
    ("sty", 1),
    ("lutego", 2),
    ("luty", 2),
    ("lut", 2),
    ("marca", 3),
    ("marzec", 3),
    ("kwietnia", 4),
    ("kwiecień", 4),
    ("kwi", 4),
    ("maja", 5),
    ("maj", 5),
    ("czerwca", 6),
    ("czerwiec", 6),
    ("cze", 6),
    ("lipca", 7),
    ("lipiec", 7),
    ("lip", 7),
    ("sierpnia", 8),
    ("sierpień", 8),
    ("sie", 8),
    ("września", 9),
    ("wrzesień", 9),
    ("wrz", 9),
    ("października", 10),
    ("październik", 10),
    ("paź", 10),
    ("listopada", 11),
    ("listopad", 11),
    ("lis", 11),
    ("grudnia", 12),
    ("grudzień", 12),
    ("gru", 12),
];

fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(name, _)| *name == w).map(|&(_, m)| m)
}

fn year4(y: i32) -> i32 {
    if y < 100 { 2000 + y } else { y }
}

/// Which way round a document writes numeric dates, from the dates it
/// prints: `25/03/2024` can only be day first, `03/25/2024` only month
/// first. `None` when every date on it is ambiguous (then the locale
/// decides), or when it contradicts itself.
pub fn guess_day_first<'a>(tokens: impl Iterator<Item = &'a str>) -> Option<bool> {
    let (mut day_first, mut month_first) = (false, false);
    for t in tokens {
        let parts: Vec<&str> = t
            .trim_matches(|c: char| !c.is_ascii_digit())
            .split(['/', '.', '-'])
            .collect();
        let [a, b, y] = parts[..] else { continue };
        if y.len() != 4 && y.len() != 2 || a.len() > 2 || b.len() > 2 {
            continue;
        }
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            continue;
        };
        if (13..=31).contains(&a) && (1..=12).contains(&b) {
            day_first = true;
        } else if (13..=31).contains(&b) && (1..=12).contains(&a) {
            month_first = true;
        }
    }
    match (day_first, month_first) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Parses a date written as `2024-03-05`, `05.03.2024`, `05/03/2024`
/// (`day_first` decides `03/04/2024`; a component over 12 overrides it),
/// `5. März 2024`, `5 mars 2024`, `Mar 5, 2024` or `05-Mar-2024`.
pub fn parse_date(s: &str, day_first: bool) -> Option<NaiveDate> {
    let s = s.trim().trim_end_matches(['.', ',']);
    // "5 de marzo de 2026", "5 del 2026": Spanish and Italian particles.
    let parts: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || matches!(c, '.' | '/' | '-' | ','))
        .filter(|p| !p.is_empty() && !matches!(p.to_lowercase().as_str(), "de" | "del"))
        .collect();
    if parts.len() != 3 {
        return None;
    }
    let num = |p: &str| {
        p.parse::<i32>()
            .ok()
            .filter(|_| p.chars().all(|c| c.is_ascii_digit()))
    };
    let (y, m, d) = match (num(parts[0]), num(parts[1]), num(parts[2])) {
        (Some(a), Some(b), Some(c)) if parts[0].len() == 4 => (a, b, c),
        (Some(a), Some(b), Some(c)) if parts[2].len() == 4 || parts[2].len() == 2 => {
            let (d, m) = if a > 12 {
                (a, b)
            } else if b > 12 {
                (b, a)
            } else if day_first {
                (a, b)
            } else {
                (b, a)
            };
            (year4(c), m, d)
        }
        (Some(d), None, Some(y)) => (year4(y), i32::try_from(month_number(parts[1])?).ok()?, d),
        (None, Some(d), Some(y)) => (year4(y), i32::try_from(month_number(parts[0])?).ok()?, d),
        _ => return None,
    };
    if !(1900..=2200).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

/// An IBAN with spaces removed, upper-cased, if its mod-97 checksum holds.
pub fn parse_iban(s: &str) -> Option<String> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    iban_is_valid(&compact).then_some(compact)
}

/// ISO 13616 check: length, country letters, and mod 97 == 1.
pub fn iban_is_valid(iban: &str) -> bool {
    let b = iban.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c.to_ascii_uppercase() - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// ISO 4217 code for a symbol or code found on the page.
pub fn currency_code(token: &str) -> Option<&'static str> {
    match token.trim_matches(|c: char| c.is_ascii_punctuation() && c != '$') {
        "€" | "EUR" | "Euro" | "EURO" => Some("EUR"),
        "$" | "USD" | "US$" => Some("USD"),
        "£" | "GBP" => Some("GBP"),
        "CHF" | "Fr." => Some("CHF"),
        "SEK" => Some("SEK"),
        "DKK" => Some("DKK"),
        "NOK" => Some("NOK"),
        "PLN" => Some("PLN"),
        "CZK" => Some("CZK"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("test decimals are valid")
    }

    #[test]
    fn amounts() {
        let cases: &[(&str, Option<DecimalStyle>, Option<&str>)] = &[
            ("1.234,56", None, Some("1234.56")),
            ("1,234.56", None, Some("1234.56")),
            ("1 234,56 €", None, Some("1234.56")),
            ("1'234.56", None, Some("1234.56")),
            ("-12,00", None, Some("-12.00")),
            ("12,00-", None, Some("-12.00")),
            ("(12.00)", None, Some("-12.00")),
            ("€ 99.90", None, Some("99.90")),
            ("EUR 1.000.000,00", None, Some("1000000.00")),
            ("1.234", None, Some("1234")),
            ("1.234", Some(DecimalStyle::Point), Some("1.234")),
            ("3,3333", None, Some("3.3333")),
            ("42", None, Some("42")),
            ("abc", None, None),
            ("12.3.4", None, Some("1234")),
            ("", None, None),
            ("1,2,3", None, Some("123")),
            ("1 234,56", Some(DecimalStyle::Comma), Some("1234.56")),
            ("CHF 1'234.56", None, Some("1234.56")),
            ("1.234,56-", None, Some("-1234.56")),
            ("(1,234.56)", None, Some("-1234.56")),
            ("£1,234.56", None, Some("1234.56")),
            ("RM24.00", None, Some("24.00")),
            ("RM 24.00", None, Some("24.00")),
            ("-RM0.04", None, Some("-0.04")),
            ("1234.56 USD", None, Some("1234.56")),
        ];
        for (input, style, want) in cases {
            assert_eq!(parse_amount(input, *style), want.map(d), "{input}");
        }
    }

    #[test]
    fn dates() {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let cases: &[(&str, bool, Option<NaiveDate>)] = &[
            ("2024-03-05", true, ymd(2024, 3, 5)),
            ("05.03.2024", true, ymd(2024, 3, 5)),
            ("03/04/2024", true, ymd(2024, 4, 3)),
            ("03/04/2024", false, ymd(2024, 3, 4)),
            ("13/04/2024", false, ymd(2024, 4, 13)),
            ("5. März 2024", true, ymd(2024, 3, 5)),
            ("5 mars 2024", true, ymd(2024, 3, 5)),
            ("Mar 5, 2024", false, ymd(2024, 3, 5)),
            ("March 5, 2026", false, ymd(2026, 3, 5)),
            ("05-Mar-2026", true, ymd(2026, 3, 5)),
            ("05.03.24", true, ymd(2024, 3, 5)),
            ("5 de marzo de 2026", true, ymd(2026, 3, 5)),
            ("5 marzo 2026", true, ymd(2026, 3, 5)),
            ("5 maart 2026", true, ymd(2026, 3, 5)),
            ("5 mrt 2026", true, ymd(2026, 3, 5)),
            ("5 marca 2026", true, ymd(2026, 3, 5)),
            ("12 października 2026", true, ymd(2026, 10, 12)),
            ("5 March 2026", true, ymd(2026, 3, 5)),
            ("2026/03/05", false, ymd(2026, 3, 5)),
            ("31.02.2024", true, None),
            ("hello", true, None),
        ];
        for (input, day_first, want) in cases {
            assert_eq!(parse_date(input, *day_first), *want, "{input}");
        }
    }

    #[test]
    fn date_order_from_the_document_itself() {
        let guess = |tokens: &[&str]| guess_day_first(tokens.iter().copied());
        assert_eq!(
            guess(&["03/04/2024", "25/04/2024"]),
            Some(true),
            "a 25th fixes day first"
        );
        assert_eq!(
            guess(&["03/04/2024", "(04/25/2024)"]),
            Some(false),
            "month first"
        );
        assert_eq!(
            guess(&["03/04/2024", "05.06.24"]),
            None,
            "all ambiguous: the locale decides"
        );
        assert_eq!(guess(&["25/04/2024", "04/25/2024"]), None, "contradictory");
        assert_eq!(
            guess(&["Total", "1.234,56", "2024-03-25"]),
            None,
            "not day/month dates"
        );
    }

    #[test]
    fn ibans() {
        assert_eq!(
            parse_iban("DE89 3704 0044 0532 0130 00").as_deref(),
            Some("DE89370400440532013000")
        );
        assert_eq!(parse_iban("DE89 3704 0044 0532 0130 01"), None);
        assert_eq!(
            parse_iban("GB82WEST12345698765432").as_deref(),
            Some("GB82WEST12345698765432")
        );
        assert_eq!(parse_iban("XX"), None);
    }
}
