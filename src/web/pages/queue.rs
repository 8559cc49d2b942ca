//! The queue: a day's work as views ("assigned to me", "waiting for my
//! approval", "on hold", "rejected", "all open", ...), sorted by due date
//! unless the person asks otherwise, searchable by vendor, invoice number,
//! PO or amount. Everything is in the URL, so a view can be bookmarked,
//! and the invoice page walks the same list with next / previous.

use axum::extract::{Query, State};
use axum::response::Html;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::{Lang, PageError, Shortcut, age, labels, layout, money, when};
use crate::domain::{InvoiceStatus, Role};
use crate::store::{QueueFilter, QueueSort, QueueView, SortKey};
use crate::web::AppState;
use crate::web::auth::Caller;

/// What the queue shows: a view, an order, a search, a reason.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct QueueQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The queue's older address (`?status=needs_review`), kept working
    /// for bookmarks: read as the view that shows that status.
    #[serde(default, skip_serializing)]
    pub status: Option<String>,
    /// Where the page starts (`Show more`): after this row of the order.
    #[serde(default, skip_serializing)]
    pub after: Option<String>,
}

impl QueueQuery {
    /// The query as it goes into a link (`view=mine&sort=amount`).
    pub fn to_query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    fn with(&self, change: impl FnOnce(&mut QueueQuery)) -> String {
        let mut q = self.clone();
        change(&mut q);
        let s = q.to_query();
        if s.is_empty() {
            "/".into()
        } else {
            format!("/?{s}")
        }
    }
}

/// The views, in the order of the tabs: key, label.
pub(super) const VIEWS: [(&str, &str); 9] = [
    ("open", "All open"),
    ("mine", "Assigned to me"),
    ("review", "Needs review"),
    ("approval", "Waiting for my approval"),
    ("hold", "On hold"),
    ("rejected", "Rejected"),
    ("scheduled", "Scheduled and paid"),
    ("duplicates", "Duplicates"),
    ("all", "Everything"),
];

/// The view a person lands on: approvers their approvals, others all
/// open work.
fn view_of<'a>(query: &'a QueueQuery, caller: &Caller) -> &'a str {
    if let Some(v) = query.view.as_deref() {
        return v;
    }
    match query.status.as_deref().and_then(InvoiceStatus::parse) {
        Some(InvoiceStatus::NeedsReview) => "review",
        Some(InvoiceStatus::AwaitingApproval) => "approval",
        Some(InvoiceStatus::OnHold) => "hold",
        Some(InvoiceStatus::Rejected) => "rejected",
        Some(InvoiceStatus::Scheduled | InvoiceStatus::Paid) => "scheduled",
        Some(InvoiceStatus::Duplicate) => "duplicates",
        Some(InvoiceStatus::Pending) => "all",
        None => default_view(caller),
    }
}

fn default_view(caller: &Caller) -> &'static str {
    if caller.user.role == Role::Approver {
        "approval"
    } else {
        "open"
    }
}

/// The view's key as the store knows it.
fn store_view(view: &str) -> QueueView {
    match view {
        "mine" => QueueView::Mine,
        "review" => QueueView::Review,
        "approval" => QueueView::Approval,
        "hold" => QueueView::Hold,
        "rejected" => QueueView::Rejected,
        "scheduled" => QueueView::Scheduled,
        "duplicates" => QueueView::Duplicates,
        "all" => QueueView::All,
        _ => QueueView::Open,
    }
}

/// The queue's query as the store's filter, for this person.
pub(super) fn filter(query: &QueueQuery, caller: &Caller) -> QueueFilter {
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_string);
    QueueFilter {
        view: store_view(view_of(query, caller)),
        user_id: caller.user.id,
        username: caller.user.username.clone(),
        may_approve: matches!(caller.user.role, Role::Approver | Role::Admin),
        reason: query.reason.clone().filter(|r| !r.is_empty()),
        amount: search
            .as_deref()
            .and_then(|q| crate::extract::normalize::parse_amount(q, None)),
        search,
        sort: match query.sort.as_deref() {
            Some("amount") => QueueSort::Amount,
            Some("age") => QueueSort::Age,
            _ => QueueSort::Due,
        },
    }
}

/// A page's start as it travels in the URL: `t:2026-04-30~17`.
fn cursor_text(key: &SortKey, id: i64) -> String {
    match key {
        SortKey::Text(t) => format!("t:{t}~{id}"),
        SortKey::Number(x) => format!("n:{x}~{id}"),
        SortKey::Int(n) => format!("i:{n}~{id}"),
    }
}

fn cursor_of(text: &str) -> Option<(SortKey, i64)> {
    let (key, id) = text.rsplit_once('~')?;
    let id = id.parse().ok()?;
    let key = match key.split_once(':')? {
        ("t", t) => SortKey::Text(t.to_string()),
        ("n", x) => SortKey::Number(x.parse().ok().filter(|x: &f64| x.is_finite())?),
        ("i", n) => SortKey::Int(n.parse().ok()?),
        _ => return None,
    };
    Some((key, id))
}

/// Rows a queue page shows.
const PAGE_ROWS: i64 = 100;

const KEYS: [Shortcut; 2] = [
    Shortcut {
        key: "j / k",
        does: "next / previous invoice in the list",
    },
    Shortcut {
        key: "Enter",
        does: "open the invoice",
    },
];

/// `GET /?view=mine&sort=due&q=acme`
pub async fn queue(
    caller: Caller,
    l: Lang,
    State(state): State<AppState>,
    Query(query): Query<QueueQuery>,
) -> Result<Html<String>, PageError> {
    let view = view_of(&query, &caller).to_string();
    let failed = |e: crate::store::Error| PageError::for_caller(e, &caller, l);
    let f = filter(&query, &caller);
    let after = query.after.as_deref().and_then(cursor_of);
    let page = state
        .store
        .queue_page(&f, after.as_ref(), PAGE_ROWS)
        .await
        .map_err(failed)?;
    let counts = state.store.queue_counts(&f).await.map_err(failed)?;
    let count = |v: &str| {
        counts
            .iter()
            .find(|(view, _)| *view == store_view(v))
            .map_or(0, |(_, n)| *n)
    };
    let rows = page.rows;
    let more = page.next.map(|(key, id)| {
        format!(
            "/?{}&after={}",
            query.to_query(),
            crate::web::error::url_encode(&cursor_text(&key, id))
        )
    });
    let label = VIEWS
        .iter()
        .find(|(k, _)| *k == view)
        .map_or("All open", |(_, name)| name);
    let label = l.t(label);
    let back = query.to_query();
    let now = crate::store::now_ms();
    // The reasons present in this view, for the filter.
    let mut reasons: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.reasons.iter().map(String::as_str))
        .collect();
    if let Some(r) = query.reason.as_deref().filter(|r| !r.is_empty()) {
        reasons.push(r);
    }
    reasons.sort_unstable();
    reasons.dedup();
    let sort = query.sort.as_deref().unwrap_or("due");
    let may_upload = matches!(caller.user.role, Role::Clerk | Role::Admin);
    let body = html! {
        h1 { (label) }
        nav aria-label="views" {
            ul.tabs {
                @for (key, name) in VIEWS {
                    li { a href=(query.with(|q| { q.view = Some(key.into()); q.reason = None; }))
                        aria-current=[(key == view).then_some("page")] { (l.t(name)) " (" (count(key)) ")" } }
                }
            }
        }
        form.filter method="get" action="/" {
            input type="hidden" name="view" value=(view);
            label { (l.t("Search")) input name="q" type="search" value=(query.q.as_deref().unwrap_or("")) placeholder=(l.t("vendor, number, PO, amount")); }
            label { (l.t("Why"))
                select name="reason" {
                    option value="" { (l.t("any reason")) }
                    @for r in &reasons {
                        option value=(r) selected[query.reason.as_deref() == Some(*r)] { (labels::reason(l, r)) }
                    }
                }
            }
            label { (l.t("Sort by"))
                select name="sort" {
                    option value="due" selected[sort == "due"] { (l.t("due date")) }
                    option value="amount" selected[sort == "amount"] { (l.t("amount, largest first")) }
                    option value="age" selected[sort == "age"] { (l.t("waiting longest")) }
                }
            }
            button { (l.t("Show")) }
        }
        table.list.queue {
            caption.skip { (label) }
            thead { tr {
                th { (l.t("Vendor")) } th { (l.t("Invoice no.")) } th { (l.t("Due")) } th.num { (l.t("Total")) }
                th { (l.t("Status")) } th { (l.t("Why")) } th { (l.t("Taken by")) } th.num { (l.t("Waiting")) }
            } }
            tbody {
                @for r in &rows {
                    tr data-href=(format!("/invoices/{}", r.id.0)) {
                        td { a.open href=(invoice_link(r.id.0, &back)) { (r.vendor_name.as_deref().unwrap_or(l.t("Unknown vendor"))) } }
                        td { (r.invoice_number.as_deref().unwrap_or("—")) }
                        td { (r.due_date.as_deref().unwrap_or("—")) }
                        td.num { (money(r.total_amount.as_deref(), r.currency.as_deref())) }
                        td { span class=(format!("status {}", r.status.as_str())) { (labels::status(l, r.status)) } }
                        td { (reason_list(l, &r.reasons)) }
                        td { (r.assigned_to.as_deref().unwrap_or("—")) }
                        td.num { (age(l, now - r.received_at)) }
                    }
                }
                @if rows.is_empty() {
                    tr { td colspan="8" { (l.t("Nothing here.")) @if view == "mine" { (l.t(" Take an invoice from “All open” to work on it.")) } } }
                }
            }
        }
        @if let Some(more) = &more { p { a #more href=(more) { (l.t("Show more")) } } }
        @if may_upload { (upload_zone(l)) }
        @if matches!(view.as_str(), "open" | "all") { (unprocessed(l, &state, &caller).await.map_err(|e| e.in_lang(l))?) }
    };
    Ok(layout(l, label, Some(&caller), &KEYS, body))
}

pub(super) fn invoice_link(id: i64, back: &str) -> String {
    if back.is_empty() {
        format!("/invoices/{id}")
    } else {
        format!("/invoices/{id}?{back}")
    }
}

pub(super) fn reason_list(l: Lang, codes: &[String]) -> Markup {
    html! {
        @for c in codes { span.reason { (labels::reason(l, c)) } }
    }
}

fn upload_zone(l: Lang) -> Markup {
    html! {
        section #dropzone .dropzone aria-label=(l.t("Add invoices")) {
            h2 { (l.t("Add invoices")) }
            p { (l.t("Drop PDFs, images, e-invoices (XML) or saved mails here, or "))
                label { (l.t("choose files ")) input type="file" name="file" multiple; } }
            ul #uploads .uploads aria-live="polite" {}
        }
    }
}

/// Documents that did not become invoices (unreadable, or given up after
/// every attempt), with the reason: on the queue, so a failure is seen by
/// the people who work it, not only in a log.
async fn unprocessed(l: Lang, state: &AppState, caller: &Caller) -> Result<Markup, PageError> {
    let may_retry = matches!(caller.user.role, Role::Clerk | Role::Admin);
    let docs = state.store.unprocessed_documents(50).await?;
    if docs.is_empty() {
        return Ok(super::nothing());
    }
    Ok(html! {
        h2 { (l.t("Documents that could not be processed")) }
        table #unprocessed .list {
            thead { tr { th { (l.t("File")) } th { (l.t("Received")) } th { (l.t("What happened")) } th { (l.t("Why")) } th { } } }
            tbody {
                @for d in &docs {
                    tr {
                        td { a href=(format!("/documents/{}/original", d.document_id.0)) { (d.filename) } }
                        td { (when(d.received_at)) }
                        td { @if d.dead_letter { (l.t("Gave up after several tries")) } @else { (l.t("Not an invoice apflow can read")) } }
                        td { (d.reason) }
                        td {
                            @if d.dead_letter && may_retry {
                                form method="post" action=(format!("/documents/{}/retry", d.document_id.0)) {
                                    input type="hidden" name="csrf" value=(caller.csrf.as_deref().unwrap_or(""));
                                    button.secondary { (l.t("Try again")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}
