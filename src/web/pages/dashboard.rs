//! How the AP process is doing, in counts and money: touchless rate, what
//! waits and why (each bar opens the queue filtered to it), how old the
//! queue is, and what falls due in the coming weeks (the cash forecast).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Html;
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use rust_decimal::Decimal;

use super::{Lang, PageError, labels, layout, money};
use crate::domain::InvoiceStatus;
use crate::web::AppState;
use crate::web::auth::Caller;

/// One bar: label, value shown, length, link.
struct Bar {
    label: String,
    shown: String,
    value: f64,
    href: Option<String>,
}

/// A horizontal bar chart as inline SVG (no script, nothing to build);
/// a bar with a link opens what it counts.
fn bar_chart(l: Lang, bars: &[Bar], name: &str) -> Markup {
    if bars.is_empty() {
        return html! { p.muted { (l.t("Nothing yet.")) } };
    }
    let max = bars.iter().map(|b| b.value).fold(1.0_f64, f64::max);
    let (label_w, bar_w, row_h) = (230.0, 300.0, 24.0);
    let width = label_w + bar_w + 130.0;
    let height = row_h * bars.len() as f64 + 4.0;
    html! {
        svg.chart role="img" aria-label=(name) width=(width) height=(height) viewBox=(format!("0 0 {width} {height}")) {
            @for (i, b) in bars.iter().enumerate() {
                @let y = i as f64 * row_h + 2.0;
                @let w = (b.value / max * bar_w).max(1.0);
                @let row = html! {
                    text x=(label_w - 8.0) y=(y + 15.0) text-anchor="end" font-size="13" { (b.label) }
                    rect x=(label_w) y=(y) width=(format!("{w:.0}")) height=(row_h - 6.0) fill="#2f5ea8" {}
                    text x=(format!("{:.0}", label_w + w + 6.0)) y=(y + 15.0) font-size="13" { (b.shown) }
                };
                @match &b.href {
                    Some(href) => { a href=(href) aria-label=(format!("{}: {}", b.label, b.shown)) { (row) } }
                    None => { (row) }
                }
            }
        }
    }
}

/// Amounts per currency, as one line (`1,200.00 EUR, 80.00 USD`).
fn sums(by_currency: &BTreeMap<String, Decimal>) -> String {
    if by_currency.is_empty() {
        return "0.00".into();
    }
    by_currency
        .iter()
        .map(|(c, a)| money(Some(&a.to_string()), Some(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /dashboard`
pub async fn dashboard(
    caller: Caller,
    l: Lang,
    State(state): State<AppState>,
) -> Result<Html<String>, PageError> {
    let failed = |e: crate::store::Error| PageError::for_caller(e, &caller, l);
    // The touchless trend: the last eight weeks, by the week invoices
    // arrived (UTC), oldest first.
    let now = crate::store::now_ms();
    const WEEK_MS: i64 = 7 * 86_400_000;
    let weeks = 8;
    let since = now - weeks * WEEK_MS;
    let d = state.store.dashboard(since).await.map_err(failed)?;
    let all = state.store.payables().await.map_err(failed)?;
    let rate = if d.processed > 0 {
        format!("{:.0} %", d.touchless as f64 * 100.0 / d.processed as f64)
    } else {
        "—".into()
    };
    let total = |s: &crate::store::Payable| {
        s.total_amount
            .as_deref()
            .and_then(|t| t.parse::<Decimal>().ok())
    };
    let open = |s: &InvoiceStatus| {
        matches!(
            s,
            InvoiceStatus::NeedsReview | InvoiceStatus::AwaitingApproval | InvoiceStatus::OnHold
        )
    };
    let mut waiting: BTreeMap<String, Decimal> = BTreeMap::new();
    for s in all.iter().filter(|s| open(&s.status)) {
        if let (Some(t), Some(c)) = (total(s), s.currency.clone()) {
            *waiting.entry(c).or_default() += t;
        }
    }
    let mut taken: BTreeMap<String, Decimal> = BTreeMap::new();
    for (currency, amount) in &d.discounts_taken {
        if let Ok(a) = amount.parse::<Decimal>() {
            *taken.entry(currency.clone()).or_default() += a;
        }
    }
    // Payables by the week they fall due (open, approved or scheduled, not
    // yet paid): the cash the next weeks need.
    let today = state.settings.today();
    let week_of =
        |d: NaiveDate| d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()));
    let this_week = week_of(today);
    // Per currency: amounts in two currencies are never added up.
    // `None` as the week is "overdue".
    let mut due: BTreeMap<(Option<NaiveDate>, String), Decimal> = BTreeMap::new();
    for s in all
        .iter()
        .filter(|s| open(&s.status) || s.status == InvoiceStatus::Scheduled)
    {
        let (Some(t), Some(currency), Some(day)) = (
            total(s),
            s.currency.clone(),
            s.due_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        ) else {
            continue;
        };
        if day < today {
            *due.entry((None, currency)).or_default() += t;
        } else if week_of(day) < this_week + chrono::Days::new(7 * 8) {
            *due.entry((Some(week_of(day)), currency)).or_default() += t;
        }
    }
    let to_f = |a: Decimal| a.to_string().parse::<f64>().unwrap_or(0.0);
    let cash: Vec<Bar> = due
        .iter()
        .map(|((week, currency), amount)| Bar {
            label: match week {
                None => l.t("overdue").to_string(),
                Some(w) => format!("{} {}", l.t("week of"), w.format("%Y-%m-%d")),
            },
            shown: money(Some(&amount.to_string()), Some(currency)),
            value: to_f(*amount),
            href: week.is_none().then(|| "/?view=open&sort=due".to_string()),
        })
        .collect();
    let mut trend: Vec<(usize, usize)> = vec![(0, 0); usize::try_from(weeks).unwrap_or(8)];
    for (at, touchless) in &d.arrivals {
        let ago = usize::try_from((now - at).max(0) / WEEK_MS).unwrap_or(usize::MAX);
        if let Some(slot) = trend
            .len()
            .checked_sub(ago + 1)
            .and_then(|i| trend.get_mut(i))
        {
            slot.1 += 1;
            if *touchless {
                slot.0 += 1;
            }
        }
    }
    let trend: Vec<Bar> = trend
        .iter()
        .enumerate()
        .map(|(i, (touchless, all))| {
            let weeks_ago = trend.len() - i - 1;
            Bar {
                label: if weeks_ago == 0 {
                    l.t("this week").to_string()
                } else if weeks_ago == 1 {
                    l.t("last week").to_string()
                } else {
                    format!("{weeks_ago} {}", l.t("weeks ago"))
                },
                shown: if *all == 0 {
                    "—".into()
                } else {
                    format!(
                        "{:.0} % ({touchless}/{all})",
                        *touchless as f64 * 100.0 / *all as f64
                    )
                },
                value: if *all == 0 {
                    0.0
                } else {
                    *touchless as f64 / *all as f64
                },
                href: None,
            }
        })
        .collect();
    let buckets = [
        (l.t("under 1 day"), 0, 1),
        (l.t("1 to 3 days"), 1, 3),
        (l.t("3 to 7 days"), 3, 7),
        (l.t("over 7 days"), 7, i64::MAX),
    ];
    let ageing: Vec<Bar> = buckets
        .iter()
        .map(|(label, from, to)| {
            let n = d
                .open_received_at
                .iter()
                .filter(|at| {
                    let days = (now - **at).max(0) / 86_400_000;
                    days >= *from && days < *to
                })
                .count();
            Bar {
                label: (*label).into(),
                shown: n.to_string(),
                value: n as f64,
                href: Some("/?view=open&sort=age".into()),
            }
        })
        .collect();
    let reasons: Vec<Bar> = d
        .open_reasons
        .iter()
        .map(|(code, n)| Bar {
            label: labels::reason(l, code),
            shown: n.to_string(),
            value: *n as f64,
            href: Some(format!("/?view=open&reason={code}")),
        })
        .collect();
    let statuses: Vec<Bar> = d
        .by_status
        .iter()
        .map(|(code, n)| Bar {
            label: InvoiceStatus::parse(code)
                .map_or_else(|| labels::words(code), |s| labels::status(l, s).into()),
            shown: n.to_string(),
            value: *n as f64,
            href: None,
        })
        .collect();
    let body = html! {
        h1 { (l.t("Dashboard")) }
        ul.kpis {
            li { b #touchless-rate { (rate) } (l.t("touchless")) " (" (d.touchless) " " (l.t("of")) " " (d.processed) " " (l.t("invoices scheduled without a person")) ")" }
            li { b { (d.open_received_at.len()) } (l.t("waiting for review or approval, worth")) " " (sums(&waiting)) }
            li { b { (sums(&taken)) } (l.t("early-payment discounts taken")) " (" (d.discounts_taken.len()) " " (l.t("payments")) ")" }
            li { b { (d.discounts_lapsed) } (l.t("discounts lapsed before payment")) }
        }
        div.cols {
            section { h2 { (l.t("Why invoices wait")) } (bar_chart(l, &reasons, l.t("Why invoices wait"))) }
            section { h2 { (l.t("Due in the coming weeks")) } (bar_chart(l, &cash, l.t("Due in the coming weeks"))) }
        }
        section { h2 { (l.t("Touchless, by the week invoices arrived")) } (bar_chart(l, &trend, l.t("Touchless, by the week invoices arrived"))) }
        div.cols {
            section { h2 { (l.t("How long they have waited")) } (bar_chart(l, &ageing, l.t("How long they have waited"))) }
            section { h2 { (l.t("Invoices by status")) } (bar_chart(l, &statuses, l.t("Invoices by status"))) }
        }
    };
    Ok(layout(l, l.t("Dashboard"), Some(&caller), &[], body))
}
