//! What people do to an invoice on the review queue: correct a field, ask
//! for approval, approve or reject. Each change, its record (corrections,
//! approvals) and its audit entry commit together; state changes are
//! guarded by the status they expect, so two people acting at once cannot
//! both succeed.

use sqlx::Row;

use super::{AuditEntry, QueryContext, Result, Store, now_ms};
use crate::domain::{DocumentId, InvoiceId, PlannedPayment};

/// Fields a person may correct, and the `invoices` column each mirrors
/// (the ones lists and matching read directly).
pub const CORRECTABLE_FIELDS: [(&str, Option<&str>); 12] = [
    // A vendor of the master data, by id, picked by a person.
    ("vendor_id", Some("vendor_id")),
    ("invoice_number", Some("invoice_number")),
    ("invoice_date", Some("invoice_date")),
    ("due_date", Some("due_date")),
    ("currency", Some("currency")),
    ("net_amount", Some("net_amount")),
    ("tax_amount", Some("tax_amount")),
    ("total_amount", Some("total_amount")),
    // What is left to pay after a prepayment: kept with the fields only.
    ("amount_due", None),
    ("po_number", Some("po_number")),
    ("iban", Some("iban")),
    ("payment_terms", None),
];

/// The invoice's status, after a guarded update did not apply: says why.
async fn invoice_status(
    conn: &mut sqlx::AnyConnection,
    invoice: InvoiceId,
) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(invoice.0)
        .fetch_optional(&mut *conn)
        .await
        .ctx("find an invoice")
}

/// Opens a correction of `invoice` in `tx`: its document when it is on
/// the review queue or on hold, else why not. The guarded UPDATE takes the
/// row's lock on PostgreSQL, so a request for approval or a decision on
/// the same invoice waits for the correction or sees the invoice already
/// moved.
async fn open_for_correction(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    invoice: InvoiceId,
) -> Result<std::result::Result<i64, Correction>> {
    let open: Option<i64> = sqlx::query_scalar(
        "UPDATE invoices SET updated_at = $1 WHERE id = $2 AND status IN ('needs_review', 'on_hold') \
         RETURNING document_id",
    )
    .bind(now_ms())
    .bind(invoice.0)
    .fetch_optional(&mut **tx)
    .await
    .ctx("check an invoice is open for corrections")?;
    match open {
        Some(document) => Ok(Ok(document)),
        None => Ok(Err(match invoice_status(tx, invoice).await? {
            None => Correction::NoSuchInvoice,
            Some(status) => Correction::Closed { status },
        })),
    }
}

/// One correction as it is recorded.
struct Change<'a> {
    invoice: InvoiceId,
    document: i64,
    field: &'a str,
    old: Option<&'a str>,
    new: &'a str,
    user_id: i64,
}

/// What became of a correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    Done {
        old: Option<String>,
    },
    NoSuchInvoice,
    /// The invoice is past review (its status): no field may change.
    Closed {
        status: String,
    },
}

/// What became of a request for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalRequest {
    Sent,
    /// Not on the review queue (any more).
    NotOnQueue,
    /// A check of the invoice is queued or running.
    BeingChecked,
}

/// What became of a request to reopen an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopen {
    Done,
    NoSuchInvoice,
    /// Not approved, rejected or a duplicate: nothing to reopen.
    NotClosed,
    /// Its payment is in a run or was paid (the payment's state).
    PaymentLeft {
        state: String,
    },
}

/// One person's change of one field, as an approver is shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRow {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub user_id: i64,
    pub username: String,
    pub at: i64,
}

impl Store {
    /// Replaces one field's value (a person's correction: confidence 1.0,
    /// no page box) and records old and new, only while the invoice is on
    /// the review queue or on hold: once it is with an approver, approved,
    /// rejected or paid, its values are what people decided on.
    pub async fn correct_field(
        &self,
        invoice: InvoiceId,
        field: &'static str,
        column: Option<&'static str>,
        value: &str,
        user_id: i64,
        audit: &AuditEntry,
    ) -> Result<Correction> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let document = match open_for_correction(&mut tx, invoice).await? {
            Ok(document) => document,
            Err(refused) => return Ok(refused),
        };
        let mut old: Option<String> = sqlx::query_scalar(
            "SELECT value FROM invoice_fields WHERE invoice_id = $1 AND field = $2",
        )
        .bind(invoice.0)
        .bind(field)
        .fetch_optional(&mut *tx)
        .await
        .ctx("read a field")?;
        if let (None, Some(column)) = (&old, column) {
            // Never corrected nor read (the vendor the checks found): the
            // old value is the invoice's own column.
            // The column name comes from CORRECTABLE_FIELDS, never from input.
            let sql = format!("SELECT {column} FROM invoices WHERE id = $1");
            old = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql))
                .bind(invoice.0)
                .fetch_one(&mut *tx)
                .await
                .ctx("read an invoice column")?;
        }
        sqlx::query("DELETE FROM invoice_fields WHERE invoice_id = $1 AND field = $2")
            .bind(invoice.0)
            .bind(field)
            .execute(&mut *tx)
            .await
            .ctx("replace a field")?;
        sqlx::query(
            "INSERT INTO invoice_fields (invoice_id, field, value, confidence) VALUES ($1, $2, $3, 1.0)",
        )
        .bind(invoice.0)
        .bind(field)
        .bind(value.to_string())
        .execute(&mut *tx)
        .await
        .ctx("replace a field")?;
        if let Some(column) = column {
            // The column name comes from CORRECTABLE_FIELDS, never from input.
            let sql = format!("UPDATE invoices SET {column} = $1, updated_at = $2 WHERE id = $3");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(value.to_string())
                .bind(now_ms())
                .bind(invoice.0)
                .execute(&mut *tx)
                .await
                .ctx("update an invoice column")?;
            if column == "invoice_number" {
                sqlx::query("UPDATE invoices SET invoice_number_key = $1 WHERE id = $2")
                    .bind(crate::domain::invoice_number_key(value))
                    .bind(invoice.0)
                    .execute(&mut *tx)
                    .await
                    .ctx("update an invoice number key")?;
            }
        }
        let change = Change {
            invoice,
            document,
            field,
            old: old.as_deref(),
            new: value,
            user_id,
        };
        self.record_correction(tx, &change, audit).await?;
        Ok(Correction::Done { old })
    }

    /// Records a correction (old → new, who, when), queues the invoice's
    /// check with the corrected values, writes the audit entry and commits,
    /// all in `tx`: nobody can send the invoice to approval between the
    /// correction and the check that follows it.
    async fn record_correction(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Any>,
        change: &Change<'_>,
        audit: &AuditEntry,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO corrections (invoice_id, field, old_value, new_value, user_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(change.invoice.0)
        .bind(change.field)
        .bind(change.old.map(str::to_string))
        .bind(change.new.to_string())
        .bind(change.user_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .ctx("record a correction")?;
        super::jobs::requeue_decision(&mut *tx, DocumentId(change.document)).await?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit a correction")?;
        self.signal_queue();
        Ok(())
    }

    /// Replaces an open invoice's lines with a person's, as one correction
    /// of `line_items` (old and new written out as text) checked again in
    /// the same transaction, like [`Store::correct_field`].
    pub async fn replace_lines(
        &self,
        invoice: InvoiceId,
        lines: &[crate::domain::LineItem],
        user_id: i64,
        audit: &AuditEntry,
    ) -> Result<Correction> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let document = match open_for_correction(&mut tx, invoice).await? {
            Ok(document) => document,
            Err(refused) => return Ok(refused),
        };
        let rows = sqlx::query(
            "SELECT description, quantity, unit_price, amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no",
        )
        .bind(invoice.0)
        .fetch_all(&mut *tx)
        .await
        .ctx("read invoice lines")?;
        let mut before = Vec::with_capacity(rows.len());
        for r in &rows {
            let text = |c: &str| -> Result<Option<String>> { r.try_get(c).ctx("decode a line") };
            before.push((
                text("description")?,
                text("quantity")?,
                text("unit_price")?,
                text("amount")?,
            ));
        }
        let after: Vec<_> = lines
            .iter()
            .map(|l| {
                (
                    l.description.clone(),
                    l.quantity.map(|d| d.to_string()),
                    l.unit_price.map(|d| d.to_string()),
                    l.amount.map(|d| d.to_string()),
                )
            })
            .collect();
        sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1")
            .bind(invoice.0)
            .execute(&mut *tx)
            .await
            .ctx("replace invoice lines")?;
        super::invoices::insert_lines(&mut tx, invoice.0, lines).await?;
        let old = lines_text(&before);
        let change = Change {
            invoice,
            document,
            field: "line_items",
            old: Some(&old),
            new: &lines_text(&after),
            user_id,
        };
        self.record_correction(tx, &change, audit).await?;
        Ok(Correction::Done { old: Some(old) })
    }

    /// Whether people have taken the decision on this invoice over (it is
    /// with an approver, or an approver decided): the pipeline must not
    /// re-decide it then.
    pub async fn decided_by_people(&self, invoice: InvoiceId) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invoices i WHERE i.id = $1 AND (i.status = 'awaiting_approval' \
             OR EXISTS (SELECT 1 FROM approvals a WHERE a.invoice_id = i.id AND a.decided_at IS NOT NULL \
             AND a.reopened_at IS NULL))",
        )
        .bind(invoice.0)
        .fetch_one(self.pool())
        .await
        .ctx("check for a human decision")?;
        Ok(n > 0)
    }

    /// Completes a job that had nothing left to do.
    pub async fn complete_job(&self, job: &crate::store::Job) -> Result<()> {
        super::jobs::complete(self.pool(), job).await?;
        self.signal_queue();
        Ok(())
    }

    /// Gives the invoice's open review task to `username`; `false` when it
    /// has no open task (not on the review queue).
    pub async fn assign_review(
        &self,
        invoice: InvoiceId,
        username: &str,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let n = sqlx::query(
            "UPDATE review_tasks SET assigned_to = $1 WHERE invoice_id = $2 AND state = 'open'",
        )
        .bind(username.to_string())
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("assign a review task")?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit an assignment")?;
        Ok(true)
    }

    /// Moves an invoice from one of `from` to `to` (a clerk's action),
    /// closing its review task when it leaves the queue for good; `false`
    /// when it was not in one of `from`. Back on the queue
    /// (`needs_review`), its check is queued again in the same transaction:
    /// what changed while it was parked is checked before anyone can send
    /// it to approval.
    pub async fn move_invoice(
        &self,
        invoice: InvoiceId,
        from: &[&str],
        to: &'static str,
        duplicate_of: Option<InvoiceId>,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        // `from` holds status names from code, never input.
        let list = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE invoices SET status = $1, duplicate_of = COALESCE($2, duplicate_of), updated_at = $3 \
             WHERE id = $4 AND status IN ({list}) RETURNING document_id"
        );
        let moved: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(to)
            .bind(duplicate_of.map(|d| d.0))
            .bind(now)
            .bind(invoice.0)
            .fetch_optional(&mut *tx)
            .await
            .ctx("move an invoice")?;
        let Some(document) = moved else {
            return Ok(false);
        };
        if to == "needs_review" {
            super::jobs::requeue_decision(&mut *tx, DocumentId(document)).await?;
        }
        if matches!(to, "rejected" | "duplicate") {
            super::invoices::close_review_task(&mut tx, invoice, now).await?;
            // Never paid: a plan from an earlier decision is withdrawn.
            super::invoices::withdraw_planned_payment(&mut tx, invoice).await?;
        }
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit an invoice move")?;
        self.signal_queue();
        Ok(true)
    }

    /// Everyone who entered `iban` (compact) as a correction on one of the
    /// vendor's invoices: they may not verify that bank account.
    pub async fn iban_entered_by(&self, vendor_id: &str, iban: &str) -> Result<Vec<i64>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT c.user_id, c.new_value FROM corrections c JOIN invoices i ON i.id = c.invoice_id \
             WHERE c.field = 'iban' AND i.vendor_id = $1",
        )
        .bind(vendor_id.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read IBAN corrections")?;
        let key = crate::domain::compact_iban(iban);
        Ok(rows
            .into_iter()
            .filter(|(_, v)| crate::domain::compact_iban(v) == key)
            .map(|(u, _)| u)
            .collect())
    }

    /// Everyone who corrected a field of the invoice.
    pub async fn corrected_by(&self, invoice: InvoiceId) -> Result<Vec<i64>> {
        sqlx::query_scalar("SELECT DISTINCT user_id FROM corrections WHERE invoice_id = $1")
            .bind(invoice.0)
            .fetch_all(self.pool())
            .await
            .ctx("read corrections")
    }

    /// Moves an invoice from the review queue to approval. Refused while
    /// the invoice is being checked again (after a correction, a receipt):
    /// the approver must see the reasons of the values they approve.
    pub async fn request_approval(
        &self,
        invoice: InvoiceId,
        user_id: i64,
        audit: &AuditEntry,
    ) -> Result<ApprovalRequest> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let moved = sqlx::query(
            "UPDATE invoices SET status = 'awaiting_approval', updated_at = $1 WHERE id = $2 AND status = 'needs_review' \
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = invoices.document_id AND j.state IN ('queued', 'running'))",
        )
        .bind(now_ms())
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("send an invoice to approval")?
        .rows_affected();
        if moved != 1 {
            return Ok(match invoice_status(&mut tx, invoice).await?.as_deref() {
                Some("needs_review") => ApprovalRequest::BeingChecked,
                _ => ApprovalRequest::NotOnQueue,
            });
        }
        sqlx::query(
            "INSERT INTO approvals (invoice_id, requested_by, requested_at) VALUES ($1, $2, $3)",
        )
        .bind(invoice.0)
        .bind(user_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .ctx("record an approval request")?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit an approval request")?;
        Ok(ApprovalRequest::Sent)
    }

    /// Every change people made to the invoice's fields, oldest first.
    pub async fn corrections(&self, invoice: InvoiceId) -> Result<Vec<CorrectionRow>> {
        let rows = sqlx::query(
            "SELECT c.field, c.old_value, c.new_value, c.user_id, u.username, c.at FROM corrections c \
             JOIN users u ON u.id = c.user_id WHERE c.invoice_id = $1 ORDER BY c.at, c.field",
        )
        .bind(invoice.0)
        .fetch_all(self.pool())
        .await
        .ctx("read corrections")?;
        rows.iter()
            .map(|r| {
                Ok(CorrectionRow {
                    field: r.try_get("field").ctx("decode a correction")?,
                    old_value: r.try_get("old_value").ctx("decode a correction")?,
                    new_value: r.try_get("new_value").ctx("decode a correction")?,
                    user_id: r.try_get("user_id").ctx("decode a correction")?,
                    username: r.try_get("username").ctx("decode a correction")?,
                    at: r.try_get("at").ctx("decode a correction")?,
                })
            })
            .collect()
    }

    /// Takes an approved (scheduled), rejected or duplicate invoice back to
    /// the review queue: its planned payment is withdrawn and its approvals
    /// stop counting. Refused once the payment is in a run or paid.
    pub async fn reopen_invoice(
        &self,
        invoice: InvoiceId,
        user_id: i64,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<Reopen> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let in_run: Option<String> = sqlx::query_scalar(
            "SELECT state FROM payments WHERE invoice_id = $1 AND state <> 'planned'",
        )
        .bind(invoice.0)
        .fetch_optional(&mut *tx)
        .await
        .ctx("look for a payment in a run")?;
        if let Some(state) = in_run {
            return Ok(Reopen::PaymentLeft { state });
        }
        let moved = sqlx::query(
            "UPDATE invoices SET status = 'needs_review', updated_at = $1 WHERE id = $2 \
             AND status IN ('scheduled', 'rejected', 'duplicate')",
        )
        .bind(now)
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("reopen an invoice")?
        .rows_affected();
        if moved != 1 {
            return Ok(match invoice_status(&mut tx, invoice).await? {
                None => Reopen::NoSuchInvoice,
                Some(_) => Reopen::NotClosed,
            });
        }
        super::invoices::withdraw_planned_payment(&mut tx, invoice).await?;
        sqlx::query(
            "UPDATE approvals SET reopened_at = $1, reopened_by = $2 WHERE invoice_id = $3 AND reopened_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("set approvals aside")?;
        super::invoices::back_to_review(
            &mut tx,
            invoice,
            crate::domain::ReasonCode::Reopened,
            &format!("reopened by {}: {reason}", audit.actor),
            now,
        )
        .await?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit a reopening")?;
        Ok(Reopen::Done)
    }

    /// People who sent to approval an open invoice of the vendor that pays
    /// `iban` (compact): they may not verify that bank account.
    pub async fn iban_sent_by(&self, vendor_id: &str, iban: &str) -> Result<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT a.requested_by FROM approvals a JOIN invoices i ON i.id = a.invoice_id \
             WHERE i.vendor_id = $1 AND REPLACE(UPPER(i.iban), ' ', '') = $2 AND a.reopened_at IS NULL",
        )
        .bind(vendor_id.to_string())
        .bind(iban.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read who sent a bank account to approval")
    }

    /// Approvers who gave the first of two approvals since the invoice was
    /// last sent to approval.
    pub async fn approval_steps(&self, invoice: InvoiceId) -> Result<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT s.approver_id FROM approval_steps s WHERE s.invoice_id = $1 AND s.at >= \
             (SELECT MAX(a.requested_at) FROM approvals a WHERE a.invoice_id = $1)",
        )
        .bind(invoice.0)
        .fetch_all(self.pool())
        .await
        .ctx("read approval steps")
    }

    /// Records the first of two approvals; the invoice keeps waiting.
    pub async fn add_approval_step(
        &self,
        invoice: InvoiceId,
        approver_id: i64,
        comment: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        sqlx::query(
            "INSERT INTO approval_steps (invoice_id, approver_id, at, comment) VALUES ($1, $2, $3, $4)",
        )
        .bind(invoice.0)
        .bind(approver_id)
        .bind(now_ms())
        .bind(comment.to_string())
        .execute(&mut *tx)
        .await
        .ctx("record an approval step")?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit an approval step")?;
        Ok(())
    }

    /// Who asked for the open approval of an invoice.
    pub async fn approval_requester(&self, invoice: InvoiceId) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT requested_by FROM approvals WHERE invoice_id = $1 AND decided_at IS NULL",
        )
        .bind(invoice.0)
        .fetch_optional(self.pool())
        .await
        .ctx("read an approval request")?;
        row.map(|r| r.try_get("requested_by").ctx("decode an approval"))
            .transpose()
    }

    /// Records an approver's decision: approved invoices are scheduled with
    /// `payment`, rejected ones leave the queue. `false` when the invoice
    /// is not awaiting approval (any more).
    pub async fn decide_approval(
        &self,
        invoice: InvoiceId,
        user_id: i64,
        payment: Option<&PlannedPayment>,
        comment: &str,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let (status, decision) = if payment.is_some() {
            ("scheduled", "approved")
        } else {
            ("rejected", "rejected")
        };
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let moved = sqlx::query(
            "UPDATE invoices SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'awaiting_approval'",
        )
        .bind(status)
        .bind(now)
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("decide an approval")?
        .rows_affected();
        if moved != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE approvals SET decided_by = $1, decided_at = $2, decision = $3, comment = $4 \
             WHERE invoice_id = $5 AND decided_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .bind(decision)
        .bind(comment.to_string())
        .bind(invoice.0)
        .execute(&mut *tx)
        .await
        .ctx("record an approval decision")?;
        super::invoices::close_review_task(&mut tx, invoice, now).await?;
        if let Some(p) = payment {
            super::invoices::insert_planned_payment(&mut tx, invoice, p, now).await?;
        }
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit an approval decision")?;
        Ok(true)
    }
}

/// What the dashboard shows.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub by_status: Vec<(String, i64)>,
    /// Reasons of the invoices people still have to act on.
    pub open_reasons: Vec<(String, i64)>,
    /// Scheduled or paid without a correction or an approval.
    pub touchless: i64,
    /// Scheduled, paid, or on the review or approval queue.
    pub processed: i64,
    /// Arrival time (Unix ms) of each invoice on the review or approval queue.
    pub open_received_at: Vec<i64>,
    /// Early-payment discounts taken: (currency, amount) per payment.
    pub discounts_taken: Vec<(String, String)>,
    /// Payments whose discount lapsed before they could be paid.
    pub discounts_lapsed: i64,
    /// Invoices that arrived since the trend's start: when (Unix ms) and
    /// whether they went through without a person.
    pub arrivals: Vec<(i64, bool)>,
}

impl Store {
    /// The dashboard's figures; the touchless trend covers invoices that
    /// arrived from `trend_since` (Unix ms) on.
    pub async fn dashboard(&self, trend_since: i64) -> Result<Dashboard> {
        let pool = self.pool();
        let by_status = self.invoice_status_counts().await?;
        let open_reasons: Vec<(String, i64)> = sqlx::query_as(
            "SELECT d.code, COUNT(*) FROM discrepancies d JOIN invoices i ON i.id = d.invoice_id \
             WHERE i.status IN ('needs_review', 'awaiting_approval') GROUP BY d.code ORDER BY COUNT(*) DESC, d.code",
        )
        .fetch_all(pool)
        .await
        .ctx("count open reasons")?;
        let touchless: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invoices i WHERE i.status IN ('scheduled', 'paid') \
             AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.invoice_id = i.id) \
             AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.invoice_id = i.id)",
        )
        .fetch_one(pool)
        .await
        .ctx("count touchless invoices")?;
        let processed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invoices WHERE status IN ('scheduled', 'paid', 'needs_review', 'awaiting_approval')",
        )
        .fetch_one(pool)
        .await
        .ctx("count processed invoices")?;
        let open_received_at: Vec<i64> = sqlx::query_scalar(
            "SELECT d.received_at FROM invoices i JOIN documents d ON d.id = i.document_id \
             WHERE i.status IN ('needs_review', 'awaiting_approval')",
        )
        .fetch_all(pool)
        .await
        .ctx("read queue ages")?;
        let discounts_taken: Vec<(String, String)> = sqlx::query_as(
            "SELECT currency, discount FROM payments WHERE discount IS NOT NULL AND discount NOT IN ('0', '0.00')",
        )
        .fetch_all(pool)
        .await
        .ctx("read discounts")?;
        let discounts_lapsed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE reason LIKE '%has lapsed%'")
                .fetch_one(pool)
                .await
                .ctx("count lapsed discounts")?;
        let arrivals: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT d.received_at, CASE WHEN i.status IN ('scheduled', 'paid') \
             AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.invoice_id = i.id) \
             AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.invoice_id = i.id) THEN 1 ELSE 0 END \
             FROM invoices i JOIN documents d ON d.id = i.document_id \
             WHERE i.status IN ('scheduled', 'paid', 'needs_review', 'awaiting_approval') AND d.received_at >= $1",
        )
        .bind(trend_since)
        .fetch_all(pool)
        .await
        .ctx("read the touchless trend")?;
        Ok(Dashboard {
            arrivals: arrivals.into_iter().map(|(at, t)| (at, t == 1)).collect(),
            by_status,
            open_reasons,
            touchless,
            processed,
            open_received_at,
            discounts_taken,
            discounts_lapsed,
        })
    }
}

impl Store {
    /// Remembers where `vendor_id` prints a field, replacing what was
    /// remembered before: the latest correction wins, and the latest
    /// e-invoice wins over an earlier e-invoice but never over a
    /// correction.
    pub async fn remember_field_place(
        &self,
        vendor_id: &str,
        place: &crate::extract::memory::FieldPlace,
        learned_from: InvoiceId,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO vendor_field_places (vendor_id, field, page, x0, y0, x1, y1, learned_from, updated_at, taught_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (vendor_id, field) DO UPDATE SET \
             page = excluded.page, x0 = excluded.x0, y0 = excluded.y0, x1 = excluded.x1, y1 = excluded.y1, \
             learned_from = excluded.learned_from, updated_at = excluded.updated_at, taught_by = excluded.taught_by \
             WHERE excluded.taught_by = 'correction' OR vendor_field_places.taught_by = 'e-invoice'",
        )
        .bind(vendor_id.to_string())
        .bind(place.field.clone())
        .bind(i64::from(place.page))
        .bind(f64::from(place.bbox.x0))
        .bind(f64::from(place.bbox.y0))
        .bind(f64::from(place.bbox.x1))
        .bind(f64::from(place.bbox.y1))
        .bind(learned_from.0)
        .bind(now_ms())
        .bind(place.taught_by.as_str())
        .execute(self.pool())
        .await
        .ctx("remember where a vendor prints a field")?;
        Ok(())
    }

    /// Whether any vendor's field place was learned yet: until a clerk
    /// corrects something, extraction need not resolve the vendor.
    pub async fn any_field_places(&self) -> Result<bool> {
        let n: Option<i64> = sqlx::query_scalar("SELECT 1 FROM vendor_field_places LIMIT 1")
            .fetch_optional(self.pool())
            .await
            .ctx("look for learned field places")?;
        Ok(n.is_some())
    }

    pub async fn field_places(
        &self,
        vendor_id: &str,
    ) -> Result<Vec<crate::extract::memory::FieldPlace>> {
        let rows = sqlx::query(
            "SELECT field, page, x0, y0, x1, y1, taught_by FROM vendor_field_places WHERE vendor_id = $1 ORDER BY field",
        )
        .bind(vendor_id.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read a vendor's field places")?;
        rows.iter()
            .map(|r| {
                let f = |c: &str| -> Result<f32> {
                    Ok(r.try_get::<f64, _>(c).ctx("decode a field place")? as f32)
                };
                Ok(crate::extract::memory::FieldPlace {
                    field: r.try_get("field").ctx("decode a field place")?,
                    page: u32::try_from(r.try_get::<i64, _>("page").ctx("decode a field place")?)
                        .unwrap_or(1),
                    bbox: crate::domain::BBox {
                        x0: f("x0")?,
                        y0: f("y0")?,
                        x1: f("x1")?,
                        y1: f("y1")?,
                    },
                    taught_by: crate::extract::memory::TaughtBy::parse(
                        &r.try_get::<String, _>("taught_by")
                            .ctx("decode a field place")?,
                    ),
                })
            })
            .collect()
    }
}

/// What an unpaid invoice asks for, for the dashboard's sums.
#[derive(Debug, Clone)]
pub struct Payable {
    pub status: crate::domain::InvoiceStatus,
    pub currency: Option<String>,
    pub total_amount: Option<String>,
    pub due_date: Option<String>,
}

impl Store {
    /// Every invoice open on a queue or scheduled for payment: its status,
    /// currency, total and due date, in one query (the dashboard adds
    /// them up per currency).
    pub async fn payables(&self) -> Result<Vec<Payable>> {
        let rows = sqlx::query(
            "SELECT status, currency, total_amount, due_date FROM invoices \
             WHERE status IN ('needs_review', 'awaiting_approval', 'on_hold', 'scheduled')",
        )
        .fetch_all(self.pool())
        .await
        .ctx("read payables")?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status").ctx("decode a payable")?;
                Ok(Payable {
                    status: crate::domain::InvoiceStatus::parse(&status).ok_or(
                        super::Error::Corrupt {
                            column: "invoices.status",
                            value: status.clone(),
                        },
                    )?,
                    currency: r.try_get("currency").ctx("decode a payable")?,
                    total_amount: r.try_get("total_amount").ctx("decode a payable")?,
                    due_date: r.try_get("due_date").ctx("decode a payable")?,
                })
            })
            .collect()
    }
}

/// One line as text: description, quantity, unit price, amount.
type LineText = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Lines as a person reads them in the list of changes:
/// `1: Monitor × 5 @ 268.92 = 1344.60; 2: …` (at most 2000 characters).
fn lines_text(lines: &[LineText]) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let text = lines
        .iter()
        .enumerate()
        .map(|(i, (d, q, p, a))| {
            format!(
                "{}: {} × {} @ {} = {}",
                i + 1,
                dash(d),
                dash(q),
                dash(p),
                dash(a)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        return "no lines".into();
    }
    match text.char_indices().nth(2000) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
