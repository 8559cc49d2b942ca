//! Payment terms as vendors write them: `Net 30`, `2/10 Net 30`,
//! `30 days end of month`, `Zahlbar innerhalb 14 Tagen mit 2% Skonto,
//! 30 Tage netto`, `à 45 jours fin de mois`.

use std::sync::LazyLock;

use chrono::{Datelike, Days, NaiveDate};
use regex::Regex;
use rust_decimal::Decimal;

/// Parsed terms: days to pay net, whether the period runs to the end of the
/// month, and early-payment discounts (percent within days).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTerms {
    pub net_days: u64,
    pub end_of_month: bool,
    pub discounts: Vec<(Decimal, u64)>,
}

static COMPACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\d+(?:[.,]\d+)?)\s*/\s*(\d{1,3})\s*,?\s*net\s*(\d{1,3})")
        .expect("constant regex")
});
static DISCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\d+(?:[.,]\d+)?)\s*%\s*(?:skonto|discount|d'escompte|escompte|sconto)?[^.;\d]{0,40}?(?:innerhalb|within|sous|à|a|in|bei zahlung (?:innerhalb|binnen))?\s*(?:von\s+)?(\d{1,3})\s*(?:tagen|tage|days|jours|giorni|días|dagen)|(?:innerhalb|within|sous)\s+(?:von\s+)?(\d{1,3})\s*(?:tagen|tage|days|jours)[^.;\d]{0,20}?(\d+(?:[.,]\d+)?)\s*%")
        .expect("constant regex")
});
static NET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:net|netto)\s*(\d{1,3})|(\d{1,3})\s*(?:tage|tagen|days|jours|giorni|días|dagen)\s*(?:netto|net|rein)?").expect("constant regex")
});
static EOM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)end of (?:the )?month|\beom\b|fin de mois|monatsende|ende des monats")
        .expect("constant regex")
});

fn dec(s: &str) -> Option<Decimal> {
    s.replace(',', ".").parse().ok()
}

impl PaymentTerms {
    /// Parses terms text; `None` when no period is stated.
    pub fn parse(text: &str) -> Option<PaymentTerms> {
        let end_of_month = EOM.is_match(text);
        if let Some(c) = COMPACT.captures(text) {
            let pct = dec(c.get(1)?.as_str())?;
            let days = c.get(2)?.as_str().parse().ok()?;
            let net = c.get(3)?.as_str().parse().ok()?;
            return Some(PaymentTerms {
                net_days: net,
                end_of_month,
                discounts: vec![(pct, days)],
            });
        }
        let mut discounts = Vec::new();
        let mut rest = text.to_string();
        for c in DISCOUNT.captures_iter(text) {
            let (pct, days) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                (Some(p), Some(d), _, _) => (p.as_str(), d.as_str()),
                (_, _, Some(d), Some(p)) => (p.as_str(), d.as_str()),
                _ => continue,
            };
            if let (Some(p), Ok(d)) = (dec(pct), days.parse::<u64>()) {
                discounts.push((p, d));
                if let Some(m) = c.get(0) {
                    rest = rest.replace(m.as_str(), " ");
                }
            }
        }
        // The net period is the longest period stated outside discounts.
        let net_days = NET
            .captures_iter(&rest)
            .filter_map(|c| {
                c.get(1)
                    .or_else(|| c.get(2))
                    .and_then(|m| m.as_str().parse::<u64>().ok())
            })
            .max()
            .or_else(|| discounts.iter().map(|d| d.1).max())?;
        discounts.retain(|d| d.1 < net_days && d.0 > Decimal::ZERO && d.0 < Decimal::ONE_HUNDRED);
        Some(PaymentTerms {
            net_days,
            end_of_month,
            discounts,
        })
    }

    /// The day `days` after `from`, to the end of that month when the
    /// terms say "end of month".
    pub fn add(&self, from: NaiveDate, days: u64) -> Option<NaiveDate> {
        let d = from.checked_add_days(Days::new(days))?;
        if !self.end_of_month {
            return Some(d);
        }
        let (y, m) = if d.month() == 12 {
            (d.year() + 1, 1)
        } else {
            (d.year(), d.month() + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
    }

    pub fn due_on(&self, issued: NaiveDate) -> Option<NaiveDate> {
        self.add(issued, self.net_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    #[test]
    fn parses_common_terms() {
        type Parsed = Option<(u64, bool, Vec<(Decimal, u64)>)>;
        let cases: &[(&str, Parsed)] = &[
            ("Net 30", Some((30, false, vec![]))),
            ("2/10 Net 30", Some((30, false, vec![(d("2"), 10)]))),
            ("2/10 net 30", Some((30, false, vec![(d("2"), 10)]))),
            ("30 days end of month", Some((30, true, vec![]))),
            (
                "Zahlbar innerhalb 14 Tagen mit 2% Skonto, 30 Tage netto",
                Some((30, false, vec![(d("2"), 14)])),
            ),
            (
                "3% Skonto bei Zahlung innerhalb 10 Tagen, 30 Tage netto",
                Some((30, false, vec![(d("3"), 10)])),
            ),
            ("à 45 jours fin de mois", Some((45, true, vec![]))),
            ("net 14", Some((14, false, vec![]))),
            ("Zahlbar sofort", None),
        ];
        for (text, want) in cases {
            let got = PaymentTerms::parse(text).map(|t| (t.net_days, t.end_of_month, t.discounts));
            assert_eq!(&got, want, "{text}");
        }
    }

    #[test]
    fn end_of_month() {
        let t = PaymentTerms::parse("30 days end of month").expect("terms");
        let issued = NaiveDate::from_ymd_opt(2026, 3, 5).expect("date");
        assert_eq!(t.due_on(issued), NaiveDate::from_ymd_opt(2026, 4, 30));
        let t = PaymentTerms::parse("net 30").expect("terms");
        assert_eq!(t.due_on(issued), NaiveDate::from_ymd_opt(2026, 4, 4));
    }
}
