//! Payment: the only stage that creates payments.
//!
//! `plan` decides when and how much to pay a clean invoice: on the last day
//! that still captures an early-payment discount when the discount's
//! annualised return beats the cost of capital, else on the due date; never
//! on a weekend or bank holiday, never late. `sepa` writes the payment run
//! as an ISO 20022 pain.001 credit-transfer file. Exactly-once lives in the
//! store: the idempotency key per invoice is unique, and a run claims its
//! payments in the transaction that records it.

pub mod sepa;
pub mod status;
mod terms;

use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;

pub use terms::PaymentTerms;

use crate::domain::{ExtractedInvoice, InvoiceId, PlannedPayment, Vendor};

/// Days to pay when neither the invoice nor the vendor says.
pub const DEFAULT_TERM_DAYS: u64 = 30;

/// What the finance admin configures for scheduling.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentPolicy {
    /// Yearly cost of capital in percent: a discount is taken when its
    /// annualised return is higher.
    pub cost_of_capital_pct: Decimal,
    pub bank_holidays: Vec<NaiveDate>,
    /// The day decisions are made on (normally the current date).
    pub today: NaiveDate,
}

/// Days of a payment term such as `net 30`, `2/10 net 30`, `30 Tage netto`.
pub fn term_days(terms: &str) -> Option<u64> {
    PaymentTerms::parse(terms).map(|t| t.net_days)
}

fn is_business_day(d: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d)
}

/// The last business day on or before `d`; if that is already past, the
/// next business day from `today`.
pub fn pay_day(d: NaiveDate, today: NaiveDate, holidays: &[NaiveDate]) -> NaiveDate {
    let mut x = d;
    while !is_business_day(x, holidays) {
        match x.pred_opt() {
            Some(p) => x = p,
            None => break,
        }
    }
    if x < today {
        x = today;
        while !is_business_day(x, holidays) {
            match x.succ_opt() {
                Some(n) => x = n,
                None => break,
            }
        }
    }
    x
}

/// Annualised return of paying early, in percent: `pct` off for paying
/// `days_early` days before the due date.
pub fn annualised_return_pct(pct: Decimal, days_early: u64) -> Option<Decimal> {
    if days_early == 0 || pct >= Decimal::ONE_HUNDRED {
        return None;
    }
    let ratio = pct / (Decimal::ONE_HUNDRED - pct);
    Some(
        (ratio * Decimal::from(365) / Decimal::from(days_early) * Decimal::ONE_HUNDRED).round_dp(2),
    )
}

/// Plans the payment of a clean invoice; `None` if it lacks what a payment
/// needs (a positive total, a currency, a date).
/// Why the invoice itself says it is not to be paid by transfer, whatever
/// anyone approves: the planner plans nothing and an approval is refused
/// with this reason. A credit note's positive total is what the vendor
/// owes us; a direct debit is collected by the vendor (a transfer on top
/// would pay it twice); nothing is due once it was paid in advance.
pub fn not_to_be_paid(inv: &ExtractedInvoice) -> Option<&'static str> {
    if inv.credit_note.is_some() {
        return Some(
            "a credit note: the vendor owes this amount, nothing is paid to it (offset it against the vendor's open invoices or reject it)",
        );
    }
    if inv
        .amount_due
        .as_ref()
        .is_some_and(|d| d.value <= Decimal::ZERO)
    {
        return Some("nothing is due: the invoice says it was paid in advance");
    }
    if inv.direct_debit.is_some() {
        return Some(
            "the vendor collects this invoice by direct debit: there is nothing to transfer, so it cannot be approved for payment (reject it if the debit is not expected)",
        );
    }
    None
}

pub fn plan(
    invoice: InvoiceId,
    inv: &ExtractedInvoice,
    vendor: Option<&Vendor>,
    policy: &PaymentPolicy,
) -> Option<PlannedPayment> {
    if not_to_be_paid(inv).is_some() {
        return None;
    }
    // What is due: the total, or what an e-invoice says is left of it
    // after a prepayment (BT-115).
    let total = match &inv.amount_due {
        Some(due) => due.value,
        None => inv.total_amount.as_ref()?.value,
    };
    if total <= Decimal::ZERO {
        return None;
    }
    let currency = inv.currency.as_ref()?.value.clone();
    let issued = inv.invoice_date.as_ref().map(|f| f.value);
    let stated = inv
        .payment_terms
        .as_ref()
        .and_then(|t| PaymentTerms::parse(&t.value))
        .or_else(|| {
            vendor
                .and_then(|v| v.payment_terms.as_deref())
                .and_then(PaymentTerms::parse)
        });
    let terms_stated = stated.is_some();
    let terms = stated.unwrap_or(PaymentTerms {
        net_days: DEFAULT_TERM_DAYS,
        end_of_month: false,
        discounts: Vec::new(),
    });
    // The due date printed on the invoice wins over computed terms.
    let due_on = match (&inv.due_date, issued) {
        (Some(d), _) => d.value,
        (None, Some(i)) => terms.due_on(i)?,
        (None, None) => return None,
    };
    // Flag, in the schedule's reason, a printed due date that its own terms
    // contradict (the printed date is what the vendor will chase).
    let disagreement = match (&inv.due_date, issued.and_then(|i| terms.due_on(i))) {
        (Some(d), Some(computed)) if terms_stated && d.value != computed => Some(format!(
            "the invoice's due date {} differs from its terms ({computed}); the printed date is used",
            d.value
        )),
        _ => None,
    };
    let net_days = issued
        .and_then(|i| u64::try_from((due_on - i).num_days()).ok())
        .unwrap_or(terms.net_days);
    let mut best: Option<(Decimal, NaiveDate, Decimal)> = None;
    let mut considered = Vec::new();
    if let Some(i) = issued {
        for &(pct, days) in &terms.discounts {
            let deadline = i.checked_add_days(chrono::Days::new(days))?;
            let Some(ret) = annualised_return_pct(pct, net_days.saturating_sub(days)) else {
                continue;
            };
            let day = pay_day(deadline, policy.today, &policy.bank_holidays);
            if day > deadline {
                considered.push(format!("{pct}% discount until {deadline} has lapsed"));
            } else if ret <= policy.cost_of_capital_pct {
                considered.push(format!("{pct}% discount until {deadline} returns {ret}% a year, not above the {}% cost of capital", policy.cost_of_capital_pct));
            } else if best.as_ref().is_none_or(|b| pct > b.0) {
                best = Some((pct, day, ret));
            }
        }
    }
    let (planned_on, discount, reason) = match best {
        Some((pct, day, ret)) => {
            let discount = (total * pct / Decimal::ONE_HUNDRED).round_dp(2);
            (
                day,
                discount,
                format!(
                    "paid on {day} to take the {pct}% early-payment discount ({discount} {currency}; {ret}% a year beats the {}% cost of capital)",
                    policy.cost_of_capital_pct
                ),
            )
        }
        None => {
            let day = pay_day(due_on, policy.today, &policy.bank_holidays);
            let mut why = if day == due_on {
                format!("paid on the due date {due_on}")
            } else {
                format!("due {due_on}, paid on the business day {day}")
            };
            for c in considered {
                why.push_str("; ");
                why.push_str(&c);
            }
            (day, Decimal::ZERO, why)
        }
    };
    let reason = match disagreement {
        Some(d) => format!("{reason}; {d}"),
        None => reason,
    };
    let reason = match (&inv.amount_due, &inv.total_amount) {
        (Some(due), Some(whole)) => format!(
            "{reason}; {} due of the total {} (the invoice's amount due after prepayment or rounding)",
            due.value, whole.value
        ),
        _ => reason,
    };
    Some(PlannedPayment {
        amount: total - discount,
        currency,
        planned_on,
        due_on,
        discount,
        reason,
        creditor_name: vendor
            .map(|v| v.name.clone())
            .or_else(|| inv.vendor_name.as_ref().map(|f| f.value.clone()))
            .unwrap_or_default(),
        creditor_iban: inv
            .iban
            .as_ref()
            .map(|f| f.value.clone())
            .or_else(|| vendor.and_then(|v| v.ibans.first().cloned())),
        remittance: inv
            .invoice_number
            .as_ref()
            .map_or_else(|| format!("invoice {invoice}"), |f| f.value.clone()),
        idempotency_key: format!("invoice-{invoice}"),
    })
}

/// What a payment run holds a planned payment against just before paying
/// it: the invoice as it stands now and the vendor's verified accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentEvidence<'a> {
    pub amount: Decimal,
    pub discount: Decimal,
    pub currency: &'a str,
    pub creditor_iban: &'a str,
    pub invoice_total: Option<Decimal>,
    pub invoice_currency: Option<&'a str>,
    pub invoice_iban: Option<&'a str>,
    /// The vendor's verified IBANs; `None` when the invoice has no vendor
    /// of the master data.
    pub verified_ibans: Option<&'a [String]>,
    /// Another invoice of the vendor with the same number whose payment is
    /// in a run, paid, or planned ahead of this one.
    pub same_number_paid_as: Option<i64>,
}

/// Why a planned payment must not be paid, if it must not: a payment whose
/// payee, IBAN, amount or currency no longer agree with the invoice that
/// people approved, or whose IBAN is not a verified account of the vendor,
/// is refused. Whatever changed between the decision and the run (a
/// database edit, a race, a bug) costs a review, never a payment.
pub fn refusal(e: &PaymentEvidence<'_>) -> Option<String> {
    if let Some(other) = e.same_number_paid_as {
        return Some(format!(
            "invoice #{other} of the same vendor has the same number and is already paid or due: never twice"
        ));
    }
    let iban = crate::domain::compact_iban(e.creditor_iban);
    let Some(verified) = e.verified_ibans else {
        return Some("the invoice has no vendor of the master data".into());
    };
    if !crate::domain::iban_among(verified, &iban) {
        return Some(format!(
            "the IBAN {} is not a verified account of the vendor",
            crate::domain::mask_iban(&iban)
        ));
    }
    if let Some(inv_iban) = e.invoice_iban
        && crate::domain::compact_iban(inv_iban) != iban
    {
        return Some(format!(
            "the payment goes to {} but the invoice now names {}",
            crate::domain::mask_iban(&iban),
            crate::domain::mask_iban(inv_iban)
        ));
    }
    if e.invoice_currency != Some(e.currency) {
        return Some(format!(
            "the payment is in {} but the invoice in {}",
            e.currency,
            e.invoice_currency.unwrap_or("no currency")
        ));
    }
    match e.invoice_total {
        Some(total) if total == e.amount + e.discount => None,
        Some(total) => Some(format!(
            "the payment of {} (+ {} discount) does not settle the invoice's total of {total}",
            e.amount, e.discount
        )),
        None => Some("the invoice has no total".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_is_refused_when_it_no_longer_agrees_with_its_invoice() {
        let verified = vec!["DE50 7019 0077 0087 1234 00".to_string()];
        let ok = PaymentEvidence {
            amount: Decimal::new(9800, 2),
            discount: Decimal::new(200, 2),
            currency: "EUR",
            creditor_iban: "DE50701900770087123400",
            invoice_total: Some(Decimal::new(10000, 2)),
            invoice_currency: Some("EUR"),
            invoice_iban: None,
            verified_ibans: Some(&verified),
            same_number_paid_as: None,
        };
        let cases: Vec<(PaymentEvidence<'_>, Option<&str>)> = vec![
            (ok.clone(), None),
            (
                PaymentEvidence {
                    invoice_iban: Some("de50701900770087123400"),
                    ..ok.clone()
                },
                None,
            ),
            (
                PaymentEvidence {
                    verified_ibans: None,
                    ..ok.clone()
                },
                Some("no vendor"),
            ),
            (
                PaymentEvidence {
                    creditor_iban: "GB82WEST12345698765432",
                    ..ok.clone()
                },
                Some("not a verified account"),
            ),
            (
                PaymentEvidence {
                    invoice_iban: Some("GB82WEST12345698765432"),
                    ..ok.clone()
                },
                Some("now names"),
            ),
            (
                PaymentEvidence {
                    invoice_total: Some(Decimal::new(10001, 2)),
                    ..ok.clone()
                },
                Some("does not settle"),
            ),
            (
                PaymentEvidence {
                    invoice_currency: Some("USD"),
                    ..ok.clone()
                },
                Some("in USD"),
            ),
            (
                PaymentEvidence {
                    invoice_total: None,
                    ..ok.clone()
                },
                Some("no total"),
            ),
            (
                PaymentEvidence {
                    same_number_paid_as: Some(7),
                    ..ok.clone()
                },
                Some("invoice #7"),
            ),
        ];
        for (evidence, want) in cases {
            let got = refusal(&evidence);
            match want {
                None => assert_eq!(got, None, "{evidence:?}"),
                Some(w) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(w)),
                    "{evidence:?}: {got:?}"
                ),
            }
        }
    }
    use crate::domain::{ExtractionSource, Field};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    fn invoice(terms: &str, total: &str) -> ExtractedInvoice {
        let mut inv = ExtractedInvoice::empty(ExtractionSource::EInvoice);
        inv.invoice_number = Some(Field::exact("RE-1".into()));
        inv.invoice_date = Some(Field::exact(date(2026, 3, 6))); // a Friday
        inv.total_amount = Some(Field::exact(dec(total)));
        inv.currency = Some(Field::exact("EUR".into()));
        inv.payment_terms = Some(Field::exact(terms.into()));
        inv
    }

    fn policy(today: NaiveDate, coc: &str) -> PaymentPolicy {
        PaymentPolicy {
            cost_of_capital_pct: dec(coc),
            bank_holidays: vec![date(2026, 4, 3)],
            today,
        }
    }

    #[test]
    fn what_is_paid_is_the_amount_due_after_a_prepayment() {
        let today = date(2026, 3, 9);
        let mut inv = invoice("net 30", "1190.00");
        inv.amount_due = Some(Field::exact(dec("690.00")));
        let p = plan(InvoiceId(1), &inv, None, &policy(today, "8")).expect("plan");
        assert_eq!(p.amount, dec("690.00"));
        assert!(
            p.reason.contains("690.00 due of the total 1190.00"),
            "{}",
            p.reason
        );
        inv.amount_due = Some(Field::exact(dec("0.00")));
        assert_eq!(plan(InvoiceId(1), &inv, None, &policy(today, "8")), None);
    }

    #[test]
    fn an_invoice_the_vendor_collects_is_never_planned_for_transfer() {
        let today = date(2026, 3, 9);
        let mut inv = invoice("net 30", "1190.00");
        assert!(plan(InvoiceId(1), &inv, None, &policy(today, "8")).is_some());
        inv.direct_debit = Some(Field::exact(
            "collected by direct debit, mandate M-1".into(),
        ));
        assert_eq!(plan(InvoiceId(1), &inv, None, &policy(today, "8")), None);
    }

    #[test]
    fn terms_compat() {
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

    #[test]
    fn discount_decisions_worked_examples() {
        // 2/10 net 30: 2% for paying 20 days early = 2/98 * 365/20 = 37.24% a year.
        assert_eq!(annualised_return_pct(dec("2"), 20), Some(dec("37.24")));
        let today = date(2026, 3, 9);
        // Beats an 8% cost of capital: pay on day 10 (Mon 16 March), 2% off.
        let p = plan(
            InvoiceId(1),
            &invoice("2/10 net 30", "1190.00"),
            None,
            &policy(today, "8"),
        )
        .expect("plan");
        assert_eq!(
            (p.planned_on, p.discount, p.amount),
            (date(2026, 3, 16), dec("23.80"), dec("1166.20"))
        );
        assert!(p.reason.contains("37.24% a year"), "{}", p.reason);
        // With capital costing 40% a year, waiting is better: pay net on
        // 5 April (a Sunday) moved back over Good Friday (3 April, a
        // configured holiday) to Thursday 2 April.
        let p = plan(
            InvoiceId(1),
            &invoice("2/10 net 30", "1190.00"),
            None,
            &policy(today, "40"),
        )
        .expect("plan");
        assert_eq!(
            (p.planned_on, p.discount, p.due_on),
            (date(2026, 4, 2), dec("0"), date(2026, 4, 5))
        );
        // The discount window has passed: pay the full amount on the due date.
        let p = plan(
            InvoiceId(1),
            &invoice("2/10 net 30", "1190.00"),
            None,
            &policy(date(2026, 3, 20), "8"),
        )
        .expect("plan");
        assert_eq!((p.discount, p.planned_on), (dec("0"), date(2026, 4, 2)));
        assert!(p.reason.contains("has lapsed"), "{}", p.reason);
        // Overdue: pay on the next business day, never in the past.
        let p = plan(
            InvoiceId(1),
            &invoice("net 14", "100.00"),
            None,
            &policy(date(2026, 5, 2), "8"),
        )
        .expect("plan");
        assert_eq!(p.planned_on, date(2026, 5, 4));
        // A credit note is not paid out.
        assert!(
            plan(
                InvoiceId(1),
                &invoice("net 14", "-10.00"),
                None,
                &policy(today, "8")
            )
            .is_none()
        );
    }
}
