//! Payment: the only stage that creates payments.
//!
//! For now it plans one payment per clean invoice on its due date (from the
//! invoice, else from the vendor's terms). Payment runs, discounts and SEPA
//! files build on these planned rows. Exactly-once starts here: the
//! idempotency key is derived from the invoice, and the database holds it
//! under a unique constraint.

use chrono::{Days, NaiveDate};
use regex::Regex;
use std::sync::LazyLock;

use crate::domain::{ExtractedInvoice, InvoiceId, PlannedPayment};

/// Days to pay when neither the invoice nor the vendor says.
pub const DEFAULT_TERM_DAYS: u64 = 30;

static NET_DAYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:net|netto|innerhalb\s+von|within|sous|à)\s*(\d{1,3})|(\d{1,3})\s*(?:tage|days|jours|dagen|días|giorni)").expect("constant regex")
});

/// Days of a payment term such as `net 30`, `2/10 net 30`, `30 Tage netto`.
pub fn term_days(terms: &str) -> Option<u64> {
    let caps = NET_DAYS.captures_iter(terms).last()?;
    caps.get(1).or_else(|| caps.get(2))?.as_str().parse().ok()
}

/// When to pay: the invoice's due date, else its date plus the terms.
pub fn due_on(inv: &ExtractedInvoice, vendor_terms: Option<&str>) -> Option<NaiveDate> {
    if let Some(due) = &inv.due_date {
        return Some(due.value);
    }
    let issued = inv.invoice_date.as_ref()?.value;
    let days = inv
        .payment_terms
        .as_ref()
        .and_then(|t| term_days(&t.value))
        .or_else(|| vendor_terms.and_then(term_days))
        .unwrap_or(DEFAULT_TERM_DAYS);
    issued.checked_add_days(Days::new(days))
}

/// Plans the payment of a clean invoice; `None` if it lacks the amount,
/// currency or a date to pay on (then it is not clean).
pub fn plan(
    invoice: InvoiceId,
    inv: &ExtractedInvoice,
    vendor_terms: Option<&str>,
) -> Option<PlannedPayment> {
    Some(PlannedPayment {
        amount: inv.total_amount.as_ref()?.value,
        currency: inv.currency.as_ref()?.value.clone(),
        planned_on: due_on(inv, vendor_terms)?,
        idempotency_key: format!("invoice-{invoice}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms() {
        for (t, want) in [
            ("net 30", Some(30)),
            ("2/10 net 30", Some(30)),
            ("30 Tage netto", Some(30)),
            ("Zahlbar innerhalb von 14 Tagen", Some(14)),
            ("à 45 jours", Some(45)),
            ("sofort", None),
        ] {
            assert_eq!(term_days(t), want, "{t}");
        }
    }
}
