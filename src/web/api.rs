//! JSON API and operations endpoints.

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::capture::mail::{FileContents, MailLimits, documents_in_file};
use crate::domain::{DocumentId, InvoiceId, InvoiceStatus, RawDocument, Role, Source};
use crate::store::{InvoiceDetail, InvoiceSummary};
use crate::workflow;

#[derive(Serialize)]
pub struct UploadResponse {
    pub document_id: i64,
    /// The name the document is stored and shown under: the file's, made
    /// safe (`domain::safe_filename`); for a document unpacked from a mail
    /// or archive, its name there.
    pub filename: String,
    /// True when these exact bytes were received before.
    pub duplicate: bool,
}

/// `POST /api/documents` (multipart, one or more `file` parts). A saved
/// mail (`.eml`) or an archive (ZIP, `winmail.dat`) is unpacked like a
/// mail that arrived: one document per invoice in it.
pub async fn upload_document(
    caller: Caller,
    State(state): State<AppState>,
    mut form: Multipart,
) -> Result<(StatusCode, Json<Vec<UploadResponse>>), ApiError> {
    caller.require(&[Role::Clerk, Role::Admin], "upload documents")?;
    let mut out = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::BadRequest(e.body_text()))?
    {
        let filename = field.file_name().unwrap_or("upload").to_string();
        let shown = crate::domain::safe_filename(&filename);
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::BadRequest(format!("{shown} is empty")));
        }
        let raws = match documents_in_file(&filename, bytes.to_vec(), &MailLimits::default()) {
            Ok(FileContents::Document(bytes)) => vec![RawDocument {
                filename,
                bytes,
                source: Source::Upload,
            }],
            Ok(FileContents::Unpacked { contents, mail }) => {
                if contents.documents.is_empty() {
                    let skipped: Vec<String> = contents
                        .skipped
                        .iter()
                        .map(|s| format!("{}: {}", s.path, s.reason))
                        .collect();
                    return Err(ApiError::BadRequest(format!(
                        "{shown}: no invoice document in it ({})",
                        if skipped.is_empty() {
                            "nothing attached".to_string()
                        } else {
                            skipped.join("; ")
                        }
                    )));
                }
                contents.into_raw_documents(|sender, doc| {
                    if mail {
                        sender.source_of(doc)
                    } else {
                        Source::Upload
                    }
                })
            }
            Err(e) => {
                return Err(ApiError::BadRequest(format!("{shown}: {e}")));
            }
        };
        for raw in raws {
            let r = workflow::receive_document(&state.store, &raw, &state.settings).await?;
            out.push(UploadResponse {
                document_id: r.document_id.0,
                filename: crate::domain::safe_filename(&raw.filename),
                duplicate: !r.new,
            });
        }
    }
    if out.is_empty() {
        return Err(ApiError::BadRequest("no file in the upload".to_string()));
    }
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    /// Only invoices with this reason code.
    pub reason: Option<String>,
    /// Only vendors whose name contains this (any case).
    pub vendor: Option<String>,
    /// Only invoices assigned to this clerk (`none`: to nobody).
    pub assignee: Option<String>,
    /// Only invoices whose total is at least / at most this.
    pub min_total: Option<String>,
    pub max_total: Option<String>,
}

impl ListQuery {
    /// Whether an invoice passes the reason and vendor filters.
    pub fn admits(&self, s: &InvoiceSummary) -> bool {
        let reason = self
            .reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .is_none_or(|r| s.reasons.iter().any(|x| x == r));
        let vendor = self
            .vendor
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .is_none_or(|v| {
                s.vendor_name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&v.to_lowercase()))
            });
        let assignee = match self.assignee.as_deref().map(str::trim) {
            None | Some("") => true,
            Some("none") => s.assigned_to.is_none(),
            Some(name) => s.assigned_to.as_deref() == Some(name),
        };
        let total = s
            .total_amount
            .as_deref()
            .and_then(|t| t.parse::<rust_decimal::Decimal>().ok());
        let bound = |b: &Option<String>| {
            b.as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .and_then(|b| b.parse::<rust_decimal::Decimal>().ok())
        };
        let amount = bound(&self.min_total).is_none_or(|m| total.is_some_and(|t| t >= m))
            && bound(&self.max_total).is_none_or(|m| total.is_some_and(|t| t <= m));
        reason && vendor && assignee && amount
    }
}

/// One invoice as the API shows it.
#[derive(Serialize)]
pub struct InvoiceJson {
    pub id: i64,
    pub document_id: i64,
    pub filename: String,
    pub status: &'static str,
    pub vendor_id: Option<String>,
    pub vendor_name: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_date: Option<String>,
    pub due_date: Option<String>,
    pub currency: Option<String>,
    pub total_amount: Option<String>,
    pub po_number: Option<String>,
    pub duplicate_of: Option<i64>,
    pub reasons: Vec<String>,
}

impl From<InvoiceSummary> for InvoiceJson {
    fn from(s: InvoiceSummary) -> Self {
        InvoiceJson {
            id: s.id.0,
            document_id: s.document_id.0,
            filename: s.filename,
            status: s.status.as_str(),
            vendor_id: s.vendor_id,
            vendor_name: s.vendor_name,
            invoice_number: s.invoice_number,
            invoice_date: s.invoice_date,
            due_date: s.due_date,
            currency: s.currency,
            total_amount: s.total_amount,
            po_number: s.po_number,
            duplicate_of: s.duplicate_of.map(|d| d.0),
            reasons: s.reasons,
        }
    }
}

pub fn parse_status(s: Option<&str>) -> Result<Option<InvoiceStatus>, ApiError> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => InvoiceStatus::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown status {s:?}"))),
    }
}

pub async fn list_invoices(
    _caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<InvoiceJson>>, ApiError> {
    let status = parse_status(q.status.as_deref())?;
    let rows = state.store.list_invoices(status).await?;
    Ok(Json(
        rows.into_iter()
            .filter(|r| q.admits(r))
            .map(InvoiceJson::from)
            .collect(),
    ))
}

pub async fn invoice_detail(
    _caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let d = state
        .store
        .invoice_detail(InvoiceId(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let changes = state.store.corrections(InvoiceId(id)).await?;
    Ok(Json(detail_json(d, &changes)))
}

fn detail_json(d: InvoiceDetail, changes: &[crate::store::CorrectionRow]) -> serde_json::Value {
    serde_json::json!({
        "changes": changes.iter().map(|c| serde_json::json!({
            "field": c.field, "old": c.old_value, "new": c.new_value, "by": c.username, "at_ms": c.at,
            "moves_money": crate::workflow::review::MONEY_FIELDS.contains(&c.field.as_str()),
        })).collect::<Vec<_>>(),
        "invoice": InvoiceJson::from(d.summary),
        "extraction_source": d.extraction_source,
        "fields": d.fields.iter().map(|f| serde_json::json!({
            "field": f.field, "value": f.value, "confidence": f.confidence, "page": f.page, "box": f.bbox,
        })).collect::<Vec<_>>(),
        "line_items": d.lines.iter().map(|l| serde_json::json!({
            "line_no": l.line_no, "description": l.description, "sku": l.sku, "quantity": l.quantity,
            "unit": l.unit, "unit_price": l.unit_price, "tax_rate": l.tax_rate, "amount": l.amount, "confidence": l.confidence,
        })).collect::<Vec<_>>(),
        "discrepancies": d.discrepancies.iter().map(|x| serde_json::json!({ "code": x.code, "field": x.field, "message": x.message })).collect::<Vec<_>>(),
        "match": d.match_outcome,
        "planned_payment": d.planned_payment.map(|p| serde_json::json!({ "amount": p.amount, "currency": p.currency, "planned_on": p.planned_on, "state": p.state, "reason": p.reason })),
    })
}

/// Pixels per inch of the page images on the review screen.
pub const PAGE_DPI: u32 = 100;

/// `GET /documents/{id}/pages/{n}`: page `n` of a PDF as a PNG, for the
/// review screen (rendered by pdftoppm in a child process with a deadline).
pub async fn page_image(
    _caller: Caller,
    State(state): State<AppState>,
    Path((id, page)): Path<(i64, u32)>,
) -> Result<impl IntoResponse, ApiError> {
    let doc = state
        .store
        .document(DocumentId(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    if doc.meta.media_type.as_deref() != Some("application/pdf") || page == 0 {
        return Err(ApiError::NotFound);
    }
    let png = tokio::task::spawn_blocking(move || {
        crate::read::ocr::page_png(&doc.content, page, PAGE_DPI)
    })
    .await
    .map_err(|e| ApiError::Internal(Box::new(e)))?
    .map_err(|_| ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    ))
}

/// The original bytes exactly as received, for the review screen.
pub async fn original_document(
    _caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let doc = state
        .store
        .document(DocumentId(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let safe_name: String = doc
        .meta
        .filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok(original_response(doc.content, &safe_name))
}

/// How an original is served. It came from outside (mail, upload), and on
/// this origin a browser would run any script in it (`<h:script>` in
/// XHTML, SVG): only PDFs and raster images, by their sniffed bytes, are
/// shown inline; anything else is a download of opaque bytes, sandboxed
/// should a browser render it anyway.
fn original_response(content: Vec<u8>, safe_name: &str) -> Response {
    use crate::domain::DocumentKind as K;
    let inline = match crate::read::sniff(&content) {
        Some(kind @ (K::Pdf | K::Png | K::Jpeg | K::Tiff)) => Some(kind.media_type()),
        Some(K::Xml) | None => None,
    };
    // Chrome will not show a PDF in a sandboxed document, so the inline
    // kinds get a policy that only lets the viewer itself work.
    let (media, disposition, policy) = match inline {
        Some(media) => (
            media,
            "inline",
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'none'",
        ),
        None => (
            "application/octet-stream",
            "attachment",
            "sandbox; default-src 'none'",
        ),
    };
    (
        [
            (header::CONTENT_TYPE, media.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{safe_name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_SECURITY_POLICY, policy.to_string()),
        ],
        content,
    )
        .into_response()
}

/// `POST /api/import/{vendors|pos|receipts}`: master data as JSONL (or CSV
/// with `Content-Type: text/csv`), the same format and rules as
/// `apflow import`. Invoices waiting for the data are re-evaluated.
pub async fn import_master_data(
    caller: Caller,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[Role::Admin], "import master data")?;
    let kind = match kind.as_str() {
        "vendors" => crate::cli::ImportKind::Vendors,
        "pos" => crate::cli::ImportKind::Pos,
        "receipts" => crate::cli::ImportKind::Receipts,
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown master data {other:?}: use vendors, pos or receipts"
            )));
        }
    };
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let r = crate::cli::import_text(
        &state.store,
        kind,
        &body,
        is_csv,
        "request",
        &caller.user.username,
    )
    .await
    .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    Ok(Json(serde_json::json!({
        "imported": r.records,
        "reevaluated": r.reevaluated,
        "ibans_pending_verification": r.ibans_pending,
    })))
}

#[derive(Deserialize)]
pub struct SettleBody {
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/payment-runs/{id}/executed|failed` with `{"by": ..., "reason": ...}`:
/// the bank's answer for a run (the API twin of `apflow pay mark`).
pub async fn settle_payment_run(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, outcome)): Path<(i64, String)>,
    Json(body): Json<SettleBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[Role::Admin], "record the bank's answer for a payment run")?;
    let executed = match outcome.as_str() {
        "executed" => true,
        "failed" if !body.reason.trim().is_empty() => false,
        "failed" => return Err(ApiError::BadRequest("a failed run needs a reason".into())),
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown outcome {other:?}: use executed or failed"
            )));
        }
    };
    // Recorded as the caller: who says the bank paid is who is accountable.
    let by = &caller.user.username;
    if !crate::workflow::payments::settle_run(&state.store, id, executed, &body.reason, by).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(serde_json::json!({ "run": id, "state": outcome })))
}

pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok\n")
}

/// Prometheus text format. Not public by default (queue sizes and login
/// counts tell an outsider too much): the scraper sends the configured
/// `metrics_token` as a bearer token, an admin may look, or the operator
/// sets `metrics_public`.
pub async fn metrics(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Result<impl IntoResponse, ApiError> {
    use std::fmt::Write;
    may_read_metrics(&state, &parts).await?;
    let mut out = String::new();
    let _ = writeln!(out, "# HELP apflow_documents Documents by pipeline stage.");
    let _ = writeln!(out, "# TYPE apflow_documents gauge");
    for (status, n) in state.store.document_status_counts().await? {
        let _ = writeln!(out, "apflow_documents{{stage=\"{status}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP apflow_invoices Invoices by status.");
    let _ = writeln!(out, "# TYPE apflow_invoices gauge");
    for (status, n) in state.store.invoice_status_counts().await? {
        let _ = writeln!(out, "apflow_invoices{{status=\"{status}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP apflow_jobs Jobs in the queue by kind and state (queue depth: state=\"queued\")."
    );
    let _ = writeln!(out, "# TYPE apflow_jobs gauge");
    for (kind, st, n) in state.store.queue_stats().await?.rows {
        let _ = writeln!(out, "apflow_jobs{{kind=\"{kind}\",state=\"{st}\"}} {n}");
    }
    state.metrics.render(&mut out);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// Whether this request may read `/metrics`: public by setting, the
/// metrics token, or an admin's session or API token.
async fn may_read_metrics(
    state: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<(), ApiError> {
    if state.settings.metrics_public {
        return Ok(());
    }
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let (Some(token), Some(sent)) = (&state.settings.metrics_token, bearer)
        && token.matches(sent.trim())
    {
        return Ok(());
    }
    match super::auth::authenticate(parts, state, true).await {
        Ok(caller) => caller.require(&[Role::Admin], "read the metrics"),
        Err(ApiError::Internal(e)) => Err(ApiError::Internal(e)),
        Err(_) => Err(ApiError::Unauthorized),
    }
}

#[derive(Deserialize)]
pub struct CorrectionBody {
    pub field: String,
    pub value: String,
}

/// `POST /api/invoices/{id}/fields` `{"field": ..., "value": ...}`
pub async fn correct_field(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<CorrectionBody>,
) -> Result<StatusCode, ApiError> {
    workflow::review::correct_field(
        &state.store,
        &state.settings,
        InvoiceId(id),
        &body.field,
        &body.value,
        &caller.user,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct VerifyIbanBody {
    pub iban: String,
}

/// `POST /api/vendors/{id}/verify-iban` `{"iban": ...}`: a second person
/// confirms a vendor's new bank account; held invoices are checked again.
pub async fn verify_iban(
    caller: Caller,
    State(state): State<AppState>,
    Path(vendor_id): Path<String>,
    Json(body): Json<VerifyIbanBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n =
        workflow::review::verify_iban(&state.store, &vendor_id, &body.iban, &caller.user).await?;
    Ok(Json(
        serde_json::json!({ "vendor_id": vendor_id, "reevaluated": n }),
    ))
}

#[derive(Deserialize, Default)]
pub struct AssignBody {
    pub to: Option<String>,
}

/// `POST /api/invoices/{id}/assign` `{"to": "clerk"}` (without `to`: the caller claims it)
pub async fn assign(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Option<Json<AssignBody>>,
) -> Result<StatusCode, ApiError> {
    let to = body.and_then(|b| b.0.to);
    workflow::review::assign(
        &state.store,
        &state.settings,
        InvoiceId(id),
        to.as_deref(),
        &caller.user,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/invoices/{id}/request-approval`
/// `POST /api/invoices/{id}/request-approval` `{"comment": ...}`: the
/// comment (what was checked or changed) is required.
pub async fn request_approval(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Option<Json<DecisionBody>>,
) -> Result<StatusCode, ApiError> {
    let body = body.map(|b| b.0).unwrap_or_default();
    workflow::review::request_approval(
        &state.store,
        &state.settings,
        InvoiceId(id),
        &body.comment,
        &caller.user,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/documents/{id}/retry`: another full set of attempts for a
/// document apflow gave up on (its job dead-lettered).
pub async fn retry_document(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    workflow::review::retry_document(&state.store, DocumentId(id), &caller.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct LinesBody {
    pub lines: Vec<LineBody>,
}

#[derive(Deserialize)]
pub struct LineBody {
    /// The line it was (1-based), to keep its SKU, unit and tax rate.
    pub from: Option<usize>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub unit_price: String,
    #[serde(default)]
    pub amount: String,
}

/// `POST /api/invoices/{id}/lines` `{"lines": [{"from": 1, "description":
/// "...", "quantity": "5", "unit_price": "249,00", "amount": "1245,00"}]}`:
/// the invoice's lines replaced, as one change an approver approves.
pub async fn correct_lines(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<LinesBody>,
) -> Result<StatusCode, ApiError> {
    let edits: Vec<workflow::review::LineEdit> = body
        .lines
        .into_iter()
        .map(|l| workflow::review::LineEdit {
            from: l.from,
            description: l.description,
            quantity: l.quantity,
            unit_price: l.unit_price,
            amount: l.amount,
        })
        .collect();
    workflow::review::correct_lines(&state.store, InvoiceId(id), &edits, &caller.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct NoteBody {
    pub text: String,
}

/// `POST /api/invoices/{id}/notes` `{"text": "..."}`: a note on the
/// invoice; `@name` tells that user. Answers the names mentioned.
pub async fn add_note(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<NoteBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mentions = workflow::review::add_note(
        &state.store,
        &state.settings,
        InvoiceId(id),
        &body.text,
        &caller.user,
    )
    .await?;
    Ok(Json(serde_json::json!({ "mentions": mentions })))
}

#[derive(Deserialize, Default)]
pub struct DecisionBody {
    #[serde(default)]
    pub comment: String,
    /// For `mark-duplicate`: the earlier invoice.
    pub duplicate_of: Option<i64>,
}

/// `POST /api/invoices/{id}/approve|reject` `{"comment": ...}`
pub async fn decide(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, decision)): Path<(i64, String)>,
    body: Option<Json<DecisionBody>>,
) -> Result<StatusCode, ApiError> {
    let body = body.map(|b| b.0).unwrap_or_default();
    let decided = workflow::review::act(
        &state.store,
        &state.settings,
        InvoiceId(id),
        &decision,
        &body.comment,
        body.duplicate_of.map(InvoiceId),
        &caller.user,
    )
    .await?;
    // 202: the first of two approvals; a second approver must act.
    Ok(match decided {
        Some(workflow::review::Decided::NeedsSecondApprover) => StatusCode::ACCEPTED,
        _ => StatusCode::NO_CONTENT,
    })
}
