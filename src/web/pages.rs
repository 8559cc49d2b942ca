//! Server-rendered pages: the queue by status, and one invoice with its
//! fields, reasons, lines and the original document beside them.

use axum::extract::{Path, Query, State};
use axum::response::Html;

use super::api::{ListQuery, parse_status};
use super::auth::{Caller, FormCaller};
use super::{ApiError, AppState, escape_html as esc};
use crate::domain::{InvoiceId, InvoiceStatus, Role};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330}\
header{background:#1d2330;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;text-decoration:none;font-weight:600}\
main{padding:1rem 1.5rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e3e6ec;vertical-align:top}\
th{background:#f4f6f9;font-weight:600}.tabs a{margin-right:1rem}.tabs a.on{font-weight:700;text-decoration:underline}\
.status{padding:.1rem .45rem;border-radius:.3rem;font-size:.85em}.scheduled{background:#d9f2e1}.needs_review{background:#fde9c8}\
.duplicate{background:#e6e1f5}.rejected{background:#f8d7da}.pending{background:#e3e6ec}.reason{font-family:monospace;font-size:.85em;color:#8a3b00}\
.cols{display:flex;gap:1.5rem}.cols>section{flex:1;min-width:0}.num{text-align:right}\
.low{color:#a40000}.pageview{position:relative;display:inline-block;border:1px solid #ccd;margin-bottom:1rem}\
.pageview img{display:block}.box{position:absolute;border:2px solid #e0a100;background:rgba(255,200,0,.12)}\
.box:target,.box:hover{border-color:#d00;background:rgba(255,0,0,.18)}.filter{margin:.4rem 0 .8rem}.kpis span{display:inline-block;margin-right:2rem}.awaiting_approval{background:#dbe8fb}.on_hold{background:#eee4d4}\
.logout{float:right;margin:0}.action{margin-top:.6rem}\
.einvoice{border:1px solid #ccd;padding:1rem 1.4rem;background:#fff;max-width:60rem}.einvoice .parties{display:flex;gap:2rem}\
.einvoice .parties>section{flex:1}.einvoice dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}\
.einvoice dd{margin:0}.einvoice table{margin:.8rem 0}.einvoice .totals{width:auto;margin-left:auto}.einvoice .strong{font-weight:700}\
.einvoice [id^=xml-]:target{outline:3px solid #e0a100;background:rgba(255,200,0,.25)}.valid{color:#1d6b38}\
@media print{header,.noprint{display:none}main{padding:0}.einvoice{border:0;max-width:none}}";

/// `GET /static/app.css`: the pages' style sheet, served from this origin
/// so the Content-Security-Policy needs no inline `<style>`.
pub async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
}

/// The page frame; with a caller, the header names them and offers logout.
pub(super) fn layout(title: &str, body: &str, caller: Option<&Caller>) -> Html<String> {
    let who = caller.map_or(String::new(), |c| {
        format!(
            "<form method=post action=\"/logout\" class=logout>{} ({}) \
             <input type=hidden name=csrf value=\"{}\"><button id=logout>Log out</button></form>",
            esc(&c.user.username),
            c.user.role.as_str(),
            esc(c.csrf.as_deref().unwrap_or(""))
        )
    });
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{} · apflow</title><link rel=stylesheet href=\"/static/app.css\"></head>\
         <body><header>{who}<a href=\"/\">apflow</a> · accounts payable · <a href=\"/\">queue</a> · <a href=\"/dashboard\">dashboard</a></header><main>{body}</main></body></html>",
        esc(title)
    ))
}

/// How long an invoice has waited, as a clerk reads it.
fn age(ms: i64) -> String {
    let hours = ms.max(0) / 3_600_000;
    if hours < 24 {
        format!("{hours} h")
    } else {
        format!("{} d", hours / 24)
    }
}

fn opt(s: &Option<String>) -> String {
    esc(s.as_deref().unwrap_or("—"))
}

/// `GET /?status=needs_review`
pub async fn queue(
    caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, ApiError> {
    let status = parse_status(q.status.as_deref())?;
    let counts = state.store.invoice_status_counts().await?;
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let mut tabs = format!(
        "<p class=tabs><a href=\"/\" class=\"{}\">All ({total})</a>",
        if status.is_none() { "on" } else { "" }
    );
    for st in [
        InvoiceStatus::NeedsReview,
        InvoiceStatus::AwaitingApproval,
        InvoiceStatus::OnHold,
        InvoiceStatus::Scheduled,
        InvoiceStatus::Duplicate,
        InvoiceStatus::Pending,
    ] {
        let on = if status == Some(st) { "on" } else { "" };
        tabs.push_str(&format!(
            "<a href=\"/?status={0}\" class=\"{on}\">{0} ({1})</a>",
            st.as_str(),
            count(st.as_str())
        ));
    }
    tabs.push_str("</p>");
    let all = state.store.list_invoices(status).await?;
    // The filter offers the reasons present in this view.
    let mut codes: Vec<&str> = all
        .iter()
        .flat_map(|r| r.reasons.iter().map(String::as_str))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let options: String = codes
        .iter()
        .map(|c| {
            let on = if q.reason.as_deref() == Some(*c) {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{0}\"{on}>{0}</option>", esc(c))
        })
        .collect();
    let filter = format!(
        "<form class=filter method=get action=\"/\"><input type=hidden name=status value=\"{}\">\
         Reason <select name=reason><option value=\"\">any</option>{options}</select> \
         Vendor <input name=vendor value=\"{}\" size=18> \
         Assigned to <select name=assignee><option value=\"\">anyone</option><option value=me>me</option><option value=none>nobody</option></select> \
         Total from <input name=min_total size=7> to <input name=max_total size=7> \
         <button>Filter</button></form>",
        esc(status.map_or("", |s| s.as_str())),
        esc(q.vendor.as_deref().unwrap_or(""))
    );
    // "mine" is the caller's own work.
    let mut q = q;
    if q.assignee.as_deref() == Some("me") {
        q.assignee = Some(caller.user.username.clone());
    }
    let rows: Vec<_> = all.into_iter().filter(|r| q.admits(r)).collect();
    let now = crate::store::now_ms();
    let mut body = format!(
        "<h1>Invoices</h1>{tabs}{filter}<table><thead><tr><th>#</th><th>Status</th><th>Vendor</th><th>Invoice no.</th><th>Date</th><th>Due</th><th class=num>Total</th><th>PO</th><th>Reasons</th><th>Assigned</th><th class=num>Age</th></tr></thead><tbody>"
    );
    for r in &rows {
        let mut reasons: Vec<String> = r
            .reasons
            .iter()
            .map(|c| format!("<span class=reason>{}</span>", esc(c)))
            .collect();
        if let Some(w) = crate::workflow::waiting_for(&r.reasons)
            .filter(|_| r.status == InvoiceStatus::NeedsReview)
        {
            reasons.push(format!("<br><small>waiting for {w}</small>"));
        }
        body.push_str(&format!(
            "<tr><td><a href=\"/invoices/{id}\">{id}</a></td><td><span class=\"status {st}\">{st}</span></td><td>{vendor}</td><td><a href=\"/invoices/{id}\">{num}</a></td><td>{date}</td><td>{due}</td><td class=num>{total} {cur}</td><td>{po}</td><td>{reasons}</td><td>{who}</td><td class=num>{age}</td></tr>",
            who = opt(&r.assigned_to),
            age = age(now - r.received_at),
            id = r.id.0,
            st = r.status.as_str(),
            vendor = opt(&r.vendor_name),
            num = opt(&r.invoice_number),
            date = opt(&r.invoice_date),
            due = opt(&r.due_date),
            total = opt(&r.total_amount),
            cur = esc(r.currency.as_deref().unwrap_or("")),
            po = opt(&r.po_number),
            reasons = reasons.join(" "),
        ));
    }
    if rows.is_empty() {
        body.push_str("<tr><td colspan=9>No invoices here. Drop a PDF into the inbox folder or POST it to /api/documents.</td></tr>");
    }
    body.push_str("</tbody></table>");
    if status.is_none() {
        body.push_str(&unprocessed_view(&state).await?);
    }
    Ok(layout("Invoices", &body, Some(&caller)))
}

/// Documents that did not become invoices (rejected as unreadable, or
/// given up after every attempt), with the reason: on the queue, so a
/// failure is seen by the people who work it, not only in a log.
async fn unprocessed_view(state: &AppState) -> Result<String, ApiError> {
    let docs = state.store.unprocessed_documents(50).await?;
    if docs.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from(
        "<h2>Documents not processed</h2><table id=unprocessed><thead><tr><th>Document</th><th>File</th><th>Received</th><th>What happened</th><th>Reason</th></tr></thead><tbody>",
    );
    for d in &docs {
        out.push_str(&format!(
            "<tr><td><a href=\"/documents/{id}/original\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.filename),
            esc(&when(d.received_at)),
            if d.dead_letter {
                "gave up (dead letter)"
            } else {
                "rejected"
            },
            esc(&d.reason),
            id = d.document_id.0,
        ));
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

/// `GET /invoices/{id}`
pub async fn invoice(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Html<String>, ApiError> {
    let d = state
        .store
        .invoice_detail(InvoiceId(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let s = &d.summary;
    let mut body = format!(
        "<h1>Invoice {} <span class=\"status {st}\">{st}</span></h1><p>From {} · document <a href=\"/documents/{doc}/original\">{}</a> · read from {} · match: {}</p>",
        opt(&s.invoice_number),
        opt(&s.vendor_name),
        esc(&s.filename),
        esc(&d.extraction_source),
        esc(d.match_outcome.as_deref().unwrap_or("—")),
        st = s.status.as_str(),
        doc = s.document_id.0,
    );
    body.push_str(&actions(&caller, id, s.status));
    if let Some(orig) = s.duplicate_of {
        body.push_str(&format!(
            "<p>Duplicate of <a href=\"/invoices/{0}\">invoice #{0}</a>; it will not be paid.</p>",
            orig.0
        ));
    }
    if let Some(p) = &d.planned_payment {
        body.push_str(&format!(
            "<p>Payment {}: <b>{} {}</b> on {}{}</p>",
            esc(&p.state),
            esc(&p.amount),
            esc(&p.currency),
            esc(&p.planned_on),
            p.reason
                .as_deref()
                .map(|r| format!(" — {}", esc(r)))
                .unwrap_or_default()
        ));
    }
    if !d.discrepancies.is_empty() {
        body.push_str(
            if matches!(
                s.status,
                InvoiceStatus::NeedsReview | InvoiceStatus::AwaitingApproval
            ) {
                "<h2>Why it needs review</h2><ul>"
            } else {
                "<h2>Findings</h2><ul>"
            },
        );
        for x in &d.discrepancies {
            body.push_str(&format!(
                "<li><span class=reason>{}</span> {}</li>",
                esc(&x.code),
                esc(&x.message)
            ));
        }
        body.push_str("</ul>");
    }
    let xml_view = einvoice_document(&state, &d).await?;
    body.push_str(&changes_view(&state, InvoiceId(id)).await?);
    body.push_str(&bank_account_view(&state, &caller, &d).await?);
    body.push_str("<div class=cols><section><h2>Fields</h2><table><thead><tr><th>Field</th><th>Value</th><th>Confidence</th><th>Where</th></tr></thead><tbody>");
    for f in &d.fields {
        let place = match (f.page, f.bbox) {
            (Some(p), Some([x0, y0, x1, y1])) => {
                format!("p.{p} ({x0:.0},{y0:.0})–({x1:.0},{y1:.0})")
            }
            _ if d.extraction_source == "einvoice" => "e-invoice XML".to_string(),
            _ => "whole document, or derived".to_string(),
        };
        let low = if f.confidence < f64::from(state.settings.min_confidence) {
            " class=low"
        } else {
            ""
        };
        // A field read from the page links to its box on the page image,
        // one read from an XML-only invoice to where its view shows it.
        let name = if xml_view.is_some() {
            format!("<a href=\"#xml-{0}\">{0}</a>", esc(&f.field))
        } else if f.page.is_some() && f.bbox.is_some() {
            format!(
                "<a href=\"#box-{0}\" id=\"field-{0}\">{0}</a>",
                esc(&f.field)
            )
        } else {
            esc(&f.field)
        };
        body.push_str(&format!(
            "<tr><td>{name}</td><td>{}</td><td{low}>{:.2}</td><td>{}</td></tr>",
            esc(&f.value),
            f.confidence,
            esc(&place)
        ));
    }
    body.push_str("</tbody></table><h2>Line items</h2><table><thead><tr><th>#</th><th>Description</th><th class=num>Qty</th><th class=num>Unit price</th><th class=num>Amount</th></tr></thead><tbody>");
    for l in &d.lines {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
            l.line_no,
            opt(&l.description),
            opt(&l.quantity),
            opt(&l.unit_price),
            opt(&l.amount)
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(&match_view(&d));
    body.push_str(&history(&state, id).await?);
    let original = match &xml_view {
        Some(view) => format!(
            "<p><a href=\"/documents/{0}/original\">the XML as received</a> · <a href=\"/documents/{0}/einvoice\">printable view</a></p>{view}",
            s.document_id.0
        ),
        None => format!(
            "<p><a href=\"/documents/{}/original\">the document as received</a></p>{}{}",
            s.document_id.0,
            einvoice_rules(&state, &d).await?,
            page_views(
                &d,
                s.document_id.0,
                s.filename.to_lowercase().ends_with(".pdf")
            ),
        ),
    };
    body.push_str(&format!(
        "</section><section><h2>Original</h2>{original}</section></div>"
    ));
    Ok(layout(
        &format!("Invoice {}", s.invoice_number.as_deref().unwrap_or("")),
        &body,
        Some(&caller),
    ))
}

/// An XML-only e-invoice rendered as a document (`einvoice_view`), with
/// the rules it breaks; `None` for any other document. The XML is parsed
/// again from the stored original, off the async threads, under the same
/// limits as when it arrived; a PDF is never parsed here.
async fn einvoice_document(
    state: &AppState,
    d: &crate::store::InvoiceDetail,
) -> Result<Option<String>, ApiError> {
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
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(model
        .ok()
        .map(|m| super::einvoice_view::render(&m, &violations).into_string()))
}

/// The EN 16931 rules a hybrid PDF's XML breaks, above its page images.
async fn einvoice_rules(
    state: &AppState,
    d: &crate::store::InvoiceDetail,
) -> Result<String, ApiError> {
    if d.extraction_source != "einvoice" {
        return Ok(String::new());
    }
    let violations = state.store.einvoice_violations(d.summary.id).await?;
    if violations.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from("<h3>The attached e-invoice XML</h3><ul>");
    for v in &violations {
        out.push_str(&format!(
            "<li><span class=reason>{}</span> {} <small>({}) at <code>{}</code></small></li>",
            esc(&v.rule),
            esc(&v.message),
            v.severity.as_str(),
            esc(&v.path)
        ));
    }
    out.push_str("</ul>");
    Ok(out)
}

/// `GET /documents/{id}/einvoice`: an XML-only e-invoice as a printable
/// document (the browser's print dialog saves it as PDF).
pub async fn einvoice_page(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Html<String>, ApiError> {
    let document = crate::domain::DocumentId(id);
    let invoice = state
        .store
        .invoice_for_document(document)
        .await?
        .ok_or(ApiError::NotFound)?;
    let d = state
        .store
        .invoice_detail(invoice)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = einvoice_document(&state, &d)
        .await?
        .ok_or(ApiError::NotFound)?;
    let title = format!(
        "E-invoice {}",
        d.summary.invoice_number.as_deref().unwrap_or("")
    );
    let body = format!(
        "<p class=noprint><a href=\"/invoices/{}\">back to the invoice</a> · print this page to save it as PDF</p>{view}",
        invoice.0
    );
    Ok(layout(&title, &body, Some(&caller)))
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    csrf: String,
    field: Option<String>,
    value: Option<String>,
    comment: Option<String>,
    duplicate_of: Option<String>,
}

/// `POST /invoices/{id}/{action}` from the invoice page's forms: the same
/// rules as the API, then back to the invoice (or an error page).
pub async fn invoice_action(
    caller: FormCaller,
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    axum::Form(form): axum::Form<ActionForm>,
) -> Result<axum::response::Response, ApiError> {
    use crate::workflow::review;
    use axum::response::IntoResponse;
    let caller = caller.check_csrf(&form.csrf)?.clone();
    let invoice = InvoiceId(id);
    let comment = form.comment.as_deref().unwrap_or("");
    let done = match action.as_str() {
        "fields" => {
            review::correct_field(
                &state.store,
                &state.settings,
                invoice,
                form.field.as_deref().unwrap_or(""),
                form.value.as_deref().unwrap_or(""),
                &caller.user,
            )
            .await
        }
        "request-approval" => {
            review::request_approval(&state.store, &state.settings, invoice, &caller.user).await
        }
        "claim" => review::assign(&state.store, &state.settings, invoice, None, &caller.user).await,
        "approve" | "reject" | "hold" | "release" | "mark-duplicate" | "reopen" | "verify-iban"
        | "refuse-iban" => {
            let of = form
                .duplicate_of
                .as_deref()
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
        _ => return Err(ApiError::NotFound),
    };
    match done {
        Ok(()) => Ok(axum::response::Redirect::to(&format!("/invoices/{id}")).into_response()),
        Err(e) => {
            let e = ApiError::from(e);
            let status = match &e {
                ApiError::NotFound => axum::http::StatusCode::NOT_FOUND,
                ApiError::Forbidden(_) => axum::http::StatusCode::FORBIDDEN,
                ApiError::Conflict(_) => axum::http::StatusCode::CONFLICT,
                ApiError::Internal(_) => return Err(e),
                _ => axum::http::StatusCode::BAD_REQUEST,
            };
            let body = format!(
                "<h1>Not done</h1><p id=error class=low>{}</p><p><a href=\"/invoices/{id}\">Back to the invoice</a></p>",
                esc(&e.to_string())
            );
            Ok((status, layout("Not done", &body, Some(&caller))).into_response())
        }
    }
}

/// What people changed, old → new, who and when: what an approver is
/// asked to approve on top of what was read.
async fn changes_view(state: &AppState, invoice: InvoiceId) -> Result<String, ApiError> {
    let changes = state.store.corrections(invoice).await?;
    if changes.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from(
        "<h2>Changed by people</h2><table id=changes><thead><tr><th>Field</th><th>Was</th><th>Now</th><th>By</th><th>When</th></tr></thead><tbody>",
    );
    for c in &changes {
        let money = if crate::workflow::review::MONEY_FIELDS.contains(&c.field.as_str()) {
            " class=low"
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr><td{money}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.field),
            opt(&c.old_value),
            esc(&c.new_value),
            esc(&c.username),
            esc(&when(c.at)),
        ));
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

/// The IBAN the invoice asks to be paid to beside the vendor's known
/// accounts, and, for an approver or admin, Verify / Refuse when it is not
/// one of them.
async fn bank_account_view(
    state: &AppState,
    caller: &Caller,
    d: &crate::store::InvoiceDetail,
) -> Result<String, ApiError> {
    let (Some(vendor_id), Some(field)) = (
        d.summary.vendor_id.as_deref(),
        d.fields.iter().find(|f| f.field == "iban"),
    ) else {
        return Ok(String::new());
    };
    let vendor = state.store.vendor(vendor_id).await?;
    let verified = vendor
        .as_ref()
        .is_some_and(|v| crate::validate::is_verified_iban(v, &field.value));
    let place = match (field.page, field.bbox) {
        (Some(p), Some([x0, y0, x1, y1])) => format!(
            "read on <a href=\"#box-iban\">page {p} ({x0:.0},{y0:.0})–({x1:.0},{y1:.0})</a>"
        ),
        _ if field.confidence >= 1.0 => "entered by a person or the e-invoice".to_string(),
        _ => "read from the document".to_string(),
    };
    let mut out = format!(
        "<h2>Bank account</h2><p id=invoice-iban>This invoice asks to be paid to <b>{}</b> ({place}): {}</p>",
        esc(&field.value),
        if verified {
            "a verified account of the vendor"
        } else {
            "<span class=low>NOT a verified account of the vendor</span>"
        }
    );
    let accounts = state.store.bank_accounts(vendor_id).await?;
    out.push_str("<table id=known-accounts><thead><tr><th>Known accounts</th><th>State</th><th>How</th><th>By</th><th>When</th></tr></thead><tbody>");
    for a in &accounts {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&a.iban),
            esc(&a.state),
            esc(&a.source),
            esc(&a.by),
            esc(&when(a.at)),
            a.comment
                .as_deref()
                .map(|c| format!(" — {}", esc(c)))
                .unwrap_or_default()
        ));
    }
    out.push_str("</tbody></table>");
    let judge = matches!(caller.user.role, Role::Approver | Role::Admin);
    if !verified && judge {
        let csrf = esc(caller.csrf.as_deref().unwrap_or(""));
        let id = d.summary.id.0;
        out.push_str(&format!(
            "<p>Call the vendor on a number you already had (never one printed on this invoice) before you verify.</p>\
             <form method=post action=\"/invoices/{id}/verify-iban\"><input type=hidden name=csrf value=\"{csrf}\">\
             <button id=verify-iban>Verify this bank account</button></form>\
             <form method=post action=\"/invoices/{id}/refuse-iban\" class=action><input type=hidden name=csrf value=\"{csrf}\">\
             <input name=comment required placeholder=\"why\"> <button id=refuse-iban>Refuse it</button></form>"
        ));
    }
    Ok(out)
}

/// A Unix-millisecond instant as the pages show it (UTC).
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The actions the caller may take on an invoice in its current status.
fn actions(caller: &Caller, id: i64, status: InvoiceStatus) -> String {
    let csrf = esc(caller.csrf.as_deref().unwrap_or(""));
    let role = caller.user.role;
    let mut out = String::new();
    if status == InvoiceStatus::NeedsReview && matches!(role, Role::Clerk | Role::Admin) {
        let options: String = crate::store::CORRECTABLE_FIELDS
            .iter()
            .map(|(f, _)| format!("<option value=\"{f}\">{}</option>", f.replace('_', " ")))
            .collect();
        out.push_str(&format!(
            "<h2>Review</h2><form id=correct-field method=post action=\"/invoices/{id}/fields\">\
             <input type=hidden name=csrf value=\"{csrf}\">Correct <select name=field>{options}</select> \
             to <input name=value required> <button id=correct>Save correction</button></form>\
             <form method=post action=\"/invoices/{id}/request-approval\" class=action>\
             <input type=hidden name=csrf value=\"{csrf}\"><button id=request-approval>Send to approval</button></form>\
             <form method=post action=\"/invoices/{id}/claim\" class=action>\
             <input type=hidden name=csrf value=\"{csrf}\"><button id=claim>Take it (assign to me)</button></form>\
             <form method=post action=\"/invoices/{id}/hold\" class=action>\
             <input type=hidden name=csrf value=\"{csrf}\"><input name=comment required placeholder=\"why\"> <button id=hold>Put on hold</button></form>\
             <form method=post action=\"/invoices/{id}/reject\" class=action>\
             <input type=hidden name=csrf value=\"{csrf}\"><input name=comment required placeholder=\"reason\"> <button id=clerk-reject>Reject</button></form>\
             <form method=post action=\"/invoices/{id}/mark-duplicate\" class=action>\
             <input type=hidden name=csrf value=\"{csrf}\">Duplicate of invoice # <input name=duplicate_of required size=6> <button id=mark-duplicate>Mark duplicate</button></form>"
        ));
    }
    if status == InvoiceStatus::OnHold && matches!(role, Role::Clerk | Role::Admin) {
        out.push_str(&format!(
            "<h2>On hold</h2><form method=post action=\"/invoices/{id}/release\">\
             <input type=hidden name=csrf value=\"{csrf}\"><button id=release>Back to the review queue</button></form>"
        ));
    }
    if status == InvoiceStatus::AwaitingApproval && matches!(role, Role::Approver | Role::Admin) {
        out.push_str(&format!(
            "<h2>Approval</h2><form method=post action=\"/invoices/{id}/approve\">\
             <input type=hidden name=csrf value=\"{csrf}\"><input name=comment placeholder=\"comment (optional)\"> \
             <button id=approve>Approve</button></form>\
             <form method=post action=\"/invoices/{id}/reject\" class=action>\
             <input type=hidden name=csrf value=\"{csrf}\"><input name=comment required placeholder=\"reason\"> \
             <button id=reject>Reject</button></form>"
        ));
    }
    if matches!(
        status,
        InvoiceStatus::Scheduled | InvoiceStatus::Rejected | InvoiceStatus::Duplicate
    ) && matches!(role, Role::Approver | Role::Admin)
    {
        out.push_str(&format!(
            "<h2>Reopen</h2><form method=post action=\"/invoices/{id}/reopen\">\
             <input type=hidden name=csrf value=\"{csrf}\"><input name=comment required placeholder=\"why\"> \
             <button id=reopen>Reopen for review</button></form>"
        ));
    }
    out
}

/// The pages of a PDF as images with a box over every field read from
/// them; a field's row links to its box (`:target` highlights it), and the
/// box links back to the row.
fn page_views(d: &crate::store::InvoiceDetail, document: i64, is_pdf: bool) -> String {
    if !is_pdf {
        return String::new();
    }
    let scale = super::api::PAGE_DPI as f64 / 72.0;
    let mut pages: Vec<i64> = d.fields.iter().filter_map(|f| f.page).collect();
    pages.push(1);
    pages.sort_unstable();
    pages.dedup();
    let mut out = String::new();
    for p in pages {
        out.push_str(&format!(
            "<div class=pageview><img src=\"/documents/{document}/pages/{p}\" alt=\"page {p}\">"
        ));
        for f in d.fields.iter().filter(|f| f.page == Some(p)) {
            if let Some([x0, y0, x1, y1]) = f.bbox {
                out.push_str(&format!(
                    "<a class=box id=\"box-{0}\" href=\"#field-{0}\" title=\"{0}: {1}\" style=\"left:{2:.0}px;top:{3:.0}px;width:{4:.0}px;height:{5:.0}px\"></a>",
                    esc(&f.field),
                    esc(&f.value),
                    x0 * scale - 2.0,
                    y0 * scale - 2.0,
                    (x1 - x0) * scale + 4.0,
                    (y1 - y0) * scale + 4.0,
                ));
            }
        }
        out.push_str("</div>");
    }
    out
}

/// A horizontal bar chart as inline SVG (no script, nothing to build).
fn bar_chart(rows: &[(String, i64)], css_class: &str) -> String {
    if rows.is_empty() {
        return "<p>—</p>".into();
    }
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1) as f64;
    let (label_w, bar_w, row_h) = (190.0, 320.0, 24.0);
    let height = row_h * rows.len() as f64 + 4.0;
    let mut svg = format!(
        "<svg class=\"chart {css_class}\" role=img width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">",
        label_w + bar_w + 60.0,
        label_w + bar_w + 60.0
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let w = (*n as f64 / max * bar_w).max(1.0);
        svg.push_str(&format!(
            "<text x=\"{x}\" y=\"{ty}\" text-anchor=end font-size=13>{label}</text>\
             <rect x=\"{bx}\" y=\"{y}\" width=\"{w:.0}\" height=\"{h}\" fill=\"#4a78c2\"></rect>\
             <text x=\"{nx:.0}\" y=\"{ty}\" font-size=13>{n}</text>",
            x = label_w - 8.0,
            ty = y + 15.0,
            label = esc(label),
            bx = label_w,
            h = row_h - 6.0,
            nx = label_w + w + 6.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// `GET /dashboard`: how the AP process is doing.
pub async fn dashboard(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Html<String>, ApiError> {
    let d = state.store.dashboard().await?;
    let rate = if d.processed > 0 {
        format!("{:.0}%", d.touchless as f64 * 100.0 / d.processed as f64)
    } else {
        "—".into()
    };
    let now = crate::store::now_ms();
    let buckets = [
        ("under 1 day", 0, 1),
        ("1 to 3 days", 1, 3),
        ("3 to 7 days", 3, 7),
        ("over 7 days", 7, i64::MAX),
    ];
    let ageing: Vec<(String, i64)> = buckets
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
            (label.to_string(), i64::try_from(n).unwrap_or(i64::MAX))
        })
        .collect();
    let mut taken: std::collections::BTreeMap<String, rust_decimal::Decimal> = Default::default();
    for (currency, amount) in &d.discounts_taken {
        if let Ok(a) = amount.parse::<rust_decimal::Decimal>() {
            *taken.entry(currency.clone()).or_default() += a;
        }
    }
    let taken_text = if taken.is_empty() {
        "none yet".to_string()
    } else {
        taken
            .iter()
            .map(|(c, a)| format!("{a} {}", esc(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let body = format!(
        "<h1>Dashboard</h1>\
         <p class=kpis><span><b id=touchless-rate>{rate}</b> touchless ({} of {} invoices scheduled without a person)</span>\
         <span><b>{}</b> on the review or approval queue</span>\
         <span>discounts taken: <b>{}</b> ({} payments); lapsed: <b>{}</b></span></p>\
         <div class=cols><section><h2>Invoices by status</h2>{}<h2>Queue ageing</h2>{}</section>\
         <section><h2>Why invoices wait</h2>{}</section></div>",
        d.touchless,
        d.processed,
        d.open_received_at.len(),
        taken_text,
        d.discounts_taken.len(),
        d.discounts_lapsed,
        bar_chart(&d.by_status, "by-status"),
        bar_chart(&ageing, "ageing"),
        bar_chart(&d.open_reasons, "reasons"),
    );
    Ok(layout("Dashboard", &body, Some(&caller)))
}

/// Invoice lines against the PO lines they matched and what was received,
/// with differences marked.
fn match_view(d: &crate::store::InvoiceDetail) -> String {
    let Some((po, detail)) = &d.match_detail else {
        return String::new();
    };
    let Ok(detail) = serde_json::from_str::<serde_json::Value>(detail) else {
        return String::new();
    };
    let Some(lines) = detail["lines"].as_array().filter(|l| !l.is_empty()) else {
        return String::new();
    };
    let text = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let dec = |s: &str| s.parse::<rust_decimal::Decimal>().ok();
    let mut out = format!(
        "<h2>Match against {}</h2><table class=match><thead><tr><th>Invoice line</th><th class=num>Qty billed</th>\
         <th class=num>Unit price</th><th>PO line</th><th class=num>PO price</th><th class=num>Ordered</th>\
         <th class=num>Received</th><th class=num>Billed before</th></tr></thead><tbody>",
        esc(po.as_deref().unwrap_or("—"))
    );
    for l in lines {
        let n = l["invoice_line"].as_u64().unwrap_or(0);
        let inv = d
            .lines
            .iter()
            .find(|x| u64::try_from(x.line_no).ok() == Some(n));
        let price = inv.and_then(|x| x.unit_price.clone()).unwrap_or_default();
        let po_price = text(&l["po_unit_price"]);
        let qty = text(&l["quantity"]);
        let received = text(&l["received_quantity"]);
        let ordered = text(&l["ordered_quantity"]);
        let before = text(&l["billed_before"]);
        let off = |a: &str, b: &str| match (dec(a), dec(b)) {
            (Some(x), Some(y)) if x != y => " class=\"num low\"",
            _ => " class=num",
        };
        let over = match (dec(&qty), dec(&received), dec(&before)) {
            (Some(q), Some(r), Some(b)) if q + b > r => " class=\"num low\"",
            _ => " class=num",
        };
        out.push_str(&format!(
            "<tr><td>{n} {}</td><td{over}>{}</td><td{}>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td{over}>{}</td><td class=num>{}</td></tr>",
            esc(inv.and_then(|x| x.description.as_deref()).unwrap_or("")),
            esc(&qty),
            off(&price, &po_price),
            esc(&price),
            esc(&text(&l["po_line_no"])),
            esc(&po_price),
            esc(&ordered),
            esc(&received),
            esc(&before),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// What happened to the invoice, from the audit log.
async fn history(state: &AppState, id: i64) -> Result<String, ApiError> {
    let trail = state.store.audit_trail("invoice", &id.to_string()).await?;
    if trail.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from(
        "<h2>History</h2><table><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Detail</th></tr></thead><tbody>",
    );
    for r in trail {
        let when = when(r.at);
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><small>{}</small></td></tr>",
            esc(&when),
            esc(&r.actor),
            esc(&r.action),
            esc(&r.detail)
        ));
    }
    out.push_str("</tbody></table>");
    Ok(out)
}
