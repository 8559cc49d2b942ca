//! Documents, invoices and decisions.
//!
//! Each pipeline step's result is written in one transaction together with
//! the completion of its job, the next step's job and the audit record, so
//! that a crash at any point leaves either all of it or none of it.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::jobs::{self, Job, JobKind};
use super::{AuditEntry, Error, QueryContext, Result, Store, now_ms, parse_date};
use crate::domain::einvoice::{RuleViolation, Severity as RuleSeverity};
use crate::domain::{
    BBox, Decision, DocumentId, ExtractedInvoice, ExtractionSource, Field, InvoiceId,
    InvoiceStatus, LineItem, Severity, invoice_number_key,
};

/// The invoice list's columns: the vendor's master-data name when resolved,
/// else the name extraction read.
macro_rules! summary_columns {
    () => {
        "SELECT i.id, i.document_id, d.filename, i.status, i.vendor_id, \
     COALESCE(v.name, f.value) AS vendor_name, i.invoice_number, i.invoice_date, i.due_date, i.currency, \
     i.total_amount, i.po_number, i.duplicate_of, d.received_at, \
     (SELECT MAX(rt.assigned_to) FROM review_tasks rt WHERE rt.invoice_id = i.id AND rt.state = 'open') AS assigned_to"
    };
}

macro_rules! summary_from {
    () => {
        " FROM invoices i \
     JOIN documents d ON d.id = i.document_id \
     LEFT JOIN vendors v ON v.vendor_id = i.vendor_id \
     LEFT JOIN invoice_fields f ON f.invoice_id = i.id AND f.field = 'vendor_name'"
    };
}

macro_rules! summary_select {
    () => {
        concat!(summary_columns!(), summary_from!())
    };
}

/// An invoice summary's columns, and the tables they come from, for the
/// queue's own queries (`store::queue`).
pub(super) const SUMMARY_COLUMNS: &str = summary_columns!();
pub(super) const SUMMARY_FROM: &str = summary_from!();

async fn count_by(store: &Store, sql: &'static str) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(sql)
        .fetch_all(store.pool())
        .await
        .ctx("count rows")?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).ctx("decode count")?,
                r.try_get(1).ctx("decode count")?,
            ))
        })
        .collect()
}

/// Moves a document to its next stage (`extracted`, `processed`,
/// `rejected` with the reason), inside the step's transaction.
async fn set_document_status(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    document: DocumentId,
    status: &'static str,
    reason: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE documents SET status = $1, reason = $2 WHERE id = $3")
        .bind(status)
        .bind(reason.map(|r| jobs::truncate(r, 2000)))
        .bind(document.0)
        .execute(&mut **tx)
        .await
        .ctx("update a document's status")?;
    Ok(())
}

fn document_meta_from_row(r: &AnyRow) -> Result<DocumentMeta> {
    Ok(DocumentMeta {
        id: DocumentId(r.try_get("id").ctx("decode document")?),
        sha256: r.try_get("sha256").ctx("decode document")?,
        filename: r.try_get("filename").ctx("decode document")?,
        media_type: r.try_get("media_type").ctx("decode document")?,
        source: r.try_get("source").ctx("decode document")?,
        size_bytes: r.try_get("size_bytes").ctx("decode document")?,
        status: r.try_get("status").ctx("decode document")?,
        reason: r.try_get("reason").ctx("decode document")?,
        received_at: r.try_get("received_at").ctx("decode document")?,
    })
}

fn line_from_row(r: &AnyRow) -> Result<LineRow> {
    Ok(LineRow {
        line_no: r.try_get("line_no").ctx("decode invoice line")?,
        description: r.try_get("description").ctx("decode invoice line")?,
        sku: r.try_get("sku").ctx("decode invoice line")?,
        quantity: r.try_get("quantity").ctx("decode invoice line")?,
        unit: r.try_get("unit").ctx("decode invoice line")?,
        unit_price: r.try_get("unit_price").ctx("decode invoice line")?,
        price_base_quantity: r
            .try_get("price_base_quantity")
            .ctx("decode invoice line")?,
        tax_rate: r.try_get("tax_rate").ctx("decode invoice line")?,
        amount: r.try_get("amount").ctx("decode invoice line")?,
        confidence: r.try_get("confidence").ctx("decode invoice line")?,
    })
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A document about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewDocument<'a> {
    pub filename: &'a str,
    pub content: &'a [u8],
    /// Hex SHA-256 of `content`: the deduplication key.
    pub sha256: &'a str,
    pub media_type: Option<&'a str>,
    /// Provenance label (`upload`, `folder:PATH`, ...).
    pub source: &'a str,
}

/// A stored document without its bytes.
#[derive(Debug, Clone)]
pub struct DocumentMeta {
    pub id: DocumentId,
    pub sha256: String,
    pub filename: String,
    pub media_type: Option<String>,
    pub source: String,
    pub size_bytes: i64,
    pub status: String,
    pub reason: Option<String>,
    pub received_at: i64,
}

/// A stored document with its original bytes.
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub meta: DocumentMeta,
    pub content: Vec<u8>,
}

/// One row of the invoice list.
#[derive(Debug, Clone)]
pub struct InvoiceSummary {
    pub id: InvoiceId,
    pub document_id: DocumentId,
    pub filename: String,
    pub status: InvoiceStatus,
    pub vendor_id: Option<String>,
    pub vendor_name: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_date: Option<String>,
    pub due_date: Option<String>,
    pub currency: Option<String>,
    pub total_amount: Option<String>,
    pub po_number: Option<String>,
    pub duplicate_of: Option<InvoiceId>,
    /// Reason codes, in the order they were found.
    pub reasons: Vec<String>,
    /// When its document arrived (Unix ms): the queue's ageing.
    pub received_at: i64,
    /// The clerk working on it, while it is on the review queue.
    pub assigned_to: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FieldRow {
    pub field: String,
    pub value: String,
    pub confidence: f64,
    pub page: Option<i64>,
    pub bbox: Option<[f64; 4]>,
}

#[derive(Debug, Clone)]
pub struct LineRow {
    pub line_no: i64,
    pub description: Option<String>,
    pub sku: Option<String>,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub unit_price: Option<String>,
    pub price_base_quantity: Option<String>,
    pub tax_rate: Option<String>,
    pub amount: Option<String>,
    pub confidence: f64,
}

#[derive(Debug, Clone)]
pub struct DiscrepancyRow {
    pub code: String,
    pub field: Option<String>,
    pub message: String,
    /// JSON: `{"lines": [..], "evidence": {..}}`.
    pub detail: Option<String>,
    pub severity: String,
}

/// An invoice's payment as the invoice page shows it.
#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub amount: String,
    pub currency: String,
    pub planned_on: String,
    pub state: String,
    /// Why this date and amount (discount taken or not).
    pub reason: Option<String>,
}

/// Everything the invoice page shows.
#[derive(Debug, Clone)]
pub struct InvoiceDetail {
    pub summary: InvoiceSummary,
    pub extraction_source: String,
    pub fields: Vec<FieldRow>,
    pub lines: Vec<LineRow>,
    pub discrepancies: Vec<DiscrepancyRow>,
    pub match_outcome: Option<String>,
    /// The PO matched and the line-by-line comparison (JSON as stored).
    pub match_detail: Option<(Option<String>, String)>,
    pub planned_payment: Option<PaymentRow>,
}

impl Store {
    /// Stores a document's original bytes once per content hash and queues
    /// its extraction. Returns the id and whether it was new; the same bytes
    /// arriving again return the first document's id.
    pub async fn insert_document(
        &self,
        doc: &NewDocument<'_>,
        max_attempts: i64,
        audit: &AuditEntry,
    ) -> Result<(DocumentId, bool)> {
        let NewDocument {
            filename,
            content,
            sha256,
            media_type,
            source,
        } = *doc;
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO documents (sha256, filename, media_type, source, size_bytes, content, status, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'received', $7) ON CONFLICT (sha256) DO NOTHING RETURNING id",
        )
        .bind(sha256.to_string())
        .bind(filename.to_string())
        .bind(media_type.map(str::to_string))
        .bind(source.to_string())
        .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
        .bind(content.to_vec())
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await
        .ctx("store a document")?;
        let result = match inserted {
            Some(id) => {
                let id = DocumentId(id);
                jobs::enqueue(&mut *tx, id, JobKind::Extract, max_attempts).await?;
                let mut audit = audit.clone();
                audit.entity_id = id.to_string();
                self.append_audit(&mut tx, &audit).await?;
                (id, true)
            }
            None => {
                let id: i64 = sqlx::query_scalar("SELECT id FROM documents WHERE sha256 = $1")
                    .bind(sha256.to_string())
                    .fetch_one(&mut *tx)
                    .await
                    .ctx("find a stored document")?;
                sqlx::query("INSERT INTO document_sightings (document_id, filename, source, seen_at) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(filename.to_string())
                    .bind(source.to_string())
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await
                    .ctx("record a duplicate sighting")?;
                (DocumentId(id), false)
            }
        };
        tx.commit().await.ctx("commit a document")?;
        self.signal_queue();
        Ok(result)
    }

    /// Later arrivals of a document's exact bytes: (filename, source).
    pub async fn document_sightings(&self, id: DocumentId) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT filename, source FROM document_sightings WHERE document_id = $1 ORDER BY seen_at")
            .bind(id.0)
            .fetch_all(self.pool())
            .await
            .ctx("read duplicate sightings")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("filename").ctx("decode sighting")?,
                    r.try_get("source").ctx("decode sighting")?,
                ))
            })
            .collect()
    }

    pub async fn document(&self, id: DocumentId) -> Result<Option<DocumentRow>> {
        let row = sqlx::query("SELECT * FROM documents WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .ctx("read a document")?;
        row.map(|r| {
            Ok(DocumentRow {
                meta: document_meta_from_row(&r)?,
                content: r.try_get("content").ctx("decode document")?,
            })
        })
        .transpose()
    }

    pub async fn document_meta(&self, id: DocumentId) -> Result<Option<DocumentMeta>> {
        let row = sqlx::query(
            "SELECT id, sha256, filename, media_type, source, size_bytes, status, reason, received_at \
             FROM documents WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .ctx("read a document")?;
        row.map(|r| document_meta_from_row(&r)).transpose()
    }

    /// Marks a document as not processable, finishing its job.
    pub async fn reject_document(&self, job: &Job, reason: &str, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        set_document_status(&mut tx, job.document_id, "rejected", Some(reason)).await?;
        jobs::complete(&mut *tx, job).await?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit a rejection")?;
        self.signal_queue();
        Ok(())
    }

    /// A document a person must look at before anything can be read from
    /// it (a password-protected PDF): an invoice with no fields goes
    /// straight to the review queue with this reason.
    pub async fn hold_unreadable(
        &self,
        job: &Job,
        code: crate::domain::ReasonCode,
        message: &str,
        audit: &AuditEntry,
    ) -> Result<InvoiceId> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (document_id, status, extraction_source, created_at, updated_at) \
             VALUES ($1, 'needs_review', 'visual', $2, $2) RETURNING id",
        )
        .bind(job.document_id.0)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .ctx("insert an invoice")?;
        sqlx::query(
            "INSERT INTO discrepancies (invoice_id, code, field, message, created_at, detail, severity) \
             VALUES ($1, $2, NULL, $3, $4, '{}', 'review')",
        )
        .bind(id)
        .bind(code.as_str())
        .bind(message.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .ctx("insert a discrepancy")?;
        sqlx::query(
            "INSERT INTO review_tasks (invoice_id, state, created_at) VALUES ($1, 'open', $2)",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .ctx("open a review task")?;
        set_document_status(&mut tx, job.document_id, "processed", None).await?;
        jobs::complete(&mut *tx, job).await?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit an unreadable invoice")?;
        self.signal_queue();
        Ok(InvoiceId(id))
    }

    /// Saves what extraction found and queues the decision step.
    pub async fn save_extraction(
        &self,
        job: &Job,
        invoice: &ExtractedInvoice,
        audit: &AuditEntry,
    ) -> Result<InvoiceId> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let number = invoice.invoice_number.as_ref().map(|f| f.value.clone());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (document_id, status, extraction_source, invoice_number, invoice_number_key, \
             invoice_date, due_date, currency, net_amount, tax_amount, total_amount, po_number, iban, created_at, updated_at) \
             VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
        )
        .bind(job.document_id.0)
        .bind(invoice.source.as_str())
        .bind(number.clone())
        .bind(number.as_deref().map(invoice_number_key))
        .bind(invoice.invoice_date.as_ref().map(|f| iso(f.value)))
        .bind(invoice.due_date.as_ref().map(|f| iso(f.value)))
        .bind(invoice.currency.as_ref().map(|f| f.value.clone()))
        .bind(invoice.net_amount.as_ref().map(|f| f.value.to_string()))
        .bind(invoice.tax_amount.as_ref().map(|f| f.value.to_string()))
        .bind(invoice.total_amount.as_ref().map(|f| f.value.to_string()))
        .bind(invoice.po_number.as_ref().map(|f| f.value.clone()))
        .bind(invoice.iban.as_ref().map(|f| f.value.clone()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .ctx("insert an invoice")?;
        // One statement per few hundred rows, not per row: a statement is a
        // round trip to the database (a thread hop on SQLite). Rows with and
        // without a place on the page go in separate statements that write
        // the missing coordinates as literal NULLs: sqlx's `Any` driver
        // declares a NULL float as `real` to PostgreSQL, and a statement
        // prepared that way (it is cached by its text) then refuses a
        // `double precision` value in the same position.
        let fields = field_values(invoice);
        let (placed, unplaced): (Vec<&FieldValue>, Vec<&FieldValue>) =
            fields.iter().partition(|f| f.3.is_some());
        for (rows, placed) in [(placed, true), (unplaced, false)] {
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let sql = format!(
                    "INSERT INTO invoice_fields (invoice_id, field, value, confidence, page, x0, y0, x1, y1) VALUES {}",
                    if placed {
                        values_rows(chunk.len(), 9, "")
                    } else {
                        values_rows(chunk.len(), 4, ", NULL, NULL, NULL, NULL, NULL")
                    }
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (name, value, confidence, location) in chunk.iter().copied() {
                    query = query
                        .bind(id)
                        .bind(*name)
                        .bind(value.clone())
                        .bind(f64::from(*confidence));
                    if let Some((page, b)) = location {
                        query = query
                            .bind(i64::from(*page))
                            .bind(f64::from(b.x0))
                            .bind(f64::from(b.y0))
                            .bind(f64::from(b.x1))
                            .bind(f64::from(b.y1));
                    }
                }
                query.execute(&mut *tx).await.ctx("insert invoice fields")?;
            }
        }
        insert_lines(&mut tx, id, &invoice.line_items).await?;
        let violations: Vec<(usize, &RuleViolation)> =
            invoice.einvoice_violations.iter().enumerate().collect();
        for chunk in violations.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO einvoice_violations (invoice_id, seq, rule, severity, message, path) VALUES {}",
                values_rows(chunk.len(), 6, "")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (seq, v) in chunk {
                query = query
                    .bind(id)
                    .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                    .bind(v.rule.clone())
                    .bind(v.severity.as_str())
                    .bind(v.message.clone())
                    .bind(v.path.clone());
            }
            query
                .execute(&mut *tx)
                .await
                .ctx("insert e-invoice rule violations")?;
        }
        set_document_status(&mut tx, job.document_id, "extracted", None).await?;
        jobs::complete(&mut *tx, job).await?;
        jobs::enqueue(&mut *tx, job.document_id, JobKind::Decide, job.max_attempts).await?;
        let mut audit = audit.clone();
        audit.entity_id = id.to_string();
        self.append_audit(&mut tx, &audit).await?;
        tx.commit().await.ctx("commit an extraction")?;
        self.signal_queue();
        Ok(InvoiceId(id))
    }

    pub async fn invoice_for_document(&self, document: DocumentId) -> Result<Option<InvoiceId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM invoices WHERE document_id = $1")
            .bind(document.0)
            .fetch_optional(self.pool())
            .await
            .ctx("find a document's invoice")?;
        Ok(id.map(InvoiceId))
    }

    /// Rebuilds the extraction result saved by [`Store::save_extraction`].
    pub async fn load_extraction(&self, invoice: InvoiceId) -> Result<ExtractedInvoice> {
        let source: String =
            sqlx::query_scalar("SELECT extraction_source FROM invoices WHERE id = $1")
                .bind(invoice.0)
                .fetch_one(self.pool())
                .await
                .ctx("read an invoice")?;
        let mut out = ExtractedInvoice::empty(if source == "einvoice" {
            ExtractionSource::EInvoice
        } else {
            ExtractionSource::Visual
        });
        for f in self.invoice_fields(invoice).await? {
            let location = match (f.page, f.bbox) {
                (Some(p), Some([x0, y0, x1, y1])) => Some((
                    u32::try_from(p).unwrap_or(0),
                    BBox {
                        x0: x0 as f32,
                        y0: y0 as f32,
                        x1: x1 as f32,
                        y1: y1 as f32,
                    },
                )),
                _ => None,
            };
            let conf = f.confidence as f32;
            let text = |v: &str| {
                Some(Field {
                    value: v.to_string(),
                    confidence: conf,
                    location,
                })
            };
            let money = |v: &str| -> Result<Option<Field<Decimal>>> {
                Ok(Some(Field {
                    value: super::parse_decimal("invoice_fields.value", v)?,
                    confidence: conf,
                    location,
                }))
            };
            let date = |v: &str| -> Result<Option<Field<NaiveDate>>> {
                Ok(Some(Field {
                    value: parse_date("invoice_fields.value", v)?,
                    confidence: conf,
                    location,
                }))
            };
            match f.field.as_str() {
                "invoice_number" => out.invoice_number = text(&f.value),
                "invoice_date" => out.invoice_date = date(&f.value)?,
                "due_date" => out.due_date = date(&f.value)?,
                "vendor_name" => out.vendor_name = text(&f.value),
                "vendor_vat_id" => out.vendor_vat_id = text(&f.value),
                "currency" => out.currency = text(&f.value),
                "net_amount" => out.net_amount = money(&f.value)?,
                "tax_amount" => out.tax_amount = money(&f.value)?,
                "total_amount" => out.total_amount = money(&f.value)?,
                "amount_due" => out.amount_due = money(&f.value)?,
                "po_number" => out.po_number = text(&f.value),
                "iban" => out.iban = text(&f.value),
                "payment_terms" => out.payment_terms = text(&f.value),
                "direct_debit" => out.direct_debit = text(&f.value),
                "credit_note" => out.credit_note = text(&f.value),
                "vendor_id" => out.vendor_id = text(&f.value),
                other
                    if let Some((field, _)) =
                        VISIBLE_FIELDS.iter().find(|(_, row)| *row == other) =>
                {
                    out.visible_disagreements
                        .push(crate::domain::VisibleDisagreement {
                            field,
                            visible: f.value.clone(),
                            location,
                        });
                }
                other => {
                    return Err(Error::Corrupt {
                        column: "invoice_fields.field",
                        value: other.to_string(),
                    });
                }
            }
        }
        let rows =
            sqlx::query("SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no")
                .bind(invoice.0)
                .fetch_all(self.pool())
                .await
                .ctx("read invoice lines")?;
        for r in &rows {
            let l = line_from_row(r)?;
            let dec = |column, v: Option<String>| super::parse_opt_decimal(column, v);
            out.line_items.push(LineItem {
                description: l.description,
                sku: l.sku,
                quantity: dec("invoice_lines.quantity", l.quantity)?,
                unit: l.unit,
                unit_price: dec("invoice_lines.unit_price", l.unit_price)?,
                price_base_quantity: dec(
                    "invoice_lines.price_base_quantity",
                    l.price_base_quantity,
                )?,
                tax_rate: dec("invoice_lines.tax_rate", l.tax_rate)?,
                amount: dec("invoice_lines.amount", l.amount)?,
                confidence: l.confidence as f32,
                location: None,
            });
        }
        out.einvoice_violations = self.einvoice_violations(invoice).await?;
        Ok(out)
    }

    /// The EN 16931 rules the invoice's XML breaks, as found when it was read.
    pub async fn einvoice_violations(&self, invoice: InvoiceId) -> Result<Vec<RuleViolation>> {
        let rows = sqlx::query(
            "SELECT rule, severity, message, path FROM einvoice_violations \
             WHERE invoice_id = $1 ORDER BY seq",
        )
        .bind(invoice.0)
        .fetch_all(self.pool())
        .await
        .ctx("read e-invoice rule violations")?;
        rows.iter()
            .map(|r| {
                let severity: String = r.try_get("severity").ctx("read a violation")?;
                Ok(RuleViolation {
                    rule: r.try_get("rule").ctx("read a violation")?,
                    severity: RuleSeverity::parse(&severity).ok_or(Error::Corrupt {
                        column: "einvoice_violations.severity",
                        value: severity.clone(),
                    })?,
                    message: r.try_get("message").ctx("read a violation")?,
                    path: r.try_get("path").ctx("read a violation")?,
                })
            })
            .collect()
    }

    /// Earlier invoices of the same vendor with the same normalised number:
    /// the candidates for "this is a duplicate".
    pub async fn earlier_invoices_with_number(
        &self,
        vendor_id: &str,
        number_key: &str,
        before: InvoiceId,
    ) -> Result<Vec<InvoiceId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM invoices WHERE vendor_id = $1 AND invoice_number_key = $2 AND id < $3 \
             AND status <> 'rejected' ORDER BY id",
        )
        .bind(vendor_id.to_string())
        .bind(number_key.to_string())
        .bind(before.0)
        .fetch_all(self.pool())
        .await
        .ctx("look for duplicate invoices")?;
        Ok(ids.into_iter().map(InvoiceId).collect())
    }

    /// An earlier-or-later invoice of the vendor dated between `from` and
    /// `to` with the same total (compared as decimals), other than `except`.
    pub async fn invoices_with_total_between(
        &self,
        vendor_id: &str,
        total: Decimal,
        from: NaiveDate,
        to: NaiveDate,
        except: InvoiceId,
    ) -> Result<Option<(i64, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT id, invoice_number, total_amount FROM invoices WHERE vendor_id = $1 AND invoice_date >= $2 \
             AND invoice_date <= $3 AND id <> $4 AND status NOT IN ('rejected', 'duplicate') ORDER BY id",
        )
        .bind(vendor_id.to_string())
        .bind(iso(from))
        .bind(iso(to))
        .bind(except.0)
        .fetch_all(self.pool())
        .await
        .ctx("look for invoices with the same total")?;
        for r in rows {
            let t: Option<String> = r.try_get("total_amount").ctx("decode invoice")?;
            if super::parse_opt_decimal("invoices.total_amount", t)? == Some(total) {
                return Ok(Some((
                    r.try_get("id").ctx("decode invoice")?,
                    r.try_get("invoice_number").ctx("decode invoice")?,
                )));
            }
        }
        Ok(None)
    }

    /// Records the routing decision, its reasons, the match and (for a clean
    /// invoice) the planned payment, and finishes the job.
    pub async fn save_decision(
        &self,
        job: &Job,
        invoice: InvoiceId,
        decision: &Decision,
        audit: &AuditEntry,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        // People may have taken the invoice over since the step began (sent
        // to approval, or decided): their decision stands.
        let updated = sqlx::query(
            "UPDATE invoices SET status = $1, vendor_id = $2, duplicate_of = $3, updated_at = $4 WHERE id = $5 \
             AND status NOT IN ('awaiting_approval', 'on_hold', 'paid') \
             AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.invoice_id = $5 AND a.decided_at IS NOT NULL \
             AND a.reopened_at IS NULL)",
        )
        .bind(decision.status.as_str())
        .bind(decision.vendor_id.clone())
        .bind(decision.duplicate_of.map(|d| d.0))
        .bind(now)
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("update an invoice's status")?
        .rows_affected();
        if updated == 0 {
            jobs::complete(&mut *tx, job).await?;
            tx.commit().await.ctx("commit a superseded decision")?;
            self.signal_queue();
            return Ok(());
        }
        sqlx::query("DELETE FROM discrepancies WHERE invoice_id = $1")
            .bind(invoice.0)
            .execute(&mut *tx)
            .await
            .ctx("clear discrepancies")?;
        // In their order: ids keep the order the findings were made in.
        for chunk in decision.findings.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO discrepancies (invoice_id, code, field, message, created_at, detail, severity) VALUES {}",
                values_rows(chunk.len(), 7, "")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for f in chunk {
                let detail = serde_json::json!({
                    "lines": f.lines,
                    "evidence": f.evidence.iter().map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                });
                query = query
                    .bind(invoice.0)
                    .bind(f.code.as_str())
                    .bind(f.field)
                    .bind(f.message.clone())
                    .bind(now)
                    .bind(detail.to_string())
                    .bind(match f.severity {
                        Severity::Review => "review",
                        Severity::Reject => "reject",
                    });
            }
            query.execute(&mut *tx).await.ctx("insert discrepancies")?;
        }
        sqlx::query("DELETE FROM invoice_matches WHERE invoice_id = $1")
            .bind(invoice.0)
            .execute(&mut *tx)
            .await
            .ctx("clear line matches")?;
        if let Some(po_number) = &decision.matching.po_number {
            for l in &decision.matching.lines {
                sqlx::query(
                    "INSERT INTO invoice_matches (invoice_id, invoice_line, po_number, po_line_no, quantity, amount) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(invoice.0)
                .bind(i64::try_from(l.invoice_line + 1).unwrap_or(i64::MAX))
                .bind(po_number.clone())
                .bind(l.po_line_no)
                .bind(l.quantity.to_string())
                .bind(l.amount.to_string())
                .execute(&mut *tx)
                .await
                .ctx("record a line match")?;
            }
        }
        let m = &decision.matching;
        let detail = serde_json::json!({
            "po_inferred": m.po_inferred,
            "lines": m.lines.iter().map(|l| serde_json::json!({
                "invoice_line": l.invoice_line + 1,
                "po_line_no": l.po_line_no,
                "ordered_quantity": l.ordered_quantity.to_string(),
                "received_quantity": l.received_quantity.to_string(),
                "billed_before": l.billed_before.to_string(),
                "quantity": l.quantity.to_string(),
                "po_unit_price": l.po_unit_price.to_string(),
            })).collect::<Vec<_>>(),
            "findings": m.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        });
        sqlx::query(
            "INSERT INTO match_results (invoice_id, po_number, outcome, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(invoice.0)
        .bind(m.po_number.clone())
        .bind(m.outcome.as_str())
        .bind(detail.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .ctx("insert a match result")?;
        if decision.status != InvoiceStatus::NeedsReview {
            // A re-evaluation that clears the invoice closes its task.
            close_review_task(&mut tx, invoice, now).await?;
        }
        if decision.status == InvoiceStatus::NeedsReview {
            open_review_task(&mut tx, invoice, now).await?;
        }
        if decision.payment.is_none() {
            // Decided again and no longer clean: a payment planned by the
            // earlier decision is withdrawn (only while merely planned).
            withdraw_planned_payment(&mut tx, invoice).await?;
        }
        if let Some(p) = &decision.payment {
            insert_planned_payment(&mut tx, invoice, p, now).await?;
        }
        set_document_status(&mut tx, job.document_id, "processed", None).await?;
        jobs::complete(&mut *tx, job).await?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit a decision")?;
        self.signal_queue();
        Ok(())
    }

    pub async fn invoice_fields(&self, invoice: InvoiceId) -> Result<Vec<FieldRow>> {
        let rows = sqlx::query("SELECT * FROM invoice_fields WHERE invoice_id = $1 ORDER BY field")
            .bind(invoice.0)
            .fetch_all(self.pool())
            .await
            .ctx("read invoice fields")?;
        rows.iter()
            .map(|r| {
                let page: Option<i64> = r.try_get("page").ctx("decode invoice field")?;
                let coords: [Option<f64>; 4] = [
                    r.try_get("x0").ctx("decode invoice field")?,
                    r.try_get("y0").ctx("decode invoice field")?,
                    r.try_get("x1").ctx("decode invoice field")?,
                    r.try_get("y1").ctx("decode invoice field")?,
                ];
                let bbox = match coords {
                    [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
                    _ => None,
                };
                Ok(FieldRow {
                    field: r.try_get("field").ctx("decode invoice field")?,
                    value: r.try_get("value").ctx("decode invoice field")?,
                    confidence: r.try_get("confidence").ctx("decode invoice field")?,
                    page,
                    bbox,
                })
            })
            .collect()
    }

    /// Invoices for the queue, newest first, optionally of one status.
    pub async fn list_invoices(
        &self,
        status: Option<InvoiceStatus>,
    ) -> Result<Vec<InvoiceSummary>> {
        let rows = match status {
            Some(s) => {
                sqlx::query(concat!(
                    summary_select!(),
                    " WHERE i.status = $1 ORDER BY i.id DESC"
                ))
                .bind(s.as_str())
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(concat!(summary_select!(), " ORDER BY i.id DESC"))
                    .fetch_all(self.pool())
                    .await
            }
        }
        .ctx("list invoices")?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.summary_from_row(r).await?);
        }
        Ok(out)
    }

    pub async fn invoice_summary(&self, id: InvoiceId) -> Result<Option<InvoiceSummary>> {
        let row = sqlx::query(concat!(summary_select!(), " WHERE i.id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .ctx("read an invoice")?;
        match row {
            Some(r) => Ok(Some(self.summary_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    pub async fn invoice_detail(&self, id: InvoiceId) -> Result<Option<InvoiceDetail>> {
        let Some(summary) = self.invoice_summary(id).await? else {
            return Ok(None);
        };
        let extraction_source: String =
            sqlx::query_scalar("SELECT extraction_source FROM invoices WHERE id = $1")
                .bind(id.0)
                .fetch_one(self.pool())
                .await
                .ctx("read an invoice")?;
        let lines =
            sqlx::query("SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no")
                .bind(id.0)
                .fetch_all(self.pool())
                .await
                .ctx("read invoice lines")?
                .iter()
                .map(line_from_row)
                .collect::<Result<Vec<_>>>()?;
        let discrepancies = sqlx::query(
            "SELECT code, field, message, detail, severity FROM discrepancies WHERE invoice_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await
        .ctx("read discrepancies")?
        .iter()
        .map(|r| {
            Ok(DiscrepancyRow {
                code: r.try_get("code").ctx("decode discrepancy")?,
                field: r.try_get("field").ctx("decode discrepancy")?,
                message: r.try_get("message").ctx("decode discrepancy")?,
                detail: r.try_get("detail").ctx("decode discrepancy")?,
                severity: r.try_get("severity").ctx("decode discrepancy")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let latest_match = sqlx::query(
            "SELECT outcome, po_number, detail FROM match_results WHERE invoice_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .ctx("read a match result")?;
        let (match_outcome, match_detail) = match latest_match {
            Some(r) => (
                Some(
                    r.try_get::<String, _>("outcome")
                        .ctx("decode a match result")?,
                ),
                Some((
                    r.try_get::<Option<String>, _>("po_number")
                        .ctx("decode a match result")?,
                    r.try_get::<String, _>("detail")
                        .ctx("decode a match result")?,
                )),
            ),
            None => (None, None),
        };
        let payment =
            sqlx::query("SELECT amount, currency, planned_on, state, reason FROM payments WHERE invoice_id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await
                .ctx("read a payment")?
                .map(|r| -> Result<PaymentRow> {
                    Ok(PaymentRow {
                        amount: r.try_get("amount").ctx("decode payment")?,
                        currency: r.try_get("currency").ctx("decode payment")?,
                        planned_on: r.try_get("planned_on").ctx("decode payment")?,
                        state: r.try_get("state").ctx("decode payment")?,
                        reason: r.try_get("reason").ctx("decode payment")?,
                    })
                })
                .transpose()?;
        Ok(Some(InvoiceDetail {
            summary,
            extraction_source,
            fields: self.invoice_fields(id).await?,
            lines,
            discrepancies,
            match_outcome,
            match_detail,
            planned_payment: payment,
        }))
    }

    /// Invoice counts per status, for the queue tabs and `/metrics`.
    pub async fn invoice_status_counts(&self) -> Result<Vec<(String, i64)>> {
        count_by(
            self,
            "SELECT status, COUNT(*) AS n FROM invoices GROUP BY status ORDER BY status",
        )
        .await
    }

    /// Document counts per stage status, for `/metrics`.
    pub async fn document_status_counts(&self) -> Result<Vec<(String, i64)>> {
        count_by(
            self,
            "SELECT status, COUNT(*) AS n FROM documents GROUP BY status ORDER BY status",
        )
        .await
    }

    /// Planned payments, for checks and the payment stage.
    pub async fn payment_count_for_invoice(&self, invoice: InvoiceId) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE invoice_id = $1")
            .bind(invoice.0)
            .fetch_one(self.pool())
            .await
            .ctx("count payments")
    }

    async fn summary_from_row(&self, r: &AnyRow) -> Result<InvoiceSummary> {
        let mut summary = self.summary_without_reasons(r)?;
        summary.reasons =
            sqlx::query_scalar("SELECT code FROM discrepancies WHERE invoice_id = $1 ORDER BY id")
                .bind(summary.id.0)
                .fetch_all(self.pool())
                .await
                .ctx("read discrepancies")?;
        Ok(summary)
    }

    /// A summary row as read; its reasons are left empty for the caller.
    pub(super) fn summary_without_reasons(&self, r: &AnyRow) -> Result<InvoiceSummary> {
        let id: i64 = r.try_get("id").ctx("decode invoice")?;
        let status: String = r.try_get("status").ctx("decode invoice")?;
        let dup: Option<i64> = r.try_get("duplicate_of").ctx("decode invoice")?;
        Ok(InvoiceSummary {
            id: InvoiceId(id),
            document_id: DocumentId(r.try_get("document_id").ctx("decode invoice")?),
            filename: r.try_get("filename").ctx("decode invoice")?,
            status: InvoiceStatus::parse(&status).ok_or(Error::Corrupt {
                column: "invoices.status",
                value: status.clone(),
            })?,
            vendor_id: r.try_get("vendor_id").ctx("decode invoice")?,
            received_at: r.try_get("received_at").ctx("decode invoice")?,
            assigned_to: r.try_get("assigned_to").ctx("decode invoice")?,
            vendor_name: r.try_get("vendor_name").ctx("decode invoice")?,
            invoice_number: r.try_get("invoice_number").ctx("decode invoice")?,
            invoice_date: r.try_get("invoice_date").ctx("decode invoice")?,
            due_date: r.try_get("due_date").ctx("decode invoice")?,
            currency: r.try_get("currency").ctx("decode invoice")?,
            total_amount: r.try_get("total_amount").ctx("decode invoice")?,
            po_number: r.try_get("po_number").ctx("decode invoice")?,
            duplicate_of: dup.map(InvoiceId),
            reasons: Vec::new(),
        })
    }
}

/// Rows per multi-row `INSERT`: their bound parameters stay well under
/// SQLite's (32766) and PostgreSQL's (65535) limits.
const ROWS_PER_INSERT: usize = 200;

/// `($1, ..., $cols<tail>), ($cols+1, ...<tail>), ...` for `rows` rows:
/// `cols` bound parameters per row, then `tail` as written.
fn values_rows(rows: usize, cols: usize, tail: &str) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({}{tail})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

type FieldValue = (&'static str, String, f32, Option<(u32, BBox)>);

/// The header fields of an extraction as (name, text value, confidence,
/// location), under the field names of the ground-truth files.
fn field_values(inv: &ExtractedInvoice) -> Vec<FieldValue> {
    fn push<T>(
        out: &mut Vec<FieldValue>,
        name: &'static str,
        f: &Option<Field<T>>,
        show: impl Fn(&T) -> String,
    ) {
        if let Some(f) = f {
            out.push((name, show(&f.value), f.confidence, f.location));
        }
    }
    let mut out = Vec::new();
    push(
        &mut out,
        "invoice_number",
        &inv.invoice_number,
        String::clone,
    );
    push(&mut out, "invoice_date", &inv.invoice_date, |d| iso(*d));
    push(&mut out, "due_date", &inv.due_date, |d| iso(*d));
    push(&mut out, "vendor_name", &inv.vendor_name, String::clone);
    push(&mut out, "vendor_vat_id", &inv.vendor_vat_id, String::clone);
    push(&mut out, "currency", &inv.currency, String::clone);
    push(&mut out, "net_amount", &inv.net_amount, Decimal::to_string);
    push(&mut out, "tax_amount", &inv.tax_amount, Decimal::to_string);
    push(
        &mut out,
        "total_amount",
        &inv.total_amount,
        Decimal::to_string,
    );
    push(&mut out, "amount_due", &inv.amount_due, Decimal::to_string);
    push(&mut out, "po_number", &inv.po_number, String::clone);
    push(&mut out, "iban", &inv.iban, String::clone);
    push(&mut out, "payment_terms", &inv.payment_terms, String::clone);
    push(&mut out, "direct_debit", &inv.direct_debit, String::clone);
    push(&mut out, "credit_note", &inv.credit_note, String::clone);
    for d in &inv.visible_disagreements {
        if let Some(name) = VISIBLE_FIELDS.iter().find(|(f, _)| *f == d.field) {
            out.push((name.1, d.visible.clone(), 1.0, d.location));
        }
    }
    out
}

/// Where a hybrid PDF's page contradicts its XML, stored beside the fields
/// as `visible.<field>` rows holding what the page shows.
const VISIBLE_FIELDS: [(&str, &str); 4] = [
    ("invoice_number", "visible.invoice_number"),
    ("total_amount", "visible.total_amount"),
    ("iban", "visible.iban"),
    ("due_date", "visible.due_date"),
];

/// Plans (or, while merely planned, re-plans) an invoice's payment.
/// Decided again while still only planned: the plan is updated; once in a
/// run it is never touched.
pub(super) async fn insert_planned_payment(
    conn: &mut sqlx::AnyConnection,
    invoice: InvoiceId,
    p: &crate::domain::PlannedPayment,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO payments (invoice_id, idempotency_key, amount, currency, planned_on, state, created_at, \
         due_on, discount, reason, creditor_name, creditor_iban, remittance) \
         VALUES ($1, $2, $3, $4, $5, 'planned', $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (idempotency_key) DO UPDATE SET amount = excluded.amount, planned_on = excluded.planned_on, \
         due_on = excluded.due_on, discount = excluded.discount, reason = excluded.reason, \
         creditor_name = excluded.creditor_name, creditor_iban = excluded.creditor_iban, remittance = excluded.remittance \
         WHERE payments.state = 'planned'",
    )
    .bind(invoice.0)
    .bind(p.idempotency_key.clone())
    .bind(p.amount.to_string())
    .bind(p.currency.clone())
    .bind(iso(p.planned_on))
    .bind(now)
    .bind(iso(p.due_on))
    .bind(p.discount.to_string())
    .bind(p.reason.clone())
    .bind(p.creditor_name.clone())
    .bind(p.creditor_iban.clone())
    .bind(p.remittance.clone())
    .execute(&mut *conn)
    .await
    .ctx("plan a payment")?;
    Ok(())
}

/// Closes the invoice's open review task: it has left the review queue.
pub(super) async fn close_review_task(
    conn: &mut sqlx::AnyConnection,
    invoice: InvoiceId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE review_tasks SET state = 'closed', closed_at = $1 WHERE invoice_id = $2 AND state = 'open'",
    )
    .bind(now)
    .bind(invoice.0)
    .execute(&mut *conn)
    .await
    .ctx("close a review task")?;
    Ok(())
}

/// Opens a review task for the invoice unless one is open: it is back on
/// the queue.
pub(super) async fn open_review_task(
    conn: &mut sqlx::AnyConnection,
    invoice: InvoiceId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO review_tasks (invoice_id, state, created_at) \
         SELECT $1, 'open', $2 WHERE NOT EXISTS \
         (SELECT 1 FROM review_tasks WHERE invoice_id = $1 AND state = 'open')",
    )
    .bind(invoice.0)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("open a review task")?;
    Ok(())
}

/// Sends an invoice people decided on back to the review queue with one
/// reason (`code`, `message`): a reopening, a refused payment. Its review
/// task is opened again; the caller has moved its status.
pub(super) async fn back_to_review(
    conn: &mut sqlx::AnyConnection,
    invoice: InvoiceId,
    code: crate::domain::ReasonCode,
    message: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO discrepancies (invoice_id, code, field, message, created_at, detail, severity) \
         VALUES ($1, $2, NULL, $3, $4, '{}', 'review')",
    )
    .bind(invoice.0)
    .bind(code.as_str())
    .bind(message.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("record why an invoice is back on the queue")?;
    open_review_task(conn, invoice, now).await
}

/// Withdraws a payment that is only planned (never one in a run).
pub(super) async fn withdraw_planned_payment(
    conn: &mut sqlx::AnyConnection,
    invoice: InvoiceId,
) -> Result<()> {
    sqlx::query("DELETE FROM payments WHERE invoice_id = $1 AND state = 'planned'")
        .bind(invoice.0)
        .execute(&mut *conn)
        .await
        .ctx("withdraw a planned payment")?;
    Ok(())
}

/// Writes an invoice's lines, numbered from 1 in their order, with their
/// page boxes where they have one: at extraction, and when a person
/// replaces the lines.
pub(super) async fn insert_lines(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    lines: &[LineItem],
) -> Result<()> {
    let lines: Vec<(usize, &LineItem)> = lines.iter().enumerate().collect();
    let (placed, unplaced): (Vec<_>, Vec<_>) =
        lines.iter().partition(|(_, l)| l.location.is_some());
    for (rows, placed) in [(placed, true), (unplaced, false)] {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO invoice_lines (invoice_id, line_no, description, sku, quantity, unit, unit_price, \
                 tax_rate, amount, confidence, price_base_quantity, page, x0, y0, x1, y1) VALUES {}",
                if placed {
                    values_rows(chunk.len(), 16, "")
                } else {
                    values_rows(chunk.len(), 11, ", NULL, NULL, NULL, NULL, NULL")
                }
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, line) in chunk.iter().copied() {
                query = query
                    .bind(id)
                    .bind(i64::try_from(i + 1).unwrap_or(i64::MAX))
                    .bind(line.description.clone())
                    .bind(line.sku.clone())
                    .bind(line.quantity.map(|d| d.to_string()))
                    .bind(line.unit.clone())
                    .bind(line.unit_price.map(|d| d.to_string()))
                    .bind(line.tax_rate.map(|d| d.to_string()))
                    .bind(line.amount.map(|d| d.to_string()))
                    .bind(f64::from(line.confidence))
                    .bind(line.price_base_quantity.map(|d| d.to_string()));
                if let Some((page, b)) = line.location {
                    query = query
                        .bind(i64::from(page))
                        .bind(f64::from(b.x0))
                        .bind(f64::from(b.y0))
                        .bind(f64::from(b.x1))
                        .bind(f64::from(b.y1));
                }
            }
            query.execute(&mut **tx).await.ctx("insert invoice lines")?;
        }
    }
    Ok(())
}
