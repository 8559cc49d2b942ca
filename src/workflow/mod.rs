//! Workflow: chains the stages for one document and routes the result.
//!
//! This is the one place that knows the order of the pipeline:
//! `read` → `extract` (job `extract`), then `validate` + duplicate check +
//! `matching` → route → `payment` plan (job `decide`). Each job's result is
//! committed together with the job's completion, so a crash repeats a step
//! but never half-applies it. Workflow is also the only writer of the audit
//! log: every decision records who (or which worker) made it and why.

mod metrics;
pub mod payments;
pub mod review;
mod worker;

pub use metrics::Metrics;
pub use worker::{Drain, drain, error_chain, run_workers};

/// An error with its causes, on one line.
pub fn error_text(e: &Error) -> String {
    error_chain(e)
}

use std::sync::Arc;

use tracing::{info, instrument, warn};

use crate::config::Settings;
use crate::domain::{
    Decision, DocumentId, ExtractedInvoice, ExtractionSource, Finding, InvoiceId, InvoiceStatus,
    PurchaseOrder, RawDocument, ReadDocument, ReasonCode, Severity, invoice_number_key,
};
use crate::matching::{PoLookup, PoState};
use crate::store::{self, AuditEntry, Job, JobKind, NewDocument, Store};
use crate::{extract, matching, payment, read, validate};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("document {0} vanished from the store")]
    MissingDocument(DocumentId),
    #[error("document {0} has no extracted invoice")]
    MissingInvoice(DocumentId),
    #[error("payment webhook client: {0}")]
    Webhook(String),
    #[error("bank status report: {0}")]
    StatusReport(String),
    /// A bug, not the input's fault: the job is retried, then dead-lettered.
    #[error("extraction stopped: {0}")]
    Extraction(String),
    /// An attempt ran past its time limit (a step that loops): the job is
    /// retried, then dead-lettered.
    #[error("the {step} step ran longer than its limit of {} s", limit.as_secs())]
    TimedOut {
        step: &'static str,
        limit: std::time::Duration,
    },
}

impl Error {
    /// True when the failure is the database's passing state, not the
    /// document's or the request's: see [`store::Error::is_transient`].
    /// Capture keeps such a document for another try.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Store(e) => e.is_transient(),
            Error::MissingDocument(_)
            | Error::MissingInvoice(_)
            | Error::Webhook(_)
            | Error::StatusReport(_)
            | Error::Extraction(_)
            | Error::TimedOut { .. } => false,
        }
    }
}

/// A document accepted by capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub document_id: DocumentId,
    /// False when the same bytes were stored before (a duplicate sighting).
    pub new: bool,
}

/// Extracts the invoice from a read document and, for an e-invoice, checks
/// its XML against the EN 16931 business rules (and XRechnung's where it
/// says so): what the `extract` job saves and `apflow extract` prints.
pub fn extract_invoice(doc: &ReadDocument) -> ExtractedInvoice {
    let mut invoice = extract::extract(doc);
    if invoice.source == ExtractionSource::EInvoice
        && let Some(xml) = &doc.einvoice_xml
        && let Ok(model) = read::einvoice::parse_model(xml)
    {
        invoice.einvoice_violations =
            crate::validate::en16931::to_keep(crate::validate::en16931::check(&model));
    }
    invoice
}

/// Stores a captured document and queues it for processing. Identical bytes
/// are stored once.
pub async fn receive_document(
    store: &Store,
    raw: &RawDocument,
    settings: &Settings,
) -> Result<Received, Error> {
    let sha = crate::domain::sha256_hex(&raw.bytes);
    let kind = read::sniff(&raw.bytes);
    let source = raw.source.label();
    // Shown on every page and used in downloads: only a safe name. What
    // the sender called it is kept in the audit log, every character
    // beyond printable ASCII escaped.
    let filename = crate::domain::safe_filename(&raw.filename);
    let mut detail = serde_json::json!({ "filename": filename, "sha256": sha, "source": source, "bytes": raw.bytes.len() });
    if filename != raw.filename {
        detail["filename_sent"] = raw.filename.escape_default().to_string().into();
    }
    let audit = AuditEntry {
        actor: "capture".to_string(),
        action: "document.received",
        entity: "document",
        entity_id: String::new(),
        detail,
    };
    let doc = NewDocument {
        filename: &filename,
        content: &raw.bytes,
        sha256: &sha,
        media_type: kind.map(|k| k.media_type()),
        source: &source,
    };
    let (document_id, new) = store
        .insert_document(&doc, settings.max_attempts, &audit)
        .await?;
    if new {
        info!(document_id = document_id.0, %filename, "document received");
    } else {
        info!(document_id = document_id.0, %filename, "same document received again");
    }
    Ok(Received { document_id, new })
}

/// Runs one claimed job to completion. Input problems (an unreadable file)
/// end as a rejected document, not as an error; `Err` means the machine
/// failed (database, lease) and the job will be retried.
#[instrument(skip_all, fields(job_id = job.id, kind = job.kind.as_str(), document_id = job.document_id.0))]
pub async fn run_job(store: &Store, job: &Job, settings: &Settings) -> Result<(), Error> {
    match job.kind {
        JobKind::Extract => extract_step(store, job, settings).await,
        JobKind::Decide => decide_step(store, job, settings).await,
    }
}

async fn extract_step(store: &Store, job: &Job, settings: &Settings) -> Result<(), Error> {
    let doc = store
        .document(job.document_id)
        .await?
        .ok_or(Error::MissingDocument(job.document_id))?;
    let filename = doc.meta.filename.clone();
    match read::read_document(
        Arc::new(doc.content),
        settings.read_options(false),
        settings.read_timeout,
    )
    .await
    {
        Err(read::Error::PasswordProtected) => {
            // Not broken: locked. A person asks the vendor for the password
            // or an open copy, so it goes to the review queue, not away.
            let audit = audit(
                "invoice.password_protected",
                "document",
                job.document_id.to_string(),
                &job.worker,
                serde_json::json!({ "filename": filename }),
            );
            let id = store
                .hold_unreadable(
                    job,
                    crate::domain::ReasonCode::PasswordProtected,
                    "password protected: ask the vendor for the password or an unprotected copy",
                    &audit,
                )
                .await?;
            info!(
                invoice_id = id.0,
                "password-protected document held for review"
            );
        }
        Err(e) => reject(store, job, &filename, &e.to_string()).await?,
        Ok(read_doc) if read_doc.pages.len() > settings.max_pages => {
            let reason = format!(
                "the document has {} pages, more than the {}-page limit for one invoice \
                 (max_pages); split it or raise the limit",
                read_doc.pages.len(),
                settings.max_pages
            );
            reject(store, job, &filename, &reason).await?;
        }
        Ok(read_doc) => {
            // Hundreds of milliseconds of CPU per invoice with the model
            // (it embeds the words around every candidate): off the async
            // threads, which serve the web app and the queue meanwhile.
            let pages = read_doc.pages.len().max(1);
            let budget = settings.extraction_budget(pages);
            let task = tokio::task::spawn_blocking(move || (extract_invoice(&read_doc), read_doc));
            let (mut invoice, read_doc) = match tokio::time::timeout(budget, task).await {
                Ok(done) => done.map_err(|e| Error::Extraction(read::panic_message(e)))?,
                Err(_) => {
                    // The blocking thread cannot be stopped; it ends on its
                    // own (extraction is linear in the pages) and its result
                    // is dropped. The worker goes on to the next document.
                    let reason = format!(
                        "extracting the invoice took longer than its budget of {} s for {pages} \
                         pages (extract_ms_per_page)",
                        budget.as_secs()
                    );
                    return reject(store, job, &filename, &reason).await;
                }
            };
            let learned = apply_learned_places(store, &mut invoice, &read_doc).await?;
            let taught = layout_taught(store, &invoice, &read_doc).await?;
            let audit = audit(
                "invoice.extracted",
                "invoice",
                String::new(),
                &job.worker,
                serde_json::json!({
                    "document_id": job.document_id.0,
                    "source": invoice.source.as_str(),
                    "fields_found": field_count(&invoice),
                    "learned_fields": learned,
                    "layout_taught": taught.as_ref().map(|(vendor, places)| serde_json::json!({
                        "vendor_id": vendor,
                        "fields": places.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
                    })),
                    "line_items": invoice.line_items.len(),
                }),
            );
            crate::failpoint::hit("extract-before-commit");
            let id = store.save_extraction(job, &invoice, &audit).await?;
            crate::failpoint::hit("extract-committed");
            info!(invoice_id = id.0, "invoice extracted");
            if let Some((vendor, places)) = taught {
                remember_layout(store, &vendor, &places, id).await;
            }
        }
    }
    Ok(())
}

/// The vendor's earliest other invoice with the same number as `inv`
/// (decoration aside: `invoice_number_key`): the one `invoice` duplicates.
/// The pipeline routes it as a duplicate and an approval refuses it.
pub(crate) async fn earlier_with_same_number(
    store: &Store,
    vendor_id: &str,
    inv: &ExtractedInvoice,
    invoice: InvoiceId,
) -> Result<Option<InvoiceId>, store::Error> {
    let Some(number) = &inv.invoice_number else {
        return Ok(None);
    };
    Ok(store
        .earlier_invoices_with_number(vendor_id, &invoice_number_key(&number.value), invoice)
        .await?
        .first()
        .copied())
}

/// Ends a document's processing for a reason in the document itself
/// (unreadable, over its size or time budget): rejected, with the reason
/// shown on the queue and kept in the audit log. Not retried.
async fn reject(store: &Store, job: &Job, filename: &str, reason: &str) -> Result<(), Error> {
    warn!(%reason, "document rejected");
    let audit = audit(
        "document.rejected",
        "document",
        job.document_id.to_string(),
        &job.worker,
        serde_json::json!({ "reason": reason, "filename": filename }),
    );
    store.reject_document(job, reason, &audit).await?;
    Ok(())
}

/// What a hybrid PDF's XML teaches about its vendor's page layout
/// (`extract::memory::learn_from_einvoice`): the vendor, when exactly one
/// in the master data matches, and the places. Nothing when the page
/// contradicts the XML or the invoice is not an e-invoice.
async fn layout_taught(
    store: &Store,
    invoice: &ExtractedInvoice,
    read_doc: &crate::domain::ReadDocument,
) -> Result<Option<(String, Vec<extract::memory::FieldPlace>)>, Error> {
    if invoice.source != crate::domain::ExtractionSource::EInvoice {
        return Ok(None);
    }
    let places = extract::memory::learn_from_einvoice(invoice, &read_doc.pages);
    if places.is_empty() {
        return Ok(None);
    }
    let vendors = store.vendors().await?;
    let validate::VendorMatch::One(vendor) = validate::resolve_vendor(invoice, &vendors) else {
        return Ok(None);
    };
    Ok(Some((vendor.vendor_id.clone(), places)))
}

/// Stores the places an e-invoice taught. After the extraction committed,
/// and best effort: the places only help later invoices, and a failure
/// here must not send an extracted invoice round again.
async fn remember_layout(
    store: &Store,
    vendor_id: &str,
    places: &[extract::memory::FieldPlace],
    invoice: InvoiceId,
) {
    for place in places {
        if let Err(e) = store.remember_field_place(vendor_id, place, invoice).await {
            warn!(vendor_id, field = %place.field, "cannot remember where the vendor prints a field: {e}");
            return;
        }
    }
    info!(
        vendor_id,
        fields = places.len(),
        "learned the vendor's layout from its e-invoice"
    );
}

/// For a vendor whose invoices a clerk corrected before, or who sent an
/// e-invoice, reads the fields from where the vendor prints them
/// (`extract::memory`). Returns the fields read that way.
async fn apply_learned_places(
    store: &Store,
    invoice: &mut ExtractedInvoice,
    read_doc: &crate::domain::ReadDocument,
) -> Result<Vec<String>, Error> {
    if invoice.source != crate::domain::ExtractionSource::Visual
        || !store.any_field_places().await?
    {
        return Ok(Vec::new());
    }
    let vendors = store.vendors().await?;
    let validate::VendorMatch::One(vendor) = validate::resolve_vendor(invoice, &vendors) else {
        return Ok(Vec::new());
    };
    let places = store.field_places(&vendor.vendor_id).await?;
    if places.is_empty() {
        return Ok(Vec::new());
    }
    Ok(extract::memory::apply(invoice, &read_doc.pages, &places))
}

async fn decide_step(store: &Store, job: &Job, settings: &Settings) -> Result<(), Error> {
    let invoice_id = store
        .invoice_for_document(job.document_id)
        .await?
        .ok_or(Error::MissingInvoice(job.document_id))?;
    if store.decided_by_people(invoice_id).await? {
        // An approver has it (or decided it): the pipeline's verdict would
        // overwrite theirs.
        info!(
            invoice_id = invoice_id.0,
            "decided by people; not re-decided"
        );
        store.complete_job(job).await?;
        return Ok(());
    }
    let inv = store.load_extraction(invoice_id).await?;
    let vendors = store.vendors().await?;
    let validation = validate::validate(&inv, &vendors, settings.today(), settings.min_confidence);
    let vendor_id = validation.vendor.as_ref().map(|v| v.vendor_id.clone());
    let duplicate_of = match &vendor_id {
        Some(v) => earlier_with_same_number(store, v, &inv, invoice_id).await?,
        None => None,
    };
    let mut findings = validation.findings;
    if duplicate_of.is_none()
        && let Some(f) = possible_duplicate(store, &inv, vendor_id.as_deref(), invoice_id).await?
    {
        findings.push(f);
    }
    let matching = match_with_store(
        store,
        &inv,
        validation.vendor.as_ref(),
        invoice_id,
        settings,
    )
    .await?;
    if let Some(f) = changed_by_person(store, invoice_id).await? {
        findings.push(f);
    }
    let decision = route(
        invoice_id,
        &inv,
        validation.vendor.as_ref(),
        findings,
        duplicate_of,
        matching,
        &settings.payment_policy(),
    );
    let audit = audit(
        "invoice.routed",
        "invoice",
        invoice_id.to_string(),
        &job.worker,
        serde_json::json!({
            "status": decision.status.as_str(),
            "reasons": decision.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
            "duplicate_of": decision.duplicate_of.map(|d| d.0),
            "po_number": decision.matching.po_number,
            "match": decision.matching.outcome.as_str(),
        }),
    );
    crate::failpoint::hit("decide-before-commit");
    store
        .save_decision(job, invoice_id, &decision, &audit)
        .await?;
    crate::failpoint::hit("decide-committed");
    info!(
        invoice_id = invoice_id.0,
        status = decision.status.as_str(),
        reasons = decision.findings.len(),
        "invoice routed"
    );
    // Two workers deciding two invoices on the same PO line at once each
    // see the other's quantity as not yet billed. Now that this claim is
    // committed, look again: if the claims together exceed what was
    // received, decide this invoice again (it will then be held, and its
    // planned payment withdrawn).
    if decision.status == InvoiceStatus::Scheduled
        && over_claimed(store, invoice_id, &decision.matching).await?
    {
        warn!(
            invoice_id = invoice_id.0,
            "concurrent claims on the same PO line; deciding again"
        );
        store.requeue_decision(job.document_id).await?;
    }
    Ok(())
}

/// Do this invoice's matched quantities plus everything else billed on the
/// same PO lines exceed what was received?
pub async fn over_claimed(
    store: &Store,
    invoice_id: InvoiceId,
    m: &crate::domain::MatchResult,
) -> Result<bool, Error> {
    let Some(po) = &m.po_number else {
        return Ok(false);
    };
    if m.lines.is_empty() {
        return Ok(false);
    }
    let (received, billed) = store.po_quantities(po, invoice_id).await?;
    let mut mine: std::collections::BTreeMap<i64, rust_decimal::Decimal> = Default::default();
    for l in &m.lines {
        *mine.entry(l.po_line_no).or_default() += l.quantity;
    }
    Ok(mine.iter().any(|(line, qty)| {
        *qty > rust_decimal::Decimal::ZERO
            && billed.get(line).copied().unwrap_or_default() + qty
                > received.get(line).copied().unwrap_or_default()
    }))
}

/// A credit note with its positive lines turned into the negative
/// quantities and amounts matching counts as billing given back.
fn credited_lines(inv: &ExtractedInvoice) -> ExtractedInvoice {
    let mut credited = inv.clone();
    for l in &mut credited.line_items {
        if l.quantity.is_some_and(|q| q > rust_decimal::Decimal::ZERO) {
            l.quantity = l.quantity.map(|q| -q);
            l.amount = l.amount.map(|a| -a.abs());
        }
    }
    credited
}

/// Matches an invoice against the store's purchase orders, receipts and
/// earlier billing, with the vendor's tolerances on top of the configured
/// ones. The matching half of the `decide` step, public so that the
/// matching benchmark measures exactly what the pipeline runs.
pub async fn match_with_store(
    store: &Store,
    inv: &ExtractedInvoice,
    vendor: Option<&crate::domain::Vendor>,
    invoice_id: InvoiceId,
    settings: &Settings,
) -> Result<crate::domain::MatchResult, Error> {
    let vendor_id = vendor.map(|v| v.vendor_id.as_str());
    // A credit note's lines, written positive as EN 16931 has them, give
    // back what was billed: matched as negative quantities.
    let credited;
    let inv = if inv.credit_note.is_some() {
        credited = credited_lines(inv);
        &credited
    } else {
        inv
    };
    let lookup = po_lookup(store, inv, vendor_id, invoice_id).await?;
    let tolerances = match vendor {
        Some(v) => settings.tolerances.with_override(&v.tolerances),
        None => settings.tolerances.clone(),
    };
    Ok(matching::match_invoice(
        inv,
        vendor_id,
        &lookup,
        &tolerances,
    ))
}

/// The PO the invoice quotes, with what was received and billed so far; or,
/// when it quotes none, the vendor's open POs to find the one it fits.
async fn po_lookup(
    store: &Store,
    inv: &ExtractedInvoice,
    vendor_id: Option<&str>,
    invoice_id: InvoiceId,
) -> Result<PoLookup, Error> {
    let state = |po: PurchaseOrder| async move {
        let (received, billed) = store.po_quantities(&po.po_number, invoice_id).await?;
        Ok::<_, Error>(PoState {
            po,
            received,
            billed,
        })
    };
    Ok(match (&inv.po_number, vendor_id) {
        (Some(n), _) => match store.purchase_order(&n.value).await? {
            Some(po) => PoLookup::Quoted {
                number: n.value.clone(),
                po: Some(Box::new(state(po).await?)),
            },
            None => PoLookup::Quoted {
                number: n.value.clone(),
                po: None,
            },
        },
        (None, Some(v)) => {
            let mut candidates = Vec::new();
            for po in store.open_purchase_orders(v).await? {
                candidates.push(state(po).await?);
            }
            PoLookup::NotQuoted { candidates }
        }
        (None, None) => PoLookup::NotQuoted {
            candidates: Vec::new(),
        },
    })
}

/// A person changed fields that move money: whatever else the checks say,
/// the pipeline does not pay it; an approver who did not make the change
/// must (`review::decide`). Without this a clerk's correction alone would
/// schedule a payment.
async fn changed_by_person(store: &Store, invoice_id: InvoiceId) -> Result<Option<Finding>, Error> {
    let mut fields: Vec<String> = store
        .corrections(invoice_id)
        .await?
        .into_iter()
        .map(|c| c.field)
        .filter(|f| review::MONEY_FIELDS.contains(&f.as_str()))
        .collect();
    fields.sort();
    fields.dedup();
    if fields.is_empty() {
        return Ok(None);
    }
    let list = fields.join(", ").replace('_', " ");
    Ok(Some(
        Finding::new(
            ReasonCode::ChangedByPerson,
            None,
            format!(
                "changed by a person: {list}; an approver who did not make the change must approve it before it is paid"
            ),
        )
        .with("fields", fields.join(",")),
    ))
}

/// Days around the invoice date within which the same vendor billing the
/// same total is suspicious.
pub const DUPLICATE_WINDOW_DAYS: u64 = 7;

/// Same vendor, same total, dates close together, different number: perhaps
/// the same invoice renumbered. Not proof, so it goes to a clerk instead of
/// being marked a duplicate.
async fn possible_duplicate(
    store: &Store,
    inv: &ExtractedInvoice,
    vendor_id: Option<&str>,
    invoice_id: InvoiceId,
) -> Result<Option<Finding>, Error> {
    let (Some(v), Some(total), Some(date)) = (vendor_id, &inv.total_amount, &inv.invoice_date)
    else {
        return Ok(None);
    };
    let window = chrono::Days::new(DUPLICATE_WINDOW_DAYS);
    let (from, to) = (
        date.value.checked_sub_days(window).unwrap_or(date.value),
        date.value.checked_add_days(window).unwrap_or(date.value),
    );
    let hit = store
        .invoices_with_total_between(v, total.value, from, to, invoice_id)
        .await?;
    Ok(hit.map(|(other, number)| {
        Finding::new(
            ReasonCode::PossibleDuplicate,
            Some("invoice_number"),
            format!("invoice #{other} ({}) from the same vendor has the same total {} within {DUPLICATE_WINDOW_DAYS} days", number.as_deref().unwrap_or("no number"), total.value),
        )
        .with("other_invoice", other)
        .with("total_amount", total.value)
    }))
}

/// Something an invoice on the review queue may be waiting for has
/// happened (a receipt or PO was imported, a bank account verified): queue
/// those invoices to be decided again, so that one that now fits goes
/// through without a clerk. Returns how many were queued.
pub async fn reevaluate_waiting(
    store: &Store,
    vendor_id: Option<&str>,
    po_number: Option<&str>,
    actor: &str,
) -> Result<u64, Error> {
    let n = store
        .requeue_waiting_decisions(vendor_id, po_number)
        .await?;
    if n > 0 {
        let entry = AuditEntry {
            actor: actor.to_string(),
            action: "invoices.reevaluation_queued",
            entity: if po_number.is_some() {
                "purchase_order"
            } else {
                "vendor"
            },
            entity_id: po_number.or(vendor_id).unwrap_or_default().to_string(),
            detail: serde_json::json!({ "invoices": n, "vendor_id": vendor_id, "po_number": po_number }),
        };
        store.audit(&entry).await?;
        info!(
            invoices = n,
            ?vendor_id,
            ?po_number,
            "invoices queued for re-evaluation"
        );
    }
    Ok(n)
}

/// What an invoice on the review queue waits for, from its reasons: shown
/// on the queue so a clerk knows not to chase it yet.
pub fn waiting_for(reasons: &[String]) -> Option<&'static str> {
    reasons.iter().find_map(|r| match r.as_str() {
        "not_received" | "quantity_exceeds_received" | "over_billed_cumulative" => {
            Some("goods receipt")
        }
        "po_not_found" | "missing_po_number" => Some("purchase order"),
        "bank_details_changed" => Some("bank account verification"),
        _ => None,
    })
}

/// Records that `by` verified a new bank account of a vendor, then
/// re-evaluates the vendor's invoices held for it.
pub async fn verify_vendor_iban(
    store: &Store,
    vendor_id: &str,
    iban: &str,
    by: &str,
) -> Result<Option<u64>, Error> {
    let entry = AuditEntry {
        actor: by.to_string(),
        action: "vendor.bank_account_verified",
        entity: "vendor",
        entity_id: vendor_id.to_string(),
        detail: serde_json::json!({ "iban": validate::mask_iban(iban) }),
    };
    if !store
        .verify_vendor_iban(vendor_id, iban, by, &entry)
        .await?
    {
        return Ok(None);
    }
    Ok(Some(
        reevaluate_waiting(store, Some(vendor_id), None, by).await?,
    ))
}

/// The routing rule: a duplicate is never paid; anything with a finding
/// goes to a clerk; only a clean, matched invoice is scheduled for payment.
pub fn route(
    invoice_id: InvoiceId,
    inv: &ExtractedInvoice,
    vendor: Option<&crate::domain::Vendor>,
    mut findings: Vec<Finding>,
    duplicate_of: Option<InvoiceId>,
    matching: crate::domain::MatchResult,
    policy: &payment::PaymentPolicy,
) -> Decision {
    let vendor_id = vendor.map(|v| v.vendor_id.clone());
    if let Some(original) = duplicate_of {
        let number = inv.invoice_number.as_ref().map_or("", |f| f.value.as_str());
        let dup = Finding::new(
            ReasonCode::DuplicateInvoice,
            Some("invoice_number"),
            format!("invoice {number} was already received as invoice #{original}"),
        );
        return Decision {
            status: InvoiceStatus::Duplicate,
            vendor_id,
            duplicate_of,
            findings: vec![dup],
            matching,
            payment: None,
        };
    }
    findings.extend(matching.findings.iter().cloned());
    if findings.iter().any(|f| f.severity == Severity::Reject) {
        return Decision {
            status: InvoiceStatus::Rejected,
            vendor_id,
            duplicate_of: None,
            findings,
            matching,
            payment: None,
        };
    }
    let payment = if findings.is_empty() {
        let planned = payment::plan(invoice_id, inv, vendor, policy);
        if planned.is_none()
            && inv
                .total_amount
                .as_ref()
                .is_some_and(|t| t.value <= rust_decimal::Decimal::ZERO)
        {
            findings.push(Finding::new(
                ReasonCode::CreditNote,
                Some("total_amount"),
                "a credit note: offset it against open invoices of the vendor or ask for a refund",
            ));
        }
        planned
    } else {
        None
    };
    let status = if payment.is_some() {
        InvoiceStatus::Scheduled
    } else {
        InvoiceStatus::NeedsReview
    };
    Decision {
        status,
        vendor_id,
        duplicate_of: None,
        findings,
        matching,
        payment,
    }
}

fn audit(
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    worker: &str,
    detail: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        actor: format!("worker:{worker}"),
        action,
        entity,
        entity_id,
        detail,
    }
}

fn field_count(inv: &ExtractedInvoice) -> usize {
    [
        inv.invoice_number.is_some(),
        inv.invoice_date.is_some(),
        inv.due_date.is_some(),
        inv.vendor_name.is_some(),
        inv.vendor_vat_id.is_some(),
        inv.currency.is_some(),
        inv.net_amount.is_some(),
        inv.tax_amount.is_some(),
        inv.total_amount.is_some(),
        inv.po_number.is_some(),
        inv.iban.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count()
}
