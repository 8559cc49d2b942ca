//! One invoice, worked on without leaving the page: its form (every
//! correctable field editable with its current value, the reasons it
//! waits, the conversation, the decisions the person may take) beside the
//! document it was read from (zoom, pages, a box on each field's word, a
//! click on a word takes it). Decisions post to the same workflow rules as
//! the API and come back here, or to the next invoice of the list.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::queue::{QueueQuery, filter, invoice_link};
use super::{Lang, PageError, Shortcut, labels, layout, money, nothing, when};
use crate::domain::{InvoiceId, InvoiceStatus, Role};
use crate::store::InvoiceDetail;
use crate::web::auth::{Caller, FormCaller};
use crate::web::{ApiError, AppState};
use crate::workflow::review;

const KEYS: [Shortcut; 11] = [
    Shortcut {
        key: "e",
        does: "edit the first field to check",
    },
    Shortcut {
        key: "n",
        does: "write a note",
    },
    Shortcut {
        key: "t",
        does: "take the invoice (assign it to me)",
    },
    Shortcut {
        key: "s",
        does: "send to approval (type the comment, then Enter)",
    },
    Shortcut {
        key: "a",
        does: "approve (type a comment if you like, then Enter)",
    },
    Shortcut {
        key: "r",
        does: "reject (type the reason, then Enter)",
    },
    Shortcut {
        key: "h",
        does: "put on hold (type the reason, then Enter)",
    },
    Shortcut {
        key: "u",
        does: "undo a rejection",
    },
    Shortcut {
        key: "j / k",
        does: "next / previous invoice of the list",
    },
    Shortcut {
        key: "+ / − / 0",
        does: "zoom the document in, out, to the page width",
    },
    Shortcut {
        key: "Esc",
        does: "leave a field (then the keys work again)",
    },
];

/// `GET /invoices/{id}`, with the queue's query (view, sort, search) so
/// next / previous walk the list the person came from.
pub async fn invoice(
    caller: Caller,
    l: Lang,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<QueueQuery>,
) -> Result<Html<String>, PageError> {
    let id = super::id_of(&id).map_err(|e| e.in_lang(l))?;
    let err = |e: crate::store::Error| PageError::for_caller(e, &caller, l);
    let not_found = || PageError::for_caller(ApiError::NotFound, &caller, l);
    // Whether a check is still to run is read before the invoice: a check
    // finishing between the two reads then shows as its result, never as
    // stale reasons without the "being checked" notice (which reloads).
    let document = state
        .store
        .invoice_summary(InvoiceId(id))
        .await
        .map_err(err)?
        .ok_or_else(not_found)?
        .document_id;
    let rechecking = state
        .store
        .unfinished_jobs(&[document])
        .await
        .map_err(err)?
        > 0;
    let d = state
        .store
        .invoice_detail(InvoiceId(id))
        .await
        .map_err(err)?
        .ok_or_else(not_found)?;
    let s = &d.summary;
    let back = query.to_query();
    // Previous / next in the list the person came from.
    let around = state
        .store
        .queue_neighbours(&filter(&query, &caller), InvoiceId(id))
        .await
        .map_err(err)?;
    let xml_view = einvoice_document(&state, &d).await?;
    let approving = s.status == InvoiceStatus::AwaitingApproval;
    // The audit trail, read once: the notes, the history and whether a
    // rejection can still be undone all come from it.
    let trail = state
        .store
        .audit_trail("invoice", &id.to_string())
        .await
        .map_err(err)?;
    let notes = conversation(l, &caller, &d, &back, &trail);
    let changed = changes(l, &state, &d).await.map_err(|e| e.in_lang(l))?;
    // The master data's vendors, for picking one, where a clerk may.
    let vendors = if s.status == InvoiceStatus::NeedsReview
        && matches!(caller.user.role, Role::Clerk | Role::Admin)
    {
        state.store.vendors().await.map_err(err)?
    } else {
        Vec::new()
    };
    let kind = state
        .store
        .document_meta(s.document_id)
        .await
        .map_err(err)?
        .and_then(|m| m.media_type)
        .and_then(|t| crate::domain::DocumentKind::from_media_type(&t));
    let title = format!(
        "{} {}",
        l.t("Invoice"),
        s.invoice_number
            .as_deref()
            .unwrap_or(l.t("without a number"))
    );
    let total = field(&d, "total_amount");
    let due_amount = field(&d, "amount_due");
    let body = html! {
        p.nav {
            a href=(if back.is_empty() { "/".to_string() } else { format!("/?{back}") }) { (l.t("← Back to the list")) }
            @if let Some(p) = around.prev { a rel="prev" data-key="k" href=(invoice_link(p.0, &back)) { (l.t("Previous")) } }
            @if let Some(n) = around.next { a rel="next" data-key="j" href=(invoice_link(n.0, &back)) { (l.t("Next")) } }
            @if let Some(i) = around.position { span.muted { (i) " " (l.t("of")) " " (around.total) } }
        }
        div.workspace {
            section aria-label=(l.t("Invoice")) {
                h1 { (title) " " span class=(format!("status {}", s.status.as_str())) { (labels::status(l, s.status)) } }
                div.summary {
                    span.amount #amount { (money(due_amount.or(total), s.currency.as_deref())) }
                    span { (l.t("from")) " " b { (s.vendor_name.as_deref().unwrap_or(l.t("an unknown vendor"))) } }
                    span { (l.t("due")) " " b { (s.due_date.as_deref().unwrap_or("—")) } }
                    span { (l.t("order")) " " b { (s.po_number.as_deref().unwrap_or(l.t("none"))) } " (" (labels::match_outcome(l, d.match_outcome.as_deref().unwrap_or(""))) ")" }
                    span #taken { @match (&s.assigned_to, s.status) {
                        (Some(who), InvoiceStatus::NeedsReview) => { (l.t("Taken by")) " " b { (who) } }
                        (None, InvoiceStatus::NeedsReview) => { (l.t("Nobody has taken it yet")) }
                        _ => {}
                    } }
                }
                @if rechecking {
                    p #rechecking .panel.warn role="status" { (l.t("Being checked again after a change: the reasons below update in a moment.")) }
                }
                @if let Some(orig) = s.duplicate_of {
                    p.panel { (l.t("Duplicate of")) " " a href=(format!("/invoices/{}", orig.0)) { (l.t("invoice #")) (orig.0) } (l.t("; it will not be paid.")) }
                }
                @if let Some(p) = &d.planned_payment {
                    p.panel #payment { (l.t("Payment")) " " (labels::words(&p.state).to_lowercase()) ": " b { (money(Some(&p.amount), Some(&p.currency))) } " " (l.t("on")) " " (p.planned_on)
                        @if let Some(r) = &p.reason { " — " (r) } }
                }
                (reasons(l, &d))
                // An approver reads what people changed and said before
                // deciding; a clerk works on the fields first.
                @if approving { (changed) (notes) }
                (actions(l, &state, &caller, &d, &back, &trail).await.map_err(|e| e.in_lang(l))?)
                (fields_form(l, &state, &caller, &d, &back, xml_view.is_some(), &vendors))
                (line_items(l, &caller, &d, &back))
                @if !approving { (notes) (changed) }
                (bank_account(l, &state, &caller, &d, &back).await.map_err(|e| e.in_lang(l))?)
                (match_view(l, &d))
                (history(l, &trail))
            }
            section.viewer aria-label=(l.t("Document")) {
                @match &xml_view {
                    Some(view) => {
                        p { a href=(format!("/documents/{}/original", s.document_id.0)) { (l.t("The XML as received")) } " · "
                            a href=(format!("/documents/{}/einvoice", s.document_id.0)) { (l.t("printable view")) } }
                        (maud::PreEscaped(view.clone()))
                    }
                    None => {
                        p { a href=(format!("/documents/{}/original", s.document_id.0)) { (l.t("The document as received")) } }
                        (einvoice_rules(l, &state, &d).await.map_err(|e| e.in_lang(l))?)
                        (page_views(l, &d, kind))
                    }
                }
            }
        }
    };
    Ok(layout(l, &title, Some(&caller), &KEYS, body))
}

/// What every form of the invoice page carries: the session's CSRF token
/// and the list the person came from (to go back to, or on to the next).
fn tokens(caller: &Caller, back: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(caller.csrf.as_deref().unwrap_or(""));
        input type="hidden" name="back" value=(back);
    }
}

fn field<'a>(d: &'a InvoiceDetail, name: &str) -> Option<&'a str> {
    d.fields
        .iter()
        .find(|f| f.field == name)
        .map(|f| f.value.as_str())
}

fn reasons(l: Lang, d: &InvoiceDetail) -> Markup {
    if d.discrepancies.is_empty() {
        return nothing();
    }
    let open = matches!(
        d.summary.status,
        InvoiceStatus::NeedsReview | InvoiceStatus::AwaitingApproval | InvoiceStatus::OnHold
    );
    html! {
        section.panel.warn[open] #reasons {
            h2 { @if open { (l.t("Why it needs a person")) } @else { (l.t("What the checks found")) } }
            ul {
                @for x in &d.discrepancies {
                    li { b { (labels::reason(l, &x.code)) } ": " (x.message) }
                }
            }
        }
    }
}

/// The decisions this person may take on the invoice in its status.
async fn actions(
    l: Lang,
    state: &AppState,
    caller: &Caller,
    d: &InvoiceDetail,
    back: &str,
    trail: &[crate::store::AuditRow],
) -> Result<Markup, PageError> {
    let id = d.summary.id.0;
    let status = d.summary.status;
    let role = caller.user.role;
    let clerk = matches!(role, Role::Clerk | Role::Admin);
    let judge = matches!(role, Role::Approver | Role::Admin);
    let post = |action: &str| format!("/invoices/{id}/{action}");
    let hidden = tokens(caller, back);
    let undo = if judge && matches!(status, InvoiceStatus::Rejected | InvoiceStatus::Duplicate) {
        review::undoable_in(trail, crate::store::now_ms())
    } else {
        None
    };
    let mine = d.summary.assigned_to.as_deref() == Some(caller.user.username.as_str());
    // Who review work can be given to: active clerks and admins.
    let colleagues: Vec<String> = if status == InvoiceStatus::NeedsReview && clerk {
        state
            .store
            .users()
            .await
            .map_err(|e| PageError::for_caller(e, caller, l))?
            .into_iter()
            .filter(|u| matches!(u.role, Role::Clerk | Role::Admin))
            .map(|u| u.username)
            .filter(|n| d.summary.assigned_to.as_deref() != Some(n.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(html! {
        section.panel #decide aria-label=(l.t("What next")) {
            h2 { (l.t("What next")) }
            div.actions {
                @if status == InvoiceStatus::NeedsReview && clerk {
                    @if !mine {
                        form method="post" action=(post("claim")) { (hidden) button #claim data-key="t" { (l.t("Take it")) } }
                    }
                    @if !colleagues.is_empty() {
                        form method="post" action=(post("claim")) {
                            (hidden)
                            label { (l.t("Give it to"))
                                select #assign-to name="to" { @for n in &colleagues { option value=(n) { (n) } } } }
                            button.secondary #assign { (l.t("Assign")) }
                        }
                    }
                    form method="post" action=(post("request-approval")) {
                        (hidden)
                        label { (l.t("Comment for the approver (required)")) input #approval-comment name="comment" required data-key="s" size="30"; }
                        button #request-approval { (l.t("Send to approval")) }
                        button.secondary name="then" value="next" { (l.t("Send and next")) }
                    }
                    form method="post" action=(post("hold")) {
                        (hidden)
                        label { (l.t("Why on hold")) input #hold-reason name="comment" required data-key="h" size="18"; }
                        button.secondary #hold { (l.t("Put on hold")) }
                    }
                    form method="post" action=(post("reject")) data-confirm=(l.t("Reject this invoice? It will not be paid (an approver can undo it today).")) {
                        (hidden)
                        label { (l.t("Why rejected")) input #reject-reason name="comment" required data-key="r" size="18"; }
                        button.danger #clerk-reject { (l.t("Reject")) }
                    }
                    form method="post" action=(post("mark-duplicate")) data-confirm=(l.t("Mark as a duplicate? It will not be paid (an approver can undo it today).")) {
                        (hidden)
                        label { (l.t("Duplicate of invoice #")) input name="duplicate_of" required size="6" inputmode="numeric"; }
                        button.secondary #mark-duplicate { (l.t("Mark duplicate")) }
                    }
                }
                @if status == InvoiceStatus::OnHold && clerk {
                    form method="post" action=(post("release")) { (hidden) button #release { (l.t("Back to the review queue")) } }
                }
                @if status == InvoiceStatus::AwaitingApproval && judge {
                    form method="post" action=(post("approve")) {
                        (hidden)
                        label { (l.t("Comment (optional)")) input #approve-comment name="comment" data-key="a" size="30"; }
                        button #approve { (l.t("Approve")) }
                        button.secondary name="then" value="next" { (l.t("Approve and next")) }
                    }
                    form method="post" action=(post("reject")) data-confirm=(l.t("Reject this invoice? It will not be paid (you can undo it today).")) {
                        (hidden)
                        label { (l.t("Why rejected")) input #reject-reason name="comment" required data-key="r" size="18"; }
                        button.danger #reject { (l.t("Reject")) }
                    }
                }
                @if undo.is_some() {
                    form method="post" action=(post("undo")) {
                        (hidden)
                        button #undo data-key="u" { (l.t("Undo: back to the review queue")) }
                    }
                }
                @if matches!(status, InvoiceStatus::Scheduled | InvoiceStatus::Rejected | InvoiceStatus::Duplicate) && judge {
                    form method="post" action=(post("reopen")) {
                        (hidden)
                        label { (l.t("Why reopen")) input name="comment" required size="18"; }
                        button.secondary #reopen { (l.t("Reopen for review")) }
                    }
                }
                @if status == InvoiceStatus::NeedsReview && !clerk {
                    p.muted { (l.t("A clerk reviews it first.")) }
                }
                @if status == InvoiceStatus::AwaitingApproval && !judge {
                    p.muted { (l.t("Waiting for an approver.")) }
                }
            }
        }
    })
}

/// Every field with its current value; the correctable ones are inputs a
/// clerk changes in place (amounts and dates as they write them), the
/// rest are shown. A field read from the page links to its box.
fn fields_form(
    l: Lang,
    state: &AppState,
    caller: &Caller,
    d: &InvoiceDetail,
    back: &str,
    xml: bool,
    vendors: &[crate::domain::Vendor],
) -> Markup {
    let editable = d.summary.status == InvoiceStatus::NeedsReview
        && matches!(caller.user.role, Role::Clerk | Role::Admin);
    let mut names: Vec<&str> = crate::store::CORRECTABLE_FIELDS
        .iter()
        .map(|(f, _)| *f)
        .collect();
    for f in &d.fields {
        if !names.contains(&f.field.as_str()) {
            names.push(&f.field);
        }
    }
    names.sort_by_key(|n| labels::field_rank(n));
    let min = f64::from(state.settings.min_confidence);
    // The first field to look at: one read with low confidence, else the
    // first one a reason names, else the first field.
    let flagged = d
        .fields
        .iter()
        .filter(|f| f.confidence < min)
        .map(|f| f.field.as_str())
        .chain(d.discrepancies.iter().filter_map(|x| x.field.as_deref()))
        .find(|f| crate::store::CORRECTABLE_FIELDS.iter().any(|(c, _)| c == f));
    let first = flagged.unwrap_or("invoice_number");
    let id = d.summary.id.0;
    html! {
        form #fields method="post" action=(format!("/invoices/{id}/fields")) {
            (tokens(caller, back))
            h2 { (l.t("Fields")) }
            @if editable { p #taking .muted { (l.t("Change a value and save; amounts as 1.234,56 or 1234.56, dates as 31.12.2026 or 2026-12-31. Click a word on the page to take it.")) } }
            table.fields {
                thead { tr { th { (l.t("Field")) } th { (l.t("Value")) } th.conf { (l.t("Read with")) } } }
                tbody {
                    @for name in &names {
                        @let row = d.fields.iter().find(|f| f.field == *name);
                        // The vendor of the master data is the invoice's own.
                        @let value = if *name == "vendor_id" {
                            d.summary.vendor_id.as_deref().unwrap_or("")
                        } else {
                            row.map_or("", |f| f.value.as_str())
                        };
                        @let correctable = crate::store::CORRECTABLE_FIELDS.iter().any(|(c, _)| c == name);
                        @let label = labels::field(l, name);
                        tr {
                            th scope="row" {
                                @if xml && row.is_some() { a href=(format!("#xml-{name}")) { (label) } }
                                @else if row.is_some_and(|f| f.page.is_some() && f.bbox.is_some()) {
                                    // Out of the Tab order: the keyboard goes from value to value.
                                    a href=(format!("#box-{name}")) id=(format!("field-{name}")) title="show on the page" tabindex="-1" { (label) }
                                } @else { (label) }
                            }
                            td {
                                @if editable && correctable {
                                    @if *name == "vendor_id" {
                                        input #f-vendor_id name="f:vendor_id" value=(value) aria-label=(label)
                                            list="vendors" placeholder=(l.t("search by name or number"));
                                        datalist #vendors {
                                            @for v in vendors { option value=(v.vendor_id) { (v.name) } }
                                        }
                                    } @else {
                                        input id=(format!("f-{name}")) name=(format!("f:{name}")) value=(value) aria-label=(label)
                                            data-takes=(label) data-key=[(*name == first).then_some("e")];
                                    }
                                    input type="hidden" name=(format!("was:{name}")) value=(value);
                                } @else {
                                    span id=(format!("v-{name}")) { @if value.is_empty() { "—" } @else { (value) } }
                                }
                            }
                            td.conf {
                                @match row {
                                    None if *name == "vendor_id" && !value.is_empty() => { (l.t("found by the checks")) }
                                    Some(f) if f.confidence >= 1.0 => { (l.t("certain")) }
                                    Some(f) if f.confidence < min => { span.low { (l.t("low")) " (" (format!("{:.0}", f.confidence * 100.0)) " %)" } }
                                    Some(f) => { (format!("{:.0}", f.confidence * 100.0)) " %" }
                                    None => { span.muted { (l.t("not found")) } }
                                }
                            }
                        }
                    }
                }
            }
            @if editable {
                p { button #save { (l.t("Save changes")) } " " button.secondary name="then" value="next" { (l.t("Save and next")) } }
            }
        }
    }
}

fn line_items(l: Lang, caller: &Caller, d: &InvoiceDetail, back: &str) -> Markup {
    let editable = d.summary.status == InvoiceStatus::NeedsReview
        && matches!(caller.user.role, Role::Clerk | Role::Admin);
    if editable {
        return lines_grid(l, caller, d, back);
    }
    if d.lines.is_empty() {
        return nothing();
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    html! {
        h2 { (l.t("Line items")) }
        table {
            thead { tr { th { "#" } th { (l.t("Description")) } th.num { (l.t("Quantity")) } th.num { (l.t("Unit price")) } th.num { (l.t("Amount")) } } }
            tbody {
                @for l in &d.lines {
                    tr { td { (l.line_no) } td { (dash(&l.description)) } td.num { (dash(&l.quantity)) }
                        td.num { (dash(&l.unit_price)) } td.num { (dash(&l.amount)) } }
                }
            }
        }
    }
}

/// The lines as a grid a clerk edits: each line's values, a box to drop
/// it, and empty rows to add lines (a split is a line changed and one
/// added). Saved as one change of the lines, which an approver approves.
fn lines_grid(l: Lang, caller: &Caller, d: &InvoiceDetail, back: &str) -> Markup {
    let id = d.summary.id.0;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let blank = d.lines.len() + 1..=d.lines.len() + 2;
    html! {
        form #lines method="post" action=(format!("/invoices/{id}/lines")) {
            (tokens(caller, back))
            h2 { (l.t("Line items")) }
            table.lines-grid {
                thead { tr { th { "#" } th { (l.t("Description")) } th.num { (l.t("Quantity")) }
                    th.num { (l.t("Unit price")) } th.num { (l.t("Amount")) } th { (l.t("Remove")) } } }
                tbody {
                    @for (i, line) in d.lines.iter().enumerate() {
                        @let n = i + 1;
                        tr {
                            td { (n) input type="hidden" name=(format!("ln{n}:from")) value=(line.line_no); }
                            td { input name=(format!("ln{n}:description")) value=(value(&line.description)) aria-label=(format!("{} {n}", l.t("Description"))); }
                            td.num { input name=(format!("ln{n}:quantity")) value=(value(&line.quantity)) size="6" aria-label=(format!("{} {n}", l.t("Quantity"))); }
                            td.num { input name=(format!("ln{n}:unit_price")) value=(value(&line.unit_price)) size="8" aria-label=(format!("{} {n}", l.t("Unit price"))); }
                            td.num { input name=(format!("ln{n}:amount")) value=(value(&line.amount)) size="9" aria-label=(format!("{} {n}", l.t("Amount"))); }
                            td { input type="checkbox" name=(format!("ln{n}:remove")) aria-label=(format!("{} {n}", l.t("Remove"))); }
                        }
                    }
                    @for n in blank {
                        tr.new {
                            td { "+" }
                            td { input name=(format!("ln{n}:description")) aria-label=(format!("{} {n}", l.t("Description"))); }
                            td.num { input name=(format!("ln{n}:quantity")) size="6" aria-label=(format!("{} {n}", l.t("Quantity"))); }
                            td.num { input name=(format!("ln{n}:unit_price")) size="8" aria-label=(format!("{} {n}", l.t("Unit price"))); }
                            td.num { input name=(format!("ln{n}:amount")) size="9" aria-label=(format!("{} {n}", l.t("Amount"))); }
                            td {}
                        }
                    }
                }
            }
            p { button.secondary #save-lines { (l.t("Save lines")) } " " span.muted { (l.t("Fill the empty rows to add lines; tick Remove to drop one.")) } }
        }
    }
}

/// The grid's rows (`ln3:quantity`, ...) as line edits, in row order,
/// without the rows ticked for removal.
fn line_edits(form: &[(String, String)]) -> Vec<review::LineEdit> {
    let mut rows: std::collections::BTreeMap<usize, (review::LineEdit, bool)> = Default::default();
    for (name, value) in form {
        let Some((row, column)) = name
            .strip_prefix("ln")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(n, c)| Some((n.parse::<usize>().ok()?, c)))
        else {
            continue;
        };
        if row > review::MAX_EDITED_LINES + 2 {
            continue;
        }
        let (edit, removed) = rows.entry(row).or_default();
        match column {
            "from" => edit.from = value.trim().parse().ok(),
            "description" => edit.description = value.clone(),
            "quantity" => edit.quantity = value.clone(),
            "unit_price" => edit.unit_price = value.clone(),
            "amount" => edit.amount = value.clone(),
            "remove" => *removed = true,
            _ => {}
        }
    }
    rows.into_values()
        .filter(|(_, removed)| !removed)
        .map(|(edit, _)| edit)
        .collect()
}

/// The notes and every comment given with a decision, oldest first, and
/// a box to write one.
fn conversation(
    l: Lang,
    caller: &Caller,
    d: &InvoiceDetail,
    back: &str,
    trail: &[crate::store::AuditRow],
) -> Markup {
    let id = d.summary.id.0;
    let said: Vec<(i64, String, String, String)> = trail
        .iter()
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.detail).ok()?;
            let text = v["comment"].as_str().filter(|c| !c.trim().is_empty())?;
            Some((
                r.at,
                r.actor.clone(),
                labels::action(l, &r.action),
                text.to_string(),
            ))
        })
        .collect();
    html! {
        section #notes aria-label=(l.t("Notes")) {
            h2 { (l.t("Notes")) }
            @if said.is_empty() { p.muted { (l.t("No notes yet.")) } }
            ol.conversation {
                @for (at, who, what, text) in &said {
                    li { div.by { b { (who) } " · " (what) " · " (when(*at)) } div { (text) } }
                }
            }
            form method="post" action=(format!("/invoices/{id}/note")) {
                (tokens(caller, back))
                label for="note" { (l.t("Add a note (@name tells a colleague)")) }
                textarea #note name="comment" required data-key="n" {}
                button.secondary #add-note { (l.t("Add note")) }
            }
        }
    }
}

/// What people changed, old → new, who and when: what an approver is
/// asked to approve on top of what was read.
async fn changes(l: Lang, state: &AppState, d: &InvoiceDetail) -> Result<Markup, PageError> {
    let rows = state.store.corrections(d.summary.id).await?;
    if rows.is_empty() {
        return Ok(nothing());
    }
    Ok(html! {
        h2 { (l.t("Changed by people")) }
        table #changes {
            thead { tr { th { (l.t("Field")) } th { (l.t("Was")) } th { (l.t("Now")) } th { (l.t("By")) } th { (l.t("When")) } } }
            tbody {
                @for c in &rows {
                    tr {
                        td { (labels::field(l, &c.field))
                            @if review::MONEY_FIELDS.contains(&c.field.as_str()) { " " span.low { (l.t("(moves money)")) } } }
                        td { (c.old_value.as_deref().unwrap_or("—")) }
                        td { (c.new_value) }
                        td { (c.username) }
                        td { (when(c.at)) }
                    }
                }
            }
        }
    })
}

/// The IBAN the invoice asks to be paid to beside the vendor's known
/// accounts, and, for an approver or admin, Verify / Refuse when it is not
/// one of them.
async fn bank_account(
    l: Lang,
    state: &AppState,
    caller: &Caller,
    d: &InvoiceDetail,
    back: &str,
) -> Result<Markup, PageError> {
    let (Some(vendor_id), Some(iban)) = (
        d.summary.vendor_id.as_deref(),
        d.fields.iter().find(|f| f.field == "iban"),
    ) else {
        return Ok(nothing());
    };
    let vendor = state.store.vendor(vendor_id).await?;
    let verified = vendor
        .as_ref()
        .is_some_and(|v| crate::validate::is_verified_iban(v, &iban.value));
    let accounts = state.store.bank_accounts(vendor_id).await?;
    let judge = matches!(caller.user.role, Role::Approver | Role::Admin);
    let id = d.summary.id.0;
    Ok(html! {
        section #bank {
            h2 { (l.t("Bank account")) }
            p #invoice-iban { (l.t("This invoice asks to be paid to ")) b { (iban.value) } ": "
                @if verified { span.ok { (l.t("a verified account of the vendor")) } }
                @else { span.low { (l.t("NOT a verified account of the vendor")) } } }
            table #known-accounts {
                thead { tr { th { (l.t("Known accounts")) } th { (l.t("State")) } th { (l.t("How")) } th { (l.t("By")) } th { (l.t("When")) } } }
                tbody {
                    @for a in &accounts {
                        tr { td { (a.iban) } td { (labels::words(&a.state)) } td { (labels::words(&a.source)) } td { (a.by) }
                            td { (when(a.at)) @if let Some(c) = &a.comment { " — " (c) } } }
                    }
                }
            }
            @if !verified && judge {
                p { (l.t("Call the vendor on a number you already had (never one printed on this invoice) before you verify.")) }
                div.actions {
                    form method="post" action=(format!("/invoices/{id}/verify-iban")) {
                        (tokens(caller, back))
                        button #verify-iban { (l.t("Verify this bank account")) }
                    }
                    form method="post" action=(format!("/invoices/{id}/refuse-iban")) {
                        (tokens(caller, back))
                        label { (l.t("Why refused")) input name="comment" required; }
                        button.danger #refuse-iban { (l.t("Refuse it")) }
                    }
                }
            }
        }
    })
}

/// Invoice lines against the PO lines they matched and what was received,
/// with differences marked.
fn match_view(l: Lang, d: &InvoiceDetail) -> Markup {
    let Some((po, detail)) = &d.match_detail else {
        return nothing();
    };
    let Ok(detail) = serde_json::from_str::<serde_json::Value>(detail) else {
        return nothing();
    };
    let Some(lines) = detail["lines"].as_array().filter(|l| !l.is_empty()) else {
        return nothing();
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        v => v.to_string(),
    };
    let dec = |s: &str| s.parse::<rust_decimal::Decimal>().ok();
    html! {
        h2 { (l.t("Against purchase order")) " " (po.as_deref().unwrap_or("—")) }
        table.match {
            thead { tr { th { (l.t("Invoice line")) } th.num { (l.t("Billed")) } th.num { (l.t("Unit price")) } th { (l.t("Order line")) }
                th.num { (l.t("Order price")) } th.num { (l.t("Ordered")) } th.num { (l.t("Received")) } th.num { (l.t("Billed before")) } } }
            tbody {
                @for l in lines {
                    @let n = l["invoice_line"].as_u64().unwrap_or(0);
                    @let inv = d.lines.iter().find(|x| u64::try_from(x.line_no).ok() == Some(n));
                    @let price = inv.and_then(|x| x.unit_price.clone()).unwrap_or_default();
                    @let po_price = text(&l["po_unit_price"]);
                    @let qty = text(&l["quantity"]);
                    @let received = text(&l["received_quantity"]);
                    @let before = text(&l["billed_before"]);
                    @let price_off = matches!((dec(&price), dec(&po_price)), (Some(x), Some(y)) if x != y);
                    @let over = matches!((dec(&qty), dec(&received), dec(&before)), (Some(q), Some(r), Some(b)) if q + b > r);
                    tr {
                        td { (n) " " (inv.and_then(|x| x.description.as_deref()).unwrap_or("")) }
                        td.num.low[over] { (qty) }
                        td.num.low[price_off] { (price) }
                        td { (text(&l["po_line_no"])) }
                        td.num { (po_price) }
                        td.num { (text(&l["ordered_quantity"])) }
                        td.num.low[over] { (received) }
                        td.num { (before) }
                    }
                }
            }
        }
    }
}

/// What happened to the invoice, from the audit log, in words: who, what,
/// when (local time) and the detail a person needs (old → new, comment).
fn history(l: Lang, trail: &[crate::store::AuditRow]) -> Markup {
    if trail.is_empty() {
        return nothing();
    }
    html! {
        details #history {
            summary { h2 style="display:inline" { (l.t("History")) } }
            table {
                thead { tr { th { (l.t("When")) } th { (l.t("Who")) } th { (l.t("What")) } th { (l.t("Detail")) } } }
                tbody {
                    @for r in trail {
                        tr { td { (when(r.at)) } td { (who(&r.actor)) } td { (labels::action(l, &r.action)) }
                            td { (history_detail(l, &r.detail)) } }
                    }
                }
            }
        }
    }
}

/// A worker's id (`worker-3@host`) is apflow itself to a clerk.
fn who(actor: &str) -> &str {
    if actor.starts_with("worker") || actor.contains('@') || actor == "system" {
        "apflow"
    } else {
        actor
    }
}

/// The parts of an audit entry's detail a person reads; never the JSON.
fn history_detail(l: Lang, detail: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(detail) else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(f) = v["field"].as_str() {
        let new = v["new"].as_str().unwrap_or("");
        parts.push(format!("{} → {new}", labels::field(l, f)));
    }
    if let Some(to) = v["to"].as_str() {
        parts.push(format!("to {to}"));
    }
    if let Some(status) = v["status"]
        .as_str()
        .and_then(crate::domain::InvoiceStatus::parse)
    {
        parts.push(labels::status(l, status).to_string());
    }
    if let Some(reasons) = v["reasons"].as_array() {
        let mut words: Vec<String> = reasons
            .iter()
            .filter_map(|r| r.as_str().or_else(|| r["code"].as_str()))
            .map(|r| labels::reason(l, r))
            .collect();
        words.dedup();
        if !words.is_empty() {
            parts.push(words.join(", "));
        }
    }
    if let Some(d) = v["duplicate_of"].as_i64() {
        parts.push(format!("duplicate of invoice #{d}"));
    }
    if let Some(p) = v["planned_on"].as_str() {
        parts.push(format!("payment planned for {p}"));
    }
    if let Some(c) = v["comment"].as_str().filter(|c| !c.is_empty()) {
        parts.push(format!("“{c}”"));
    }
    parts.join("; ")
}

/// The pages of a PDF as images, each with a box over every field read
/// from it; a field's label links to its box (`:target` highlights it),
/// the box back to the field. `app.js` fits the page to the viewer's
/// width, zooms it, and lays the page's words over it for taking values.
fn page_views(l: Lang, d: &InvoiceDetail, kind: Option<crate::domain::DocumentKind>) -> Markup {
    use crate::domain::DocumentKind as K;
    let document = d.summary.document_id.0;
    match kind {
        Some(K::Pdf) => {}
        // A photo or scan the browser shows as it is (served with its
        // sniffed type, as the original link does). Its words were read
        // by OCR at the image's own resolution, so it has no field boxes.
        Some(K::Png | K::Jpeg) => {
            return html! {
                (viewer_toolbar(l, &[1]))
                div.sheet #page-1 {
                    div.pageview {
                        img src=(format!("/documents/{document}/original")) alt="The scanned invoice";
                    }
                }
            };
        }
        _ => {
            return html! { p.muted { (l.t("No preview of this kind of document: open it with the link above.")) } };
        }
    }
    let scale = f64::from(crate::web::api::PAGE_DPI) / 72.0;
    let mut pages: Vec<i64> = d.fields.iter().filter_map(|f| f.page).collect();
    pages.push(1);
    pages.sort_unstable();
    pages.dedup();
    html! {
        (viewer_toolbar(l, &pages))
        @for p in &pages {
            div.sheet id=(format!("page-{p}")) {
                div.pageview data-words=(format!("/documents/{document}/pages/{p}/words")) data-px-per-pt=(format!("{scale:.4}")) {
                    img src=(format!("/documents/{document}/pages/{p}")) alt=(format!("Page {p} of the invoice"));
                    @for f in d.fields.iter().filter(|f| f.page == Some(*p)) {
                        @if let Some([x0, y0, x1, y1]) = f.bbox {
                            a.box id=(format!("box-{}", f.field)) href=(format!("#field-{}", f.field))
                                title=(format!("{}: {}", labels::field(l, &f.field), f.value))
                                aria-label=(labels::field(l, &f.field))
                                style=(format!("left:{:.0}px;top:{:.0}px;width:{:.0}px;height:{:.0}px",
                                    x0 * scale - 2.0, y0 * scale - 2.0, (x1 - x0) * scale + 4.0, (y1 - y0) * scale + 4.0)) {}
                        }
                    }
                }
            }
        }
    }
}

/// The document viewer's zoom buttons (`app.js` works them) and, for
/// several pages, the page menu.
fn viewer_toolbar(l: Lang, pages: &[i64]) -> Markup {
    html! {
        div.toolbar.noprint {
            button.secondary #zoom-out type="button" data-key="-" aria-label=(l.t("Zoom out")) { "−" }
            span #zoom-level aria-live="polite" { "fit" }
            button.secondary #zoom-in type="button" data-key="+" aria-label=(l.t("Zoom in")) { "+" }
            button.secondary #zoom-fit type="button" data-key="0" { (l.t("Fit width")) }
            @if pages.len() > 1 {
                label { (l.t("Page")) " " select #page-no { @for p in pages { option value=(p) { (p) } } } }
            }
        }
    }
}

/// An XML-only e-invoice rendered as a document (`einvoice_view`), with
/// the rules it breaks; `None` for any other document. The XML is parsed
/// again from the stored original, off the async threads, under the same
/// limits as when it arrived; a PDF is never parsed here.
async fn einvoice_document(
    state: &AppState,
    d: &InvoiceDetail,
) -> Result<Option<String>, PageError> {
    if d.extraction_source != "einvoice" {
        return Ok(None);
    }
    let Some(doc) = state.store.document(d.summary.document_id).await? else {
        return Ok(None);
    };
    if crate::read::sniff(&doc.content) != Some(crate::domain::DocumentKind::Xml) {
        return Ok(None);
    }
    let violations = state.store.einvoice_violations(d.summary.id).await?;
    let model =
        tokio::task::spawn_blocking(move || crate::read::einvoice::parse_model(&doc.content))
            .await
            .map_err(|e| PageError::from(ApiError::Internal(Box::new(e))))?;
    Ok(model
        .ok()
        .map(|m| crate::web::einvoice_view::render(&m, &violations).into_string()))
}

/// The EN 16931 rules a hybrid PDF's XML breaks, above its page images.
async fn einvoice_rules(l: Lang, state: &AppState, d: &InvoiceDetail) -> Result<Markup, PageError> {
    if d.extraction_source != "einvoice" {
        return Ok(nothing());
    }
    let violations = state.store.einvoice_violations(d.summary.id).await?;
    if violations.is_empty() {
        return Ok(nothing());
    }
    Ok(html! {
        h3 { (l.t("The attached e-invoice XML breaks these rules")) }
        ul {
            @for v in &violations {
                li { b { (v.rule) } " " (v.message) " " small { "(" (v.severity.as_str()) ")" } }
            }
        }
    })
}

/// `GET /documents/{id}/einvoice`: an XML-only e-invoice as a printable
/// document (the browser's print dialog saves it as PDF).
pub async fn einvoice_page(
    caller: Caller,
    l: Lang,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let document = crate::domain::DocumentId(super::id_of(&id).map_err(|e| e.in_lang(l))?);
    let not_found = || PageError::for_caller(ApiError::NotFound, &caller, l);
    let invoice = state
        .store
        .invoice_for_document(document)
        .await?
        .ok_or_else(not_found)?;
    let d = state
        .store
        .invoice_detail(invoice)
        .await?
        .ok_or_else(not_found)?;
    let view = einvoice_document(&state, &d)
        .await
        .map_err(|e| e.in_lang(l))?
        .ok_or_else(not_found)?;
    let title = format!(
        "E-invoice {}",
        d.summary.invoice_number.as_deref().unwrap_or("")
    );
    let body = html! {
        h1.noprint { (title) }
        p.noprint { a href=(format!("/invoices/{}", invoice.0)) { (l.t("Back to the invoice")) } " · print this page to save it as PDF" }
        (maud::PreEscaped(view))
    };
    Ok(layout(l, &title, Some(&caller), &[], body))
}

/// `GET /documents/{id}/status`: where an uploaded document went: its
/// invoice, or why it is not one (yet).
pub async fn document_status(
    caller: Caller,
    l: Lang,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let document = crate::domain::DocumentId(super::id_of(&id).map_err(|e| e.in_lang(l))?);
    if let Some(invoice) = state.store.invoice_for_document(document).await? {
        return Ok(Redirect::to(&format!("/invoices/{}", invoice.0)).into_response());
    }
    let meta = state
        .store
        .document_meta(document)
        .await?
        .ok_or_else(|| PageError::for_caller(ApiError::NotFound, &caller, l))?;
    let dead = state.store.dead_job_error(document).await?;
    let body = html! {
        h1 { (l.t("Document")) " " (meta.filename) }
        p { (l.t("Received")) " " (when(meta.received_at)) }
        @if let Some(why) = meta.reason.as_deref().filter(|_| meta.status == "rejected") {
            p #error .low { (l.t("apflow could not read it as an invoice: ")) (why) }
        } @else if let Some(why) = dead {
            p #error .low { (l.t("apflow gave up on it after several tries: ")) (why) }
            @if matches!(caller.user.role, Role::Clerk | Role::Admin) {
                form method="post" action=(format!("/documents/{}/retry", document.0)) {
                    input type="hidden" name="csrf" value=(caller.csrf.as_deref().unwrap_or(""));
                    button #retry { (l.t("Try again")) }
                }
            }
        } @else {
            p role="status" { (l.t("It is being read. Reload this page in a moment to see the invoice.")) }
        }
        p { a href=(format!("/documents/{}/original", document.0)) { (l.t("The document as received")) } " · " a href="/" { (l.t("To the queue")) } }
    };
    Ok(layout(l, l.t("Document"), Some(&caller), &[], body).into_response())
}

/// `GET /documents/{id}/pages/{page}/words`: the words of a PDF page with
/// their boxes (points), for taking a value by clicking it. Read again
/// from the stored original, as the extraction read it.
pub async fn page_words(
    _caller: Caller,
    State(state): State<AppState>,
    Path((id, page)): Path<(String, String)>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let page: u32 = page.parse().map_err(|_| ApiError::NotFound)?;
    let doc = state
        .store
        .document(crate::domain::DocumentId(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    if crate::read::sniff(&doc.content) != Some(crate::domain::DocumentKind::Pdf) {
        return Err(ApiError::NotFound);
    }
    let read = crate::read::read_document(
        std::sync::Arc::new(doc.content),
        state.settings.read_options(true),
        state.settings.read_timeout,
    )
    .await
    .map_err(|_| ApiError::NotFound)?;
    let words = read
        .pages
        .iter()
        .filter(|p| p.number == page)
        .flat_map(|p| p.lines.iter().flat_map(|l| l.words.iter()))
        .map(|w| serde_json::json!({ "t": w.text, "b": [w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1] }))
        .collect();
    Ok(Json(words))
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /documents/{id}/retry` from the queue or the document's page:
/// another full set of attempts for a document apflow gave up on, then
/// to where it is now.
pub async fn document_retry(
    caller: FormCaller,
    l: Lang,
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    let document = crate::domain::DocumentId(super::id_of(&id).map_err(|e| e.in_lang(l))?);
    let caller = caller
        .check_csrf(&form.csrf)
        .map_err(|e| PageError::from(e).in_lang(l))?
        .clone();
    review::retry_document(&state.store, document, &caller.user)
        .await
        .map_err(|e| PageError::for_caller(e, &caller, l))?;
    Ok(Redirect::to(&format!("/documents/{}/status", document.0)).into_response())
}

/// `POST /invoices/{id}/{action}` from the invoice page's forms: the same
/// rules as the API, then back to the invoice, or on to the next one of
/// the list (`then=next`), or an error page with a way back.
pub async fn invoice_action(
    caller: Result<FormCaller, ApiError>,
    l: Lang,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = super::id_of(&id).map_err(|e| e.in_lang(l))?;
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let caller = match caller {
        Ok(c) => c,
        // The session ended while the person typed: log in again, and
        // the form comes back as they left it (`resume_page`).
        Err(ApiError::Unauthorized) => {
            let next = format!("/invoices/{id}");
            let resume = super::resume_of(&format!("/invoices/{id}/{action}"), &form);
            let page = super::login_page(
                l,
                &next,
                Some(l.t(
                    "Your session ended, so this was not saved yet. Log in and it is shown again, as you left it.",
                )),
                Some(&resume),
            );
            return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
        }
        Err(e) => return Err(PageError::from(e).in_lang(l)),
    };
    let caller = caller
        .check_csrf(get("csrf").unwrap_or(""))
        .map_err(|e| PageError::from(e).in_lang(l))?
        .clone();
    let invoice = InvoiceId(id);
    let back = get("back").unwrap_or("");
    let comment = get("comment").unwrap_or("");
    let done: Result<(), review::ReviewError> = match action.as_str() {
        "fields" => correct_fields(l, &state, &caller, invoice, &form).await,
        "lines" => {
            review::correct_lines(&state.store, invoice, &line_edits(&form), &caller.user).await
        }
        "note" => review::add_note(
            &state.store,
            &state.settings,
            invoice,
            comment,
            &caller.user,
        )
        .await
        .map(|_| ()),
        "request-approval" => {
            review::request_approval(
                &state.store,
                &state.settings,
                invoice,
                comment,
                &caller.user,
            )
            .await
        }
        "claim" => {
            review::assign(
                &state.store,
                &state.settings,
                invoice,
                get("to"),
                &caller.user,
            )
            .await
        }
        "approve" | "reject" | "hold" | "release" | "mark-duplicate" | "reopen" | "undo"
        | "verify-iban" | "refuse-iban" => {
            let of = get("duplicate_of")
                .and_then(|d| d.trim().trim_start_matches('#').parse().ok())
                .map(InvoiceId);
            review::act(
                &state.store,
                &state.settings,
                invoice,
                &action,
                comment,
                of,
                &caller.user,
            )
            .await
            .map(|_| ())
        }
        _ => return Err(PageError::for_caller(ApiError::NotFound, &caller, l)),
    };
    if let Err(e) = done {
        return Err(PageError::for_caller(e, &caller, l).back_to(id, back));
    }
    let query: QueueQuery = serde_urlencoded::from_str(back).unwrap_or_default();
    if get("then") == Some("next") {
        // The list as it is now: this invoice may have left it, and the
        // next is the one after its place in the order.
        let around = state
            .store
            .queue_neighbours(&filter(&query, &caller), invoice)
            .await
            .map_err(|e| PageError::for_caller(e, &caller, l))?;
        if let Some(next) = around.next {
            return Ok(Redirect::to(&invoice_link(next.0, back)).into_response());
        }
        return Ok(Redirect::to(&format!("/?{back}")).into_response());
    }
    Ok(Redirect::to(&invoice_link(id, back)).into_response())
}

/// The changed fields of the invoice form (`f:name` differs from
/// `was:name`), each corrected under the workflow's rules; stops at the
/// first that is refused, naming it.
async fn correct_fields(
    l: Lang,
    state: &AppState,
    caller: &Caller,
    invoice: InvoiceId,
    form: &[(String, String)],
) -> Result<(), review::ReviewError> {
    let mut changed = Vec::new();
    for (name, value) in form {
        // The API's shape (field + value) still works from a form.
        if name == "field" {
            let v = form
                .iter()
                .find(|(n, _)| n == "value")
                .map_or("", |(_, v)| v.as_str());
            changed.push((value.clone(), v.to_string()));
            continue;
        }
        let Some(field) = name.strip_prefix("f:") else {
            continue;
        };
        let was = form
            .iter()
            .find(|(n, _)| n.strip_prefix("was:") == Some(field))
            .map_or("", |(_, v)| v.as_str());
        // `479,92` where `479.92` was is no change; a value that cannot
        // be read is, so the person hears why.
        let same = value.trim() == was.trim()
            || matches!(
                (review::correction_value(field, value), review::correction_value(field, was)),
                (Ok(a), Ok(b)) if a == b
            );
        if !same {
            changed.push((field.to_string(), value.clone()));
        }
    }
    if changed.is_empty() {
        return Err(review::ReviewError::Invalid(
            "nothing was changed: edit a value, then save".into(),
        ));
    }
    for (field, value) in &changed {
        review::correct_field(
            &state.store,
            &state.settings,
            invoice,
            field,
            value,
            &caller.user,
        )
        .await
        .map_err(|e| match e {
            review::ReviewError::Invalid(m) => {
                review::ReviewError::Invalid(format!("{}: {m}", labels::field(l, field)))
            }
            e => e,
        })?;
    }
    Ok(())
}
